"""部门为各村评分 in the bot: /evaluation for department staff (called by the /evaluation dispatcher), the buttons
under each question (prefix "ed") and the typed scores and bonuses (an ActiveStep of the router).

One question per message: "东风村 · B5 协助劳动就业服务（权重 6） 第 3/27 项" with score buttons, or a village's bonus
question. An answer edits its question to show it (the buttons stay: pressing again changes it) and the next
question comes as a new message; at the end the summary with each village's weighted score.
"""

from __future__ import annotations

import logging

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot import callbacks
from bot.router import ActiveStep, CadreContext
from flows import Actor
from flows import evaluation_department as flow
from flows.evaluation.basis import EvaluationBasis
from handlers.common import Who, answer, edit, evaluation_basis, in_group, private_only
from handlers.errors import quote
from storage.errors import DatabaseUnavailable
from texts import errors as E
from texts import evaluation_department as T

log = logging.getLogger(__name__)

PREFIX = "ed"
BUTTON_PATTERN = rf"^{PREFIX}:"
SCORE_ROWS = (flow.SCORE_BUTTONS[:4], flow.SCORE_BUTTONS[4:])

REFUSALS: dict[flow.Refusal, str] = {
    flow.Refusal.NOT_DEPARTMENT: T.NOT_DEPARTMENT,
    flow.Refusal.NO_ROUND: T.NO_ROUND,
    flow.Refusal.NO_AGREEMENT: T.NO_AGREEMENT,
    flow.Refusal.NO_ITEMS: T.NO_ITEMS,
    flow.Refusal.STALE: T.STALE,
    flow.Refusal.NOT_YOURS: E.BUTTON_NOT_YOURS,
    flow.Refusal.ROUND_CLOSED: T.ROUND_CLOSED,
    flow.Refusal.NOT_PERMITTED: T.NOT_PERMITTED,
    flow.Refusal.BAD_CHOICE: E.BUTTON_INVALID,
}
# Refusals after which a question's buttons can do nothing any more
DEAD_BUTTONS = (flow.Refusal.STALE, flow.Refusal.ROUND_CLOSED, flow.Refusal.NOT_PERMITTED)


