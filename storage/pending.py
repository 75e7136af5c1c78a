"""Short-lived conversation state of multi-step flows (e.g. the red-card confirmation), kept in the database
so that a restart resumes or ends cleanly. A row's `id` is the short ID carried in button callback data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from storage._sql import affected_rows, upsert_insert
from storage.errors import NotPermitted
from storage.models import PendingAction, utcnow

DEFAULT_TTL = timedelta(hours=1)


def create_pending(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    member_id: int | None = None,
    chat_id: int | None = None,
    ttl: timedelta | None = DEFAULT_TTL,
    now: datetime | None = None,
) -> PendingAction:
    """Store a pending step (flushed: `.id` is set). ttl=None never expires."""
    now = now or utcnow()
    action = PendingAction(
        kind=kind,
        payload=dict(payload or {}),
        member_id=member_id,
        chat_id=chat_id,
        created_at=now,
        expires_at=now + ttl if ttl is not None else None,
    )
    session.add(action)
    session.flush()
    return action


def _owned(action: PendingAction, member_id: int | None, chat_id: int | None) -> bool:
    if action.member_id is not None and action.member_id != member_id:
        return False
    if action.chat_id is not None and chat_id is not None and action.chat_id != chat_id:
        return False
    return True


def get_pending(
    session: Session,
    action_id: int,
    *,
    member_id: int | None = None,
    chat_id: int | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> PendingAction | None:
    """The pending step, or None if unknown, expired or of another kind.

    NotPermitted if it belongs to another member (or, when both are known, another chat).
    """
    action = session.get(PendingAction, action_id)
    if action is None or (kind is not None and action.kind != kind):
        return None
    if action.expires_at is not None and action.expires_at <= (now or utcnow()):
        return None
    if not _owned(action, member_id, chat_id):
        raise NotPermitted("这个按钮不是给您的")
    return action


def update_pending(session: Session, action: PendingAction, payload: Mapping[str, Any]) -> PendingAction:
    """Replace the payload (assign a new dict so the JSON change is saved)."""
    action.payload = dict(payload)
    session.flush()
    return action


def take_pending(
    session: Session,
    action_id: int,
    *,
    member_id: int | None = None,
    chat_id: int | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> PendingAction | None:
    """Get and delete the pending step atomically: of two concurrent takers (a double tap) only one gets it.

    None if unknown, expired (then deleted), of another kind, or already taken; NotPermitted as in get_pending.
    """
    action = get_pending(session, action_id, member_id=member_id, chat_id=chat_id, kind=kind, now=now)
    if action is None:
        return None
    deleted = session.execute(
        delete(PendingAction)
        .where(PendingAction.id == action_id)
        .returning(PendingAction.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if deleted is None:
        return None
    session.expunge(action)
    return action


def delete_pending(
    session: Session, *, member_id: int | None = None, chat_id: int | None = None, kind: str | None = None
) -> int:
    """Drop a member's / chat's pending steps (e.g. on /cancel). Returns how many."""
    if member_id is None and chat_id is None:
        raise ValueError("give member_id or chat_id")
    query = delete(PendingAction)
    if member_id is not None:
        query = query.where(PendingAction.member_id == member_id)
    if chat_id is not None:
        query = query.where(PendingAction.chat_id == chat_id)
    if kind is not None:
        query = query.where(PendingAction.kind == kind)
    return affected_rows(session.execute(query.execution_options(synchronize_session="fetch")))


def latest_pending(
    session: Session,
    *,
    member_id: int | None = None,
    chat_id: int | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> PendingAction | None:
    """The newest unexpired pending step of a member / chat (to resume after a restart)."""
    if member_id is None and chat_id is None:
        raise ValueError("give member_id or chat_id")
    now = now or utcnow()
    query = select(PendingAction).where((PendingAction.expires_at.is_(None)) | (PendingAction.expires_at > now))
    if member_id is not None:
        query = query.where(PendingAction.member_id == member_id)
    if chat_id is not None:
        query = query.where(PendingAction.chat_id == chat_id)
    if kind is not None:
        query = query.where(PendingAction.kind == kind)
    return session.scalar(query.order_by(PendingAction.id.desc()).limit(1))


def open_kinds(session: Session, kinds: Iterable[str], *, chat_id: int, now: datetime | None = None) -> set[str]:
    """Which of `kinds` have an unexpired step in this chat, or held by an anonymous owner anywhere (whose chat is
    not stored). One indexed query: the router asks it once per message instead of asking every flow in turn."""
    return open_kinds_of_chats(session, kinds, [chat_id], now=now).get(chat_id, set())


_P = cast(Table, PendingAction.__table__)
# Built once: an intake worker runs it in every round that claims messages (storage.intake builds its own likewise).
_OPEN_KINDS = select(_P.c.chat_id, _P.c.owner_key.is_not(None), _P.c.kind).distinct().where(
    _P.c.kind.in_(bindparam("p_kinds", expanding=True)),
    _P.c.chat_id.in_(bindparam("p_chats", expanding=True)) | _P.c.owner_key.is_not(None),
    _P.c.expires_at.is_(None) | (_P.c.expires_at > bindparam("p_now")),
)


def open_kinds_of_chats(session: Session, kinds: Iterable[str], chat_ids: Iterable[int], *,
                        now: datetime | None = None) -> dict[int, set[str]]:
    """`open_kinds` for several chats in one query (an intake worker asks it once per claimed batch)."""
    wanted, chats = list(kinds), list(chat_ids)
    if not wanted or not chats:
        return {chat: set() for chat in chats}
    rows = session.connection().execute(_OPEN_KINDS, {"p_kinds": wanted, "p_chats": chats,
                                                      "p_now": now or utcnow()}).all()
    anonymous = {kind for _, owned, kind in rows if owned}
    found: dict[int, set[str]] = {chat: set(anonymous) for chat in chats}
    for chat_id, owned, kind in rows:
        if not owned and chat_id in found:
            found[chat_id].add(kind)
    return found


# ---------------------------------------------------------------------------------------------- anonymous owners
# A step whose owner must stay anonymous (a resident's survey) has neither member_id nor chat_id: it is found by
# `owner_key`, a keyed hash of the user (the caller computes it). One step per owner and kind (unique index).


def save_owned(
    session: Session,
    *,
    kind: str,
    owner_key: str,
    payload: Mapping[str, Any],
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> None:
    """Create or overwrite the owner's step of this kind; every save pushes its expiry `ttl` further (race-safe)."""
    now = now or utcnow()
    session.execute(  # an expired step is not continued: the new one starts afresh (its own created_at)
        delete(PendingAction)
        .where(PendingAction.owner_key == owner_key, PendingAction.kind == kind, PendingAction.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    values = {"payload": dict(payload), "expires_at": now + ttl}
    session.execute(
        upsert_insert(session, PendingAction)
        .values(kind=kind, owner_key=owner_key, created_at=now, **values)
        .on_conflict_do_update(index_elements=["owner_key", "kind"], set_=values)
    )


def get_owned(session: Session, *, kind: str, owner_key: str, now: datetime | None = None) -> PendingAction | None:
    """The owner's unexpired step of this kind, or None."""
    return session.scalar(
        select(PendingAction).where(
            PendingAction.owner_key == owner_key,
            PendingAction.kind == kind,
            PendingAction.expires_at.is_(None) | (PendingAction.expires_at > (now or utcnow())),
        )
        .execution_options(populate_existing=True)  # save_owned writes past the identity map
    )


def any_unexpired(session: Session, *, kind: str, now: datetime | None = None) -> bool:
    """Whether anybody has an unexpired step of this kind (one indexed look-up, no key needed)."""
    return session.scalar(
        select(PendingAction.id).where(
            PendingAction.kind == kind,
            PendingAction.expires_at.is_(None) | (PendingAction.expires_at > (now or utcnow())),
        ).limit(1)
    ) is not None


def delete_owned(session: Session, *, kind: str, owner_key: str) -> bool:
    """Drop the owner's step of this kind (expired or not). True if there was one."""
    result = session.execute(
        delete(PendingAction)
        .where(PendingAction.owner_key == owner_key, PendingAction.kind == kind)
        .execution_options(synchronize_session="fetch")
    )
    return bool(affected_rows(result))


def owners_of(session: Session, *, kind: str, now: datetime | None = None) -> set[str]:
    """The owner keys with an unexpired step of this kind (to answer "is anyone waiting?" from memory)."""
    return set(
        session.scalars(
            select(PendingAction.owner_key).where(
                PendingAction.kind == kind,
                PendingAction.owner_key.is_not(None),
                PendingAction.expires_at.is_(None) | (PendingAction.expires_at > (now or utcnow())),
            )
        )
    )


def list_pending(
    session: Session, *, member_id: int, kind: str, now: datetime | None = None
) -> list[PendingAction]:
    """A member's unexpired steps of one kind, oldest first (e.g. the withdrawals they may still undo)."""
    now = now or utcnow()
    return list(session.scalars(
        select(PendingAction)
        .where(PendingAction.member_id == member_id, PendingAction.kind == kind,
               (PendingAction.expires_at.is_(None)) | (PendingAction.expires_at > now))
        .order_by(PendingAction.id)
    ))


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    result = session.execute(
        delete(PendingAction)
        .where(PendingAction.expires_at.is_not(None), PendingAction.expires_at <= (now or utcnow()))
        .execution_options(synchronize_session="fetch")
    )
    return affected_rows(result)


__all__ = [
    "open_kinds",
    "open_kinds_of_chats",
    "DEFAULT_TTL",
    "create_pending",
    "delete_owned",
    "delete_pending",
    "get_owned",
    "get_pending",
    "latest_pending",
    "list_pending",
    "owners_of",
    "purge_expired",
    "save_owned",
    "take_pending",
    "update_pending",
]
