"""/start (with deep-link payloads), /help and /register: role-aware help and registration by invite code.

Someone unregistered who opens a survey link is remembered as a resident (storage.residents, a keyed hash only),
so the task check answers them in residents' words."""

from __future__ import annotations

import logging

from telegram import Update

from bot.router import CadreContext
from handlers.common import Who, who_is
from handlers.errors import quote
from handlers.survey import begin_survey
from storage import residents
from storage.errors import DatabaseUnavailable, InviteFailure, InviteRejected
from storage.members import SURVEY_START_PREFIX, get_member, redeem_invite
from storage.models import utcnow
from storage.timeutil import local_date, local_now
from texts import errors as E
from texts import start as S

log = logging.getLogger(__name__)
CODE_QUOTE_MAX = 40


async def start(update: Update, context: CadreContext) -> None:
    """/start: a survey link (s_<village>), an invite code, or the welcome."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(SURVEY_START_PREFIX):
        await _note_resident(update, context)
        await begin_survey(update, context, payload[len(SURVEY_START_PREFIX):])
        return
    if payload:
        await _register(update, context, payload)
        return
    await _help(update, context, welcome=True)


async def _note_resident(update: Update, context: CadreContext) -> None:
    """Remember an unregistered user who came through a survey link as a resident (never a member)."""
    services = context.services
    key = residents.resident_key(services.secret, update.effective_user.id)
    day = local_date(utcnow(), services.settings.timezone)
    try:
        await services.run_db(_mark_if_not_member, update.effective_user.id, key, day)
    except DatabaseUnavailable:
        pass  # the survey says the database is busy; the mark is made on the next visit


def _mark_if_not_member(session, telegram_user_id: int, key: str, day) -> None:
    if get_member(session, telegram_user_id) is None:
        residents.mark_resident(session, key, day=day)


async def help_command(update: Update, context: CadreContext) -> None:
    """/help: what this user can do, by role."""
    await _help(update, context, welcome=False)


async def register(update: Update, context: CadreContext) -> None:
    """/register CODE: bind this Telegram user to the invite's role and place."""
    if not context.args:
        await update.effective_message.reply_text(S.REGISTER_USAGE)
        return
    await _register(update, context, "".join(context.args))


async def _help(update: Update, context: CadreContext, welcome: bool) -> None:
    services = context.services
    try:
        who = await services.run_db(who_is, update.effective_user.id)
    except DatabaseUnavailable:
        who = None  # the guest help is still useful; nothing was sent that could be lost
    await update.effective_message.reply_text(help_text(who, welcome))


def help_text(who: Who | None, welcome: bool = False) -> str:
    """The help a user sees: guests (residents, unregistered), cadres, bureau staff, department staff, admins."""
    if who is None:
        return S.WELCOME_GUEST if welcome else S.HELP_GUEST
    if who.role == "cadre":
        return S.HELP_CADRE.format(village=who.village_name)
    if who.role == "bureau":
        return S.HELP_BUREAU.format(town=who.town_name)
    if who.role == "department":
        return S.HELP_DEPARTMENT.format(town=who.town_name, department=who.department)
    return S.HELP_ADMIN


async def _register(update: Update, context: CadreContext, code: str) -> None:
    services = context.services
    user = update.effective_user
    message = update.effective_message
    try:
        who = await services.run_db(_redeem, code, user.id, user.full_name or "")
    except DatabaseUnavailable:
        await message.reply_text(E.DB_BUSY_KEEP.format(text=quote(message.text or code)))
        return
    if isinstance(who, InviteRejected):
        await message.reply_text(refused_text(who, code, services.settings.timezone))
        return
    services.members.forget(user.id)
    log.info("member %s registered as %s", who.member_id, who.role)
    await message.reply_text(registered_text(who))


def _redeem(session, code: str, telegram_user_id: int, display_name: str) -> Who | InviteRejected:
    try:
        member = redeem_invite(session, code, telegram_user_id=telegram_user_id, display_name=display_name)
    except InviteRejected as rejected:
        return rejected  # returned, not raised: the transaction commits the wrong code for the throttle
    who = Who.of(member)
    assert who is not None
    return who


def refused_text(rejected: InviteRejected, code: str, tz: str) -> str:
    """Why the code was refused; once wrong codes lock the user out, until when (local time)."""
    at = local_now(rejected.retry_at, tz).strftime("%H:%M") if rejected.retry_at is not None else ""
    if rejected.reason == InviteFailure.LOCKED:
        return S.REGISTER_LOCKED.format(at=at)
    text = S.REGISTER_FAILED.format(reason=S.INVITE_REFUSED[rejected.reason.value], code=quote(code, CODE_QUOTE_MAX))
    return f"{text}\n{S.REGISTER_LOCKED.format(at=at)}" if at else text


def registered_text(who: Who) -> str:
    if who.role == "cadre":
        return S.REGISTERED_CADRE.format(village=who.village_name, town=who.town_name)
    if who.role == "bureau":
        return S.REGISTERED_BUREAU.format(town=who.town_name)
    if who.role == "department":
        return S.REGISTERED_DEPARTMENT.format(town=who.town_name, department=who.department)
    return S.REGISTERED_ADMIN


__all__ = ["help_command", "help_text", "register", "registered_text", "start"]
