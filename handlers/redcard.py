"""记为红牌候选 in Telegram: thin handlers over flows/redcard.py.

Buttons (signed for the user, see bot.callbacks):
    rc:<check>:<t|1-3|n>        记为红牌候选 for the top item, a chosen candidate, or an unlisted task (flows.redcard.Pick)
    rd:<pending>:<0-2|m|x>      the department: a guess, 其他(手动输入), 取消

A card waiting for a typed department is an ActiveStep of the router (STEP, wired in bot/wiring.py): the next
private text is its department, unless it reads as a new task, which is then checked and the card keeps waiting.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.router import ActiveStep, CadreContext
from flows import Actor
from flows import redcard as flow
from handlers.check import answer_check
from handlers.common import answer, edit
from handlers.errors import quote
from storage.errors import DatabaseUnavailable
from storage.models import NO_ITEM
from texts import bot_check as B
from texts import errors as E
from texts import redcards as R

TASK_QUOTE = 60
OTHER, CANCEL = "m", "x"

REFUSALS: dict[flow.Refusal, str] = {
    flow.Refusal.NOT_REGISTERED: B.RC_ONLY_REGISTERED,
    flow.Refusal.NOT_CADRE: B.RC_ONLY_CADRE,
    flow.Refusal.STALE: E.BUTTON_STALE,
    flow.Refusal.NOT_YOURS: E.BUTTON_NOT_YOURS,
    flow.Refusal.NOT_REFUSABLE: B.RC_NOT_FORBIDDEN,
    flow.Refusal.WRONG_VILLAGE: B.RC_WRONG_VILLAGE,
    flow.Refusal.CARD_GONE: R.NOT_FOUND,
    flow.Refusal.NOT_PERMITTED: R.NOT_PERMITTED,
}


def refusal_text(refused: flow.Refused, wanted: str = "") -> str:
    """The short note for a refused step (`wanted`: the action, for ALREADY)."""
    if refused.reason == flow.Refusal.ALREADY:
        return R.ALREADY.format(status=R.STATUS.get(refused.status, refused.status), action=R.ACTION.get(wanted, ""))
    return REFUSALS[refused.reason]


def _actor(update: Update) -> Actor:
    return Actor(update.effective_user.id, update.effective_chat.id)


def _item_label(context: CadreContext, item_id: str) -> str:
    item = context.services.kb.items.get(item_id) if item_id != NO_ITEM else None
    return f"{item.id} {item.title}" if item is not None else B.RC_ITEM_UNLISTED


def already_reported_text(context: CadreContext, card: flow.AlreadyReported) -> str:
    return B.RC_ALREADY_REPORTED.format(department=card.department, item=_item_label(context, card.item_id),
                                        status=R.STATUS.get(card.status, card.status), count=card.count)


def saved_text(context: CadreContext, saved: flow.Saved) -> str:
    label = _item_label(context, saved.item_id)
    if saved.created:
        return B.RC_SAVED_NEW.format(department=saved.department, item=label)
    return B.RC_SAVED_AGAIN.format(department=saved.department, item=label, count=saved.count)


# ---------------------------------------------------------------------------------------------- buttons


async def on_red_card(update: Update, context: CadreContext) -> None:
    """记为红牌候选: ask which department, with guesses from the text."""
    query = update.callback_query
    services = context.services
    user_id = query.from_user.id
    parts = callbacks.verify(services.secret, user_id, query.data, "rc", 2)
    check_id = callbacks.as_int(parts[0], 1) if parts else None
    pick = parts[1] if parts else ""
    if check_id is None or pick not in set(flow.Pick):
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        started = await services.run_db(flow.start, services.kb, _actor(update), check_id, flow.Pick(pick))
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    if isinstance(started, flow.Refused):
        await answer(query, refusal_text(started), alert=True)
        return
    if isinstance(started, flow.AlreadyReported):  # pressed again on an answer already reported: not counted
        await answer(query, B.RC_ALREADY_TOAST)
        await query.message.reply_text(already_reported_text(context, started))
        return
    secret = services.secret
    if isinstance(started, flow.Typing):  # pressed again while its typed department is awaited
        cancel = callbacks.sign(secret, user_id, "rd", started.pending_id, CANCEL)
        await answer(query, B.RC_STILL_ASKING_TOAST)
        await query.message.reply_text(
            B.RC_TYPE_DEPARTMENT, reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(B.BTN_CANCEL, callback_data=cancel)]]))
        return
    rows = [[InlineKeyboardButton(name, callback_data=callbacks.sign(secret, user_id, "rd", started.pending_id, i))]
            for i, name in enumerate(started.departments)]
    rows.append([InlineKeyboardButton(B.BTN_DEPT_OTHER, callback_data=callbacks.sign(secret, user_id, "rd", started.pending_id, OTHER)),
                 InlineKeyboardButton(B.BTN_CANCEL, callback_data=callbacks.sign(secret, user_id, "rd", started.pending_id, CANCEL))])
    ask = B.RC_ASK_DEPARTMENT if started.departments else B.RC_ASK_DEPARTMENT_NO_GUESS
    await answer(query, B.RC_STARTED)
    await query.message.reply_text(ask.format(task=quote(started.task, TASK_QUOTE)), reply_markup=InlineKeyboardMarkup(rows))


async def on_department(update: Update, context: CadreContext) -> None:
    """A department button (a guess, 其他(手动输入) or 取消) of a waiting card."""
    query = update.callback_query
    services = context.services
    user_id = query.from_user.id
    parts = callbacks.verify(services.secret, user_id, query.data, "rd", 2)
    pending_id = callbacks.as_int(parts[0], 1) if parts else None
    option = parts[1] if parts else ""
    guess = callbacks.as_int(option, 0, flow.GUESSES - 1)
    if pending_id is None or (option not in (OTHER, CANCEL) and guess is None):
        await answer(query, E.BUTTON_INVALID)
        return
    actor = _actor(update)
    try:
        if option == CANCEL:
            result = await services.run_db(flow.cancel_choice, actor, pending_id)
        elif option == OTHER:
            result = await services.run_db(flow.choose_other, actor, pending_id)
        else:
            result = await services.run_db(flow.choose_guess, services.kb, actor, pending_id, guess)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    if isinstance(result, flow.Refused):
        await answer(query, refusal_text(result), alert=True)
        if result.reason == flow.Refusal.STALE:
            await edit(query, reply_markup=None)  # a dead keyboard goes away
        return
    if isinstance(result, flow.Cancelled):
        await answer(query, B.RC_CANCELLED)
        await edit(query, B.RC_CANCELLED)
    elif isinstance(result, flow.AlreadyReported):  # another press of the same check saved it first
        await answer(query, B.RC_ALREADY_TOAST)
        await edit(query, already_reported_text(context, result))
    elif isinstance(result, flow.Typing):
        cancel = callbacks.sign(services.secret, user_id, "rd", result.pending_id, CANCEL)
        await answer(query, B.RC_TYPE_PROMPTED)
        await edit(query, B.RC_TYPE_DEPARTMENT,
                   reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(B.BTN_CANCEL, callback_data=cancel)]]))
    else:
        await answer(query, B.RC_SAVED_TOAST)
        await edit(query, saved_text(context, result))


# ---------------------------------------------------------------------------------------------- the typed department


async def is_waiting(update: Update, context: CadreContext) -> bool:
    """A card waits for this user to type its department in this chat (one indexed look-up)."""
    if update.effective_user is None or update.effective_chat is None:
        return False
    return await context.services.run_db(flow.waiting_for_typed, _actor(update))


async def on_typed(update: Update, context: CadreContext) -> None:
    """The text while a card waits for its department: the department, or a new task (the card keeps waiting)."""
    services = context.services
    message = update.effective_message
    text = message.text or ""
    result = await services.run_db(flow.typed_department, services.kb, _actor(update), text)
    if isinstance(result, flow.Saved):
        await message.reply_text(saved_text(context, result))
    elif isinstance(result, flow.AlreadyReported):
        await message.reply_text(already_reported_text(context, result))
    elif isinstance(result, flow.NotADepartment):
        await message.reply_text(B.RC_TYPE_EMPTY)
    elif isinstance(result, flow.Refused):
        await message.reply_text(refusal_text(result))
    elif isinstance(result, flow.StillWaiting):
        await answer_check(update, context, text)
        await message.reply_text(B.RC_STILL_WAITING.format(task=quote(result.task, TASK_QUOTE)))
    else:  # nothing waits any more (取消 pressed at the same moment): an ordinary task
        await answer_check(update, context, text)


async def on_cancel(update: Update, context: CadreContext) -> bool:
    """/cancel: drop the cards of this chat still waiting for their department."""
    if update.effective_user is None or update.effective_chat is None:
        return False
    return await context.services.run_db(flow.cancel_all, _actor(update))


STEP = ActiveStep("redcard", is_waiting=is_waiting, on_text=on_typed, on_cancel=on_cancel,
                  waits_under=frozenset({flow.TYPED}))


__all__ = ["STEP", "already_reported_text", "on_department", "on_red_card", "refusal_text", "saved_text"]
