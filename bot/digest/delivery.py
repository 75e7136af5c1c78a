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

The weekly send itself goes per recipient (digest_deliveries): `plan` claims the week and creates a delivery per
recipient; `due_batches` groups the deliveries due now by (scope, week); a sender `claim_batch`es them (each
delivery is won by one sender), sends each recipient's missing parts, records them with `record` and ends with
`succeed` or `fail` (retried after RETRY_DELAYS, given up after MAX_ATTEMPTS); `finish_week` marks the week done
once every recipient got every part (or was given up).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.digest.model import Scope
from bot.digest.weeks import Week, last_complete_week, send_time_of, weeks_between
from storage.db import Database
from storage.digests import (
    ERROR_MAX,
    Attachment,
    claim_delivery,
    claim_digest_send,
    digest_scope,
    due_deliveries,
    end_delivery,
    finish_week_if_done,
    get_subscription,
    list_deliveries,
    mark_digest_sent,
    plan_digest_deliveries,
    record_delivery_progress,
    release_digest_send,
    sent_weeks,
    subscribe,
    unsubscribe,
)
from storage.members import get_member
from storage.models import (
    ROLE_ADMIN,
    ROLE_BUREAU,
    DeliveryStatus,
    DigestDelivery,
    DigestSend,
    DigestSubscription,
    Member,
    Town,
    utcnow,
)
from storage.timeutil import DEFAULT_TZ
from texts import digest as T

# At start-up, missed weeks are caught up, but never more than this many (after a long outage, old digests
# would only be noise).
CATCH_UP_WEEKS = 4
# A claim older than this without finished_at belongs to a sender that died; another sender may take it over.
STALE_CLAIM = timedelta(minutes=30)
DIGEST_ROLES = (ROLE_BUREAU, ROLE_ADMIN)
# A recipient whose send failed is tried again after these delays (1, 5, 30 minutes), then given up: a Telegram
# outage of half an hour is ridden out, a recipient that stays unreachable does not keep the week open for ever.
RETRY_DELAYS: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# How long a sender owns a claimed delivery: far longer than sending a text and two files takes; a sender that
# died is replaced after it (the attempt it used counts).
SEND_LEASE = timedelta(minutes=10)


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


# ---------------------------------------------------------------------------------------------- per recipient


@dataclass(frozen=True)
class Batch:
    """The deliveries of one (scope, week) that are due now: one digest is built for all of them."""

    scope: Scope
    week: Week
    delivery_ids: tuple[int, ...]
    recipients: tuple[int, ...]


@dataclass(frozen=True)
class Claimed:
    """One recipient's delivery this sender owns, with what already arrived."""

    id: int
    chat_id: int
    token: str
    attempts: int
    messages_sent: int
    text_sent: bool
    sent: frozenset[Attachment]


def plan(db: Database, due: DueSend, *, now: datetime | None = None) -> bool:
    """Claim (scope, week) and create a delivery per recipient (committed). False: another sender planned it."""
    with db.session() as session:
        return plan_digest_deliveries(session, scope=due.scope.key, iso_week=due.week.iso,
                                      town_id=due.scope.town_id, chat_ids=due.recipients, now=now or utcnow())


def due_batches(session: Session, *, now: datetime | None = None) -> list[Batch]:
    """The deliveries due now, grouped by (scope, week), oldest week first. A town that no longer exists has
    nothing to send; its deliveries stay (and show in the status)."""
    groups: dict[tuple[str, str], list[DigestDelivery]] = {}
    for row in due_deliveries(session, now=now):
        groups.setdefault((row.scope, row.iso_week), []).append(row)
    towns = {t.id: t for t in session.scalars(select(Town))}
    batches = []
    for (key, iso_week), rows in groups.items():
        town = towns.get(rows[0].town_id) if rows[0].town_id is not None else None
        if key == digest_scope(None):
            scope = Scope("city", T.CITY_NAME)
        elif town is not None:
            scope = Scope("town", town.name, town.id, town.code)
        else:
            continue
        batches.append(Batch(scope, Week.parse(iso_week), tuple(r.id for r in rows), tuple(r.chat_id for r in rows)))
    batches.sort(key=lambda b: (b.week.monday, b.scope.key))
    return batches


def claim_batch(db: Database, batch: Batch, *, now: datetime | None = None, lease: timedelta = SEND_LEASE) -> list[Claimed]:
    """Claim each delivery of the batch (committed one by one); the ones this sender won."""
    now = now or utcnow()
    token = secrets.token_hex(8)
    claimed: list[Claimed] = []
    for delivery_id in batch.delivery_ids:
        with db.session() as session:
            row = claim_delivery(session, delivery_id, token=token, now=now, lease=lease)
            if row is not None:
                sent = {a for a, at in ((Attachment.XLSX, row.xlsx_sent_at), (Attachment.PNG, row.png_sent_at)) if at}
                claimed.append(Claimed(row.id, row.chat_id, token, row.attempts, row.messages_sent,
                                       row.text_sent_at is not None, frozenset(sent)))
    return claimed


