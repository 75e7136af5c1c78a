"""The composition root: `build_application(settings, **overrides)` builds the python-telegram-bot Application.

Production (`cadrebot run`), the tests and the benchmarks all use this one factory:

    app = build_application(settings)                                        # production
    app = build_application(settings, request=RecordingRequest(), db=db,     # tests: offline transport,
                            kb=kb, rate_limiter=None)                        #        no flood limiter

Every handler, flow and job of the features in HANDLER_MODULES is registered by bot/wiring.py (one table); a
missing module is an error (ModuleNotFoundError), never a feature silently left out. Free text goes through the
router (bot/router.py): a flow waiting for this user's answer gets it, else the task check.
Handlers and jobs receive a `bot.router.CadreContext`: `context.services` is the bot's Services.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Iterable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
    CommandHandler,
    Defaults,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.intake import AckAfterSaving, DurableUpdateQueue, IntakeMode, IntakeWorker, bot_id_of
from bot.outbox import Outbox
from bot.outgoing_limits import OutgoingLimits
from bot.ratelimit import WINDOW_SECONDS, RateLimiter, SharedRateLimiter
from bot.router import CONTEXT_TYPES, CadreContext, services_of
from bot.services import Services
from bot.settings import Settings
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

HANDLER_MODULES: tuple[str, ...] = (
    "handlers.start",
    "handlers.survey",
    "handlers.digest",
    "handlers.redcard",
    "handlers.redcards",
    "handlers.check",
    "handlers.evaluation",
    "handlers.evaluation_committee",
    "handlers.evaluation_department",
)
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
# How many updates run at once (different users in parallel; one user's updates stay in order).
DEFAULT_CONCURRENT_UPDATES = 64
# The default rate limiter (OutgoingLimits) retries a request after Telegram's 429 RetryAfter this many times.
RATE_LIMIT_RETRIES = 3
PG_LOCK_TIMEOUT_MS = 5000
# Expired pending steps (a red card whose department was never chosen, …) are deleted daily, first soon after start.
PURGE_JOB = "pending-purge"
OUTBOX_FLUSH_JOB = "outbox-flush"
PURGE_INTERVAL = timedelta(days=1)
PURGE_FIRST = timedelta(minutes=5)
GIL_SWITCH_INTERVAL = 0.001

_DEFAULT: Any = object()


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential per user: a cadre's two quick taps are handled in order.

    The user's turn is waited for before one of the concurrent slots is taken, so one user's queued updates
    (waiting their turn, e.g. while their replies go out at 1 message/s) never fill the slots others need.
    """

    def __init__(self, max_concurrent_updates: int = DEFAULT_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the user's turn, then for a concurrent slot (BaseUpdateProcessor's semaphore)."""
        key = _update_key(update)
        if key is None:
            await super().process_update(update, coroutine)
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await super().process_update(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handlers (process_update holds the user's turn and a slot)."""
        await coroutine

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _update_key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


def tune_runtime() -> None:
    """Process settings for a long-running bot, applied by `cadrebot run` (and the load benchmark) after start-up:

    - gc.freeze(): the knowledge base and handlers live for the whole run; keep them out of every GC pass;
    - a 1 ms GIL switch interval (default 5 ms): database work runs in worker threads, and a thread whose query
      has returned waits for the event loop to hand the GIL over; a shorter interval cuts that wait (measured:
      p99 under load at 200 updates/s roughly halves, throughput unchanged).
    """
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def normalize_base_url(url: str | None) -> str:
    """The Bot API base URL PTB wants ('…/bot', the token is appended); '' means api.telegram.org.

    'http://127.0.0.1:8081' and 'http://127.0.0.1:8081/bot' both become 'http://127.0.0.1:8081/bot';
    a URL with a '{token}' placeholder is kept as it is.
    """
    url = (url or "").strip()
    if not url:
        return DEFAULT_API_BASE_URL
    if "{token}" in url:
        return url
    url = url.rstrip("/")
    return url if url.endswith("/bot") else url + "/bot"


def _file_base_url(base_url: str) -> str:
    if "{token}" in base_url:
        return base_url.replace("/bot{token}", "/file/bot{token}")
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


