"""Small helpers shared by the handler modules: who is talking, and short replies that never raise."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, JobQueue
from telegram.warnings import PTBUserWarning

from bot.router import CadreContext
from flows.evaluation.basis import EvaluationBasis
from storage.members import get_member
from storage.models import ROLE_CADRE, ROLE_DEPARTMENT, Member
from texts import errors as E

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Who:
    """A detached snapshot of a member (safe to use after the session closed)."""

    member_id: int
    role: str
    village_id: int | None
    village_name: str
    town_id: int | None
    town_name: str
    department: str = ""  # department staff: their department's canonical name

    @property
    def is_cadre(self) -> bool:
        return self.role == ROLE_CADRE and self.village_id is not None

    @property
    def is_department(self) -> bool:
        return self.role == ROLE_DEPARTMENT and self.town_id is not None and bool(self.department)

    @classmethod
    def of(cls, member: Member | None) -> Who | None:
        if member is None:
            return None
        village = member.village
        town = member.town or (village.town if village is not None else None)
        return cls(
            member_id=member.id,
            role=member.role,
            village_id=member.village_id,
            village_name=village.name if village is not None else "",
            town_id=member.effective_town_id,
            town_name=town.name if town is not None else "",
            department=member.department or "",
        )


def who_is(session: Session, telegram_user_id: int) -> Who | None:
    """The member behind a Telegram user, or None for an unregistered user (resident or not yet registered)."""
    return Who.of(get_member(session, telegram_user_id))


async def answer(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press (a short toast, or an alert); never raises."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:  # already answered, or too old
        log.debug("answerCallbackQuery failed: %s", exc)


async def edit(query: CallbackQuery, text: str | None = None, reply_markup=None) -> bool:
    """Edit the pressed message's text (or only its keyboard); False if Telegram refused (gone, unchanged)."""
    try:
        if text is None:
            await query.edit_message_reply_markup(reply_markup=reply_markup)
        else:
            await query.edit_message_text(text, reply_markup=reply_markup)
        return True
    except BadRequest as exc:
        log.debug("edit refused: %s", exc)
        return False


def in_group(query: CallbackQuery) -> bool:
    """A button pressed under a message in a group or channel (not the user's private chat with the bot)."""
    return query.message is not None and query.message.chat.type != ChatType.PRIVATE


async def private_only(update: Update, context: CadreContext) -> None:
    """A command (or button) whose answer is for the member alone, used in a group: point to the private chat."""
    if update.callback_query is not None:
        await answer(update.callback_query, E.PRIVATE_ONLY, alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(E.PRIVATE_ONLY)


async def on_button_without_chat(update: Update, context: CadreContext) -> None:
    """A button Telegram sends without the message it sat under (an inline message): the bot never sends those,
    so it is someone else's or forged; every button handler needs the chat, so none of them sees it."""
    if update.callback_query is not None:
        await answer(update.callback_query, E.BUTTON_INVALID)


async def on_edited(update: Update, context: CadreContext) -> None:
    """Any edited message or post. It was answered (and logged) when first sent; checking or routing it again would
    count it twice and could change a survey behind the resident's back. In the private chat say so once, briefly;
    in a group or channel stay silent (residents read along, and nobody there asked the bot)."""
    message = update.effective_message
    if message is not None and message.chat.type == ChatType.PRIVATE:
        await message.reply_text(E.EDIT_NOT_RECHECKED)


_BASES: dict[tuple[int, str, str], tuple[object, EvaluationBasis]] = {}


def evaluation_basis(services: Any) -> EvaluationBasis:
    """The two-way evaluation's basis (agreement terms, grading scheme …) from the bot's knowledge base, built once
    per knowledge base and settings rather than on every button press."""
    raw, settings = services.kb.raw, services.settings
    key = (id(raw), settings.timezone, settings.survey_aspects)
    cached = _BASES.get(key)
    if cached is None or cached[0] is not raw:  # an id reused by a newer knowledge base
        cached = (raw, EvaluationBasis.from_raw(raw, settings))
        _BASES[key] = cached
    return cached[1]


__all__ = ["Who", "answer", "evaluation_basis", "edit", "in_group", "on_button_without_chat", "on_edited", "private_only", "who_is"]


def job_queue_of(app: Application) -> JobQueue | None:
    """The application's JobQueue, or None when it was built without one (some tests), without PTB's warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)
        return app.job_queue
