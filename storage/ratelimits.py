"""The per-user rate limit's state in the database, for workers in several processes (bot.ratelimit decides;
this only keeps each user's window). One row per user and kind: the times of the hits still in the window and
until when a refused user is not warned again.

    hits, quiet_until = load_window(session, key, "check", since=now - 60)   # the row locked (PostgreSQL)
    save_window(session, key, "check", hits + [now], quiet_until)

One user's updates are handled one at a time across all workers (storage.intake), so the lock is only a guard.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage._sql import affected_rows, upsert_insert
from storage.models import RateWindow


def load_window(session: Session, user_key: str, kind: str, *, since: float) -> tuple[list[float], float]:
    """The hit times after `since` (oldest first) and the quiet-until time; ([], 0.0) for a user never seen."""
    row = session.execute(select(RateWindow.hits, RateWindow.quiet_until)
                          .where(RateWindow.user_key == user_key, RateWindow.kind == kind)
                          .with_for_update()).first()
    if row is None:
        return [], 0.0
    return [float(t) for t in row.hits if float(t) > since], float(row.quiet_until)


def save_window(session: Session, user_key: str, kind: str, hits: list[float], quiet_until: float) -> None:
    changes = {"hits": hits, "quiet_until": quiet_until, "last_hit": max(hits, default=0.0)}
    session.execute(upsert_insert(session, RateWindow).values(user_key=user_key, kind=kind, **changes)
                    .on_conflict_do_update(index_elements=["user_key", "kind"], set_=changes))


def purge_idle(session: Session, *, now: float, window: float) -> int:
    """Forget the windows of users with no hit within `window` (a warning's quiet time ends one window after the
    last hit, so none is still running): the times of who checked when are kept no longer than the limit needs."""
    return affected_rows(session.execute(delete(RateWindow).where(RateWindow.last_hit < now - window)))


__all__ = ["load_window", "purge_idle", "save_window"]
