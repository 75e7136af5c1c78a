"""The weekly digest in Telegram: /subscribe, /unsubscribe, /digest [2026-W47], and the scheduled weekly send.

- Only bureau members (their town) and admins (the city roll-up) may use these commands; anyone else gets a
  short refusal in Chinese.
- The JobQueue runs `send_due_digests` every `Settings.digest_weekday` (0 = Monday) at `Settings.digest_time`
  (default 08:30) in `Settings.timezone`, and once shortly after start-up to catch up missed weeks.
- Sending is idempotent per (scope, ISO week): bot.digest.delivery claims the week in the database first and
  sends only if the claim won.
- A digest is its text (split into messages of at most 4096 characters), the XLSX report (sendDocument) and the
  PNG chart (sendPhoto); an empty week is one line without attachments.

The work itself (SQL, rendering) lives in bot.digest and runs in worker threads; this module only talks to
Telegram.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.digest import delivery
from bot.digest.exports import render_xlsx
from bot.digest.model import Digest, Scope
from bot.digest.queries import build_digest
from bot.digest.text import render_messages
from bot.digest.weeks import Week, parse_time
from bot.services import Services, get_services
from texts import digest as T
from handlers.common import job_queue_of, private_only
from storage import digests as store
from storage.errors import DatabaseUnavailable
from storage.members import get_member
from storage.models import ROLE_ADMIN, utcnow

log = logging.getLogger(__name__)

WEEKLY_JOB = "digest-weekly"
CATCH_UP_JOB = "digest-catch-up"
CATCH_UP_DELAY_SECONDS = 5.0  # after start-up, once the bot is connected


def clock() -> datetime:
    """The current time (UTC). Tests replace this to look at a fixed moment."""
    return utcnow()


# ---------------------------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Rendered:
    """What is sent for one digest."""

    messages: list[str]
    xlsx: bytes | None = None
    png: bytes | None = None
    xlsx_name: str = ""
    png_name: str = ""
    xlsx_caption: str = ""
    png_caption: str = ""


def _scope_file_label(scope: Scope) -> str:
    return scope.name if scope.is_city else f"{scope.name}{scope.town_code}"


def render_for_telegram(digest: Digest) -> Rendered:
    """Text messages, XLSX and PNG of a digest (blocking: run it in a worker thread). Empty week: one line only.
    A missing CJK font drops the chart (logged), never the digest."""
    if digest.is_empty:
        return Rendered(render_messages(digest))
    png: bytes | None = None
    try:
        from bot.digest.chart import render_png

        png = render_png(digest)
    except Exception:  # noqa: BLE001 - the chart is an extra; the text and the Excel file still go out
        log.exception("digest chart for %s %s could not be drawn", digest.scope.key, digest.week.iso)
    label, week = _scope_file_label(digest.scope), digest.week.iso
    return Rendered(
        messages=render_messages(digest, attachments=True),
        xlsx=render_xlsx(digest),
        png=png,
        xlsx_name=T.XLSX_FILENAME.format(scope=label, week=week),
        png_name=T.PNG_FILENAME.format(scope=label, week=week),
        xlsx_caption=T.XLSX_CAPTION.format(scope=digest.scope.name, week=week),
        png_caption=T.PNG_CAPTION.format(scope=digest.scope.name, week=week),
    )


def _item_titles(services: Services) -> dict[str, str]:
    items = getattr(services.kb, "items", None) or {}
    return {item_id: getattr(item, "title", "") for item_id, item in items.items()}


async def _build(services: Services, scope: Scope, week: Week, now: datetime) -> Digest:
    return await services.run_db(build_digest, scope, week, now=now, item_titles=_item_titles(services))


class _Uploads:
    """file_ids of attachments already uploaded, so each file is uploaded once per digest."""

    def __init__(self) -> None:
        self.document: str | None = None
        self.photo: str | None = None


async def send_rendered(bot: Bot, chat_id: int, rendered: Rendered, uploads: _Uploads | None = None) -> None:
    """Messages first, then the XLSX, then the chart. Raises TelegramError from the first failed call."""
    uploads = uploads or _Uploads()
    for text in rendered.messages:
        await bot.send_message(chat_id, text)
    if rendered.xlsx is not None:
        message = await bot.send_document(
            chat_id,
            document=uploads.document or rendered.xlsx,
            filename=None if uploads.document else rendered.xlsx_name,
            caption=rendered.xlsx_caption,
        )
        if message.document is not None:
            uploads.document = message.document.file_id
    if rendered.png is not None:
        message = await bot.send_photo(
            chat_id,
            photo=uploads.photo or rendered.png,
            filename=None if uploads.photo else rendered.png_name,
            caption=rendered.png_caption,
        )
        if message.photo:
            uploads.photo = message.photo[-1].file_id


# ---------------------------------------------------------------------------------------------- the weekly send


def _schedule(services: Services) -> tuple[int, Any, str]:
    settings = services.settings
    return settings.digest_weekday % 7, parse_time(settings.digest_time), settings.timezone or "Asia/Shanghai"


async def send_due_digests(bot: Bot, services: Services, *, now: datetime | None = None) -> list[delivery.DueSend]:
    """Send every due (scope, week) that this process wins the claim for; returns those it sent."""
    now = now or clock()
    weekday, at, tz = _schedule(services)
    plan = await services.run_db(lambda s: delivery.due_sends(s, now=now, weekday=weekday, at=at, tz=tz))
    sent: list[delivery.DueSend] = []
    for due in plan:
        if not await asyncio.to_thread(delivery.claim, services.db, due, now=now):
            log.info("digest %s %s: claimed by another sender", due.key, due.week.iso)
            continue
        try:
            digest = await _build(services, due.scope, due.week, now)
            rendered = await asyncio.to_thread(render_for_telegram, digest)
        except Exception:  # noqa: BLE001 - give the week back so a later run retries it
            log.exception("digest %s %s could not be built; released for a retry", due.key, due.week.iso)
            await asyncio.to_thread(delivery.release, services.db, due)
            continue
        delivered, retryable = 0, 0
        uploads = _Uploads()
        for chat_id in due.recipients:
            try:
                await send_rendered(bot, chat_id, rendered, uploads)
                delivered += 1
            except Forbidden:
                log.warning("digest %s %s: user %s blocked the bot", due.key, due.week.iso, chat_id)
            except BadRequest as exc:  # a subclass of NetworkError, but retrying cannot help
                log.warning("digest %s %s to %s refused: %s", due.key, due.week.iso, chat_id, exc)
            except (NetworkError, RetryAfter) as exc:
                retryable += 1
                log.warning("digest %s %s to %s failed: %s", due.key, due.week.iso, chat_id, exc)
            except TelegramError as exc:
                log.warning("digest %s %s to %s refused: %s", due.key, due.week.iso, chat_id, exc)
        if delivered == 0 and retryable:
            await asyncio.to_thread(delivery.release, services.db, due)
            continue
        await asyncio.to_thread(delivery.finish, services.db, due)
        log.info("digest %s %s sent to %d of %d", due.key, due.week.iso, delivered, len(due.recipients))
        sent.append(due)
    return sent


async def weekly_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue callback: the scheduled send, and the catch-up after start-up."""
    try:
        await send_due_digests(context.bot, get_services(context))
    except DatabaseUnavailable as exc:
        log.warning("digest: database unavailable (%s); the next run catches up", exc)


