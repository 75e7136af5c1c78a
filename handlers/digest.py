"""The weekly digest in Telegram: /subscribe, /unsubscribe, /digest [week], and the scheduled weekly send.

- Only bureau members (their town) and admins (the city roll-up) may use these commands; anyone else gets a
  short refusal in Chinese.
- The JobQueue runs `send_due_digests` every `Settings.digest_weekday` (0 = Monday) at `Settings.digest_time`
  (default 08:30) in `Settings.timezone`, and once shortly after start-up to catch up missed weeks; the retry
  job (`send_pending_deliveries`, every RETRY_POLL_SECONDS) sends what failed once its backoff has passed.
- Sending is idempotent per recipient and part: bot.digest.delivery plans the (scope, ISO week) once in the
  database, with a delivery row per recipient; a sender claims a recipient's row, sends the parts that recipient
  has not got yet (the text, then each attachment), recording each as it arrives. A failed part is retried by
  the retry job after a backoff (1, 5, 30 minutes, then given up) and never brings back what already arrived; a
  failing recipient never holds up the others, and the week is done only when every recipient got every part.
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
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.digest import delivery
from bot.digest.delivery import SubscriptionChange
from bot.digest.model import Digest, Scope
from bot.digest.queries import build_digest
from bot.digest.rendered import Rendered, render_for_telegram
from bot.digest.text import bad_week_text
from bot.digest.weeks import BadWeek, Week, parse_time, parse_week
from bot.router import CadreContext
from bot.services import Services, get_services
from storage.digests import Attachment
from storage.errors import DatabaseUnavailable
from storage.models import DeliveryStatus, utcnow
from storage.surveys import configured_aspects
from texts import digest as T

log = logging.getLogger(__name__)

WEEKLY_JOB = "digest-weekly"
CATCH_UP_JOB = "digest-catch-up"
RETRY_JOB = "digest-retry"
CATCH_UP_DELAY_SECONDS = 5.0  # after start-up, once the bot is connected
RETRY_POLL_SECONDS = 30.0  # how often due retries are looked for (the shortest backoff is a minute)


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


async def _send_xlsx(bot: Bot, chat_id: int, rendered: Rendered, uploads: _Uploads) -> None:
    assert rendered.xlsx is not None
    message = await bot.send_document(
        chat_id,
        document=uploads.document or rendered.xlsx,
        filename=None if uploads.document else rendered.xlsx_name,
        caption=rendered.xlsx_caption,
    )
    if message.document is not None:
        uploads.document = message.document.file_id


async def _send_png(bot: Bot, chat_id: int, rendered: Rendered, uploads: _Uploads) -> None:
    assert rendered.png is not None
    message = await bot.send_photo(
        chat_id,
        photo=uploads.photo or rendered.png,
        filename=None if uploads.photo else rendered.png_name,
        caption=rendered.png_caption,
    )
    if message.photo:
        uploads.photo = message.photo[-1].file_id


async def send_rendered(bot: Bot, chat_id: int, rendered: Rendered, uploads: _Uploads | None = None) -> None:
    """Messages first, then the XLSX, then the chart. Raises TelegramError from the first failed call."""
    uploads = uploads or _Uploads()
    for text in rendered.messages:
        await bot.send_message(chat_id, text)
    if rendered.xlsx is not None:
        await _send_xlsx(bot, chat_id, rendered, uploads)
    if rendered.png is not None:
        await _send_png(bot, chat_id, rendered, uploads)


# ---------------------------------------------------------------------------------------------- the weekly send


def _schedule(services: Services) -> tuple[int, Any, str]:
    settings = services.settings
    return settings.digest_weekday % 7, parse_time(settings.digest_time), settings.timezone or "Asia/Shanghai"


class _ClaimLost(Exception):
    """Another sender took the delivery over (this one outlived its lease): stop sending to it."""


async def _send_missing(bot: Bot, services: Services, claimed: delivery.Claimed, rendered: Rendered,
                        uploads: _Uploads, now: datetime) -> None:
    """The parts this recipient has not got yet, in order, each recorded as soon as Telegram accepted it, so
    that a retry (in this process or another) never sends a part twice."""

    async def record(**progress: Any) -> None:
        if not await asyncio.to_thread(delivery.record, services.db, claimed, now=now, **progress):
            raise _ClaimLost

    if not claimed.text_sent:
        for index in range(claimed.messages_sent, len(rendered.messages)):
            await bot.send_message(claimed.chat_id, rendered.messages[index])
            await record(messages_sent=index + 1, text_done=index + 1 == len(rendered.messages))
    if rendered.xlsx is not None and Attachment.XLSX not in claimed.sent:
        await _send_xlsx(bot, claimed.chat_id, rendered, uploads)
        await record(attachment=Attachment.XLSX)
    if rendered.png is not None and Attachment.PNG not in claimed.sent:
        await _send_png(bot, claimed.chat_id, rendered, uploads)
        await record(attachment=Attachment.PNG)


async def _deliver(bot: Bot, services: Services, batch: delivery.Batch, claimed: delivery.Claimed,
                   rendered: Rendered, uploads: _Uploads, now: datetime) -> None:
    """Send one recipient's missing parts and record the outcome; a failure only ever concerns this recipient."""
    where = f"digest {batch.scope.key} {batch.week.iso} to {claimed.chat_id}"
    permanent, retry_after = False, None
    error: TelegramError
    try:
        await _send_missing(bot, services, claimed, rendered, uploads, now)
    except _ClaimLost:
        log.warning("%s: taken over by another sender; stopped", where)
        return
    except (Forbidden, BadRequest) as exc:  # blocked, or refused as sent: retrying cannot help
        error, permanent = exc, True
    except RetryAfter as exc:  # `_retry_after` is the timedelta; the public attribute warns (bot/outgoing_limits.py)
        error, retry_after = exc, exc._retry_after.total_seconds()
    except TelegramError as exc:  # network trouble, 5xx: try again later
        error = exc
    else:
        await asyncio.to_thread(delivery.succeed, services.db, claimed, now=now)
        return
    text = delivery.short_error(error, bot.token)
    status = await asyncio.to_thread(delivery.fail, services.db, claimed, text, permanent=permanent,
                                     retry_after=retry_after, now=now)
    if status is DeliveryStatus.GIVEN_UP:
        log.warning("%s: given up after %d attempt(s): %s", where, claimed.attempts, text)
    else:
        log.info("%s failed (attempt %d), retried later: %s", where, claimed.attempts, text)