def record(db: Database, claimed: Claimed, *, now: datetime | None = None, messages_sent: int | None = None,
           text_done: bool = False, attachment: Attachment | None = None) -> bool:
    """Record a part that arrived (committed); False if the claim was lost (stop sending)."""
    with db.session() as session:
        return record_delivery_progress(session, claimed.id, token=claimed.token, now=now or utcnow(),
                                        messages_sent=messages_sent, text_done=text_done, attachment=attachment)


def succeed(db: Database, claimed: Claimed, *, now: datetime | None = None) -> None:
    """Every part arrived: the week is done for this recipient."""
    with db.session() as session:
        end_delivery(session, claimed.id, token=claimed.token, status=DeliveryStatus.SENT, now=now or utcnow())


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta | None:
    """How long to wait after the `attempts`-th failed attempt; None: give up. Telegram's own retry_after (a
    flood wait) is honoured when it is longer."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[max(0, attempts - 1)]
    return max(delay, timedelta(seconds=retry_after or 0))


def fail(db: Database, claimed: Claimed, error: str, *, permanent: bool = False, retry_after: float | None = None,
         now: datetime | None = None) -> DeliveryStatus:
    """An attempt failed: RETRYING after the backoff, or GIVEN_UP (permanent, or too many attempts)."""
    now = now or utcnow()
    delay = None if permanent else retry_delay(claimed.attempts, retry_after)
    status = DeliveryStatus.GIVEN_UP if delay is None else DeliveryStatus.RETRYING
    with db.session() as session:
        end_delivery(session, claimed.id, token=claimed.token, status=status, now=now,
                     next_attempt_at=None if delay is None else now + delay, error=error)
    return status


def finish_week(db: Database, batch: Batch | DueSend, *, now: datetime | None = None) -> bool:
    """Mark the week finished if no recipient is still waiting; True for the one caller that did."""
    with db.session() as session:
        return finish_week_if_done(session, scope=batch.scope.key, iso_week=batch.week.iso, now=now or utcnow())


class Part(StrEnum):
    """A part of the digest as the status lists it."""

    TEXT = "text"
    XLSX = Attachment.XLSX.value
    PNG = Attachment.PNG.value


@dataclass(frozen=True)
class RecipientState:
    """Where one recipient's digest of one week stands."""

    chat_id: int
    name: str  # the member's display name ('' if unknown or no longer a member)
    status: DeliveryStatus
    attempts: int
    received: tuple[Part, ...]
    next_attempt_at: datetime | None  # None once sent or given up
    last_error: str | None


@dataclass(frozen=True)
class WeekState:
    """One (scope, week) of the weekly send and its recipients."""

    scope_key: str
    scope_name: str
    iso_week: str
    finished: bool  # every recipient got every part (or was given up)
    recipients: tuple[RecipientState, ...]

    @property
    def done(self) -> int:
        return sum(r.status is DeliveryStatus.SENT for r in self.recipients)


def delivery_status(session: Session, *, scope_key: str | None = None, iso_week: str | None = None) -> list[WeekState]:
    """The weekly send per (scope, week) and recipient, newest week first (weeks sent before per-recipient
    deliveries existed have no recipients to show and are left out)."""
    rows = list_deliveries(session, scope=scope_key, iso_week=iso_week)
    names = dict(session.execute(
        select(Member.telegram_user_id, Member.display_name).where(Member.telegram_user_id.in_({r.chat_id for r in rows}))
    ).all()) if rows else {}
    towns = {digest_scope(code): name for code, name in session.execute(select(Town.code, Town.name)).all()}
    finished = {(scope, week) for scope, week in session.execute(
        select(DigestSend.scope, DigestSend.iso_week).where(DigestSend.finished_at.is_not(None))).all()}
    grouped: dict[tuple[str, str], list[RecipientState]] = {}
    for row in rows:
        status = DeliveryStatus(row.status)
        received = [Part.TEXT] if row.text_sent_at else []
        received += [part for part, at in ((Part.XLSX, row.xlsx_sent_at), (Part.PNG, row.png_sent_at)) if at]
        open_ = status in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
        grouped.setdefault((row.scope, row.iso_week), []).append(RecipientState(
            row.chat_id, names.get(row.chat_id) or "", status, row.attempts, tuple(received),
            row.next_attempt_at if open_ else None, row.last_error))
    return [
        WeekState(scope, towns.get(scope, T.CITY_NAME if scope == digest_scope(None) else scope), week,
                  (scope, week) in finished, tuple(recipients))
        for (scope, week), recipients in grouped.items()
    ]


# A bot token as Telegram issues it (digits, colon, 35 characters); never stored, even inside a URL.
_TOKEN_RE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


def short_error(error: BaseException, secret: str | None = None) -> str:
    """`Type: message` for the delivery row, without the bot token, at most ERROR_MAX characters."""
    text = f"{type(error).__name__}: {error}"
    if secret:
        text = text.replace(secret, "<token>")
    text = _TOKEN_RE.sub("<token>", " ".join(text.split()))
    return text[:ERROR_MAX]


__all__ = [
    "Batch",
    "Claimed",
    "Part",
    "RecipientState",
    "WeekState",
    "delivery_status",
    "MAX_ATTEMPTS",
    "RETRY_DELAYS",
    "SEND_LEASE",
    "claim_batch",
    "due_batches",
    "fail",
    "finish_week",
    "plan",
    "record",
    "retry_delay",
    "short_error",
    "succeed",
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
