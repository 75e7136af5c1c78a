"""The check log: every task check (text, verdict, top item, village, time) and the 👍/👎 feedback on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.errors import InvalidInput, NotFound, NotPermitted
from storage.models import CheckLog, utcnow

TEXT_MAX = 4096
FEEDBACK_VALUES = (1, -1)
_COLUMNS = ("text", "verdict", "top_item_id", "village_id", "member_id", "created_at", "bot_id", "update_id")
_INSERTS: dict[str, Any] = {}  # the check log's INSERT, built once per dialect (see log_check)


def log_check(
    session: Session,
    *,
    text: str,
    verdict: str,
    top_item_id: str | None = None,
    village_id: int | None = None,
    member_id: int | None = None,
    now: datetime | None = None,
    bot_id: int | None = None,
    update_id: int | None = None,
) -> int:
    """Record one check; its id (for the 👍/👎 buttons). Text is cut to 4096 characters.

    For an unregistered user pass member_id=None (and village_id=None unless known). `bot_id` and `update_id`
    name the Telegram update the check answers: the same update handled again (after a crash) returns the check
    logged the first time instead of a second one. One INSERT … ON CONFLICT DO NOTHING RETURNING on the hot
    path (the ORM's unit of work and a look-up first cost as much again), built once and run on the session's
    connection: building it per call and the ORM's bulk-insert layer took 40 % of the check log's CPU.
    """
    values = {
        "text": (text or "")[:TEXT_MAX],
        "verdict": verdict,
        "top_item_id": top_item_id or None,
        "village_id": village_id,
        "member_id": member_id,
        "created_at": now or utcnow(),
        "bot_id": bot_id if update_id is not None else None,
        "update_id": update_id,
    }
    inserted = session.connection().execute(_insert(session), values).scalar()
    if inserted is not None:
        return int(inserted)
    return session.execute(select(CheckLog.id).where(CheckLog.bot_id == bot_id, CheckLog.update_id == update_id)
                           ).scalar_one()


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    statement = _INSERTS.get(dialect)
    if statement is None:
        statement = (upsert_insert(session, CheckLog).values({name: bindparam(name) for name in _COLUMNS})
                     .on_conflict_do_nothing(index_elements=["bot_id", "update_id"]).returning(CheckLog.id))
        _INSERTS[dialect] = statement
    return statement


def set_feedback(session: Session, check_id: int, value: int | None, *, member_id: int | None = None) -> CheckLog:
    """Set (+1 / -1) or clear (None) the feedback of a check; pressing again just overwrites.

    A check logged for a member can only be rated by that member (NotPermitted otherwise);
    NotFound for an unknown check id.
    """
    if value is not None and value not in FEEDBACK_VALUES:
        raise InvalidInput(f"feedback must be 1, -1 or None, not {value!r}")
    entry = session.get(CheckLog, check_id)
    if entry is None:
        raise NotFound("check", check_id)
    if entry.member_id is not None and entry.member_id != member_id:
        raise NotPermitted("这条检查不是您提交的")
    session.execute(
        update(CheckLog)
        .where(CheckLog.id == check_id)
        .values(feedback=value)
        .execution_options(synchronize_session=False)
    )
    session.refresh(entry)
    return entry


def get_check(session: Session, check_id: int) -> CheckLog | None:
    return session.get(CheckLog, check_id)


def recent_checks(session: Session, *, village_id: int | None = None, limit: int = 20) -> list[CheckLog]:
    """Newest first, optionally for one village."""
    query = select(CheckLog).order_by(CheckLog.created_at.desc(), CheckLog.id.desc()).limit(limit)
    if village_id is not None:
        query = query.where(CheckLog.village_id == village_id)
    return list(session.scalars(query))


__all__ = ["FEEDBACK_VALUES", "TEXT_MAX", "get_check", "log_check", "recent_checks", "set_feedback"]
