"""Audit log of admin actions (CLI or members)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditLog, Member, utcnow

CLI_ACTOR = "cli"


def actor_label(actor: str | Member | int | None) -> str:
    """'cli' for the command line, 'member:<id>' for a member (object or id)."""
    if actor is None:
        return CLI_ACTOR
    if isinstance(actor, Member):
        return f"member:{actor.id}"
    if isinstance(actor, int):
        return f"member:{actor}"
    return str(actor)


def log_action(
    session: Session,
    actor: str | Member | int | None,
    action: str,
    detail: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> AuditLog:
    """Append one audit entry (flushed, not committed)."""
    entry = AuditLog(actor=actor_label(actor), action=action, detail=dict(detail or {}), at=now or utcnow())
    session.add(entry)
    session.flush()
    return entry


def recent_actions(session: Session, limit: int = 50) -> list[AuditLog]:
    """The newest entries first."""
    return list(session.scalars(select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)))


__all__ = ["CLI_ACTOR", "actor_label", "log_action", "recent_actions"]