def schedule_jobs(app: Application) -> None:
    """The weekly send at the configured weekday and time, and a catch-up run shortly after start-up."""
    job_queue = job_queue_of(app)
    if job_queue is None:
        return
    weekday, at, tz = _schedule(get_services(app))
    ptb_day = (weekday + 1) % 7  # python-telegram-bot counts days from Sunday = 0
    job_queue.run_daily(weekly_job, time=at.replace(tzinfo=ZoneInfo(tz)), days=(ptb_day,), name=WEEKLY_JOB)
    job_queue.run_once(weekly_job, when=CATCH_UP_DELAY_SECONDS, name=CATCH_UP_JOB)


# ---------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class _Viewer:
    member_id: int
    role: str
    scope: Scope


def _viewer(session: Any, user_id: int) -> _Viewer | None:
    member = get_member(session, user_id)
    if not delivery.may_receive(member):
        return None
    return _Viewer(member.id, member.role, delivery.scope_for_member(member))


def _subscribe(session: Any, user_id: int) -> tuple[_Viewer | None, bool]:
    member = get_member(session, user_id)
    if not delivery.may_receive(member):
        return None, False
    existing = store.get_subscription(session, member.id)
    city = member.role == ROLE_ADMIN
    already = existing is not None and existing.town_id == (None if city else member.town_id)
    if not already:
        store.subscribe(session, member, city=city)
    return _Viewer(member.id, member.role, delivery.scope_for_member(member)), already


