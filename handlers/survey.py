"""Residents' satisfaction survey (居民满意度测评): Telegram in and out, over flows/survey.py.

Entry points (registered in bot/wiring.py):
    /start s_<VILLAGECODE>   handlers/start.py calls `begin_survey(update, context, village_code)`
    /survey [CODE]           with a code: that village's survey; without: resume a survey in progress, else a
                             cadre gets the village's survey link, a bureau member the town's links, and a
                             resident picks their town and village from buttons
    buttons                  callback data 'sv:…' (flows.survey_rules.Button / Pick)
    SURVEY_STEP              the router's ActiveStep: while a resident has a survey in progress, their messages
                             (a comment, a typed score, anything else) are the survey's; /cancel drops it

Every database step is one transaction (`services.run_db`) in flows/survey.py; handlers/survey_view.py words the
result. The survey in progress lives in the database, keyed by slow keyed hashes, and nothing about it is kept in
this process (not who has a survey open, not the comment prompt): another worker process, or a new Application,
takes the resident's next message where they are. A survey whose next question could not be sent is never stuck:
the resident's next message (any text) or /survey shows the current question again.
"""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from bot.router import ActiveStep, CadreContext
from flows import survey as F
from flows import survey_rules as R
from handlers import survey_view as V
from handlers.common import who_is
from storage.errors import DatabaseUnavailable
from storage.surveys import DRAFT_KIND, erase_closed_keys
from texts import survey as T

log = logging.getLogger(__name__)

RATE_KIND = "survey"  # services.limiter kind for survey submissions
BUTTON_PATTERN = r"^sv(:|$)"
ERASE_JOB = "survey-key-erasure"  # daily: closed periods' respondent keys erased (storage.surveys.erase_closed_keys)


class _Runtime:
    """Per Application: the flow for its settings (configuration only: no state of any resident's survey)."""

    def __init__(self, context: CadreContext) -> None:
        self.secret = context.services.secret
        self.flow = F.SurveyFlow(F.SurveyConfig.from_settings(context.services.settings))

    def resident(self, update: Update) -> F.Resident:
        assert update.effective_user is not None
        return F.Resident.of(self.secret, update.effective_user.id)


_runtimes: WeakKeyDictionary[Application, _Runtime] = WeakKeyDictionary()  # dropped with their Application


def _runtime(context: CadreContext) -> _Runtime:
    runtime = _runtimes.get(context.application)
    if runtime is None:
        runtime = _runtimes[context.application] = _Runtime(context)
    return runtime


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _bot_username(context: CadreContext) -> str:
    try:
        name = context.bot.username
    except RuntimeError:  # bot not initialised (getMe not called)
        name = None
    return name or context.services.settings.bot_username


# ---------------------------------------------------------------------------------------------- delivery


async def _deliver(update: Update, context: CadreContext, reply: V.Reply, resident: F.Resident | None = None) -> None:
    """Answer the button (if any), edit the pressed message, clear an old comment prompt, send the messages."""
    query, chat = update.callback_query, update.effective_chat
    assert chat is not None
    if query is not None:
        try:
            await query.answer(reply.note or None, show_alert=reply.alert)
        except TelegramError as exc:
            log.debug("could not answer a survey button: %s", exc)
        if reply.edit is not None and query.message is not None:
            try:  # cosmetic: a message too old, deleted or unchanged stays as it is
                if reply.edit.text is not None:
                    await query.edit_message_text(reply.edit.text, reply_markup=reply.edit.markup)
                else:
                    await query.edit_message_reply_markup(reply.edit.markup)
            except TelegramError as exc:
                log.debug("could not edit the pressed survey message: %s", exc)
    if reply.clear_prompt is not None:
        try:
            await context.bot.edit_message_reply_markup(chat.id, reply.clear_prompt, reply_markup=None)
        except TelegramError as exc:
            log.debug("could not take the keyboard off the comment prompt: %s", exc)
    for message in reply.messages:
        sent = await context.bot.send_message(chat.id, message.text, reply_markup=message.markup)
        if message.comment_prompt and resident is not None:  # kept in the draft: any process may get the comment
            try:
                await context.services.run_db(_runtime(context).flow.note_prompt, resident, sent.message_id)
            except DatabaseUnavailable as exc:  # cosmetic: the prompt keeps its 跳过 button, which then says so
                log.debug("could not note the comment prompt: %s", exc)


async def _send(update: Update, context: CadreContext, text: str) -> None:
    await _deliver(update, context, V.Reply((V.Message(text),)))


# ---------------------------------------------------------------------------------------------- commands and buttons


