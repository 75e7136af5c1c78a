"""Digest subscriptions and the send log that makes weekly sending idempotent.

The database decides: a sender calls `claim_digest_send` in its own transaction and COMMITS; only if it
returned True does it send, then `mark_digest_sent`. On failure it may `release_digest_send` to allow a retry.
UNIQUE(scope, iso_week) makes the claim atomic across processes on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage._sql import affected_rows, upsert_insert
from storage.errors import InvalidInput
from storage.models import DIGEST_SCOPE_CITY, DigestSend, DigestSubscription, Member, Town, utcnow
from storage.timeutil import parse_iso_week


def digest_scope(town_code: str | None) -> str:
    """'town:<CODE>' for a town, 'city' for the roll-up (town_code None)."""
    return f"town:{town_code}" if town_code else DIGEST_SCOPE_CITY


# ---------------------------------------------------------------------------------------------- subscriptions


def subscribe(session: Session, member: Member, *, city: bool = False, now: datetime | None = None) -> DigestSubscription:
    """Subscribe a member (idempotent) to their own town's digest (bureau: their town; cadre: their village's
    town), or to the city roll-up when `city` is True or the member has no town (admin)."""
    town_id = None if city else member.effective_town_id
    values = {"town_id": town_id}
    session.execute(
        upsert_insert(session, DigestSubscription)
        .values(member_id=member.id, town_id=town_id, created_at=now or utcnow())
        .on_conflict_do_update(index_elements=["member_id"], set_=values)
    )
    subscription = session.scalar(
        select(DigestSubscription).where(DigestSubscription.member_id == member.id).execution_options(populate_existing=True)
    )
    assert subscription is not None
    return subscription


def unsubscribe(session: Session, member_id: int) -> bool:
    """True if the member was subscribed."""
    result = session.execute(
        delete(DigestSubscription)
        .where(DigestSubscription.member_id == member_id)
        .execution_options(synchronize_session="fetch")
    )
    return bool(affected_rows(result))


def get_subscription(session: Session, member_id: int) -> DigestSubscription | None:
    return session.scalar(select(DigestSubscription).where(DigestSubscription.member_id == member_id))


def list_subscriptions(session: Session) -> list[DigestSubscription]:
    """Every subscription, with its member loaded."""
    return list(session.scalars(select(DigestSubscription).order_by(DigestSubscription.id)))


def subscribed_scopes(session: Session) -> list[tuple[str, int | None]]:
    """The distinct (scope, town_id) pairs that have at least one subscriber."""
    rows = session.execute(
        select(DigestSubscription.town_id, Town.code)
        .outerjoin(Town, Town.id == DigestSubscription.town_id)
        .distinct()
    ).all()
    return sorted(((digest_scope(code), town_id) for town_id, code in rows), key=lambda p: p[0])


# ---------------------------------------------------------------------------------------------- sends


def claim_digest_send(
    session: Session, *, scope: str, iso_week: str, town_id: int | None = None, now: datetime | None = None
) -> bool:
    """INSERT the (scope, week) send row. True: you own it, commit now and then send. False: already claimed."""
    try:
        parse_iso_week(iso_week)
    except ValueError as error:
        raise InvalidInput(str(error)) from error
    inserted = session.execute(
        upsert_insert(session, DigestSend)
        .values(scope=scope, town_id=town_id, iso_week=iso_week, sent_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["scope", "iso_week"])
        .returning(DigestSend.id)
    ).scalar()
    return inserted is not None


def mark_digest_sent(session: Session, *, scope: str, iso_week: str, now: datetime | None = None) -> None:
    session.execute(
        update(DigestSend)
        .where(DigestSend.scope == scope, DigestSend.iso_week == iso_week)
        .values(finished_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def release_digest_send(session: Session, *, scope: str, iso_week: str) -> None:
    """Forget a claim whose sending failed, so a later run retries."""
    session.execute(
        delete(DigestSend)
        .where(DigestSend.scope == scope, DigestSend.iso_week == iso_week)
        .execution_options(synchronize_session=False)
    )


def sent_weeks(session: Session, scope: str) -> set[str]:
    """ISO weeks already claimed for a scope (for catching up missed weeks)."""
    return set(session.scalars(select(DigestSend.iso_week).where(DigestSend.scope == scope)))


def get_digest_send(session: Session, *, scope: str, iso_week: str) -> DigestSend | None:
    return session.scalar(select(DigestSend).where(DigestSend.scope == scope, DigestSend.iso_week == iso_week))


__all__ = [
    "claim_digest_send",
    "digest_scope",
    "get_digest_send",
    "get_subscription",
    "list_subscriptions",
    "mark_digest_sent",
    "release_digest_send",
    "sent_weeks",
    "subscribe",
    "subscribed_scopes",
    "unsubscribe",
]