def _unsubscribe(session: Any, user_id: int) -> tuple[_Viewer | None, bool]:
    member = get_member(session, user_id)
    if not delivery.may_receive(member):
        return None, False
    removed = store.unsubscribe(session, member.id)
    return _Viewer(member.id, member.role, delivery.scope_for_member(member)), removed


def _when(services: Services) -> dict[str, str]:
    weekday, at, _ = _schedule(services)
    return {"weekday": T.WEEKDAY.format(name=T.WEEKDAYS[weekday]), "time": f"{at:%H:%M}"}


async def _reply(update: Update, text: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def _for_bureau(update: Update, context: ContextTypes.DEFAULT_TYPE, action) -> tuple[Services, Any] | None:
    """Run a bureau-only database action; tell anyone else (or everyone, if the database is down) why not."""
    services = get_services(context)
    try:
        viewer, outcome = await services.run_db(action, update.effective_user.id)
    except DatabaseUnavailable:
        await _reply(update, T.BUSY)
        return None
    if viewer is None:
        await _reply(update, T.BUREAU_ONLY)
        return None
    return services, (viewer, outcome)


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe: the weekly digest of the member's town (admins: the city)."""
    done = await _for_bureau(update, context, _subscribe)
    if done:
        services, (viewer, already) = done
        template = T.ALREADY_SUBSCRIBED if already else T.SUBSCRIBED
        await _reply(update, template.format(scope=viewer.scope.name, **_when(services)))


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe: stop the weekly digest."""
    done = await _for_bureau(update, context, _unsubscribe)
    if done:
        _, (_, removed) = done
        await _reply(update, T.UNSUBSCRIBED if removed else T.NOT_SUBSCRIBED)


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    tz = services.settings.timezone or "Asia/Shanghai"
    now = clock()
    args = list(context.args or [])
    try:
        viewer = await services.run_db(_viewer, update.effective_user.id)
    except DatabaseUnavailable:
        await _reply(update, T.BUSY)
        return
    if viewer is None:
        await _reply(update, T.BUREAU_ONLY)
        return
    if args:
        text = " ".join(args)
        try:
            week = Week.parse(text, tz)
        except ValueError:
            await _reply(update, T.BAD_WEEK.format(text=text[:40]))
            return
        if week.start_utc > now:
            await _reply(update, T.FUTURE_WEEK.format(week=week.iso))
            return
    else:
        week = Week.containing(now, tz)
    try:
        digest = await _build(services, viewer.scope, week, now)
    except DatabaseUnavailable:
        await _reply(update, T.BUSY)
        return
    rendered = await asyncio.to_thread(render_for_telegram, digest)
    await send_rendered(context.bot, update.effective_chat.id, rendered)


def add_handlers(app: Application) -> None:
    private = filters.ChatType.PRIVATE  # a digest is never posted into a group residents can read
    app.add_handler(CommandHandler(["subscribe", "unsubscribe", "digest"], private_only, filters=~private))
    app.add_handler(CommandHandler("subscribe", subscribe_command, filters=private))
    app.add_handler(CommandHandler("unsubscribe", unsubscribe_command, filters=private))
    app.add_handler(CommandHandler("digest", digest_command, filters=private))
    schedule_jobs(app)


__all__ = [
    "CATCH_UP_JOB",
    "Rendered",
    "WEEKLY_JOB",
    "add_handlers",
    "digest_command",
    "render_for_telegram",
    "schedule_jobs",
    "send_due_digests",
    "send_rendered",
    "subscribe_command",
    "unsubscribe_command",
    "weekly_job",
]
