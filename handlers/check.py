"""The task check: a cadre's plain text -> the knowledge base's answer, logged, with buttons.

Buttons (all signed for the user they were sent to, see bot.callbacks):
    fb:<check>:u|d          👍 / 👎 on an answer (check_log.feedback)
    cc:<check>:<1-3|0>      a candidate of an unclear answer; 0 = 都不是
    rc:<check>:<t|1-3|n>    记为红牌候选 for the top item, a chosen candidate, or an unlisted task
    rd:<pending>:<0-2|m|x>  the department of a red card: a guess, 其他(手动输入), 取消

The red-card flow keeps its state in storage's pending_actions (kinds 'redcard' and 'redcard_typed'), so a
restart in the middle resumes, and an expired or used button gets a clear note.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.app import registered_commands
from bot.services import MemberCache, Services, get_services
from texts import bot_check as B
from texts import errors as E
from handlers.common import Who, answer, edit, who_is
from handlers.errors import quote
from knowledge.model import FORBIDDEN_VERDICTS, CheckResult, Item
from storage import checklog, pending, redcards
from storage.errors import DatabaseUnavailable, InvalidInput, NotFound, NotPermitted
from storage.models import NO_ITEM, PendingAction, utcnow

log = logging.getLogger(__name__)

PENDING_CHOOSE = "redcard"
PENDING_TYPED = "redcard_typed"
PENDING_TTL = timedelta(days=1)
DEPARTMENT_MAX = 30
TASK_QUOTE = 60
# Group of the typed-department step. PTB runs at most one handler per group, so it cannot share group -1
# with the survey's free-text step; -2 runs first and lets the message through when nothing is pending.
TYPED_GROUP = -2
TYPED_CHATS_KEY = "redcard_typed_chats"  # bot_data: a look-up hint only; the pending step itself is in the database


# ---------------------------------------------------------------------------------------------- answering


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A task typed by anyone in a private chat: answer it from the knowledge base."""
    await answer_check(update, context, update.effective_message.text or "")


