"""Residents: people who came through a village's survey link and never registered as members.

The bot answers their questions in residents' words (where to go, what to bring) instead of the cadres' lists.
Only a keyed hash of the Telegram user is kept (`resident_key`), and the day they were first seen.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.errors import InvalidInput
from storage.models import Resident


def resident_key(secret: str, telegram_user_id: int) -> str:
    """HMAC-SHA256(secret, 'resident|<user id>'): recognises a resident again without storing their ID."""
    if not secret:
        raise InvalidInput("secret is empty")
    return hmac.new(secret.encode(), f"resident|{int(telegram_user_id)}".encode(), hashlib.sha256).hexdigest()


def mark_resident(session: Session, key: str, *, day: date) -> None:
    """Remember this resident (a second visit changes nothing)."""
    session.execute(
        upsert_insert(session, Resident).values(owner_key=key, first_seen=day).on_conflict_do_nothing(
            index_elements=["owner_key"])
    )


def is_resident(session: Session, key: str) -> bool:
    return session.get(Resident, key) is not None


__all__ = ["is_resident", "mark_resident", "resident_key"]
