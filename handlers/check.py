"""The task check: a private text -> the knowledge base's answer, logged, with buttons.

Cadres (and anyone unregistered) get the cadres' answer; a resident (someone who came through a survey link and
never registered) gets the same check retold in residents' words: where to go and what to bring.

Buttons (all signed for the user they were sent to, see bot.callbacks):
    fb:<check>:u|d          👍 / 👎 on an answer (check_log.feedback); the chosen one is marked on the message
    cc:<check>:<1-3|0>      a candidate of an unclear answer; 0 = 都不是
    rc:… / rd:…             the red-card flow (handlers/redcard.py)
    lt:<check>              📝 生成回复函 under a restricted, unlisted or refused-certificate answer (handlers/letters.py)

The router (bot/router.py) hands this module every private message no flow waits for (on_text, on_non_text).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.app import registered_commands
from bot.router import CadreContext
from bot.services import MemberCache, Services
from flows.redcard import Pick, item_is_forbidden
from handlers.common import Who, answer, edit, who_is
from handlers.errors import quote
from knowledge.letters import letter_kind_for
from knowledge.model import FORBIDDEN_VERDICTS, CheckResult, Verdict
from knowledge.resident import resident_reply
from storage import checklog, residents
from storage.errors import DatabaseUnavailable, NotFound, NotPermitted
from storage.models import utcnow
from texts import bot_check as B
from texts import errors as E

CANDIDATES = 3
UP, DOWN = "u", "d"
FEEDBACK = {UP: 1, DOWN: -1}


@dataclass(frozen=True)
class Asker:
    """Who asked: a member (None if unregistered), and whether an unregistered asker is a resident."""

    who: Who | None
    resident: bool = False


# ---------------------------------------------------------------------------------------------- answering


async def on_text(update: Update, context: CadreContext) -> None:
    """A task typed in a private chat: answer it from the knowledge base."""
    await answer_check(update, context, update.effective_message.text or "")


async def on_non_text(update: Update, context: CadreContext) -> None:
    """A photo, voice message, sticker, file …: check its caption, or say that text is needed."""
    message = update.effective_message
    if message.caption and message.caption.strip():
        await answer_check(update, context, message.caption, note=B.CAPTION_CHECKED)
        return
    await message.reply_text(E.NOT_TEXT)


async def answer_check(update: Update, context: CadreContext, text: str, note: str | None = None) -> None:
    """Check `text`, log it, and reply with the verdict and its buttons."""
    services = context.services
    message = update.effective_message
    user_id = update.effective_user.id
    allowed = await services.check_allowed(user_id)
    if not allowed:
        if allowed.warn:  # the rest of the burst is silent: each reply would cost this chat a second of sending
            await message.reply_text(E.RATE_LIMITED.format(seconds=allowed.clear_after, text=quote(text)))
        return
    result = services.kb.check(text)
    if result.problem:
        await message.reply_text(result.reply)
        return
    now = utcnow()
    record = {"text": text, "verdict": result.verdict, "top_item_id": result.top.id if result.top else None,
              "bot_id": context.bot.id, "update_id": update.update_id}
    try:
        asker, check_id = await _log(services, user_id, record, now)
    except DatabaseUnavailable:
        # Save it later under the cadre's village (for the digest) if the member cache knows who this is.
        known = services.members.get(user_id)
        who = known if known is not MemberCache.MISSING else None
        queued = services.outbox.put("check_log", {**record, "now": now.isoformat(),
                                                   "village_id": who.village_id if who else None,
                                                   "member_id": who.member_id if who else None})
        lines = [result.reply, B.NOTE_NOT_SAVED_LATER if queued else B.NOTE_NOT_SAVED]
        await message.reply_text("\n".join([note, *lines] if note else lines))
        return
    if len(services.outbox):  # the database is back: save what waited
        context.application.create_task(asyncio.to_thread(services.outbox.flush, services.db))
    lines = [note] if note else []
    if asker.resident:
        lines.append(resident_reply(services.kb.items, result))
        markup = InlineKeyboardMarkup([feedback_row(services.secret, user_id, check_id, None)])
    else:
        lines.append(result.reply)
        if asker.who is None and result.verdict != Verdict.CHITCHAT:
            lines.append(B.NOTE_UNREGISTERED)
        markup = answer_keyboard(services.secret, user_id, check_id, result, asker.who)
    await message.reply_text("\n".join(lines), reply_markup=markup)


async def _log(services: Services, user_id: int, record: dict[str, Any], now: Any) -> tuple[Asker, int]:
    """Log the check; who the user is comes from the short-lived member cache when it knows."""
    who = services.members.get(user_id)
    if who is not MemberCache.MISSING:  # a member (the cache never holds "not a member")
        try:
            return Asker(who), await services.run_db(_log_check_of, who, record, now)
        except IntegrityError:  # the membership was removed meanwhile: look again
            services.members.forget(user_id)
    key = residents.resident_key(services.secret, user_id)
    asker, check_id = await services.run_db(_log_check, user_id, key, record, now)
    services.members.put(user_id, asker.who)
    return asker, check_id


def _log_check(session: Any, user_id: int, key: str, record: dict[str, Any], now: Any) -> tuple[Asker, int]:
    """Not in the member cache: who is asking (one look-up; the member's details only for a member), then log."""
    standing = residents.standing(session, user_id, key)
    who = who_is(session, user_id) if standing.member_id is not None else None
    return Asker(who, resident=standing.resident), _log_check_of(session, who, record, now)


def _log_check_of(session: Any, who: Who | None, record: dict[str, Any], now: Any) -> int:
    return checklog.log_check(session, **record, now=now, village_id=who.village_id if who else None,
                              member_id=who.member_id if who else None)


def may_record_red_cards(who: Who | None) -> bool:
    """Cadres record red cards; unregistered users see the button and are told how to register."""
    return who is None or who.is_cadre


def answer_keyboard(secret: str, user_id: int, check_id: int, result: CheckResult, who: Who | None) -> InlineKeyboardMarkup:
    """Candidates (unclear) or 记为红牌候选 (forbidden), 📝 生成回复函 (for a cadre), then 👍/👎."""
    rows: list[list[InlineKeyboardButton]] = []
    if result.verdict == Verdict.UNCLEAR and result.matches:
        for index, match in enumerate(result.matches[:CANDIDATES], 1):
            label = B.BTN_CANDIDATE.format(id=match.id, title=match.title)
            rows.append([InlineKeyboardButton(label, callback_data=callbacks.sign(secret, user_id, "cc", check_id, index))])
        rows.append([InlineKeyboardButton(B.BTN_NONE_OF_THESE, callback_data=callbacks.sign(secret, user_id, "cc", check_id, 0))])
    if result.verdict in FORBIDDEN_VERDICTS and may_record_red_cards(who):
        rows.append([red_card_button(secret, user_id, check_id, Pick.TOP)])
    if letter_kind_for(result.verdict) is not None and may_write_letters(who):
        rows.append([letter_button(secret, user_id, check_id)])
    rows.append(feedback_row(secret, user_id, check_id, None))
    return InlineKeyboardMarkup(rows)


def may_write_letters(who: Who | None) -> bool:
    """A letter speaks for the cadre's committee: only a cadre with a village has one to sign it."""
    return who is not None and who.is_cadre


def letter_button(secret: str, user_id: int, check_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(B.BTN_LETTER, callback_data=callbacks.sign(secret, user_id, "lt", check_id))


def red_card_button(secret: str, user_id: int, check_id: int, pick: Pick) -> InlineKeyboardButton:
    return InlineKeyboardButton(B.BTN_RED_CARD, callback_data=callbacks.sign(secret, user_id, "rc", check_id, pick))


def feedback_row(secret: str, user_id: int, check_id: int, chosen: int | None) -> list[InlineKeyboardButton]:
    """👍 / 👎, the chosen one marked (so the cadre sees what was recorded)."""
    return [
        InlineKeyboardButton(B.BTN_UP_CHOSEN if chosen == 1 else B.BTN_UP,
                             callback_data=callbacks.sign(secret, user_id, "fb", check_id, UP)),
        InlineKeyboardButton(B.BTN_DOWN_CHOSEN if chosen == -1 else B.BTN_DOWN,
                             callback_data=callbacks.sign(secret, user_id, "fb", check_id, DOWN)),
    ]


# ---------------------------------------------------------------------------------------------- 👍 / 👎


async def on_feedback(update: Update, context: CadreContext) -> None:
    """👍/👎 under an answer: record it and mark it on the message; the same again only says so."""
    query = update.callback_query
    services = context.services
    parts = callbacks.verify(services.secret, query.from_user.id, query.data, "fb", 2)
    check_id = callbacks.as_int(parts[0], 1) if parts else None
    if check_id is None or parts[1] not in FEEDBACK:
        await answer(query, E.BUTTON_INVALID)
        return
    value = FEEDBACK[parts[1]]
    try:
        previous = await _record_feedback(services, query.from_user.id, check_id, value)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    except NotFound:
        await answer(query, E.BUTTON_STALE)
        return
    except NotPermitted:
        await answer(query, E.BUTTON_NOT_YOURS)
        return
    if previous == value:
        await answer(query, B.FEEDBACK_SAME)
        return
    await answer(query, B.FEEDBACK_UP if value == 1 else B.FEEDBACK_DOWN)
    await _mark_feedback(query, feedback_row(services.secret, query.from_user.id, check_id, value))


async def _record_feedback(services: Services, user_id: int, check_id: int, value: int) -> int | None:
    """Set the feedback; who the user is comes from the member cache when it knows (checked again on refusal)."""
    cached = services.members.get(user_id)
    if cached is not MemberCache.MISSING:
        try:
            return await services.run_db(_set_feedback_as, cached.member_id if cached else None, check_id, value)
        except NotPermitted:
            services.members.forget(user_id)
    return await services.run_db(_set_feedback, user_id, check_id, value)


def _set_feedback(session: Any, user_id: int, check_id: int, value: int) -> int | None:
    who = who_is(session, user_id)
    return _set_feedback_as(session, who.member_id if who else None, check_id, value)


def _set_feedback_as(session: Any, member_id: int | None, check_id: int, value: int) -> int | None:
    entry = checklog.get_check(session, check_id)
    if entry is None:
        raise NotFound("check", check_id)
    previous = entry.feedback
    checklog.set_feedback(session, check_id, value, member_id=member_id)
    return previous


async def _mark_feedback(query: Any, row: list[InlineKeyboardButton]) -> None:
    """Replace the message's 👍/👎 row by `row`, keeping its other buttons. (A message Telegram no longer shows
    in full, e.g. one older than 48 hours, has no keyboard to read: it then gets the row alone.)"""
    markup = getattr(query.message, "reply_markup", None)
    rows = [list(r) for r in markup.inline_keyboard] if markup is not None else []
    for i, current in enumerate(rows):
        if current and (current[0].callback_data or "").startswith("fb:"):
            rows[i] = row
            break
    else:
        rows.append(row)
    await edit(query, reply_markup=InlineKeyboardMarkup(rows))


# ---------------------------------------------------------------------------------------------- candidates


async def on_candidate(update: Update, context: CadreContext) -> None:
    """A candidate (or 都不是) pressed under an unclear answer: show that item's answer."""
    query = update.callback_query
    services = context.services
    user_id = query.from_user.id
    parts = callbacks.verify(services.secret, user_id, query.data, "cc", 2)
    check_id = callbacks.as_int(parts[0], 1) if parts else None
    index = callbacks.as_int(parts[1], 0, CANDIDATES) if parts else None
    if check_id is None or index is None:
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        who, text = await services.run_db(_own_check, user_id, check_id)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    except (NotFound, NotPermitted) as exc:
        await answer(query, E.BUTTON_NOT_YOURS if isinstance(exc, NotPermitted) else E.BUTTON_STALE)
        return
    result = services.kb.check(text)
    secret = services.secret
    rows: list[list[InlineKeyboardButton]] = []
    if index == 0:
        try:
            await services.run_db(_set_feedback, user_id, check_id, -1)
            await _mark_feedback(query, feedback_row(secret, user_id, check_id, -1))  # 都不是 is a 👎
        except (DatabaseUnavailable, NotFound, NotPermitted):
            pass  # the answer below matters more than the mark
        if may_record_red_cards(who):
            rows.append([red_card_button(secret, user_id, check_id, Pick.NONE)])
        await answer(query)
        await query.message.reply_text(B.NONE_OF_THESE, reply_markup=InlineKeyboardMarkup(rows) if rows else None)
        return
    if index > len(result.matches) or result.verdict != Verdict.UNCLEAR:
        await answer(query, E.BUTTON_STALE)
        return
    item = services.kb.items[result.matches[index - 1].id]
    if item_is_forbidden(item) and may_record_red_cards(who):
        rows.append([red_card_button(secret, user_id, check_id, Pick(str(index)))])
    rows.append(feedback_row(secret, user_id, check_id, None))
    chosen = services.kb.answer_for_item(item.id)  # the knowledge base's own answer, as if the check had found it
    await answer(query, B.CANDIDATE_ANSWER)
    await query.message.reply_text("\n".join([B.CANDIDATE_CHOSEN_HEAD, chosen.reply]),
                                   reply_markup=InlineKeyboardMarkup(rows))


def _own_check(session: Any, user_id: int, check_id: int) -> tuple[Who | None, str]:
    who = who_is(session, user_id)
    entry = checklog.get_check(session, check_id)
    if entry is None:
        raise NotFound("check", check_id)
    if entry.member_id is not None and (who is None or entry.member_id != who.member_id):
        raise NotPermitted("not this member's check")
    return who, entry.text


# ---------------------------------------------------------------------------------------------- fallbacks


async def on_unknown_command(update: Update, context: CadreContext) -> None:
    """A command no handler answers (stays silent for commands another handler registered)."""
    text = update.effective_message.text or ""
    command = text.split()[0][1:].split("@")[0].lower() if text.startswith("/") else ""
    if command in registered_commands(context.application):
        return
    await update.effective_message.reply_text(B.UNKNOWN_COMMAND)


async def on_stray_button(update: Update, context: CadreContext) -> None:
    """A button no handler recognises (forged, or from an older version of the bot)."""
    await answer(update.callback_query, E.BUTTON_INVALID)


__all__ = ["answer_check", "answer_keyboard", "feedback_row", "letter_button", "may_write_letters", "on_candidate",
           "on_feedback", "on_non_text", "on_stray_button", "on_text", "on_unknown_command"]