def _actor(update: Update) -> Actor:
    """Who acts, and where (every update this module gets has a user and a chat: the router and PTB see to it)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return Actor(user.id, chat.id)


def basis_of(context: CadreContext) -> EvaluationBasis:
    return evaluation_basis(context.services)


# ---------------------------------------------------------------------------------------------- texts


def number(value: float) -> str:
    """87.5 -> '87.5', 95.0 -> '95'."""
    return f"{round(value, 2):g}"


def refusal_text(refused: flow.Refused) -> str:
    return REFUSALS[refused.reason].format(department=refused.detail, round=refused.detail)


def question_text(question: flow.Question) -> str:
    """The question, with its answer once it has one."""
    if isinstance(question, flow.ScoreQuestion):
        text = T.SCORE_QUESTION.format(village=question.village, item_id=question.item_id, title=question.title,
                                       weight=question.weight, number=question.number, total=question.total)
        if question.score is not None:
            text += "\n" + T.ANSWERED_SCORE.format(score=number(question.score))
        return text
    text = T.BONUS_QUESTION.format(village=question.village, most=number(question.bonus_max))
    if question.bonus is not None:
        given = question.bonus
        line = (T.ANSWERED_BONUS.format(points=number(given.points), reason=given.reason) if given.points > 0
                else T.ANSWERED_NO_BONUS)
        text += "\n" + line
    return text


def typing_text(question: flow.Question) -> str:
    prompt = T.TYPE_SCORE if isinstance(question, flow.ScoreQuestion) else T.TYPE_BONUS
    return question_text(question) + "\n" + prompt


def saved_text(question: flow.Question) -> str:
    """The note after a typed answer."""
    if isinstance(question, flow.ScoreQuestion):
        return T.SAVED_SCORE.format(village=question.village, item_id=question.item_id,
                                    score=number(question.score or 0.0))
    given = question.bonus
    if given is None or given.points <= 0:
        return T.SAVED_NO_BONUS.format(village=question.village)
    return T.SAVED_BONUS.format(village=question.village, points=number(given.points), reason=given.reason)


REASON_SHOWN = 40  # characters of a bonus reason in the summary (the dossier has all of it)
TEXT_MAX = 4096  # Telegram's limit on a message


def finished_text(done: flow.Finished) -> str:
    lines = [T.FINISHED.format(department=done.department, round=done.round_label)]
    for result in done.villages:
        if result.weighted is None:
            line = T.FINISHED_LINE_UNSCORED.format(village=result.village)
        else:
            line = T.FINISHED_LINE.format(village=result.village, score=number(result.weighted))
        if result.bonus is not None:
            reason = result.bonus.reason
            reason = reason if len(reason) <= REASON_SHOWN else reason[:REASON_SHOWN] + "…"
            line += T.FINISHED_BONUS.format(points=number(result.bonus.points), reason=reason)
        lines.append(line)
    footer = T.FINISHED_FOOTER
    while len("\n".join([*lines, footer])) > TEXT_MAX and len(lines) > 1:  # one message, whatever the town's size
        lines.pop()
        footer = T.FINISHED_MORE + "\n" + T.FINISHED_FOOTER
    return "\n".join([*lines, footer])


def intro_text(intro: flow.Intro) -> str:
    return T.INTRO.format(department=intro.department, round=intro.round_label, total=intro.total,
                          done=intro.done, deadline=intro.deadline.isoformat())


def invalid_text(invalid: flow.Invalid) -> str:
    problem = invalid.problem
    if problem == flow.Problem.NOT_A_SCORE:
        return T.NOT_A_SCORE.format(text=invalid.text)
    if problem == flow.Problem.SCORE_OUT_OF_RANGE:
        return T.SCORE_OUT_OF_RANGE.format(text=invalid.text)
    if problem == flow.Problem.BONUS_OUT_OF_RANGE:
        return T.BONUS_OUT_OF_RANGE.format(most=number(invalid.bonus_max), text=invalid.text)
    if problem == flow.Problem.BONUS_NEEDS_REASON:
        return T.BONUS_NEEDS_REASON.format(points=number(invalid.points))
    return T.NOT_A_BONUS


# ---------------------------------------------------------------------------------------------- keyboards


def keyboard(secret: str, user_id: int, question: flow.Question) -> InlineKeyboardMarkup:
    def button(label: str, choice: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=callbacks.sign(secret, user_id, PREFIX, question.pending_id,
                                                                        choice))

    if isinstance(question, flow.ScoreQuestion):
        rows = [[button(T.CHOSEN.format(label=value) if question.score == value else str(value), value)
                 for value in row] for row in SCORE_ROWS]
        rows.append([button(T.BTN_OTHER_SCORE, flow.Choice.TYPE)])
        return InlineKeyboardMarkup(rows)
    no_bonus = question.bonus is not None and question.bonus.points <= 0
    label = T.CHOSEN.format(label=T.BTN_NO_BONUS) if no_bonus else T.BTN_NO_BONUS
    return InlineKeyboardMarkup([[button(label, flow.Choice.NO_BONUS), button(T.BTN_TYPE_BONUS, flow.Choice.TYPE)]])


async def send_screen(chat: Chat, context: CadreContext, user_id: int, screen: flow.Screen) -> None:
    """A question (with its buttons) or the summary, as a new message."""
    if isinstance(screen, flow.Finished):
        await chat.send_message(finished_text(screen))
        return
    sent = await chat.send_message(question_text(screen), reply_markup=keyboard(context.services.secret, user_id, screen))
    if isinstance(screen, flow.BonusQuestion) and screen.typing_id is not None:
        try:  # so that a typed bonus can show itself under its question; without it only the note says so
            await context.services.run_db(flow.attach_message, Actor(user_id, chat.id), screen.typing_id,
                                          sent.message_id)
        except DatabaseUnavailable as exc:
            log.warning("bonus question: message not attached (%s)", exc)


# ---------------------------------------------------------------------------------------------- /evaluation


async def start(update: Update, context: CadreContext, who: Who) -> None:
    """/evaluation of department staff (the dispatcher checked the private chat and the role)."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    if not who.is_department:
        await message.reply_text(T.NOT_DEPARTMENT)
        return
    try:
        intro = await context.services.run_db(flow.start, basis_of(context), _actor(update))
    except DatabaseUnavailable:
        await message.reply_text(E.DB_BUSY)
        return
    if isinstance(intro, flow.Refused):
        await message.reply_text(refusal_text(intro))
        return
    await message.reply_text(intro_text(intro))
    await send_screen(chat, context, user.id, intro.screen)


