"""The committee evaluates the departments, in Telegram: thin handlers over flows/evaluation_committee.py.

`start` is called by the /evaluation dispatcher (handlers/evaluation.py) for a cadre. Buttons (signed for the user,
see bot.callbacks):
    ec:<pending>:r|d        亮红牌 / 不亮牌 of a card question
    ec:<pending>:g<i>       the i-th grade of a rating question
    ec:<pending>:e          改: the answered question again, with its buttons
"""

from __future__ import annotations

from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.router import CadreContext
from flows import Actor
from flows import evaluation_committee as flow
from flows.evaluation.basis import EvaluationBasis
from handlers.common import Who, answer, edit, evaluation_basis
from handlers.errors import quote
from storage.errors import DatabaseUnavailable
from storage.models import NO_ITEM
from texts import errors as E
from texts import evaluation_committee as T

PREFIX = "ec"
BUTTON_PATTERN = rf"^{PREFIX}:"
CHANGE = "e"
TEXT_LIMIT = 4096  # Telegram's, in UTF-16 code units
EVIDENCE_QUOTE = 500  # one task quoted at most this long

REFUSALS: dict[flow.Refusal, str] = {
    flow.Refusal.NOT_COMMITTEE: T.NOT_COMMITTEE,
    flow.Refusal.NO_ROUND: T.NO_ROUND,
    flow.Refusal.NO_AGREEMENT: T.NO_AGREEMENT,
    flow.Refusal.STALE: T.STALE,
    flow.Refusal.NOT_YOURS: E.BUTTON_NOT_YOURS,
    flow.Refusal.WRONG_VILLAGE: T.WRONG_VILLAGE,
    flow.Refusal.BAD_CHOICE: T.BAD_CHOICE,
}


def basis_of(context: CadreContext) -> EvaluationBasis:
    return evaluation_basis(context.services)


# ---------------------------------------------------------------------------------------------- texts


def _units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def item_label(basis: EvaluationBasis, item_id: str) -> str:
    title = basis.item_titles.get(item_id) if item_id != NO_ITEM else None
    return f"{item_id} {title}" if title else T.CARD_ITEM_UNLISTED


def evidence_block(evidence: tuple[str, ...], budget: int) -> str:
    """The tasks as the cadre sent them, quoted, as many as fit in `budget` (with a note of the rest)."""
    if not evidence:
        return T.EVIDENCE_NONE
    lines: list[str] = []
    for shown, text in enumerate(evidence):
        line = T.EVIDENCE_LINE.format(text=quote(text, EVIDENCE_QUOTE))
        more = T.EVIDENCE_MORE.format(count=len(evidence) - shown)
        if _units("\n".join([*lines, line, more])) > budget:
            return "\n".join([*lines, more])
        lines.append(line)
    return "\n".join(lines)


def card_text(basis: EvaluationBasis, screen: flow.CardScreen) -> str:
    fields = dict(round=screen.round_label, number=screen.number, total=screen.total, department=screen.department,
                  item=item_label(basis, screen.item_id), count=screen.reports, first=screen.first_day.isoformat(),
                  last=screen.last_day.isoformat())
    current = T.CURRENT_ANSWER.format(choice=T.CHOICE_LABEL[screen.decision]) if screen.decision else ""
    budget = TEXT_LIMIT - _units(T.CARD_QUESTION.format(evidence="", **fields) + current)
    return T.CARD_QUESTION.format(evidence=evidence_block(screen.evidence, budget), **fields) + current


def rating_text(screen: flow.RatingScreen) -> str:
    text = T.RATING_QUESTION.format(round=screen.round_label, number=screen.number, total=screen.total,
                                    department=screen.department, aspect=screen.aspect)
    if screen.offer_all:
        text += T.ALL_HINT
    return text + (T.CURRENT_ANSWER.format(choice=screen.grade) if screen.grade else "")


def answered_text(basis: EvaluationBasis, screen: flow.Question) -> str:
    if isinstance(screen, flow.CardScreen):
        choice = T.CHOICE_LABEL[screen.decision] if screen.decision else ""
        return T.CARD_ANSWERED.format(number=screen.number, total=screen.total, department=screen.department,
                                      item=item_label(basis, screen.item_id), choice=choice)
    return T.RATING_ANSWERED.format(number=screen.number, total=screen.total, department=screen.department,
                                    aspect=screen.aspect, grade=screen.grade or "")


def finished_text(done: flow.Finished) -> str:
    return T.FINISHED.format(round=done.round_label, raised=done.raised, dropped=done.dropped,
                             departments=done.departments)


def refusal_text(refused: flow.Refused | flow.RoundClosed) -> str:
    if isinstance(refused, flow.RoundClosed):
        return T.ROUND_CLOSED.format(label=refused.label)
    return REFUSALS[refused.reason]