class TokenRedactingFilter(logging.Filter):
    """Replaces the bot token with '<token>' in every log record that passes through a handler: the message, the
    traceback of a logged exception (PTB's InvalidToken carries the token) and the stack info."""

    _formatter = logging.Formatter()

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def _redact(self, text: str) -> str:
        return text.replace(self.token, "<token>")

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg = self._redact(message)
            record.args = None
        if record.exc_info and record.exc_info != (None, None, None):
            # Render the traceback here, redacted, and hand the handler only that text: Formatter.format uses
            # record.exc_text as it is and renders exc_info only while exc_text is empty.
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info and self.token in record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def protect_logs(token: str) -> None:
    """httpx logs every request URL (which contains the token) at INFO: keep it at WARNING, and redact the
    token in whatever the root logger's handlers still see."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if token:
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, TokenRedactingFilter) and f.token == token for f in handler.filters):
                handler.addFilter(TokenRedactingFilter(token))


def build_application(
    settings: Settings | None = None,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    base_url: str | None = None,
    kb: Any = None,
    db: Any = None,
    rate_limiter: BaseRateLimiter | None = _DEFAULT,
    concurrent_updates: bool | int | BaseUpdateProcessor = _DEFAULT,
    handler_modules: Iterable[str] = HANDLER_MODULES,
    limiter: RateLimiter | None = None,
    outbox: Outbox | None = None,
    db_in_thread: bool = True,
    job_queue: bool = True,
    set_commands: bool = True,
    intake: IntakeMode | None = None,
    worker_name: str | None = None,
) -> Application:
    """Build the bot's Application; every keyword overrides what `settings` would give.

    token: default settings.bot_token (required: ValueError if neither is set).
    request / get_updates_request: PTB BaseRequest objects (tests: the offline RecordingRequest); if only
        `request` is given it is used for getUpdates as well.
    base_url: default settings.api_base_url (TELEGRAM_API_BASE_URL), else api.telegram.org.
    kb: a loaded KnowledgeBase (default: knowledge.from_settings(settings)).
    db: a storage.db.Database (default: Database(settings.database_url)).
    rate_limiter: default OutgoingLimits(max_retries=3) (Telegram's limits per chat, per group and overall;
        honours 429 RetryAfter); None disables it.
    concurrent_updates: default PerUserUpdateProcessor(64); False processes one update at a time.
    limiter: the per-user RateLimiter (default: settings.checks_per_minute).
    outbox: the retry queue of unsaved writes (default: <data_dir>/outbox.jsonl, each entry fsynced when queued).
    db_in_thread: run blocking database work in worker threads (Services.run_db).
    job_queue: False builds the Application without a JobQueue (no periodic outbox flush).
    set_commands: False skips setMyCommands at start-up.
    intake: receive updates durably (bot/intake.py): saved to the database before Telegram is told they
        arrived, and handled by an IntakeWorker in this process; None (tests) handles what is put on the queue
        or given to process_update directly, in memory.
    worker_name: the IntakeWorker's name in the database (default host:pid).
    """
    settings = settings or Settings()
    token = token or settings.bot_token.get_secret_value()
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    protect_logs(token)

    if kb is None:
        import knowledge

        kb = knowledge.from_settings(settings)
    owns_db = db is None
    if db is None:
        from storage.db import Database, database_url

        engine_options: dict[str, Any] = {}
        if database_url(settings.database_url).startswith("postgresql"):
            # A locked row or table fails after a few seconds (like SQLite's busy timeout) instead of hanging.
            engine_options["connect_args"] = {"options": f"-c lock_timeout={PG_LOCK_TIMEOUT_MS}"}
        db = Database(settings.database_url, **engine_options)
    if outbox is None:
        outbox = Outbox(path=settings.data_dir / "outbox.jsonl")
    services = Services(
        settings=settings, kb=kb, db=db, limiter=limiter or RateLimiter(), outbox=outbox, db_in_thread=db_in_thread
    )
    if worker_name is not None:  # beside other processes: any of them may handle this user's next check
        services.shared_limiter = SharedRateLimiter(services.secret)

    url = normalize_base_url(base_url if base_url is not None else settings.api_base_url)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(url)
        .base_file_url(_file_base_url(url))
        .defaults(Defaults(tzinfo=ZoneInfo(settings.timezone or "Asia/Shanghai")))
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown_disposing if owns_db else _post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
        get_updates_request = get_updates_request or request
    queue: DurableUpdateQueue | None = None
    if intake is not None:
        queue = DurableUpdateQueue(db, services.secret, bot_id_of(token), wait_until_saved=intake is IntakeMode.WEBHOOK)
        builder = builder.update_queue(queue)
        if intake is IntakeMode.POLLING:
            # PTB's own getUpdates transport (one connection), behind the save-before-acknowledging gate.
            get_updates_request = AckAfterSaving(get_updates_request or HTTPXRequest(connection_pool_size=1), queue)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    if rate_limiter is _DEFAULT:
        rate_limiter = OutgoingLimits(max_retries=RATE_LIMIT_RETRIES)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    if concurrent_updates is _DEFAULT:
        concurrent_updates = PerUserUpdateProcessor(DEFAULT_CONCURRENT_UPDATES)
    elif concurrent_updates is True or (isinstance(concurrent_updates, int) and concurrent_updates > 1
                                        and not isinstance(concurrent_updates, bool)):
        size = DEFAULT_CONCURRENT_UPDATES if concurrent_updates is True else int(concurrent_updates)
        concurrent_updates = PerUserUpdateProcessor(size)
    if concurrent_updates:
        builder = builder.concurrent_updates(concurrent_updates)
    if not job_queue:
        builder = builder.job_queue(None)

    app = builder.build()
    app.bot_data.services = services
    app.bot_data.set_commands = set_commands
    app.bot_data.intake_worker = None
    if queue is not None:
        # Alone (one process), this worker may take back every claim a killed run left; `cadrebot worker`
        # processes beside it pass their own names and take back only their own.
        app.bot_data.intake_worker = IntakeWorker(app, db, bot_id_of(token), name=worker_name, wake=queue.received)

    from bot.wiring import wire

    router = wire(app, handler_modules)
    if app.bot_data.intake_worker is not None:
        app.bot_data.intake_worker.pending_kinds = router.pending_kinds
    return app


def registered_commands(app: Application) -> set[str]:
    """Every command some CommandHandler of the application answers."""
    commands: set[str] = set()
    for handlers in app.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                commands |= set(handler.commands)
    return commands


async def _post_init(app: Application) -> None:
    """Set the command menu (carry on if the server refuses) and restore the outbox (its periodic flush and the
    pending-step purge are jobs in bot/wiring.py)."""
    from texts import start as S

    services = services_of(app)
    if app.bot_data.set_commands:
        available = registered_commands(app)
        menu = [BotCommand(c, d) for c, d in S.MENU if c in available]
        try:
            if menu:
                await app.bot.set_my_commands(menu)
        except (TelegramError, ValueError) as exc:  # telegram-test-api answers 500; an old server may not know it
            log.warning("could not set the command menu (%s); carrying on", type(exc).__name__)
    loaded = services.outbox.load()
    if loaded:
        log.info("outbox: %d unsaved write(s) from the last run queued", loaded)
    worker = app.bot_data.intake_worker
    if worker is not None:
        await worker.start()


async def _post_stop(app: Application) -> None:
    """Let the intake worker finish what it is handling and record it."""
    worker = app.bot_data.intake_worker
    if worker is not None:
        await worker.stop()


async def flush_outbox(context: CadreContext) -> None:
    """The job: replay writes that failed while the database was down."""
    services = context.services
    if len(services.outbox):
        saved = await asyncio.to_thread(services.outbox.flush, services.db)
        if saved:
            services.database_back()


async def purge_expired_pending(context: CadreContext) -> None:
    """The job: delete expired pending steps (storage.pending) and idle users' shared check-limit windows
    (storage.ratelimits); a database that is down is tried the next time."""
    from storage.pending import purge_expired
    from storage.ratelimits import purge_idle

    services = context.services
    try:
        purged = await services.run_db(purge_expired)
        await services.run_db(purge_idle, now=time.time(), window=WINDOW_SECONDS)
    except DatabaseUnavailable as exc:
        log.warning("pending-step purge skipped: database unavailable (%s)", exc)
        return
    if purged:
        log.info("purged %d expired pending step(s)", purged)


async def _post_shutdown(app: Application) -> None:
    """Try once more to save what is queued (what is left stays on disk for the next start)."""
    services = services_of(app)
    if len(services.outbox):
        await asyncio.to_thread(services.outbox.flush, services.db)


async def _post_shutdown_disposing(app: Application) -> None:
    """As _post_shutdown, then close the database connections this factory opened."""
    try:
        await _post_shutdown(app)
    finally:
        services_of(app).db.dispose()


__all__ = [
    "DEFAULT_API_BASE_URL",
    "HANDLER_MODULES",
    "PerUserUpdateProcessor",
    "build_application",
    "flush_outbox",
    "normalize_base_url",
    "protect_logs",
    "purge_expired_pending",
    "registered_commands",
    "tune_runtime",
]
