"""`cadrebot run`: the Telegram bot by long polling, or `--webhook URL`; without a token, the local console chat."""

from __future__ import annotations

import argparse
import errno
import hashlib
import logging
import sys
from urllib.parse import urlparse

from bot.settings import Settings, with_persistent_secret
from texts import console as C
from texts import start as S

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# How PTB begins the ERROR it logs when start-up fails (getMe, deleteWebhook, setWebhook); run_bot explains it.
START_UP_FAILED = "Network Retry Loop (Bootstrap"


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help=C.HELP_RUN, description=C.HELP_RUN)
    run.add_argument("--webhook", metavar="URL", help=C.HELP_RUN_WEBHOOK)
    run.add_argument("--listen", default="127.0.0.1", metavar="HOST", help=C.HELP_RUN_LISTEN)
    run.add_argument("--port", type=int, default=8443, metavar="PORT", help=C.HELP_RUN_PORT)
    run.add_argument("--poll-interval", type=float, default=0.0, metavar="SECONDS", help=C.HELP_RUN_POLL_INTERVAL)
    run.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, metavar="LEVEL",
                     help=C.HELP_RUN_LOG_LEVEL)
    run.add_argument("--workers", type=int, default=1, metavar="N", help=C.HELP_RUN_WORKERS)
    run.set_defaults(func=run_bot)
    worker = subparsers.add_parser("worker", help=C.HELP_WORKER, description=C.HELP_WORKER)
    worker.add_argument("--name", metavar="NAME", help=C.HELP_WORKER_NAME)
    worker.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, metavar="LEVEL",
                        help=C.HELP_RUN_LOG_LEVEL)
    worker.set_defaults(func=run_worker)


class ExpectedTelegramErrorsInOneLine(logging.Filter):
    """Above DEBUG, a Telegram error PTB logs with its traceback (server unreachable, token refused, a network
    blip while polling) is logged as one line, and PTB's report that start-up failed is left out: run_bot prints
    what failed and what to check. Unexpected exceptions (bugs) keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import TelegramError

        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, TelegramError):
            return True
        message = record.getMessage()
        if message.startswith(START_UP_FAILED):
            return False
        record.msg, record.args = f"{message} ({type(error).__name__}: {error})", None
        record.exc_info, record.exc_text = None, None
        return True


def _protect_logs(token: str) -> None:
    """The token hidden first (its digits must still be whole to be found), then every number that could be a
    Telegram ID, at every level, DEBUG included: no ID beside what a resident answered (bot/log_privacy.py)."""
    from bot import log_privacy
    from bot.app import protect_logs

    protect_logs(token)
    log_privacy.install()


def _configure_logging(level_name: str) -> None:
    level = getattr(logging, level_name, logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if level > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Adding job tentatively" for every job
        for handler in logging.getLogger().handlers:
            # First in line, before the token filter renders the traceback into text.
            handler.filters.insert(0, ExpectedTelegramErrorsInOneLine())


def _announce_when_started(app, message: str) -> None:
    """Print `message` once the bot is really up, not before a start-up that is about to fail: PTB starts the job
    queue last, after getMe, deleteWebhook or setWebhook and the webhook's server have all succeeded."""
    post_init = app.post_init

    async def say(context) -> None:
        print(message, flush=True)

    async def post_init_then_announce(application) -> None:
        if post_init is not None:
            await post_init(application)
        if application.job_queue is not None:
            application.job_queue.run_once(say, when=0, name="announce-start")
        else:
            print(message, flush=True)

    app.post_init = post_init_then_announce


def webhook_secret(settings: Settings) -> str:
    """The X-Telegram-Bot-Api-Secret-Token Telegram sends with every update (derived from the bot's secret:
    CADREBOT_SECRET, or the one `cadrebot run` keeps in <data_dir>/secret)."""
    secret, token = settings.secret.get_secret_value(), settings.bot_token.get_secret_value()
    return hashlib.sha256(f"webhook|{secret}|{token}".encode()).hexdigest()[:48]