async def begin_survey(update: Update, context: CadreContext, village_code: str | None) -> None:
    """Start or resume the survey of a village (deep link /start s_<CODE>, or /survey CODE); without a code,
    resume a survey in progress, give staff their links, or show a resident the village picker."""
    if update.effective_user is None or update.effective_chat is None:
        return
    if not _is_private(update):
        await _send(update, context, T.PRIVATE_ONLY)
        return
    runtime = _runtime(context)
    resident = runtime.resident(update)
    user_id = update.effective_user.id
    try:
        if village_code is None or not village_code.strip():
            result = await context.services.run_db(
                lambda session: runtime.flow.open_bare(session, resident, _staff(session, user_id)))
        else:
            result = await context.services.run_db(runtime.flow.open, resident, village_code)
    except DatabaseUnavailable:
        await _send(update, context, T.DB_UNAVAILABLE)
        return
    await _deliver(update, context, V.opened(result, runtime.flow.aspects, _bot_username(context)), resident)


def _staff(session, user_id: int) -> F.Staff | None:
    who = who_is(session, user_id)
    return None if who is None else F.Staff(who.role, who.village_id, who.town_id)


async def survey_command(update: Update, context: CadreContext) -> None:
    """/survey [CODE]"""
    args = context.args or []
    await begin_survey(update, context, args[0] if args else None)


async def on_button(update: Update, context: CadreContext) -> None:
    """Every 'sv:…' button: checked against the resident's survey, then applied. Fully handled here, so no
    later group (e.g. a catch-all for unknown buttons) sees it."""
    query = update.callback_query
    if query is not None and update.effective_user is not None:
        await _on_button(update, context, R.parse_button(query.data))
    raise ApplicationHandlerStop


async def _on_button(update: Update, context: CadreContext, button: R.Button | R.Pick | None) -> None:
    runtime = _runtime(context)
    user = update.effective_user
    assert user is not None  # on_button checked it
    if button is None or not _is_private(update):
        await _deliver(update, context, V.Reply(note=T.BUTTON_INVALID))
        return
    if isinstance(button, R.Button) and button.action is R.Action.SUBMIT:
        decision = context.services.limiter.hit(user.id, RATE_KIND)
        if not decision.allowed:
            await _deliver(update, context, V.Reply(note=T.RATE_LIMITED.format(seconds=decision.retry_after),
                                                    alert=True))
            return
    resident = runtime.resident(update)
    try:
        result = await context.services.run_db(runtime.flow.press, resident, button)
    except DatabaseUnavailable:
        await _deliver(update, context, V.Reply(note=T.DB_UNAVAILABLE, alert=True))
        return
    await _deliver(update, context, V.pressed(result, runtime.flow.aspects), resident)


# ---------------------------------------------------------------------------------------------- the router's step


async def is_waiting(update: Update, context: CadreContext) -> bool:
    """A resident with a survey of this period in progress, in the private chat: their message is the survey's.
    Asked of the database every time (no process keeps who is answering). DatabaseUnavailable when it cannot
    tell (the router then lets the task check answer)."""
    if update.effective_user is None or not _is_private(update):
        return False
    runtime = _runtime(context)
    return bool(await context.services.run_db(runtime.flow.is_waiting, runtime.resident(update)))


async def on_text(update: Update, context: CadreContext) -> None:
    """The message of a resident with a survey in progress: a comment, a typed score, or a nudge to the buttons."""
    message = update.effective_message
    if message is None:
        return
    runtime = _runtime(context)
    resident = runtime.resident(update)
    try:
        result = await context.services.run_db(runtime.flow.typed, resident, F.Typed(message.text))
    except DatabaseUnavailable:
        await _send(update, context, T.DB_UNAVAILABLE)
        return
    await _deliver(update, context, V.typed(result, runtime.flow.aspects), resident)


async def on_cancel(update: Update, context: CadreContext) -> bool:
    """/cancel: drop the resident's survey in progress; True if there was one (the router says so)."""
    if update.effective_user is None:
        return False
    runtime = _runtime(context)
    return bool(await context.services.run_db(runtime.flow.cancel, runtime.resident(update)))


# ---------------------------------------------------------------------------------------------- the daily job


async def erase_keys_job(context: CadreContext) -> None:
    """Daily: the respondent keys of closed periods are erased (their answers no longer link to anyone)."""
    services = context.services
    tz = services.settings.timezone
    try:
        erased = await services.run_db(lambda session: erase_closed_keys(session, tz=tz))
    except DatabaseUnavailable as exc:
        log.warning("survey key erasure: database unavailable (%s); tomorrow's run catches up", exc)
        return
    log.info("survey key erasure: %d keys erased, %d old drafts dropped", erased.keys, erased.drafts)


SURVEY_STEP = ActiveStep("survey", is_waiting=is_waiting, on_text=on_text, on_cancel=on_cancel,
                         waits_under=frozenset({DRAFT_KIND}))


__all__ = ["BUTTON_PATTERN", "ERASE_JOB", "SURVEY_STEP", "begin_survey", "erase_keys_job", "on_button",
           "survey_command"]