async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, voice message, sticker, file …: check its caption, or say that text is needed."""
    message = update.effective_message
    if message.caption and message.caption.strip():
        await answer_check(update, context, message.caption, note=B.CAPTION_CHECKED)
        return
    await message.reply_text(E.NOT_TEXT)


async def answer_check(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, note: str | None = None) -> None:
    """Check `text`, log it, and reply with the verdict and its buttons."""
    services = get_services(context)
    message = update.effective_message
    user_id = update.effective_user.id
    allowed = services.limiter.hit(user_id, "check")
    if not allowed:
        await message.reply_text(E.RATE_LIMITED.format(seconds=allowed.retry_after, text=quote(text)))
        return
    result = services.kb.check(text)
    if result.problem:
        await message.reply_text(result.reply)
        return
    now = utcnow()
    record = {"text": text, "verdict": result.verdict, "top_item_id": result.top.id if result.top else None}
    try:
        who, check_id = await _log(services, user_id, record, now)
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
    lines.append(result.reply)
    if who is None and result.verdict != "chitchat":
        lines.append(B.NOTE_UNREGISTERED)
    secret = services.settings.secret
    await message.reply_text("\n".join(lines), reply_markup=answer_keyboard(secret, user_id, check_id, result, who))


async def _log(services: Services, user_id: int, record: dict[str, Any], now: Any) -> tuple[Who | None, int]:
    """Log the check; who the user is comes from the short-lived member cache when it knows."""
    who = services.members.get(user_id)
    if who is not MemberCache.MISSING:
        try:
            return who, await services.run_db(_log_check_as, who, record, now)
        except IntegrityError:  # the membership was removed meanwhile: look again
            services.members.forget(user_id)
    who, check_id = await services.run_db(_log_check, user_id, record, now)
    services.members.put(user_id, who)
    return who, check_id


def _log_check(session: Any, user_id: int, record: dict[str, Any], now: Any) -> tuple[Who | None, int]:
    who = who_is(session, user_id)
    return who, _log_check_as(session, who, record, now)


def _log_check_as(session: Any, who: Who | None, record: dict[str, Any], now: Any) -> int:
    entry = checklog.log_check(session, **record, now=now,
                               village_id=who.village_id if who else None, member_id=who.member_id if who else None)
    return entry.id


def may_record_red_cards(who: Who | None) -> bool:
    """Cadres record red cards; unregistered users see the button and are told how to register."""
    return who is None or who.is_cadre


def answer_keyboard(secret: str, user_id: int, check_id: int, result: CheckResult, who: Who | None) -> InlineKeyboardMarkup:
    """Candidates (unclear) or 记为红牌候选 (forbidden), then 👍/👎."""
    rows: list[list[InlineKeyboardButton]] = []
    if result.verdict == "unclear" and result.matches:
        for index, match in enumerate(result.matches[:3], 1):
            label = B.BTN_CANDIDATE.format(id=match.id, title=match.title)
            rows.append([InlineKeyboardButton(label, callback_data=callbacks.sign(secret, user_id, "cc", check_id, index))])
        rows.append([InlineKeyboardButton(B.BTN_NONE_OF_THESE, callback_data=callbacks.sign(secret, user_id, "cc", check_id, 0))])
    if result.verdict in FORBIDDEN_VERDICTS and may_record_red_cards(who):
        rows.append([InlineKeyboardButton(B.BTN_RED_CARD, callback_data=callbacks.sign(secret, user_id, "rc", check_id, "t"))])
    rows.append(feedback_row(secret, user_id, check_id, None))
    return InlineKeyboardMarkup(rows)


def feedback_row(secret: str, user_id: int, check_id: int, chosen: int | None) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(B.BTN_UP_CHOSEN if chosen == 1 else B.BTN_UP,
                             callback_data=callbacks.sign(secret, user_id, "fb", check_id, "u")),
        InlineKeyboardButton(B.BTN_DOWN_CHOSEN if chosen == -1 else B.BTN_DOWN,
                             callback_data=callbacks.sign(secret, user_id, "fb", check_id, "d")),
    ]


# ---------------------------------------------------------------------------------------------- 👍 / 👎


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎 under an answer: record it on the check log."""
    query = update.callback_query
    services = get_services(context)
    parts = callbacks.verify(services.settings.secret, query.from_user.id, query.data, "fb", 2)
    check_id = callbacks.as_int(parts[0], 1) if parts else None
    if check_id is None or parts[1] not in ("u", "d"):
        await answer(query, E.BUTTON_INVALID)
        return
    value = 1 if parts[1] == "u" else -1
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
    markup = _with_feedback_marked(query.message.reply_markup if query.message else None,
                                   feedback_row(services.settings.secret, query.from_user.id, check_id, value))
    if markup is not None:
        await edit(query, reply_markup=markup)


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