def run_bot(args: argparse.Namespace) -> int:
    settings = args.settings
    if not settings.bot_token.get_secret_value():
        print(S.RUN_NO_TOKEN, flush=True)
        from bot.cli_check import run_chat

        return run_chat(args)
    _configure_logging(args.log_level)
    from bot.app import build_application, normalize_base_url, tune_runtime

    _protect_logs(settings.bot_token.get_secret_value())
    url = urlparse(args.webhook or "")
    if args.webhook and (url.scheme not in ("https", "http") or not url.netloc):
        print(S.RUN_BAD_WEBHOOK, file=sys.stderr)
        return 2
    if args.workers < 1 or (args.workers > 1 and not _is_postgres(settings)):
        print(S.RUN_WORKERS_NEED_POSTGRES, file=sys.stderr)
        return 2
    kb, problem = _preflight(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    # Polling and webhook alike: survey keys (and the webhook's secret token) never rest on the public default.
    settings = with_persistent_secret(settings)
    from bot.intake import IntakeMode

    # Received durably: each update is saved before Telegram is told it arrived (bot/intake.py). Alone, this
    # process's worker takes back whatever a killed run left claimed; beside `cadrebot worker` processes it has a
    # name of its own and takes back only its own (the others' come back when their lease runs out).
    mode = IntakeMode.WEBHOOK if args.webhook else IntakeMode.POLLING
    app = build_application(settings, kb=kb, intake=mode,
                            worker_name=f"run:{_instance()}" if args.workers > 1 else None)
    helpers = _start_workers(args.workers - 1, settings, args.log_level)
    tune_runtime()
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError, TelegramError

    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    try:
        if args.webhook:
            _announce_when_started(app, S.RUN_WEBHOOK.format(url=args.webhook, listen=args.listen, port=args.port))
            app.run_webhook(listen=args.listen, port=args.port, url_path=url.path.lstrip("/"),
                            webhook_url=args.webhook, secret_token=webhook_secret(settings),
                            allowed_updates=Update.ALL_TYPES)
        else:
            _announce_when_started(app, S.RUN_POLLING)
            app.run_polling(poll_interval=args.poll_interval, allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        return _start_failed(S.RUN_BAD_TOKEN, debug)
    except NetworkError as exc:
        server = normalize_base_url(settings.api_base_url).removesuffix("/bot")
        return _start_failed(S.RUN_NO_SERVER.format(url=server, error=type(exc).__name__), debug)
    except TelegramError as exc:  # e.g. setWebhook refused, another instance already polling (Conflict)
        reason = str(exc).replace(settings.bot_token.get_secret_value(), "<token>")
        return _start_failed(S.RUN_REFUSED.format(error=reason), debug)
    except OSError as exc:  # the webhook's port is taken or not ours to bind
        reason = S.RUN_LISTEN_REASONS.get(errno.errorcode.get(exc.errno or 0, ""), exc.strerror or type(exc).__name__)
        return _start_failed(S.RUN_CANNOT_LISTEN.format(listen=args.listen, port=args.port, error=reason), debug)
    finally:
        _stop_workers(helpers)
    return 0


def _is_postgres(settings: Settings) -> bool:
    from storage.db import database_url

    return database_url(settings.database_url).startswith("postgresql")


def _instance() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _start_workers(count: int, settings: Settings, log_level: str) -> list:
    """`--workers N`: N-1 `cadrebot worker` processes beside this one, stopped with it."""
    import subprocess

    base = _instance()
    return [subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--name", f"worker:{base}:{n}",
                              "--log-level", log_level]) for n in range(1, count + 1)]


def _stop_workers(processes: list) -> None:
    import subprocess

    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def run_worker(args: argparse.Namespace) -> int:
    """`cadrebot worker`: handle updates that `cadrebot run` received, from the shared PostgreSQL database."""
    settings = args.settings
    if not settings.bot_token.get_secret_value():
        print(S.RUN_NO_TOKEN, file=sys.stderr)
        return 2
    if not _is_postgres(settings):
        print(S.RUN_WORKERS_NEED_POSTGRES, file=sys.stderr)
        return 2
    _configure_logging(args.log_level)
    from bot.app import build_application, tune_runtime
    from bot.intake import IntakeMode

    _protect_logs(settings.bot_token.get_secret_value())
    kb, problem = _preflight(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    settings = with_persistent_secret(settings)
    name = args.name or f"worker:{_instance()}"
    app = build_application(settings, kb=kb, intake=IntakeMode.WORKER, worker_name=name, set_commands=False)
    tune_runtime()
    import asyncio

    try:
        asyncio.run(serve_worker(app, name))
    except KeyboardInterrupt:
        pass
    return 0


async def serve_worker(app, name: str) -> None:
    """Run the Application without receiving (no polling, no webhook): its IntakeWorker claims from the
    database until SIGTERM or Ctrl+C."""
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with app:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        print(S.RUN_WORKER_STARTED.format(name=name), flush=True)
        await stop.wait()
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
    if app.post_shutdown:
        await app.post_shutdown(app)


def _start_failed(explanation: str, debug: bool) -> int:
    """What failed and what to check, in a line; and, unless the log already shows it, how to see the details."""
    print(explanation, file=sys.stderr)
    if not debug:
        print(S.RUN_DEBUG_HINT, file=sys.stderr)
    return 1


def _preflight(settings: Settings):  # -> tuple[KnowledgeBase | None, str | None]
    """The loaded knowledge base, or what to tell the deployer (knowledge base invalid, database down or old)."""
    from knowledge import KnowledgeBaseError, from_settings

    try:
        kb = from_settings(settings)
    except KnowledgeBaseError as exc:
        return None, "\n".join([S.RUN_KB_BROKEN, *(f"  {p}" for p in exc.problems)])
    from storage.db import translate_errors
    from storage.errors import DatabaseUnavailable
    from storage.migrate import is_up_to_date

    try:
        with translate_errors():
            if not is_up_to_date(settings.database_url):
                return None, S.RUN_DB_NOT_READY
    except DatabaseUnavailable as exc:
        from storage.db import redacted_url

        return None, S.RUN_DB_DOWN.format(url=redacted_url(settings.database_url), error=exc)
    return kb, None


__all__ = ["register", "run_bot", "run_worker", "serve_worker", "webhook_secret"]
