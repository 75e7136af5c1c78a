"""Who gets a user's next message: the multi-step flows waiting for free text, else the task check.

    step = ActiveStep("redcard", is_waiting=..., on_text=..., on_cancel=...)   # one per flow (bot/wiring.py)
    router = Router(steps=(survey_step, redcard_step), on_task=check.on_text, on_other=check.on_non_text)

ONE MessageHandler (`router.on_message`) and ONE /cancel CommandHandler (`router.on_cancel`) ask every
registered step in order: the first that waits for free text from this user gets the message; if none, a text
goes to the task check (`on_task`) and anything else (a photo, a voice message, …) to `on_other`. /cancel cancels
whatever is pending for the user in all flows and says so once.

`CadreContext` is the typed PTB context of the whole bot (`ContextTypes(context=CadreContext, bot_data=BotData)`,
as in PTB's contexttypesbot.py example): `context.services` is the bot's `Services`, no string keys.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, ContextTypes, ExtBot

from bot.intake import open_kinds_at_claim
from storage.errors import DatabaseUnavailable
from storage.pending import open_kinds
from texts import errors as E

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class BotData(dict):
    """`application.bot_data`: the bot's own state as typed attributes (the services, whether to set the command
    menu). It is still a dict so that test harnesses can park their own objects (e.g. the offline transport)
    next to it; the bot itself reads and writes no string keys."""

    def __init__(self) -> None:
        super().__init__()
        self.services: Services | None = None
        self.set_commands: bool = True


class CadreContext(CallbackContext[ExtBot, dict, dict, BotData]):
    """The context every handler and job of the bot receives."""

    @property
    def services(self) -> Services:
        """The running bot's settings, knowledge base, database, limiter and retry queue."""
        services = self.bot_data.services
        if services is None:  # only an Application not built by bot.app.build_application
            raise RuntimeError("the application has no services (build it with bot.app.build_application)")
        return services


CONTEXT_TYPES = ContextTypes(context=CadreContext, bot_data=BotData)

StepCallback = Callable[[Update, CadreContext], Awaitable[Any]]


@dataclass(frozen=True)
class ActiveStep:
    """A multi-step flow that may own a user's next free-text message or /cancel in a private chat."""

    name: str
    is_waiting: Callable[[Update, CadreContext], Awaitable[bool]]  # does this flow wait for free text from this user here?
    on_text: Callable[[Update, CadreContext], Awaitable[None]]  # handle that text (the router calls it only if is_waiting)
    on_cancel: Callable[[Update, CadreContext], Awaitable[bool]]  # cancel this user's pending step; True if there was one
    # The storage.pending kinds under which this step can be waiting (in this chat, or for an anonymous owner):
    # when none of them is open the step is not asked. None: always ask (a step that keeps no pending row).
    waits_under: frozenset[str] | None = None


@dataclass(frozen=True)
class Router:
    """The steps in the order they are asked, and where a message goes when no step waits for it."""

    steps: Sequence[ActiveStep] = ()
    on_task: StepCallback | None = None  # a text nobody waits for (the task check)
    on_other: StepCallback | None = None  # a photo, voice message, … nobody waits for

    @property
    def pending_kinds(self) -> frozenset[str]:
        """Every storage.pending kind some step can be waiting under."""
        return frozenset(kind for step in self.steps for kind in (step.waits_under or ()))

    async def waiting_step(self, update: Update, context: CadreContext) -> ActiveStep | None:
        """The first step that waits for this user's message.

        One query first says which steps can be waiting at all (their pending kinds open in this chat), so that a
        message nobody waits for costs one look-up, not one per flow. A step that cannot tell (its database is
        down) counts as not waiting, and the message is checked as a task (an answer now, the log saved later),
        unless that look-up said it has a step open here: then the text is most likely that step's (a typed
        department, a score), and a task check would lose it (a score of 85 would get "只收到数字"). That raises
        DatabaseUnavailable instead: the intake tries the update again once the database is back."""
        open_kinds = await self._open_kinds(update, context)
        for step in self.steps:
            if step.waits_under is not None and open_kinds is not None and not step.waits_under & open_kinds:
                continue
            try:
                if await step.is_waiting(update, context):
                    return step
            except DatabaseUnavailable as exc:
                if step.waits_under is not None and open_kinds is not None:
                    raise
                log.warning("step %s: cannot tell whether it is waiting (%s)", step.name, exc)
        return None

    async def _open_kinds(self, update: Update, context: CadreContext) -> set[str] | None:
        """The steps' pending kinds open for this chat; None when unknown (each step is then asked itself)."""
        kinds = self.pending_kinds
        if not kinds:
            return None
        chat = update.effective_chat
        if chat is None:
            return None
        known = open_kinds_at_claim(chat.id)
        if known is not None:
            return set(known)
        try:
            return await context.services.run_db(open_kinds, kinds, chat_id=chat.id)
        except DatabaseUnavailable as exc:
            log.warning("cannot tell which steps are waiting (%s)", exc)
            return None

    async def on_message(self, update: Update, context: CadreContext) -> None:
        """Every private message that is not a command."""
        message = update.effective_message
        if message is None:
            return
        if update.message is not None:
            step = await self.waiting_step(update, context)
            if step is not None:
                await step.on_text(update, context)
                raise ApplicationHandlerStop
        if message.text is not None:
            if self.on_task is not None:
                await self.on_task(update, context)
        elif update.message is not None and self.on_other is not None:
            await self.on_other(update, context)

    async def on_cancel(self, update: Update, context: CadreContext) -> None:
        """/cancel: cancel what every flow has pending for this user; one reply either way."""
        message = update.effective_message
        cancelled: list[str] = []
        busy = False
        for step in self.steps:
            try:
                if await step.on_cancel(update, context):
                    cancelled.append(step.name)
            except DatabaseUnavailable as exc:
                log.warning("step %s: /cancel failed (%s)", step.name, exc)
                busy = True
        if message is not None:
            if busy:
                await message.reply_text(E.DB_BUSY)
            else:
                await message.reply_text(E.CANCELLED if cancelled else E.NOTHING_TO_CANCEL)
        raise ApplicationHandlerStop


def services_of(app: Application) -> Services:
    """The Services of an Application built by bot.app.build_application."""
    services = app.bot_data.services
    if services is None:
        raise RuntimeError("the application has no services (build it with bot.app.build_application)")
    return services


__all__ = ["CONTEXT_TYPES", "ActiveStep", "BotData", "CadreContext", "Router", "services_of"]