def _with_feedback_marked(markup: InlineKeyboardMarkup | None, row: list[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    if markup is None:
        return None
    rows = [list(r) for r in markup.inline_keyboard]
    for i, current in enumerate(rows):
        if current and (current[0].callback_data or "").startswith("fb:"):
            rows[i] = row
            return InlineKeyboardMarkup(rows)
    return None


# ---------------------------------------------------------------------------------------------- candidates


async def on_candidate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A candidate (or 都不是) pressed under an unclear answer: show that item's answer."""
    query = update.callback_query
    services = get_services(context)
    user_id = query.from_user.id
    parts = callbacks.verify(services.settings.secret, user_id, query.data, "cc", 2)
    check_id = callbacks.as_int(parts[0], 1) if parts else None
    index = callbacks.as_int(parts[1], 0, 3) if parts else None
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
    secret = services.settings.secret
    rows: list[list[InlineKeyboardButton]] = []
    if index == 0:
        try:
            await services.run_db(_set_feedback, user_id, check_id, -1)
        except (DatabaseUnavailable, NotFound, NotPermitted):
            pass  # the answer below matters more than the mark
        if may_record_red_cards(who):
            rows.append([InlineKeyboardButton(B.BTN_RED_CARD, callback_data=callbacks.sign(secret, user_id, "rc", check_id, "n"))])
        await answer(query)
        await query.message.reply_text(B.NONE_OF_THESE, reply_markup=InlineKeyboardMarkup(rows) if rows else None)
        return
    if index > len(result.matches) or result.verdict != "unclear":
        await answer(query, E.BUTTON_STALE)
        return
    item = services.kb.items[result.matches[index - 1].id]
    if item_is_forbidden(item) and may_record_red_cards(who):
        rows.append([InlineKeyboardButton(B.BTN_RED_CARD, callback_data=callbacks.sign(secret, user_id, "rc", check_id, index))])
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


def item_is_forbidden(item: Item) -> bool:
    """Work a committee may refuse: restricted items, certificates, and B items left out of the town's agreement."""
    return item.list in ("restricted", "certificate") or (item.list == "assist" and not item.enabled)


# ---------------------------------------------------------------------------------------------- red cards


@dataclass(frozen=True)
class RedCardDraft:
    """What a red card will be saved with, decided from the check and the pressed button."""

    item_id: str
    evidence: tuple[str, ...]
    departments: tuple[str, ...]


def red_card_draft(result: CheckResult, choice: str, kb: Any) -> RedCardDraft | None:
    """'t' = the answer's own verdict, '1'-'3' = a candidate, 'n' = none of them (unlisted); None if not refusable."""
    departments = tuple(result.extras.get("departments") or ([result.department] if result.department else []))[:3]
    if choice == "t":
        if result.verdict not in FORBIDDEN_VERDICTS:
            return None
        top = result.top
        if result.verdict == "unlisted" or top is None:
            words = tuple(result.extras.get("out_roles") or ())
            item_id = top.id if top is not None and not _is_listed_allowed(kb, top.id) else NO_ITEM
            return RedCardDraft(item_id, words, departments)
        return RedCardDraft(top.id, tuple(top.matched), departments)
    if choice == "n":
        return RedCardDraft(NO_ITEM, (), departments)
    index = callbacks.as_int(choice, 1, 3)
    if index is None or result.verdict != "unclear" or index > len(result.matches):
        return None
    match = result.matches[index - 1]
    if not item_is_forbidden(kb.items[match.id]):
        return None
    return RedCardDraft(match.id, tuple(match.matched), departments)


def _is_listed_allowed(kb: Any, item_id: str) -> bool:
    item = kb.items.get(item_id)
    return item is not None and not item_is_forbidden(item)


async def on_red_card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """记为红牌候选: ask which department, with guesses from the text."""
    query = update.callback_query
    services = get_services(context)
    user_id = query.from_user.id
    parts = callbacks.verify(services.settings.secret, user_id, query.data, "rc", 2)
    check_id = callbacks.as_int(parts[0], 1) if parts else None
    if check_id is None or parts[1] not in ("t", "n", "1", "2", "3"):
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        outcome = await services.run_db(_start_red_card, services, user_id, query.message.chat.id, check_id, parts[1])
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    if isinstance(outcome, str):
        await answer(query, outcome, alert=True)
        return
    pending_id, draft, task = outcome
    secret = services.settings.secret
    rows = [[InlineKeyboardButton(name, callback_data=callbacks.sign(secret, user_id, "rd", pending_id, i))]
            for i, name in enumerate(draft.departments)]
    rows.append([InlineKeyboardButton(B.BTN_DEPT_OTHER, callback_data=callbacks.sign(secret, user_id, "rd", pending_id, "m")),
                 InlineKeyboardButton(B.BTN_CANCEL, callback_data=callbacks.sign(secret, user_id, "rd", pending_id, "x"))])
    ask = B.RC_ASK_DEPARTMENT if draft.departments else B.RC_ASK_DEPARTMENT_NO_GUESS
    await answer(query, B.RC_STARTED)
    await query.message.reply_text(ask.format(task=quote(task, TASK_QUOTE)), reply_markup=InlineKeyboardMarkup(rows))


def _start_red_card(session: Any, services: Services, user_id: int, chat_id: int, check_id: int,
                    choice: str) -> tuple[int, RedCardDraft, str] | str:
    who = who_is(session, user_id)
    if who is None:
        return B.RC_ONLY_REGISTERED
    if not who.is_cadre:
        return B.RC_ONLY_CADRE
    entry = checklog.get_check(session, check_id)
    if entry is None:
        return E.BUTTON_STALE
    if entry.member_id != who.member_id:
        return E.BUTTON_NOT_YOURS
    draft = red_card_draft(services.kb.check(entry.text), choice, services.kb)
    if draft is None:
        return B.RC_NOT_FORBIDDEN
    action = pending.create_pending(
        session, kind=PENDING_CHOOSE, member_id=who.member_id, chat_id=chat_id, ttl=PENDING_TTL,
        payload={"check_id": check_id, "village_id": who.village_id, "item_id": draft.item_id,
                 "evidence": list(draft.evidence), "departments": list(draft.departments), "task": entry.text},
    )
    return action.id, draft, entry.text


async def on_department(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A department button (a guess, 其他(手动输入) or 取消) of a pending red card."""
    query = update.callback_query
    services = get_services(context)
    user_id = query.from_user.id
    parts = callbacks.verify(services.settings.secret, user_id, query.data, "rd", 2)
    pending_id = callbacks.as_int(parts[0], 1) if parts else None
    option = parts[1] if parts else ""
    if pending_id is None or not (option in ("m", "x") or callbacks.as_int(option, 0, 2) is not None):
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        outcome = await services.run_db(_department_chosen, services, user_id, query.message.chat.id, pending_id, option)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    kind, payload = outcome
    if kind == "refused":
        await answer(query, payload, alert=True)
        if payload == E.BUTTON_STALE:
            await edit(query, reply_markup=None)
        return
    if kind == "cancelled":
        await answer(query, B.RC_CANCELLED)
        await edit(query, B.RC_CANCELLED)
        return
    if kind == "typing":
        chats = await _typed_chats(services, context)
        if chats is not None:
            chats.add(query.message.chat.id)
        cancel = callbacks.sign(services.settings.secret, user_id, "rd", payload, "x")
        await answer(query, B.RC_TYPE_PROMPTED)
        await edit(query, B.RC_TYPE_DEPARTMENT,
                   reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(B.BTN_CANCEL, callback_data=cancel)]]))
        return
    await answer(query, B.RC_SAVED_TOAST)
    await edit(query, payload)


def _department_chosen(session: Any, services: Services, user_id: int, chat_id: int, pending_id: int,
                       option: str) -> tuple[str, Any]:
    who = who_is(session, user_id)
    owner = {"member_id": who.member_id if who else None, "chat_id": chat_id}
    try:
        action = pending.get_pending(session, pending_id, **owner)
    except NotPermitted:
        return "refused", E.BUTTON_NOT_YOURS
    if action is None or action.kind not in (PENDING_CHOOSE, PENDING_TYPED):
        return "refused", E.BUTTON_STALE
    if action.kind == PENDING_TYPED and option != "x":  # the typed step only has 取消
        return "refused", E.BUTTON_STALE
    action = pending.take_pending(session, pending_id, **owner)
    if action is None:  # a double tap: the other press has it
        return "refused", E.BUTTON_STALE
    if option == "x":
        return "cancelled", None
    if option == "m":
        typed = pending.create_pending(session, kind=PENDING_TYPED, member_id=action.member_id, chat_id=chat_id,
                                       ttl=PENDING_TTL, payload=action.payload)
        return "typing", typed.id
    departments = action.payload.get("departments") or []
    index = int(option)
    if index >= len(departments):
        return "refused", E.BUTTON_STALE
    return "saved", _save(session, services, who, action.payload, departments[index])


def _save(session: Any, services: Services, who: Who | None, payload: dict[str, Any], department: str) -> str:
    """Record (or count again) the red card; the confirmation text."""
    if who is None or not who.is_cadre:
        return B.RC_ONLY_CADRE
    if who.village_id != payload.get("village_id"):
        return B.RC_WRONG_VILLAGE
    item_id = payload.get("item_id") or NO_ITEM
    result = redcards.record_red_card(session, village_id=who.village_id, department=department,
                                      task_text=payload.get("task") or "", item_id=item_id,
                                      evidence=payload.get("evidence") or (), member_id=who.member_id)
    item = services.kb.items.get(item_id)
    label = f"{item.id} {item.title}" if item is not None else B.RC_ITEM_UNLISTED
    if result.created:
        return B.RC_SAVED_NEW.format(department=department, item=label)
    return B.RC_SAVED_AGAIN.format(department=department, item=label, count=result.card.count)


async def _typed_chats(services: Services, context: ContextTypes.DEFAULT_TYPE) -> set[int] | None:
    """Chats that may have a red card waiting for a typed department (read from the database once per process,
    then kept up to date here), so that ordinary messages need no database look-up."""
    chats = context.bot_data.get(TYPED_CHATS_KEY)
    if chats is None:
        try:
            chats = set(await services.run_db(_chats_typing))
        except DatabaseUnavailable:
            return None
        chats = context.bot_data.setdefault(TYPED_CHATS_KEY, chats)
    return chats


def _chats_typing(session: Any) -> list[int]:
    now = utcnow()
    query = select(PendingAction.chat_id).where(
        PendingAction.kind == PENDING_TYPED, PendingAction.chat_id.is_not(None),
        (PendingAction.expires_at.is_(None)) | (PendingAction.expires_at > now))
    return list(session.scalars(query))


async def on_typed_department(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text while a red card waits for a typed department: save it (and stop), or let the check have it."""
    services = get_services(context)
    message = update.effective_message
    chats = await _typed_chats(services, context)
    if chats is not None and message.chat.id not in chats:
        return
    try:
        outcome = await services.run_db(_typed_department, services, update.effective_user.id,
                                        message.chat.id, message.text or "")
    except DatabaseUnavailable:
        return  # cannot tell whether anything is pending: the check below still answers
    if outcome != B.RC_TYPE_EMPTY and chats is not None:  # the step is over (or there was none)
        chats.discard(message.chat.id)
    if outcome is None:
        return
    if outcome == B.RC_TYPE_ABANDONED:
        await message.reply_text(outcome)
        return  # a new task: the check in group 0 answers it
    await message.reply_text(outcome)
    raise ApplicationHandlerStop


def _typed_department(session: Any, services: Services, user_id: int, chat_id: int, text: str) -> str | None:
    action = pending.latest_pending(session, chat_id=chat_id, kind=PENDING_TYPED)
    if action is None:
        return None
    who = who_is(session, user_id)
    if who is None or who.member_id != action.member_id:
        return None
    typed = " ".join(text.split())
    if len(typed) > DEPARTMENT_MAX:
        pending.take_pending(session, action.id, member_id=who.member_id)
        return B.RC_TYPE_ABANDONED
    if not any(ch.isalnum() for ch in typed):
        return B.RC_TYPE_EMPTY
    taken = pending.take_pending(session, action.id, member_id=who.member_id, chat_id=chat_id)
    if taken is None:  # pressed 取消 at the same moment
        return None
    try:
        return _save(session, services, who, taken.payload, services.kb.departments.canonical(typed))
    except InvalidInput:
        return B.RC_TYPE_EMPTY


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: drop a red card waiting for its department (other flows handle their own /cancel)."""
    services = get_services(context)
    try:
        dropped = await services.run_db(_cancel_red_cards, update.effective_chat.id)
    except DatabaseUnavailable:
        return
    context.bot_data.get(TYPED_CHATS_KEY, set()).discard(update.effective_chat.id)
    if dropped:
        await update.effective_message.reply_text(B.RC_CANCELLED)
        raise ApplicationHandlerStop


def _cancel_red_cards(session: Any, chat_id: int) -> int:
    return sum(pending.delete_pending(session, chat_id=chat_id, kind=kind) for kind in (PENDING_CHOOSE, PENDING_TYPED))


# ---------------------------------------------------------------------------------------------- fallbacks


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command no handler answers (stays silent for commands another module registered)."""
    text = update.effective_message.text or ""
    command = text.split()[0][1:].split("@")[0].lower() if text.startswith("/") else ""
    if command == "cancel":  # every /cancel that dropped something stopped the update before group 0
        await update.effective_message.reply_text(B.CANCEL_NOTHING)
        return
    if command in registered_commands(context.application):
        return
    await update.effective_message.reply_text(B.UNKNOWN_COMMAND)


async def on_stray_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button no handler recognises (forged, or from an older version of the bot)."""
    await answer(update.callback_query, E.BUTTON_INVALID)


def add_handlers(app: Application) -> None:
    """The catch-all check (group 0), its buttons, the typed-department step (group -2) and fallbacks."""
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(text & filters.UpdateType.MESSAGE, on_typed_department), group=TYPED_GROUP)
    app.add_handler(CommandHandler("cancel", on_cancel, filters=private), group=TYPED_GROUP)
    app.add_handler(CallbackQueryHandler(on_feedback, pattern=r"^fb:"))
    app.add_handler(CallbackQueryHandler(on_candidate, pattern=r"^cc:"))
    app.add_handler(CallbackQueryHandler(on_red_card, pattern=r"^rc:"))
    app.add_handler(CallbackQueryHandler(on_department, pattern=r"^rd:"))
    app.add_handler(MessageHandler(text, on_text))
    app.add_handler(MessageHandler(private & filters.COMMAND & filters.UpdateType.MESSAGE, on_unknown_command))
    app.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL,
                                   on_non_text))
    app.add_handler(CallbackQueryHandler(on_stray_button))  # last in group 0: only what nobody else took


__all__ = ["add_handlers", "answer_check", "answer_keyboard", "item_is_forbidden", "red_card_draft"]
