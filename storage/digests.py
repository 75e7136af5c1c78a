"""Digest subscriptions, the send log that makes weekly sending idempotent, and the deliveries per recipient.

The database decides: a sender calls `claim_digest_send` in its own transaction and COMMITS; only if it
returned True does it send, then `mark_digest_sent`. On failure it may `release_digest_send` to allow a retry.
UNIQUE(scope, iso_week) makes the claim atomic across processes on SQLite and PostgreSQL.

Per recipient (digest_deliveries): `plan_digest_deliveries` claims the week and creates a pending delivery for
each recipient in one transaction; a sender then takes one delivery with `claim_delivery` (an UPDATE that only
one transaction can win: it moves next_attempt_at forward as a lease and sets claimed_by to the sender's token),
records each part with `record_delivery_progress` and ends with `end_delivery`. `finish_week_if_done` marks the
week finished once no delivery of it is still pending or retrying.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from storage._sql import affected_rows, upsert_insert
from storage.errors import InvalidInput
from storage.models import (
    DIGEST_SCOPE_CITY,
    DeliveryStatus,
    DigestDelivery,
    DigestSend,
    DigestSubscription,
    Member,
    Town,
    utcnow,
)
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


# ---------------------------------------------------------------------------------------------- deliveries

# A delivery still to be sent (now or at next_attempt_at).
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
ERROR_MAX = 200  # DigestDelivery.last_error


class Attachment(StrEnum):
    """The digest's attachments, in the order they are sent after the text."""

    XLSX = "xlsx"
    PNG = "png"


_SENT_AT = {Attachment.XLSX: DigestDelivery.xlsx_sent_at, Attachment.PNG: DigestDelivery.png_sent_at}


def plan_digest_deliveries(
    session: Session, *, scope: str, iso_week: str, town_id: int | None, chat_ids: tuple[int, ...],
    now: datetime | None = None,
) -> bool:
    """Claim (scope, week) and create a pending delivery per recipient, both in the caller's transaction (commit
    it). False: another sender planned the week already, nothing was written."""
    now = now or utcnow()
    if not claim_digest_send(session, scope=scope, iso_week=iso_week, town_id=town_id, now=now):
        return False
    if chat_ids:
        session.execute(
            upsert_insert(session, DigestDelivery)
            .values([
                {"scope": scope, "town_id": town_id, "iso_week": iso_week, "chat_id": chat_id,
                 "status": DeliveryStatus.PENDING, "attempts": 0, "messages_sent": 0, "next_attempt_at": now,
                 "created_at": now}
                for chat_id in dict.fromkeys(chat_ids)
            ])
            .on_conflict_do_nothing(index_elements=["scope", "iso_week", "chat_id"])
        )
    return True


def due_deliveries(session: Session, *, now: datetime | None = None) -> list[DigestDelivery]:
    """Deliveries to try now (pending or retrying, next attempt reached, lease of a sender passed), oldest week
    first."""
    return list(session.scalars(
        select(DigestDelivery)
        .where(DigestDelivery.status.in_(OPEN_STATUSES), DigestDelivery.next_attempt_at <= (now or utcnow()))
        .order_by(DigestDelivery.iso_week, DigestDelivery.scope, DigestDelivery.id)
    ))


def claim_delivery(
    session: Session, delivery_id: int, *, token: str, now: datetime, lease: timedelta
) -> DigestDelivery | None:
    """Take one delivery for `lease` (counted as an attempt); None if another sender has it or it is not due.
    The UPDATE re-checks status and next_attempt_at under the row's write lock, so one transaction wins."""
    row = session.execute(
        update(DigestDelivery)
        .where(DigestDelivery.id == delivery_id, DigestDelivery.status.in_(OPEN_STATUSES),
               DigestDelivery.next_attempt_at <= now)
        .values(attempts=DigestDelivery.attempts + 1, next_attempt_at=now + lease, claimed_by=token)
        .returning(DigestDelivery.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if row is None:
        return None
    return session.scalar(select(DigestDelivery).where(DigestDelivery.id == delivery_id)
                          .execution_options(populate_existing=True))


def record_delivery_progress(
    session: Session, delivery_id: int, *, token: str, now: datetime, messages_sent: int | None = None,
    text_done: bool = False, attachment: Attachment | None = None,
) -> bool:
    """Record what arrived (text messages so far, the whole text, an attachment). False: the sender lost its
    claim (its lease ran out and another sender took the delivery) and must stop."""
    values: dict[str, Any] = {}
    if messages_sent is not None:
        values["messages_sent"] = messages_sent
    if text_done:
        values["text_sent_at"] = now
    if attachment is not None:
        values[_SENT_AT[attachment].key] = now
    return _update_while_claimed(session, delivery_id, token, values)


def _update_while_claimed(session: Session, delivery_id: int, token: str, values: dict[str, Any]) -> bool:
    """Write `values` only if this sender still holds the claim; False if another process took it over."""
    result = session.execute(
        update(DigestDelivery)
        .where(DigestDelivery.id == delivery_id, DigestDelivery.claimed_by == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result) == 1


def end_delivery(
    session: Session, delivery_id: int, *, token: str, status: DeliveryStatus, now: datetime,
    next_attempt_at: datetime | None = None, error: str | None = None,
) -> bool:
    """Give the claim back with the outcome: SENT or GIVEN_UP (final), or RETRYING at `next_attempt_at`."""
    values: dict[str, Any] = {"status": status, "claimed_by": None}
    if status is DeliveryStatus.RETRYING:
        values["next_attempt_at"] = next_attempt_at or now
    else:
        values["finished_at"] = now
    if error is not None:
        values["last_error"] = error[:ERROR_MAX]
    return _update_while_claimed(session, delivery_id, token, values)


def finish_week_if_done(session: Session, *, scope: str, iso_week: str, now: datetime | None = None) -> bool:
    """Mark (scope, week) finished once none of its deliveries is pending or retrying. True for the one caller
    whose UPDATE did it."""
    still_open = exists().where(DigestDelivery.scope == scope, DigestDelivery.iso_week == iso_week,
                                DigestDelivery.status.in_(OPEN_STATUSES))
    result = session.execute(
        update(DigestSend)
        .where(DigestSend.scope == scope, DigestSend.iso_week == iso_week, DigestSend.finished_at.is_(None),
               ~still_open)
        .values(finished_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result) == 1


def list_deliveries(session: Session, *, scope: str | None = None, iso_week: str | None = None) -> list[DigestDelivery]:
    """Deliveries (of one scope and/or week), newest week first, then scope and recipient."""
    query = select(DigestDelivery)
    if scope is not None:
        query = query.where(DigestDelivery.scope == scope)
    if iso_week is not None:
        query = query.where(DigestDelivery.iso_week == iso_week)
    return list(session.scalars(query.order_by(DigestDelivery.iso_week.desc(), DigestDelivery.scope,
                                               DigestDelivery.chat_id)))


__all__ = [
    "Attachment",
    "ERROR_MAX",
    "OPEN_STATUSES",
    "claim_delivery",
    "due_deliveries",
    "end_delivery",
    "finish_week_if_done",
    "list_deliveries",
    "plan_digest_deliveries",
    "record_delivery_progress",
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
