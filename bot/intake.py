"""The bot's side of the durable intake (storage.intake): updates are saved before Telegram is told they
arrived, and workers claim them from the database, so a crash at any moment loses nothing.

    queue = DurableUpdateQueue(db, secret, bot_id)              # the Application's update_queue
    ApplicationBuilder().update_queue(queue)
        .get_updates_request(AckAfterSaving(inner, queue))      # polling: getUpdates waits for the save
    worker = IntakeWorker(app, db, name="w1"); await worker.start()

- Polling: PTB's Updater puts each fetched update on the update queue, then asks getUpdates again with a
  higher offset, which tells Telegram the earlier ones arrived. `DurableUpdateQueue.put` only buffers;
  `AckAfterSaving` writes the buffer to the database, in one transaction, before it lets that next getUpdates
  out. If the database is down the getUpdates fails (PTB retries it) and nothing is acknowledged.
- Webhook: PTB's handler answers HTTP 200 after `put` returns, and `put` returns only once the update is saved
  (a database that is down gives HTTP 500, and Telegram sends the update again later).
- Workers (`IntakeWorker`, in this process or in `cadrebot worker` processes sharing a PostgreSQL database)
  claim updates (one at a time per user, in order: storage.intake.claim), run the Application's handlers, and
  finish them. A handler that failed for a transient reason is put back in line (storage.intake.retry_later);
  the records it wrote carry the update's id (check_log.update_id, one red card per check, one response per
  respondent), so running an update again never writes a record twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from storage import intake, pending
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

# How many updates one worker handles at once (different users; one user's are one at a time anyway).
WORKER_SLOTS = 64
# An idle worker looks for new updates after IDLE_POLL_FIRST, then less and less often up to its maximum.
# Alone (one process) its own receiving wakes it at once, so it only looks for retries falling due (ALONE);
# beside other processes on PostgreSQL a NOTIFY from the receiving process wakes it (see LISTEN below), so it polls
# as rarely; only while it cannot listen does it find what others received by looking (SHARED: ~50 indexed
# queries a second per idle worker).
IDLE_POLL_FIRST = 0.005
IDLE_POLL_MAX_ALONE = 1.0
IDLE_POLL_MAX_SHARED = 0.02
# On PostgreSQL a worker beside other processes LISTENs for what they receive (storage.intake.NOTIFY_CHANNEL): it is
# woken like a worker alone, and polls only for retries falling due and while its listening connection is down.
LISTEN_RECONNECT_SECONDS = 1.0
# Claims of a dead worker (other processes) are looked for this often.
RELEASE_EVERY_SECONDS = 15.0


class IntakeMode(Enum):
    """How updates arrive: the getUpdates acknowledges them (polling), or the HTTP 200 does (webhook)."""

    POLLING = "polling"
    WEBHOOK = "webhook"
    WORKER = "worker"  # `cadrebot worker`: receives nothing itself, handles what another process saved


def user_key(update: Update, secret: str) -> int:
    """What orders an update among its user's: a keyed hash of the user (or chat), never the Telegram ID itself;
    an update from nobody (a poll's results) is its own line."""
    who = update.effective_user or update.effective_chat
    if who is None:
        return -int(update.update_id)
    digest = hmac.new(secret.encode(), f"intake|{who.id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits: fits a signed BIGINT


def _payload(update: Update) -> str:
    return json.dumps(update.to_dict(), ensure_ascii=False, separators=(",", ":"))


class DurableUpdateQueue(asyncio.Queue):
    """The Application's update queue, whose updates go to the database instead of memory (PTB's own signals,
    e.g. the stop signal, still go through memory)."""

    def __init__(self, db: Any, secret: str, bot_id: int, *, wait_until_saved: bool = False) -> None:
        super().__init__()
        self.db = db
        self.secret = secret
        self.bot_id = bot_id
        # True in webhook mode: put() returns once the update is saved (the HTTP 200 comes after it).
        self.wait_until_saved = wait_until_saved
        self._buffer: list[tuple[int, int, str]] = []
        # Updates put so far, and how many of them are written: a caller waits until its own are written.
        self._put_count = 0
        self.saved_count = 0
        self._writing: asyncio.Future[None] | None = None  # the write in progress, shared by everyone waiting
        self.received = asyncio.Event()  # wakes this process's worker

    async def put(self, item: Any) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        self._buffer.append((item.update_id, user_key(item, self.secret), _payload(item)))
        self._put_count += 1
        if self.wait_until_saved:
            await self.save()

    def put_nowait(self, item: Any) -> None:
        if isinstance(item, Update):
            raise RuntimeError("updates go through `await put()`, which saves them")
        super().put_nowait(item)

    async def save(self) -> None:
        """Return once every update put before this call is written; raises DatabaseUnavailable (keeping the
        buffer) if the write holding them failed.

        One write at a time, of everything buffered when it starts (concurrent webhook requests share it). A caller
        whose updates a write in progress already holds just waits for that write; one whose updates came after it
        starts the next. (Until 2026-12 every caller queued for a lock in turn, each one's HTTP 200 waiting behind
        all the writes before it even when its update had long been saved: 200-300 ms with 100 senders.)"""
        wanted = self._put_count
        while self.saved_count < wanted:
            writing = self._writing
            if writing is None or writing.done():
                writing = self._writing = asyncio.ensure_future(self._write_buffer())
            await asyncio.shield(writing)  # a caller that gives up (cancelled) leaves the write to the others

    async def _write_buffer(self) -> None:
        batch = list(self._buffer)

        def write() -> None:
            with self.db.session() as session:
                intake.receive(session, self.bot_id, batch)

        await asyncio.to_thread(write)
        del self._buffer[: len(batch)]
        self.saved_count += len(batch)
        self.received.set()

    @property
    def unsaved(self) -> int:
        return len(self._buffer)


class AckAfterSaving(BaseRequest):
    """The getUpdates transport: before a getUpdates goes out (its offset acknowledges the updates fetched
    before), the updates fetched before are saved. A failed save fails this getUpdates, which PTB retries."""

    def __init__(self, inner: BaseRequest, queue: DurableUpdateQueue) -> None:
        self.inner = inner
        self.queue = queue

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        try:
            await self.queue.save()
        except DatabaseUnavailable as exc:
            log.warning("updates not acknowledged yet: the database is unavailable (%s)", exc)
            raise NetworkError("the database is unavailable; updates are not acknowledged") from exc
        return await self.inner.do_request(url, method, request_data, read_timeout=read_timeout,
                                           write_timeout=write_timeout, connect_timeout=connect_timeout,
                                           pool_timeout=pool_timeout)


# ---------------------------------------------------------------------------------------------- outcome


@dataclass
class Outcome:
    """How handling one update went, as the error handler saw it."""

    attempts: int
    transient_failure: bool = False


_current: contextvars.ContextVar[Outcome | None] = contextvars.ContextVar("cadrebot_intake_outcome", default=None)
# The pending kinds open in the chat of the update being handled, read in the transaction that claimed it (so the
# router needs no look-up of its own): (chat id, kinds), or None when the claim did not look (see IntakeWorker).
_open_at_claim: contextvars.ContextVar[tuple[int, frozenset[str]] | None] = contextvars.ContextVar(
    "cadrebot_intake_open_kinds", default=None)


def open_kinds_at_claim(chat_id: int) -> frozenset[str] | None:
    """The router's look-up, already made when the update being handled was claimed; None if it was not made
    (no intake, another chat, or not the first of its user's chain: an earlier link may have opened a step)."""
    known = _open_at_claim.get()
    if known is None or known[0] != chat_id:
        return None
    return known[1]


def is_transient(error: BaseException | None) -> bool:
    """Worth trying again: the network, Telegram's 5xx, a database that was down. Not a bad request."""
    return isinstance(error, DatabaseUnavailable) or (isinstance(error, NetworkError)
                                                      and not isinstance(error, BadRequest))


def note_failure(error: BaseException | None) -> bool:
    """Called by the error handler: True if the update will be tried again (so the user need not resend)."""
    outcome = _current.get()
    if outcome is None or not is_transient(error):
        return False
    outcome.transient_failure = True
    return outcome.attempts < len(intake.RETRY_DELAYS)


# ---------------------------------------------------------------------------------------------- the worker


def bot_id_of(token: str) -> int:
    """A bot's id is the number before the colon of its token (what getMe would say, known before it)."""
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 0


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class IntakeWorker:
    """Claims updates from the database and runs the Application's handlers on them, WORKER_SLOTS at a time."""

    def __init__(self, app: Application, db: Any, bot_id: int, *, name: str | None = None, slots: int = WORKER_SLOTS,
                 wake: asyncio.Event | None = None) -> None:
        self.app = app
        self.db = db
        self.bot_id = bot_id
        # Without a name of its own a worker is alone (`cadrebot run`, one process): it may take back every claim
        # a killed run left, and its own receiving wakes it. Named, it sits beside other processes.
        self.alone = name is None
        self.name = name or default_worker_name()
        self.slots = slots
        self.wake = wake or asyncio.Event()
        self.idle_poll_max = IDLE_POLL_MAX_ALONE if self.alone else IDLE_POLL_MAX_SHARED
        self.handled = 0
        # Told each update id once its handlers have run (the reply sent), before it is marked done: what a load
        # test measures as the user's wait (bench/bot_load.py).
        self.on_handled: Callable[[int], None] | None = None
        # The router's pending kinds (set once the router is wired): the claim also reads which are open in the
        # claimed chats, one query per batch instead of one per message.
        self.pending_kinds: frozenset[str] = frozenset()
        self._open_at_claim: dict[int, tuple[int, frozenset[str]]] = {}
        self._running: set[asyncio.Task] = set()
        self._finished: list[int] = []
        self._retries: list[tuple[int, int]] = []
        self._released: list[int] = []
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._db_down_until = 0.0
        self._listener: threading.Thread | None = None

    async def start(self) -> None:
        """Put back what an earlier run of this worker (or, alone, of anyone) left claimed; then start."""
        self._stopping = False

        def release() -> int:
            with self.db.session() as session:
                return intake.release_claims(session, worker=None if self.alone else self.name)

        with contextlib.suppress(DatabaseUnavailable):
            released = await asyncio.to_thread(release)
            if released:
                log.info("intake: %d update(s) left unfinished by the last run, handled again", released)
        self._tasks = [asyncio.create_task(self._loop(), name="intake")]
        if not self.alone and getattr(self.db, "dialect", "") == "postgresql":
            self._listener = threading.Thread(target=self._listen, args=(asyncio.get_running_loop(),),
                                              name="intake-listen", daemon=True)
            self._listener.start()

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        """A thread: LISTEN on its own connection and wake the claim loop for each update another process received.
        While the connection is down (the database restarting) the claim loop polls as it would without it."""
        import psycopg

        dsn = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stopping:
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {intake.NOTIFY_CHANNEL}")
                    self.idle_poll_max = IDLE_POLL_MAX_ALONE
                    loop.call_soon_threadsafe(self.wake.set)  # anything received before we listened
                    while not self._stopping:
                        for _ in conn.notifies(timeout=LISTEN_RECONNECT_SECONDS, stop_after=1):
                            loop.call_soon_threadsafe(self.wake.set)
            except (psycopg.Error, OSError, RuntimeError) as exc:  # RuntimeError: the loop closed at shutdown
                self.idle_poll_max = IDLE_POLL_MAX_SHARED
                if self._stopping:
                    return
                log.info("intake: not listening for new updates (%s); polling meanwhile", type(exc).__name__)
                time.sleep(LISTEN_RECONNECT_SECONDS)

    async def stop(self) -> None:
        """Let running handlers finish, record them, stop."""
        self._stopping = True
        self.wake.set()
        if self._running:
            await asyncio.wait(self._running, timeout=10)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._listener is not None:  # it looks at _stopping at least once a second
            await asyncio.to_thread(self._listener.join, LISTEN_RECONNECT_SECONDS * 2)
            self._listener = None
        with contextlib.suppress(DatabaseUnavailable):
            await self._write_finished()

    async def _loop(self) -> None:
        """Rounds of one transaction each: mark what finished done (or due for a retry), then claim what free slots
        can take. Finishing a user's update and claiming their next one happen in the same round (the claim sees
        the finish), so a user's next message needs no wake-up of its own, and an idle worker's round trip per
        update is one transaction instead of a finish and a claim. A round starts when updates arrive (wake), when a
        handler finishes, or when the idle poll comes round; while a round runs, what finishes waits for the next
        one, so under load each round writes many."""
        last_release = time.monotonic()
        idle = IDLE_POLL_FIRST
        while not self._stopping:
            free = self.slots - len(self._running)
            if free <= 0 and not self._has_results():
                self.wake.clear()
                await self.wake.wait()  # a handler finishing, or one ending its chain (a free slot)
                continue
            self.wake.clear()
            finished, retries, released = self._take_results()
            release_due = time.monotonic() - last_release > RELEASE_EVERY_SECONDS
            try:
                claimed, open_at_claim = await asyncio.to_thread(self._round, finished, retries, released,
                                                                 max(free, 0), release_due)
            except DatabaseUnavailable as exc:
                self._put_back(finished, retries, released)
                log.warning("intake: cannot claim or finish updates, the database is unavailable (%s)", exc)
                await asyncio.sleep(1.0)
                continue
            if release_due:
                last_release = time.monotonic()
            self._open_at_claim.update(open_at_claim)
            if claimed:
                self._database_answered()
            for links in _chains(claimed):
                task = asyncio.create_task(self._handle_chain(links))
                self._running.add(task)
                task.add_done_callback(self._done)
            if claimed:  # there may be more: claim again at once
                idle = IDLE_POLL_FIRST
                continue
            if not self.wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=idle)
                idle = idle if self.wake.is_set() else min(idle * 2, self.idle_poll_max)

    def _has_results(self) -> bool:
        return bool(self._finished or self._retries or self._released)

    def _take_results(self) -> tuple[list[int], list[tuple[int, int]], list[int]]:
        """What handlers finished since the last round (taken on the event loop, where they are appended)."""
        taken = self._finished, self._retries, self._released
        self._finished, self._retries, self._released = [], [], []
        return taken

    def _put_back(self, finished: list[int], retries: list[tuple[int, int]], released: list[int]) -> None:
        self._finished[:0], self._retries[:0], self._released[:0] = finished, retries, released

    def _round(self, finished: list[int], retries: list[tuple[int, int]], released: list[int], limit: int,
               release_due: bool = False) -> tuple[list[intake.Claimed], dict[int, tuple[int, frozenset[str]]]]:
        """One transaction: expired claims of dead workers back in line (when due), the finished updates done, the
        failed ones due for a retry, the rest of their chains back in line; then claim up to `limit` updates."""
        with self.db.session() as session:
            if release_due:
                intake.release_expired(session)
            intake.finish(session, self.bot_id, finished)
            for update_id, attempts in retries:
                intake.retry_later(session, self.bot_id, update_id, attempts)
            intake.release(session, self.bot_id, released)
            return self._claim(session, limit) if limit > 0 else ([], {})

    def _claim(self, session: Any, limit: int) -> tuple[list[intake.Claimed], dict[int, tuple[int, frozenset[str]]]]:
        """Claim updates; in the same transaction, which pending kinds are open in the chats of the first message
        of each user's chain (by update id)."""
        claimed = intake.claim(session, self.bot_id, worker=self.name, limit=limit)
        if not claimed or not self.pending_kinds:
            return claimed, {}
        chats = {links[0].update_id: chat for links in _chains(claimed)
                 if (chat := _message_chat(links[0].payload)) is not None}
        open_by_chat = pending.open_kinds_of_chats(session, self.pending_kinds, set(chats.values()))
        return claimed, {update_id: (chat, frozenset(open_by_chat.get(chat, ())))
                         for update_id, chat in chats.items()}

    def _database_answered(self) -> None:
        """A claim just went through: handlers need not wait out the pause an earlier failure set (Services.run_db
        refuses for a few seconds after one), or a retry falling due in that pause would fail again at once."""
        services = getattr(self.app.bot_data, "services", None)
        if services is not None:
            services.database_back()

    def _done(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        self.wake.set()  # a free slot

    async def _handle_chain(self, links: list[intake.Claimed]) -> None:
        """One user's claimed updates, one after the other; after one that will be retried, the rest go back in
        line behind it (so the user's order holds)."""
        for n, row in enumerate(links):
            if not await self._handle(row):
                self._released.extend(later.update_id for later in links[n + 1:])
                self.wake.set()
                return

    async def _handle(self, row: intake.Claimed) -> bool:
        """Handle one update; False if it failed for a transient reason (it will be retried)."""
        outcome = Outcome(attempts=row.attempts)
        token = _current.set(outcome)
        known = _open_at_claim.set(self._open_at_claim.pop(row.update_id, None))
        try:
            update = Update.de_json(json.loads(row.payload), self.app.bot)
            if update is not None:
                await self.app.process_update(update)
        except Exception:  # a payload PTB cannot read: nothing to retry, record it done
            log.exception("intake: update %d could not be handled", row.update_id)
        finally:
            _current.reset(token)
            _open_at_claim.reset(known)
        if outcome.transient_failure:
            self._retries.append((row.update_id, row.attempts))
        else:
            self._finished.append(row.update_id)
            self.handled += 1
            if self.on_handled is not None:
                self.on_handled(row.update_id)
        self.wake.set()  # the next round records it
        return not outcome.transient_failure

    async def _write_finished(self) -> None:
        """At stop: record what finished since the last round (put back if the database is down)."""
        finished, retries, released = self._take_results()
        if not (finished or retries or released):
            return
        try:
            await asyncio.to_thread(self._round, finished, retries, released, 0)
        except BaseException:
            self._put_back(finished, retries, released)
            raise


def _message_chat(payload: str) -> int | None:
    """The chat of an update that is a new message (the only kind the router looks up steps for), else None."""
    try:
        chat = (json.loads(payload).get("message") or {}).get("chat") or {}
    except (ValueError, AttributeError):
        return None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return chat_id if isinstance(chat_id, int) else None


def _chains(claimed: list[intake.Claimed]) -> list[list[intake.Claimed]]:
    """Claimed updates grouped by user, each group in update order."""
    chains: dict[int, list[intake.Claimed]] = {}
    for row in claimed:
        chains.setdefault(row.user_key, []).append(row)
    return list(chains.values())


__all__ = ["AckAfterSaving", "DurableUpdateQueue", "bot_id_of", "IntakeMode", "IntakeWorker", "Outcome", "is_transient", "note_failure",
           "open_kinds_at_claim",
           "user_key"]
