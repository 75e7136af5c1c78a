"""Residents: people who came through a village's survey link and never registered as members.

The bot answers their questions in residents' words (where to go, what to bring) instead of the cadres' lists.
Only a keyed hash of the Telegram user is kept (`resident_key`), and the day they were first seen.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.errors import InvalidInput
from storage.models import Member, Resident

# Built once: a check asks this for every unregistered asker (a statement built per call costs as much again as
# running it). A scalar subquery for each, so the one row comes back whether or not either exists.
_STANDING = select(
    select(Member.id).where(Member.telegram_user_id == bindparam("user_id")).scalar_subquery(),
    exists().where(Resident.owner_key == bindparam("key")),
)


@dataclass(frozen=True)
class Standing:
    """Who is asking, as far as the hot path needs: their membership's id (None: not a member), and whether a
    non-member came through a survey link."""

    member_id: int | None
    resident: bool


def resident_key(secret: str, telegram_user_id: int) -> str:
    """HMAC-SHA256(secret, 'resident|<user id>'): recognises a resident again without storing their ID."""
    if not secret:
        raise InvalidInput("secret is empty")
    return hmac.new(secret.encode(), f"resident|{int(telegram_user_id)}".encode(), hashlib.sha256).hexdigest()


def standing(session: Session, telegram_user_id: int, key: str) -> Standing:
    """Membership and residence in one round trip, on the session's connection (no ORM objects)."""
    member_id, resident = session.connection().execute(_STANDING, {"user_id": telegram_user_id, "key": key}).one()
    return Standing(member_id, bool(resident) and member_id is None)


def mark_resident(session: Session, key: str, *, day: date) -> None:
    """Remember this resident (a second visit changes nothing)."""
    session.execute(
        upsert_insert(session, Resident).values(owner_key=key, first_seen=day).on_conflict_do_nothing(
            index_elements=["owner_key"])
    )


__all__ = ["Standing", "mark_resident", "resident_key", "standing"]
