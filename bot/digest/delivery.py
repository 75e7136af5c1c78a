"""Weekly sending of the digest: which (scope, week) pairs are due, who receives them, and the database claim that
makes sending idempotent across restarts and processes.

The database decides (storage.digests): a sender INSERTs the (scope, ISO week) row of digest_sends and commits
BEFORE sending; UNIQUE(scope, iso_week) lets exactly one INSERT win, on SQLite and on PostgreSQL, so two bot
processes or a restart never send the same week twice. A claim whose sender died before finishing
(finished_at still NULL after STALE_CLAIM) can be taken over by one later sender, with an UPDATE that only one
transaction can win.

    plan = due_sends(session, now=now, weekday=0, at=time(8, 30), tz="Asia/Shanghai")
    for due in plan:
        if claim(db, due, now=now):
            ... build, send to due.recipients ...
            finish(db, due)          # or release(db, due) when nothing could be delivered
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.digest.model import Scope
from bot.digest.weeks import Week, last_complete_week, send_time_of, weeks_between
from storage.db import Database
from storage.digests import (
    claim_digest_send,
    digest_scope,
    get_subscription,
    mark_digest_sent,
    release_digest_send,
    sent_weeks,
    subscribe,
    unsubscribe,
)
from storage.members import get_member
from storage.models import ROLE_ADMIN, ROLE_BUREAU, DigestSend, DigestSubscription, Member, Town, utcnow
from storage.timeutil import DEFAULT_TZ
from texts import digest as T

# At start-up, missed weeks are caught up, but never more than this many (after a long outage, old digests
# would only be noise).
CATCH_UP_WEEKS = 4
# A claim older than this without finished_at belongs to a sender that died; another sender may take it over.
STALE_CLAIM = timedelta(minutes=30)
DIGEST_ROLES = (ROLE_BUREAU, ROLE_ADMIN)


@dataclass(frozen=True)
class DueSend:
    scope: Scope
    week: Week
    recipients: tuple[int, ...]  # Telegram user ids

    @property
    def key(self) -> str:
        return self.scope.key


def may_receive(member: Member | None) -> bool:
    """Bureau members (their town) and admins (the city) receive digests; cadres and residents never do."""
    return member is not None and member.role in DIGEST_ROLES


def scope_for_member(member: Member) -> Scope:
    """A bureau member's town, or the city for an admin."""
    if member.role == ROLE_BUREAU and member.town is not None:
        return Scope("town", member.town.name, member.town.id, member.town.code)
    return Scope("city", T.CITY_NAME)


def _subscribers(session: Session) -> dict[int | None, list[tuple[int, datetime]]]:
    """town_id (None = city) -> [(telegram user id, subscribed at)] of members still allowed to receive it."""
    rows = session.execute(
        select(DigestSubscription.town_id, Member.telegram_user_id, Member.role, Member.town_id, DigestSubscription.created_at)
        .join(Member, Member.id == DigestSubscription.member_id)
        .order_by(DigestSubscription.id)
    ).all()
    result: dict[int | None, list[tuple[int, datetime]]] = {}
    for town_id, user_id, role, member_town, created_at in rows:
        if role == ROLE_ADMIN or (role == ROLE_BUREAU and (town_id is None or member_town == town_id)):
            result.setdefault(town_id, []).append((user_id, created_at))
    return result


def first_due_week(subscribed_at: datetime, *, weekday: int, at: time, tz: str) -> Week:
    """The first week whose scheduled send comes after the subscription."""
    week = Week.containing(subscribed_at, tz).previous()
    while send_time_of(week, weekday, at) < subscribed_at:
        week = week.next()
    return week


def due_sends(
    session: Session,
    *,
    now: datetime | None = None,
    weekday: int = 0,
    at: time = time(8, 30),
    tz: str = DEFAULT_TZ,
    catch_up_weeks: int = CATCH_UP_WEEKS,
) -> list[DueSend]:
    """Every (scope, week) that should have been sent by `now` and has not been claimed, oldest week first:
    for each subscribed scope, the weeks from its first subscription (at most `catch_up_weeks` back) to the last
    week whose send time has passed."""
    now = now or utcnow()
    last = last_complete_week(now, weekday=weekday, at=at, tz=tz)
    earliest = last
    for _ in range(max(0, catch_up_weeks - 1)):
        earliest = earliest.previous()
    towns = {t.id: t for t in session.scalars(select(Town))}
    plan: list[DueSend] = []
    for town_id, subscribers in sorted(_subscribers(session).items(), key=lambda kv: (kv[0] is not None, kv[0] or 0)):
        town = towns.get(town_id) if town_id is not None else None
        if town_id is not None and town is None:
            continue
        scope = Scope("town", town.name, town.id, town.code) if town else Scope("city", T.CITY_NAME)
        first = min(first_due_week(created, weekday=weekday, at=at, tz=tz) for _, created in subscribers)
        first = max(first, earliest)
        done = sent_weeks(session, scope.key)
        recipients = tuple(dict.fromkeys(user_id for user_id, _ in subscribers))
        for week in weeks_between(first, last):
            if week.iso not in done:
                plan.append(DueSend(scope, week, recipients))
    plan.sort(key=lambda d: (d.week.monday, d.scope.key))
    return plan


