"""The durable update intake: every Telegram update is written here before Telegram is told it arrived, and
workers (one or several processes) claim, handle and finish it.

    receive(session, bot_id, [(update_id, user_key, payload_json), ...])   # before the ack; redeliveries ignored
    claimed = claim(session, bot_id, worker="w1", limit=64)                 # the next updates of idle users
    finish(session, bot_id, [update_id, ...])                               # handled: payload erased
    retry_later(session, bot_id, update_id, attempts)                       # a transient failure: later, in line

Update ids count per bot (a new bot token starts again from low numbers), so every row and every query carries
the bot's id, and a worker claims only its own bot's updates (it could not answer another bot's chats).

Per-user order, across processes: `claim` takes a user's oldest open update and the few pending right behind it
(a chain of at most CHAIN, handled one after the other), and only when none of that user's updates is claimed.
So one user's updates run one at a time and in order, while everyone else's run in parallel, and a user with a
backlog of 1,000 gets one chain per round like everybody else gets theirs (fair by construction). On PostgreSQL
the chains' heads are locked FOR UPDATE SKIP LOCKED, so two workers claiming at once never take the same user
and never wait for each other; SQLite has one writer at a time, which gives the same.

A worker that dies leaves its claims behind; `release_expired` puts them back in line once their lease has run
out (a restarted single process releases its own at once: `release_claims`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.models import InboundUpdate, utcnow

LEASE = timedelta(minutes=2)
# At most this many of one user's updates are claimed at once (handled one after the other).
CHAIN = 20
# Done rows only remember their update_id, against a redelivery (Telegram keeps an update 24 hours).
INTAKE_KEEP_DAYS = 2
# PostgreSQL: received updates are announced on this channel, so idle workers of other processes need not poll.
NOTIFY_CHANNEL = "cadrebot_intake"
# A handler that failed for a transient reason (network, Telegram 5xx, database) is tried again after
# RETRY_DELAYS[attempt], then given up (FAILED, kept for the operator).
RETRY_DELAYS: tuple[timedelta, ...] = (timedelta(seconds=2), timedelta(seconds=10), timedelta(seconds=60),
                                       timedelta(minutes=5))


class Status(IntEnum):
    PENDING = 0
    CLAIMED = 1
    DONE = 2
    FAILED = 3


# The statements a worker runs on every round, built once and run on the session's connection: building them per
# call (the expressions, the ORM's execution layer around them) was most of a round's CPU (bench/bot_load.py's
# CPU per update at 200 updates/s: rounds took ~1.5 of the worker's ~3.8 ms). Parameters are named p_* because an
# UPDATE reads a parameter named like a column as a value to SET.
_T = cast(Table, InboundUpdate.__table__)
_RANKED = (select(_T.c.update_id, _T.c.user_key, _T.c.status, _T.c.not_before,
                  func.row_number().over(partition_by=_T.c.user_key, order_by=_T.c.update_id).label("rank"))
           .where(_T.c.bot_id == bindparam("p_bot"), _T.c.status < int(Status.DONE))
           .subquery())
_CLAIMABLE = (select(_RANKED.c.update_id, _RANKED.c.user_key, _RANKED.c.not_before, _RANKED.c.rank)
              .where(_RANKED.c.rank <= bindparam("p_chain"), _RANKED.c.status == int(Status.PENDING))
              .order_by(_RANKED.c.user_key, _RANKED.c.update_id))
_LOCKED_HEADS = (select(_T.c.update_id)
                 .where(_T.c.bot_id == bindparam("p_bot"), _T.c.update_id.in_(bindparam("p_heads", expanding=True)),
                        _T.c.status == int(Status.PENDING))
                 .with_for_update(skip_locked=True, of=_T))


def _mark(which: Any) -> Any:
    return (update(_T)
            .where(_T.c.bot_id == bindparam("p_bot"), _T.c.update_id.in_(which), _T.c.status == int(Status.PENDING))
            .values(status=int(Status.CLAIMED), claimed_by=bindparam("p_worker"), lease_until=bindparam("p_lease"))
            .returning(_T.c.update_id, _T.c.user_key, _T.c.payload, _T.c.attempts))


_CLAIM_HEADS = _mark(_LOCKED_HEADS.scalar_subquery())
_CLAIM_REST = _mark(bindparam("p_ids", expanding=True))
_FINISH = (update(_T).where(_T.c.bot_id == bindparam("p_bot"), _T.c.update_id.in_(bindparam("p_ids", expanding=True)))
           .values(status=int(Status.DONE), payload=None, claimed_by=None, lease_until=None,
                   done_at=bindparam("p_now")))
_RECEIVE: dict[str, Any] = {}  # receive's INSERT … ON CONFLICT DO NOTHING RETURNING, built once per dialect


@dataclass(frozen=True)
class Claimed:
    update_id: int
    payload: str
    attempts: int
    user_key: int = 0


def receive(session: Session, bot_id: int, updates: Iterable[tuple[int, int, str]], *,
            now: datetime | None = None) -> int:
    """Store updates (update_id, user_key, payload JSON) as pending; one already known (a redelivery) is left as
    it is. Returns how many were new."""
    received = now or utcnow()
    rows = [{"bot_id": bot_id, "update_id": int(uid), "user_key": int(key), "payload": payload,
             "status": int(Status.PENDING), "received_at": received, "attempts": 0} for uid, key, payload in updates]
    if not rows:
        return 0
    connection = session.connection()
    name = connection.dialect.name
    if name not in _RECEIVE:
        _RECEIVE[name] = (upsert_insert(session, _T).on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
                          .returning(_T.c.update_id))
    new = len(connection.execute(_RECEIVE[name], rows).all())
    if new and name == "postgresql":  # wakes the workers of other processes when this commits (LISTEN)
        connection.execute(text("SELECT pg_notify(:channel, :bot)"), {"channel": NOTIFY_CHANNEL, "bot": str(bot_id)})
    return new


def claim(session: Session, bot_id: int, *, worker: str, limit: int, chain: int = CHAIN,
          now: datetime | None = None) -> list[Claimed]:
    """Claim the next updates of up to `limit` users who have none claimed: for each, its oldest open update
    and up to `chain` - 1 pending ones right after it (handled one after the other, in order). In update order.

    Chains keep a backlog cheap: a user who sent 1,000 messages costs 50 claims, not 1,000, while everybody
    else still gets a turn in each claim.
    """
    now = now or utcnow()
    connection = session.connection()
    # 1. The first `chain` open updates of each user (a window over the open rows' index), read without locks;
    #    only the pending ones come back (rank 1 is the user's oldest open update: a user whose rank 1 is claimed
    #    returns no rank 1 and is skipped), so a claim reads the few claimable rows, not every update in flight.
    #    Three statements on purpose: written as one (a correlated NOT EXISTS, or a join to an aggregate), the
    #    planner, misled by a queue table's churning statistics, ran it as a nested loop over every open row:
    #    0.4-2 s a claim with 4,000 updates waiting.
    rows = connection.execute(_CLAIMABLE, {"p_bot": bot_id, "p_chain": chain}).all()
    chains: dict[int, list[int]] = {}
    stopped: set[int] = set()
    for row in rows:  # by user, then in update order
        if row.user_key in stopped:
            continue
        links = chains.get(row.user_key, [])
        if row.rank != len(links) + 1 or (row.not_before is not None and row.not_before > now):
            stopped.add(row.user_key)  # one before it is claimed, or this one waits for a retry: the chain ends
            continue
        chains.setdefault(row.user_key, []).append(row.update_id)
    followers = {links[0]: links[1:] for links in chains.values()}
    heads = sorted(followers)[: max(1, limit)]
    if not heads:
        return []
    # 2. The heads, locked (SKIP LOCKED: another worker claiming the same head at this moment keeps it) and
    #    still pending under the lock (one claimed meanwhile by a worker that saw it first is skipped).
    marking = {"p_bot": bot_id, "p_worker": worker, "p_lease": now + LEASE}
    claimed = _claimed(connection.execute(_CLAIM_HEADS, {**marking, "p_heads": heads}))
    # 3. The rest of each chain whose head this worker holds: nobody else claims a user's later updates while
    #    the head is claimed, so these need no lock of their own.
    rest = [follower for head in claimed for follower in followers[head.update_id]]
    if rest:
        claimed += _claimed(connection.execute(_CLAIM_REST, {**marking, "p_ids": rest}))
    return sorted(claimed, key=lambda c: c.update_id)


def _claimed(rows: Any) -> list[Claimed]:
    return [Claimed(r.update_id, r.payload or "null", r.attempts, r.user_key) for r in rows]


def release(session: Session, bot_id: int, update_ids: Sequence[int]) -> None:
    """Claimed but not handled (the rest of a chain behind an update that will be retried): back in line."""
    if update_ids:
        session.execute(
            update(InboundUpdate)
            .where(InboundUpdate.bot_id == bot_id, InboundUpdate.update_id.in_(list(update_ids)),
                   InboundUpdate.status == int(Status.CLAIMED))
            .values(status=int(Status.PENDING), claimed_by=None, lease_until=None),
            execution_options={"synchronize_session": False})


def finish(session: Session, bot_id: int, update_ids: Sequence[int], *, now: datetime | None = None) -> None:
    """Handled: done, and the payload (who sent what) erased."""
    if update_ids:
        session.connection().execute(_FINISH, {"p_bot": bot_id, "p_ids": list(update_ids), "p_now": now or utcnow()})


def retry_later(session: Session, bot_id: int, update_id: int, attempts: int, *,
                now: datetime | None = None) -> Status:
    """A transient failure: back in line after a delay (its user's later updates wait behind it, in order),
    or FAILED after the last delay. Returns the new status."""
    now = now or utcnow()
    if attempts >= len(RETRY_DELAYS):
        values: dict[str, object] = {"status": int(Status.FAILED), "claimed_by": None, "lease_until": None,
                                     "attempts": attempts + 1, "done_at": now}
        status = Status.FAILED
    else:
        values = {"status": int(Status.PENDING), "claimed_by": None, "lease_until": None, "attempts": attempts + 1,
                  "not_before": now + RETRY_DELAYS[attempts]}
        status = Status.PENDING
    session.execute(update(InboundUpdate).where(InboundUpdate.bot_id == bot_id, InboundUpdate.update_id == update_id)
                    .values(**values),
                    execution_options={"synchronize_session": False})
    return status


def release_expired(session: Session, *, now: datetime | None = None) -> int:
    """Claims whose lease ran out (their worker died) go back in line; returns how many."""
    result = session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.status == int(Status.CLAIMED), InboundUpdate.lease_until < (now or utcnow()))
        .values(status=int(Status.PENDING), claimed_by=None, lease_until=None),
        execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def release_claims(session: Session, *, worker: str | None = None) -> int:
    """Put claims back in line now: this worker's (a restart under the same name), or everyone's (a single process
    starting: nobody else can be working)."""
    condition = InboundUpdate.status == int(Status.CLAIMED)
    if worker is not None:
        condition = and_(condition, InboundUpdate.claimed_by == worker)
    result = session.execute(
        update(InboundUpdate).where(condition).values(status=int(Status.PENDING), claimed_by=None, lease_until=None),
        execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def purge_done(session: Session, *, now: datetime | None = None, keep_days: int = INTAKE_KEEP_DAYS) -> int:
    """Forget done updates older than `keep_days`."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    result = session.execute(delete(InboundUpdate).where(InboundUpdate.status == int(Status.DONE),
                                                         InboundUpdate.done_at < cutoff),
                             execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def counts(session: Session) -> dict[Status, int]:
    """How many updates are in each state (for `cadrebot run`'s log and the tests)."""
    rows = session.execute(select(InboundUpdate.status, func.count()).group_by(InboundUpdate.status)).all()
    found = {Status(status): int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in Status}


__all__ = ["CHAIN", "INTAKE_KEEP_DAYS", "LEASE", "NOTIFY_CHANNEL", "RETRY_DELAYS", "Claimed", "Status", "claim", "counts", "finish",
           "purge_done", "receive", "release", "release_claims", "release_expired", "retry_later"]
