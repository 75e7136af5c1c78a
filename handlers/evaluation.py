"""/evaluation (双向评估): one command, dispatched by role.

    cadre       -> handlers.evaluation_committee.start   (the committee evaluates the departments)
    department  -> handlers.evaluation_department.start  (the department scores the villages)
    bureau/admin-> handlers.evaluation_bureau.command    (open, follow, remind, pay, close; the dossier)
    anyone else -> a short refusal that says nothing about any round

Private chats only: in a group bot/wiring.py answers with handlers.common.private_only.
"""

from __future__ import annotations

from telegram import Update

from bot.router import CadreContext
from handlers import evaluation_bureau as bureau
from handlers import evaluation_committee, evaluation_department
from handlers.common import who_is
from storage.errors import DatabaseUnavailable
from storage.models import ROLE_ADMIN, ROLE_BUREAU
from texts import errors as E
from texts import evaluation_bureau as T


async def evaluation_command(update: Update, context: CadreContext) -> None:
    """/evaluation: each role's side of the round."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    try:
        who = await context.services.run_db(who_is, update.effective_user.id)
    except DatabaseUnavailable:
        await message.reply_text(E.DB_BUSY)
        return
    if who is None:
        await message.reply_text(T.REFUSED)
    elif who.is_cadre:
        await evaluation_committee.start(update, context, who)
    elif who.is_department:
        await evaluation_department.start(update, context, who)
    elif who.role in (ROLE_BUREAU, ROLE_ADMIN):
        await bureau.command(update, context, who)
    else:
        await message.reply_text(T.REFUSED)


__all__ = ["evaluation_command"]