# ---------------------------------------------------------------------------------------------- who asks


class SubscriptionChange(StrEnum):
    NOT_ALLOWED = "not_allowed"  # not a bureau member or an admin: digests are not for them
    SUBSCRIBED = "subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    NOT_SUBSCRIBED = "not_subscribed"


@dataclass(frozen=True)
class Subscription:
    """What /subscribe or /unsubscribe did, and the scope the member's digest covers (None if not allowed)."""

    change: SubscriptionChange
    scope: Scope | None = None


def viewer_scope(session: Session, user_id: int) -> Scope | None:
    """The scope whose digest this Telegram user may read (their town, or the city for an admin); None if none."""
    member = get_member(session, user_id)
    return scope_for_member(member) if may_receive(member) else None


def subscribe_user(session: Session, user_id: int) -> Subscription:
    """Subscribe a bureau member to their town's weekly digest (an admin to the city's)."""
    member = get_member(session, user_id)
    if not may_receive(member):
        return Subscription(SubscriptionChange.NOT_ALLOWED)
    existing = get_subscription(session, member.id)
    city = member.role == ROLE_ADMIN
    if existing is not None and existing.town_id == (None if city else member.town_id):
        return Subscription(SubscriptionChange.ALREADY_SUBSCRIBED, scope_for_member(member))
    subscribe(session, member, city=city)
    return Subscription(SubscriptionChange.SUBSCRIBED, scope_for_member(member))


def unsubscribe_user(session: Session, user_id: int) -> Subscription:
    member = get_member(session, user_id)
    if not may_receive(member):
        return Subscription(SubscriptionChange.NOT_ALLOWED)
    removed = unsubscribe(session, member.id)
    change = SubscriptionChange.UNSUBSCRIBED if removed else SubscriptionChange.NOT_SUBSCRIBED
    return Subscription(change, scope_for_member(member))


# ---------------------------------------------------------------------------------------------- the claim


def claim(db: Database, due: DueSend | tuple[Scope, Week], *, now: datetime | None = None,
          stale_after: timedelta = STALE_CLAIM) -> bool:
    """Claim (scope, week) for sending, committed before returning. True: this caller sends it; False: another
    sender has it (or had it). A claim left unfinished for `stale_after` is taken over by exactly one caller."""
    scope, week = (due.scope, due.week) if isinstance(due, DueSend) else due
    now = now or utcnow()
    with db.session() as session:
        if claim_digest_send(session, scope=scope.key, iso_week=week.iso, town_id=scope.town_id, now=now):
            return True
    with db.session() as session:
        taken = session.execute(
            update(DigestSend)
            .where(
                DigestSend.scope == scope.key,
                DigestSend.iso_week == week.iso,
                DigestSend.finished_at.is_(None),
                DigestSend.sent_at < now - stale_after,
            )
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return taken.rowcount == 1


def finish(db: Database, due: DueSend | tuple[Scope, Week], *, now: datetime | None = None) -> None:
    scope, week = (due.scope, due.week) if isinstance(due, DueSend) else due
    with db.session() as session:
        mark_digest_sent(session, scope=scope.key, iso_week=week.iso, now=now or utcnow())


def release(db: Database, due: DueSend | tuple[Scope, Week]) -> None:
    """Give a claim back (nothing was delivered), so that a later run retries."""
    scope, week = (due.scope, due.week) if isinstance(due, DueSend) else due
    with db.session() as session:
        release_digest_send(session, scope=scope.key, iso_week=week.iso)


def sends_count(session: Session, scope: Scope, week: Week) -> int:
    return session.scalar(
        select(func.count()).select_from(DigestSend).where(DigestSend.scope == scope.key, DigestSend.iso_week == week.iso)
    ) or 0


__all__ = [
    "CATCH_UP_WEEKS",
    "DIGEST_ROLES",
    "DueSend",
    "STALE_CLAIM",
    "Subscription",
    "SubscriptionChange",
    "claim",
    "digest_scope",
    "due_sends",
    "finish",
    "first_due_week",
    "may_receive",
    "release",
    "scope_for_member",
    "sends_count",
    "subscribe_user",
    "unsubscribe_user",
    "viewer_scope",
]