async def _send_batch(bot: Bot, services: Services, batch: delivery.Batch, now: datetime) -> None:
    """Build the week's digest once and send it to each recipient of the batch this process claimed."""
    claimed = await asyncio.to_thread(delivery.claim_batch, services.db, batch, now=now)
    if not claimed:
        return
    try:
        digest = await _build(services, batch.scope, batch.week, now)
        rendered = await asyncio.to_thread(render_for_telegram, digest, services.settings.cjk_font)
    except Exception as exc:  # every claimed recipient is retried after the backoff
        log.exception("digest %s %s could not be built; retried later", batch.scope.key, batch.week.iso)
        for one in claimed:
            await asyncio.to_thread(delivery.fail, services.db, one, delivery.short_error(exc), now=now)
        return
    uploads = _Uploads()
    for one in claimed:
        await _deliver(bot, services, batch, one, rendered, uploads, now)


async def send_pending_deliveries(bot: Bot, services: Services, *,
                                  now: datetime | None = None) -> list[delivery.DueSend]:
    """Send every delivery due now that this process wins; returns the weeks it saw through to the end."""
    due_at = now or clock()
    finished: list[delivery.DueSend] = []
    for batch in await services.run_db(lambda s: delivery.due_batches(s, now=due_at)):
        at = now or clock()  # the time each batch starts: its claims' leases run from then, not from the run's start
        await _send_batch(bot, services, batch, at)
        if await asyncio.to_thread(delivery.finish_week, services.db, batch, now=at):
            log.info("digest %s %s: every recipient done", batch.scope.key, batch.week.iso)
            finished.append(delivery.DueSend(batch.scope, batch.week, batch.recipients))
    return finished


async def send_due_digests(bot: Bot, services: Services, *, now: datetime | None = None) -> list[delivery.DueSend]:
    """Plan every due (scope, week) (one delivery per recipient, once across processes), then send what is due;
    returns the weeks this process completed."""
    planned_at = now or clock()
    weekday, at, tz = _schedule(services)
    plan = await services.run_db(lambda s: delivery.due_sends(s, now=planned_at, weekday=weekday, at=at, tz=tz))
    for due in plan:
        if not await asyncio.to_thread(delivery.plan, services.db, due, now=planned_at):
            log.info("digest %s %s: planned by another sender", due.key, due.week.iso)
    return await send_pending_deliveries(bot, services, now=now)


async def weekly_job(context: CadreContext) -> None:
    """The JobQueue callback: the scheduled send, and the catch-up after start-up."""
    try:
        await send_due_digests(context.bot, get_services(context))
    except DatabaseUnavailable as exc:
        log.warning("digest: database unavailable (%s); the next run catches up", exc)


async def retry_job(context: CadreContext) -> None:
    """The JobQueue callback every RETRY_POLL_SECONDS: the deliveries whose retry time has come."""
    try:
        await send_pending_deliveries(context.bot, get_services(context))
    except DatabaseUnavailable as exc:
        log.warning("digest retry: database unavailable (%s); the next run catches up", exc)


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
    "RETRY_JOB",
    "RETRY_POLL_SECONDS",
    "Rendered",
    "WEEKLY_JOB",
    "digest_command",
    "render_for_telegram",
    "retry_job",
    "send_due_digests",
    "send_pending_deliveries",
    "send_rendered",
    "subscribe_command",
    "unsubscribe_command",
    "weekly_job",
]
