"""The error handler: log the failure, tell the user in Chinese what happened and what to do, keep what they sent."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot import intake
from bot.router import CadreContext
from storage.errors import DatabaseUnavailable
from texts import errors as E

log = logging.getLogger("cadrebot.errors")


def quote(text: str | None, limit: int = E.QUOTE_MAX) -> str:
    """What the user sent, shortened so that a reply quoting it fits one message."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit] + E.ELLIPSIS


async def on_error(update: object, context: CadreContext) -> None:
    """Log the failure and tell the user, quoting back what they sent so nothing is lost."""
    error = context.error
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable while handling an update: %s", error)
    elif isinstance(error, Forbidden):
        log.info("the user blocked the bot: %s", error)
        return
    else:
        log.error("failure while handling an update", exc_info=error)
    if not isinstance(update, Update):
        return
    # Received durably (bot/intake.py): a transient failure is tried again by itself, so say so instead of
    # asking for a resend (which would make a second record).
    retrying = intake.note_failure(error)
    busy = isinstance(error, DatabaseUnavailable)
    try:
        if retrying:
            if update.callback_query is not None:
                await update.callback_query.answer(E.RETRYING_BUTTON)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(E.RETRYING)
            return
        if update.callback_query is not None:
            await update.callback_query.answer(E.DB_BUSY_BUTTON if busy else E.FAILED_BUTTON, show_alert=True)
            return
        message = update.effective_message
        if message is None:
            return
        sent = message.text or message.caption or ""
        if sent.strip():
            text = (E.DB_BUSY_KEEP if busy else E.FAILED_KEEP).format(text=quote(sent))
        else:
            text = E.DB_BUSY if busy else E.FAILED
        await message.reply_text(text)
    except (TelegramError, NetworkError) as exc:  # the user cannot be told; the failure is logged above
        log.warning("could not tell the user about the failure: %s", type(exc).__name__)


__all__ = ["on_error", "quote"]