# ---------------------------------------------------------------------------------------------- keyboards


def _button(secret: str, user_id: int, label: str, pending_id: int, choice: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=callbacks.sign(secret, user_id, PREFIX, pending_id, choice))


def question_keyboard(secret: str, user_id: int, screen: flow.Question) -> InlineKeyboardMarkup:
    if isinstance(screen, flow.CardScreen):
        row = [_button(secret, user_id, T.BTN_RAISE, screen.pending_id, flow.Choice.RAISE),
               _button(secret, user_id, T.BTN_DROP, screen.pending_id, flow.Choice.DROP)]
        return InlineKeyboardMarkup([row])
    grades = [_button(secret, user_id, label, screen.pending_id, f"{flow.GRADE_PREFIX}{i}")
              for i, label in enumerate(screen.grades)]
    rows = [grades]
    if screen.offer_all:
        rows.append([_button(secret, user_id, T.BTN_ALL.format(grade=label), screen.pending_id, f"{flow.ALL_PREFIX}{i}")
                     for i, label in enumerate(screen.grades)])
    return InlineKeyboardMarkup(rows)


def change_keyboard(secret: str, user_id: int, screen: flow.Question) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(secret, user_id, T.BTN_CHANGE, screen.pending_id, CHANGE)]])


def question_text(basis: EvaluationBasis, screen: flow.Question) -> str:
    return card_text(basis, screen) if isinstance(screen, flow.CardScreen) else rating_text(screen)


async def send_screen(chat: Chat, context: CadreContext, basis: EvaluationBasis, user_id: int,
                      screen: flow.Screen) -> None:
    """One question (with its buttons) or the summary, as a new message in `chat`."""
    if isinstance(screen, flow.Finished):
        await chat.send_message(finished_text(screen))
        return
    keyboard = question_keyboard(context.services.secret, user_id, screen)
    await chat.send_message(question_text(basis, screen), reply_markup=keyboard)


# ---------------------------------------------------------------------------------------------- entry points


async def start(update: Update, context: CadreContext, who: Who) -> None:
    """/evaluation for a cadre: the next unanswered question of the open round, or the summary."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    if not who.is_cadre:
        await message.reply_text(T.NOT_COMMITTEE)
        return
    basis = basis_of(context)
    try:
        screen = await context.services.run_db(flow.resume, basis, Actor(user.id, chat.id))
    except DatabaseUnavailable:
        await message.reply_text(E.DB_BUSY)
        return
    if isinstance(screen, flow.Refused):
        await message.reply_text(refusal_text(screen))
        return
    await send_screen(chat, context, basis, user.id, screen)


async def on_button(update: Update, context: CadreContext) -> None:
    """An answer (亮红牌 / 不亮牌 / a grade) or 改 under a question."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    services = context.services
    user_id = query.from_user.id
    parts = callbacks.verify(services.secret, user_id, query.data, PREFIX, 2)
    pending_id = callbacks.as_int(parts[0], 1) if parts else None
    if parts is None or pending_id is None:
        await answer(query, E.BUTTON_INVALID)
        return
    choice = parts[1]
    basis = basis_of(context)
    actor = Actor(user_id, chat.id)
    try:
        if choice == CHANGE:
            await _reopen(query, services.secret, basis,
                          await services.run_db(flow.reopen, basis, actor, pending_id))
            return
        result = await services.run_db(flow.answer, basis, actor, pending_id, choice)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    if isinstance(result, flow.Refused | flow.RoundClosed):
        await _refuse(query, result)
        return
    await answer(query, T.SAVED_TOAST if result.first_time else T.CHANGED_TOAST)
    await edit(query, answered_text(basis, result.question),
               reply_markup=change_keyboard(services.secret, user_id, result.question))
    if result.next is not None:
        await send_screen(chat, context, basis, user_id, result.next)


async def _refuse(query: CallbackQuery, refused: flow.Refused | flow.RoundClosed) -> None:
    await answer(query, refusal_text(refused), alert=True)
    if isinstance(refused, flow.RoundClosed) or refused.reason == flow.Refusal.STALE:
        await edit(query, reply_markup=None)  # a dead keyboard goes away


async def _reopen(query: CallbackQuery, secret: str, basis: EvaluationBasis,
                  result: flow.Question | flow.RoundClosed | flow.Refused) -> None:
    """改: the pressed message becomes its question again, answerable."""
    if isinstance(result, flow.Refused | flow.RoundClosed):
        await _refuse(query, result)
        return
    await answer(query)
    await edit(query, question_text(basis, result), reply_markup=question_keyboard(secret, query.from_user.id, result))


__all__ = ["BUTTON_PATTERN", "PREFIX", "answered_text", "card_text", "evidence_block", "finished_text", "on_button",
           "question_keyboard", "rating_text", "refusal_text", "send_screen", "start"]
