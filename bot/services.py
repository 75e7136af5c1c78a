"""What every handler needs, built once by `bot.app.build_application` and kept in `app.bot_data.services`.

    services = context.services                                        # a handler's bot.router.CadreContext
    result = services.kb.check(text)                                   # knowledge base, loaded once
    with services.db.session() as session: ...                         # blocking; fine for short work
    member = await services.run_db(storage.members.get_member, 42)     # same, in a worker thread

`run_db(fn, *args, **kwargs)` opens a session (commit on success, rollback on error), calls
`fn(session, *args, **kwargs)` in a worker thread and returns its result. A database that is down or locked
raises `storage.errors.DatabaseUnavailable` (the caller tells the user "系统繁忙，请稍后再试").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.outbox import Outbox
from bot.ratelimit import Decision, RateLimiter, SharedRateLimiter
from storage.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from telegram.ext import Application, CallbackContext

    from bot.settings import Settings
    from knowledge import KnowledgeBase
    from storage.db import Database

T = TypeVar("T")


class MemberCache:
    """Who a registered Telegram user is (a member snapshot), remembered for `ttl` seconds; an unregistered user is
    looked up every time.

    Only for the hot path (logging a check, choosing which buttons to show). Every decision that needs
    permission (red cards, listings) reads the database. Registration in this process calls `forget`.
    """

    def __init__(self, ttl: float = 60.0, max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[int, tuple[float, Any]] = {}

    MISSING: Any = object()

    def get(self, user_id: int) -> Any:
        """The cached snapshot (possibly None), or MemberCache.MISSING."""
        entry = self._entries.get(user_id)
        if entry is None or entry[0] < self.clock():
            return self.MISSING
        return entry[1]

    def put(self, user_id: int, who: Any) -> None:
        """Remember a member. "Not a member" is never remembered: with several worker processes, a /register
        handled by another process must count from the user's very next message."""
        if who is None:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[user_id] = (self.clock() + self.ttl, who)

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)


@dataclass
class Services:
    """Settings, knowledge base and database of one running bot (plus its rate limiter and retry queue)."""

    settings: Settings
    kb: KnowledgeBase
    db: Database
    # Per-user limit on checks and survey submissions: `services.limiter.allow(user_id, "check")`.
    limiter: RateLimiter = field(default_factory=RateLimiter)
    # The check limit kept in the database instead, when workers in several processes share the updates
    # (bot.app sets it for a named worker); see check_allowed.
    shared_limiter: SharedRateLimiter | None = None
    # Writes that failed because the database was down, replayed when it is back (`bot.outbox`).
    outbox: Outbox = field(default_factory=Outbox)
    # Run blocking database work in worker threads (True) or inline on the event loop (False).
    db_in_thread: bool = True
    # Short-lived member snapshots for the hot path (see MemberCache).
    members: MemberCache = field(default_factory=MemberCache)
    # After the database was found down, fail fast for this many seconds instead of waiting on every update
    # for connect/lock timeouts (which would hold up everyone); 0 disables.
    db_pause_seconds: float = 3.0
    db_paused_until: float = 0.0

    def __post_init__(self) -> None:
        if self.limiter.per_minute is None:
            self.limiter.per_minute = self.settings.checks_per_minute

    async def check_allowed(self, user_id: int) -> Decision:
        """The per-user check limit: counted in the database when several processes share the updates (each
        counting alone would allow N times the limit), else in this process. A database that is down falls back to
        this process's count: nobody's check is refused because of it.

        Survey submissions stay counted per process (`limiter`): their times, kept beside a hash of the user,
        could link a resident to an answer, which nothing may do once a period closes."""
        if self.shared_limiter is not None and self.limiter.per_minute:
            try:
                return await self.run_db(self.shared_limiter.hit, user_id, self.limiter.per_minute, "check")
            except DatabaseUnavailable:
                pass
        return self.limiter.hit(user_id, "check")

    async def run_db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(session, *args, **kwargs)` in one transaction; DatabaseUnavailable if the database is down."""

        def work() -> T:
            with self.db.session() as session:
                return fn(session, *args, **kwargs)

        if self.db_paused_until and time.monotonic() < self.db_paused_until:
            raise DatabaseUnavailable("the database was unavailable a moment ago")
        try:
            if self.db_in_thread:
                return await asyncio.to_thread(work)
            return work()
        except DatabaseUnavailable:
            if self.db_pause_seconds > 0:
                self.db_paused_until = time.monotonic() + self.db_pause_seconds
            raise

    @property
    def secret(self) -> str:
        """The secret that signs buttons and keys hashes (settings.secret is a SecretStr)."""
        return self.settings.secret.get_secret_value()

    def database_back(self) -> None:
        """Forget an earlier failure (the database answered again, e.g. to the outbox's flush)."""
        self.db_paused_until = 0.0

    def session(self) -> Any:
        """`with services.session() as session:` (blocking, on the event loop)."""
        return self.db.session()


def get_services(context: CallbackContext | Application) -> Services:
    """The Services of the running application (from a handler's context or the Application itself); in a
    handler, `context.services` says the same."""
    application = getattr(context, "application", context)
    return application.bot_data.services


__all__ = ["MemberCache", "Services", "get_services"]
