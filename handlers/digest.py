"""The weekly digest in Telegram: /subscribe, /unsubscribe, /digest [week], and the scheduled weekly send.

- Only bureau members (their town) and admins (the city roll-up) may use these commands; anyone else gets a
  short refusal in Chinese.
- The JobQueue runs `send_due_digests` every `Settings.digest_weekday` (0 = Monday) at `Settings.digest_time`
  (default 08:30) in `Settings.timezone`, and once shortly after start-up to catch up missed weeks.
- Sending is idempotent per (scope, ISO week): bot.digest.delivery claims the week in the database first and
  sends only if the claim won.
- A digest is its text (split into messages of at most 4096 characters), the XLSX report (sendDocument) and the
  PNG chart (sendPhoto); an empty week is one line without attachments, and a digest with nothing to draw comes
  without the chart.
- /digest takes the week as people write it (本周, 上周, 11月18日, 2026-W47 …, see bot.digest.weeks.parse_week).

The work itself (SQL, rendering, subscriptions) lives in bot.digest and runs in worker threads; this module only
talks to Telegram. Its handlers and jobs are registered in bot/wiring.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.digest import delivery
from bot.digest.delivery import SubscriptionChange
from bot.digest.model import Digest, Scope
from bot.digest.queries import build_digest
from bot.digest.rendered import Rendered, render_for_telegram
from bot.digest.text import bad_week_text
from bot.digest.weeks import BadWeek, Week, parse_time, parse_week
from bot.router import CadreContext
from bot.services import Services, get_services
from storage.errors import DatabaseUnavailable
from storage.models import utcnow
from storage.surveys import configured_aspects
from texts import digest as T

log = logging.getLogger(__name__)

WEEKLY_JOB = "digest-weekly"
CATCH_UP_JOB = "digest-catch-up"
CATCH_UP_DELAY_SECONDS = 5.0  # after start-up, once the bot is connected


def clock() -> datetime:
    """The current time (UTC). Tests replace this to look at a fixed moment."""
    return utcnow()


# ---------------------------------------------------------------------------------------------- building


def _item_titles(services: Services) -> dict[str, str]:
    items = getattr(services.kb, "items", None) or {}
    return {item_id: getattr(item, "title", "") for item_id, item in items.items()}


async def _build(services: Services, scope: Scope, week: Week, now: datetime) -> Digest:
    return await services.run_db(build_digest, scope, week, now=now, item_titles=_item_titles(services),
                                 aspects=configured_aspects(services.settings.survey_aspects))


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
            rendered = await asyncio.to_thread(render_for_telegram, digest, services.settings.cjk_font)
        except Exception:  # give the week back, so that a later run retries it
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


async def weekly_job(context: CadreContext) -> None:
    """The JobQueue callback: the scheduled send, and the catch-up after start-up."""
    try:
        await send_due_digests(context.bot, get_services(context))
    except DatabaseUnavailable as exc:
        log.warning("digest: database unavailable (%s); the next run catches up", exc)


# ---------------------------------------------------------------------------------------------- commands


def _when(services: Services) -> dict[str, str]:
    weekday, at, _ = _schedule(services)
    return {"weekday": T.WEEKDAY.format(name=T.WEEKDAYS[weekday]), "time": f"{at:%H:%M}"}


async def _reply(update: Update, text: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


# What /subscribe and /unsubscribe answer (a refusal is T.BUREAU_ONLY).
_SUBSCRIPTION_REPLIES = {
    SubscriptionChange.SUBSCRIBED: T.SUBSCRIBED,
    SubscriptionChange.ALREADY_SUBSCRIBED: T.ALREADY_SUBSCRIBED,
    SubscriptionChange.UNSUBSCRIBED: T.UNSUBSCRIBED,
    SubscriptionChange.NOT_SUBSCRIBED: T.NOT_SUBSCRIBED,
}


async def _change_subscription(
    update: Update, context: CadreContext, action: Callable[[Any, int], delivery.Subscription]
) -> None:
    services = get_services(context)
    try:
        outcome: delivery.Subscription = await services.run_db(action, update.effective_user.id)
    except DatabaseUnavailable:
        await _reply(update, T.BUSY)
        return
    if outcome.change is SubscriptionChange.NOT_ALLOWED:
        await _reply(update, T.BUREAU_ONLY)
        return
    await _reply(update, _SUBSCRIPTION_REPLIES[outcome.change].format(scope=outcome.scope.name, **_when(services)))


async def subscribe_command(update: Update, context: CadreContext) -> None:
    """/subscribe: the weekly digest of the member's town (admins: the city)."""
    await _change_subscription(update, context, delivery.subscribe_user)


async def unsubscribe_command(update: Update, context: CadreContext) -> None:
    """/unsubscribe: stop the weekly digest."""
    await _change_subscription(update, context, delivery.unsubscribe_user)


async def digest_command(update: Update, context: CadreContext) -> None:
    """/digest [本周 | 上周 | 11月18日 | 2026-W47 …]: the digest of the member's scope, the current week by default."""
    services = get_services(context)
    tz = services.settings.timezone or "Asia/Shanghai"
    now = clock()
    try:
        scope = await services.run_db(delivery.viewer_scope, update.effective_user.id)
    except DatabaseUnavailable:
        await _reply(update, T.BUSY)
        return
    if scope is None:
        await _reply(update, T.BUREAU_ONLY)
        return
    asked = " ".join(context.args or [])
    try:
        week = parse_week(asked, now=now, tz=tz) if asked else Week.containing(now, tz)
    except BadWeek as error:
        await _reply(update, bad_week_text(error, T.BAD_WEEK))
        return
    if week.start_utc > now:
        await _reply(update, T.FUTURE_WEEK.format(week=week.iso))
        return
    try:
        digest = await _build(services, scope, week, now)
    except DatabaseUnavailable:
        await _reply(update, T.BUSY)
        return
    rendered = await asyncio.to_thread(render_for_telegram, digest, services.settings.cjk_font)
    await send_rendered(context.bot, update.effective_chat.id, rendered)


__all__ = [
    "CATCH_UP_JOB",
    "Rendered",
    "WEEKLY_JOB",
    "digest_command",
    "render_for_telegram",
    "send_due_digests",
    "send_rendered",
    "subscribe_command",
    "unsubscribe_command",
    "weekly_job",
]
