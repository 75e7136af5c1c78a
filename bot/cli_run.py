"""`cadrebot run`: the Telegram bot by long polling, or `--webhook URL`; without a token, the local console chat."""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from urllib.parse import urlparse

from bot.settings import Settings, with_persistent_secret
from texts import start as S


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="启动 Telegram 机器人（无令牌时打开本地对话）/ run the bot")
    run.add_argument("--webhook", metavar="URL", help="以 webhook 方式运行，Telegram 推送到这个 https 地址")
    run.add_argument("--listen", default="127.0.0.1", help="webhook 本机监听地址（默认 127.0.0.1，放在反向代理后面）")
    run.add_argument("--port", type=int, default=8443, help="webhook 本机端口（默认 8443）")
    run.add_argument("--poll-interval", type=float, default=0.0,
                     help="轮询间隔秒数（默认 0，长轮询；不支持长轮询的测试服务器可设 0.2）")
    run.add_argument("--log-level", default="INFO", help="日志级别（默认 INFO）")
    run.set_defaults(func=run_bot)


def webhook_secret(settings: Settings) -> str:
    """The X-Telegram-Bot-Api-Secret-Token Telegram sends with every update (derived from the bot's secret:
    CADREBOT_SECRET, or the one `cadrebot run` keeps in <data_dir>/secret)."""
    return hashlib.sha256(f"webhook|{settings.secret}|{settings.bot_token}".encode()).hexdigest()[:48]


def run_bot(args: argparse.Namespace) -> int:
    settings = Settings()
    if not settings.bot_token:
        print(S.RUN_NO_TOKEN, flush=True)
        from bot.cli_check import run_chat

        return run_chat(args)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.app import build_application, normalize_base_url, protect_logs, tune_runtime

    protect_logs(settings.bot_token)
    url = urlparse(args.webhook or "")
    if args.webhook and (url.scheme not in ("https", "http") or not url.netloc):
        print(S.RUN_BAD_WEBHOOK, file=sys.stderr)
        return 2
    kb, problem = _preflight(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    # Polling and webhook alike: survey keys (and the webhook's secret token) never rest on the public default.
    settings = with_persistent_secret(settings)
    app = build_application(settings, kb=kb)
    tune_runtime()
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    try:
        if args.webhook:
            print(S.RUN_WEBHOOK.format(url=args.webhook, listen=args.listen, port=args.port), flush=True)
            app.run_webhook(listen=args.listen, port=args.port, url_path=url.path.lstrip("/"),
                            webhook_url=args.webhook, secret_token=webhook_secret(settings),
                            allowed_updates=Update.ALL_TYPES)
        else:
            print(S.RUN_POLLING, flush=True)
            app.run_polling(poll_interval=args.poll_interval, allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        print(S.RUN_BAD_TOKEN, file=sys.stderr)
        return 1
    except NetworkError as exc:
        server = normalize_base_url(settings.api_base_url).removesuffix("/bot")
        print(S.RUN_NO_SERVER.format(url=server, error=type(exc).__name__), file=sys.stderr)
        return 1
    return 0


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
            if not is_up_to_date(settings):
                return None, S.RUN_DB_NOT_READY
    except DatabaseUnavailable as exc:
        from storage.db import redacted_url

        return None, S.RUN_DB_DOWN.format(url=redacted_url(settings.database_url), error=exc)
    return kb, None


__all__ = ["register", "run_bot", "webhook_secret"]
