"""📝 生成回复函 under a check's answer: the letter a cadre forwards, as text and as a Word document.

Button (signed for the user, see bot.callbacks):
    lt:<check>      the letter for the saved check (check_log), shown under restricted, unlisted and
                    refused-certificate answers to cadres (handlers.check.answer_keyboard)

The check is read again from check_log and must be the member's own, from the village the cadre still serves: the
letter carries that committee's name. The kind of letter follows the saved verdict, its item the saved top item;
the department addressed is the one the knowledge base reads in the saved text (a blank line when none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from telegram import Update

from bot import callbacks
from bot.letter_docx import letter_docx
from bot.router import CadreContext
from bot.services import Services
from handlers.common import Who, answer, who_is
from knowledge.letters import (
    ITEM_LIST,
    Letter,
    LetterKind,
    committee_name,
    compose_letter,
    letter_kind_for,
    templates_for,
)
from knowledge.model import Item
from storage import checklog
from storage.errors import DatabaseUnavailable, NotFound, NotPermitted
from texts import errors as E
from texts import letters as L

PREFIX = "lt"
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class SavedCheck:
    """What a letter needs of a check_log row, read inside the session."""

    text: str
    verdict: str
    top_item_id: str | None
    village_id: int | None


async def on_letter(update: Update, context: CadreContext) -> None:
    """生成回复函: send the letter as a message to forward, then as a .docx."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:  # wired after ButtonWithoutChat: a button here always has its chat
        return
    services = context.services
    user_id = query.from_user.id
    parts = callbacks.verify(services.secret, user_id, query.data, PREFIX, 1)
    check_id = callbacks.as_int(parts[0], 1) if parts else None
    if check_id is None:
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        who, saved = await services.run_db(_own_saved_check, user_id, check_id)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    except (NotFound, NotPermitted) as exc:
        await answer(query, E.BUTTON_NOT_YOURS if isinstance(exc, NotPermitted) else E.BUTTON_STALE)
        return
    refusal = _refusal(who, saved)
    if refusal or who is None:
        await answer(query, refusal or L.ONLY_CADRE, alert=True)
        return
    letter = letter_for(services, who, saved)
    if letter is None:  # the lists changed since the check: its item is gone or moved
        await answer(query, E.BUTTON_STALE)
        return
    await answer(query, L.SENT)
    # Sent to the chat, not as a reply: the answer may be too old for Telegram to show it (an inaccessible message).
    await context.bot.send_message(chat.id, letter.as_text())
    await context.bot.send_document(chat.id, document=letter_docx(letter), filename=letter.file_name,
                                    caption=L.DOCX_CAPTION)


def _own_saved_check(session: Session, user_id: int, check_id: int) -> tuple[Who | None, SavedCheck]:
    """The member and their check; NotFound / NotPermitted for a check that is gone or someone else's."""
    who = who_is(session, user_id)
    entry = checklog.get_check(session, check_id)
    if entry is None:
        raise NotFound("check", check_id)
    if entry.member_id is None or who is None or entry.member_id != who.member_id:
        raise NotPermitted("not this member's check")
    return who, SavedCheck(entry.text, entry.verdict, entry.top_item_id, entry.village_id)


def _refusal(who: Who | None, saved: SavedCheck) -> str | None:
    """Why no letter is written for this member and check (a short note), or None."""
    if who is None or not who.is_cadre:
        return L.ONLY_CADRE
    if saved.village_id != who.village_id:
        return L.WRONG_VILLAGE
    if letter_kind_for(saved.verdict) is None:
        return L.NO_LETTER
    return None


def letter_for(services: Services, who: Who, saved: SavedCheck) -> Letter | None:
    """The letter of a cadre's saved check, or None when its item no longer fits its verdict."""
    kind = letter_kind_for(saved.verdict)
    kb = services.kb
    item: Item | None = kb.items.get(saved.top_item_id) if saved.top_item_id else None
    if kind is None or (kind != LetterKind.UNLISTED and (item is None or item.list != ITEM_LIST[kind])):
        return None
    settings = services.settings
    templates = templates_for(settings.knowledge_dir or None)
    return compose_letter(
        kind, item=item, committee_name=committee_name(who.village_name, who.town_name, templates),
        department=kb.check(saved.text).department, today=_today(settings.timezone), task_text=saved.text,
        statutes=kb.raw.statutes, templates=templates)


def _today(timezone: str) -> date:
    """Today where the bot's cadres are (settings.timezone), as the date a letter carries."""
    return datetime.now(ZoneInfo(timezone or DEFAULT_TIMEZONE)).date()


__all__ = ["on_letter", "letter_for"]