# ---------------------------------------------------------------------------------------------- buttons


async def on_button(update: Update, context: CadreContext) -> None:
    """A score, 无加分 or ✏️ under a question."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    if in_group(query):
        await private_only(update, context)
        return
    services = context.services
    user_id = query.from_user.id
    parts = callbacks.verify(services.secret, user_id, query.data, PREFIX, 2)
    pending_id = callbacks.as_int(parts[0], 1) if parts else None
    if parts is None or pending_id is None:
        await answer(query, E.BUTTON_INVALID)
        return
    message_id = query.message.message_id if query.message is not None else None
    try:
        result = await services.run_db(flow.press, basis_of(context), _actor(update), pending_id, parts[1], message_id)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    if isinstance(result, flow.Refused):
        await answer(query, refusal_text(result), alert=True)
        if result.reason in DEAD_BUTTONS:
            await edit(query, reply_markup=None)  # a dead keyboard goes away
        return
    markup = keyboard(services.secret, user_id, result.question)
    if isinstance(result, flow.Typing):
        await answer(query, T.TYPE_TOAST)
        await edit(query, typing_text(result.question), reply_markup=markup)
        return
    await answer(query, T.SAVED_TOAST)
    await edit(query, question_text(result.question), reply_markup=markup)
    if result.next is not None:
        await send_screen(chat, context, user_id, result.next)


# ---------------------------------------------------------------------------------------------- typed answers


async def is_waiting(update: Update, context: CadreContext) -> bool:
    """A question waits for this user to type its answer in this chat (one indexed look-up). Only a text can be
    the answer: a photo or a file goes on to whoever takes those."""
    if update.effective_user is None or update.effective_chat is None:
        return False
    if update.effective_message is None or update.effective_message.text is None:
        return False
    return await context.services.run_db(flow.waiting_for_typed, _actor(update))


async def on_typed(update: Update, context: CadreContext) -> None:
    """A typed score or bonus: saved (its question shows it, the next question follows), or refused with why."""
    services = context.services
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    text = message.text or ""
    try:
        result = await services.run_db(flow.typed, basis_of(context), _actor(update), text)
    except DatabaseUnavailable:
        await message.reply_text(E.DB_BUSY_KEEP.format(text=quote(text)))
        return
    if isinstance(result, flow.Invalid):
        await message.reply_text(invalid_text(result))
    elif isinstance(result, flow.Refused):
        await message.reply_text(refusal_text(result))
    elif isinstance(result, flow.NothingWaiting):
        await message.reply_text(T.NOTHING_WAITING)
    else:
        if result.message_id is not None:
            await _show_answer(context, chat.id, result.message_id, user.id, result.question)
        await message.reply_text(saved_text(result.question))
        if result.next is not None:
            await send_screen(chat, context, user.id, result.next)


async def _show_answer(context: CadreContext, chat_id: int, message_id: int, user_id: int,
                       question: flow.Question) -> None:
    try:
        await context.bot.edit_message_text(question_text(question), chat_id=chat_id, message_id=message_id,
                                            reply_markup=keyboard(context.services.secret, user_id, question))
    except BadRequest as exc:  # the question was deleted, or shows this already
        log.debug("question not edited: %s", exc)


async def on_cancel(update: Update, context: CadreContext) -> bool:
    """/cancel: stop waiting for a typed score or bonus in this chat."""
    if update.effective_user is None or update.effective_chat is None:
        return False
    return await context.services.run_db(flow.cancel_typed, _actor(update))


STEP = ActiveStep("evaluation_department", is_waiting=is_waiting, on_text=on_typed, on_cancel=on_cancel,
                  waits_under=frozenset({flow.TYPED}))


__all__ = ["BUTTON_PATTERN", "STEP", "basis_of", "finished_text", "keyboard", "on_button", "question_text",
           "send_screen", "start"]
