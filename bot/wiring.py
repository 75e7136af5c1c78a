"""Every handler, group, multi-step flow and job of the bot, in one visible table, in the order PTB tries them.

PTB runs, per group (lowest first), the first handler whose filters match. Handler modules only define
callbacks; they never register themselves. A new flow is one module plus one line in STEPS (its free text and
/cancel then come through the router, bot/router.py); a new command is one line in HANDLERS.

`wire(app, features)` registers the rows of the given features (handler module names: bot.app's
HANDLER_MODULES by default; tests pick a subset). The router, the error handler and the bot's own jobs
(outbox flush, pending-step purge) are always wired.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import app as core
from bot.digest.weeks import parse_time
from bot.outbox import OUTBOX_FLUSH_SECONDS
from bot.router import ActiveStep, CadreContext, Router, services_of
from bot.settings import Settings
from handlers import (
    check,
    digest,
    errors,
    evaluation,
    evaluation_bureau,
    evaluation_committee,
    evaluation_department,
    letters,
    redcard,
    redcards,
    start,
    survey,
)
from handlers.common import job_queue_of, on_button_without_chat, on_edited, private_only

CORE = "bot"  # rows that are always wired
START, SURVEY, DIGEST, REDCARD, REDCARDS, CHECK = (m.__name__ for m in (start, survey, digest, redcard, redcards, check))
EVALUATION = evaluation.__name__

PRIVATE = filters.ChatType.PRIVATE
# What the router sees: every new message in a private chat that is not a command (text or not). Edits never get
# there: EDITED (first in the table) takes every edited message, command or not, so nothing is checked twice.
ROUTED = PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL & filters.UpdateType.MESSAGE
EDITED = filters.UpdateType.EDITED


class ButtonWithoutChat(CallbackQueryHandler):
    """Any button press that comes without a chat (an inline message's button): the bot sends no inline messages."""

    def check_update(self, update: object) -> bool:
        return isinstance(update, Update) and update.callback_query is not None and update.effective_chat is None


class RouterSlot(Enum):
    """Where in the table the router's two handlers sit."""

    MESSAGES = "messages"
    CANCEL = "cancel"


@dataclass(frozen=True)
class On:
    """One handler of a feature, in its group."""

    feature: str
    handler: BaseHandler | RouterSlot
    group: int = 0


@dataclass(frozen=True)
class Step:
    """A multi-step flow of a feature that may own a user's next message (asked in this order)."""

    feature: str
    step: ActiveStep


# ---------------------------------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class Every:
    interval: timedelta
    first: timedelta


@dataclass(frozen=True)
class DailyAt:
    """Local time of settings.timezone; days as Python counts them (0 = Monday), all by default."""

    at: time
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Once:
    after: timedelta


@dataclass(frozen=True)
class Job:
    feature: str
    name: str
    callback: Callable[[CadreContext], Awaitable[None]]
    when: Callable[[Settings], Every | DailyAt | Once]


# ---------------------------------------------------------------------------------------------- the table

STEPS: tuple[Step, ...] = (
    Step(SURVEY, survey.SURVEY_STEP),  # a resident with a survey in progress: comments, typed scores
    Step(REDCARD, redcard.STEP),  # a red card waiting for its typed department
    Step(evaluation_department.__name__, evaluation_department.STEP),  # a department's typed score or bonus
    # a bureau member's or admin's filled scoring form (.xlsx): imported; anyone else's file goes on to the
    # non-text reply (a step of the router, because PTB runs one handler per group: no handler can fall through)
    Step(EVALUATION, evaluation_bureau.FORM_STEP),
)

HANDLERS: tuple[On, ...] = (
    # group 0 (the only group): edits first (CommandHandler would otherwise re-run an edited command), then
    # commands and buttons
    On(CORE, MessageHandler(EDITED, on_edited)),
    On(CORE, ButtonWithoutChat(on_button_without_chat)),
    # role, village and invite codes are for the member alone: a group (residents read along) gets a pointer
    On(START, CommandHandler(["start", "help", "register"], private_only, filters=~PRIVATE)),
    On(START, CommandHandler("start", start.start, filters=PRIVATE)),
    On(START, CommandHandler("help", start.help_command, filters=PRIVATE)),
    On(START, CommandHandler("register", start.register, filters=PRIVATE)),
    On(SURVEY, CommandHandler("survey", survey.survey_command)),
    On(SURVEY, CallbackQueryHandler(survey.on_button, pattern=survey.BUTTON_PATTERN)),
    # a digest is never posted into a group residents can read
    On(DIGEST, CommandHandler(["subscribe", "unsubscribe", "digest"], private_only, filters=~PRIVATE)),
    On(DIGEST, CommandHandler("subscribe", digest.subscribe_command, filters=PRIVATE)),
    On(DIGEST, CommandHandler("unsubscribe", digest.unsubscribe_command, filters=PRIVATE)),
    On(DIGEST, CommandHandler("digest", digest.digest_command, filters=PRIVATE)),
    # red cards are listed only in the private chat; a group gets a pointer to it
    On(REDCARDS, CommandHandler("redcards", redcards.red_cards, filters=PRIVATE)),
    On(REDCARDS, CommandHandler("redcards", private_only, filters=~PRIVATE)),
    On(REDCARDS, CallbackQueryHandler(redcards.on_page, pattern=r"^rp:")),
    On(REDCARDS, CallbackQueryHandler(redcards.on_decide, pattern=r"^rk:")),
    On(REDCARDS, CallbackQueryHandler(redcards.on_undo, pattern=r"^ru:")),
    On(CHECK, CallbackQueryHandler(check.on_feedback, pattern=r"^fb:")),
    On(CHECK, CallbackQueryHandler(check.on_candidate, pattern=r"^cc:")),
    On(CHECK, CallbackQueryHandler(letters.on_letter, pattern=r"^lt:")),  # 📝 生成回复函 under an answer
    On(REDCARD, CallbackQueryHandler(redcard.on_red_card, pattern=r"^rc:")),
    On(REDCARD, CallbackQueryHandler(redcard.on_department, pattern=r"^rd:")),
    # /evaluation, dispatched by role (cadre, department, bureau/admin); only in the private chat
    On(EVALUATION, CommandHandler("evaluation", evaluation.evaluation_command, filters=PRIVATE)),
    On(EVALUATION, CommandHandler("evaluation", private_only, filters=~PRIVATE)),
    On(EVALUATION, CallbackQueryHandler(evaluation_bureau.on_button, pattern=evaluation_bureau.BUTTON_PATTERN)),
    # the committee's evaluation of the departments: its answer buttons (/evaluation is handlers.evaluation's)
    On(evaluation_committee.__name__, CallbackQueryHandler(evaluation_committee.on_button, pattern=r"^ec:")),
    # the departments' scores of the villages: their answer buttons (/evaluation is handlers.evaluation's)
    On(evaluation_department.__name__,
       CallbackQueryHandler(evaluation_department.on_button, pattern=evaluation_department.BUTTON_PATTERN)),
    # free text and /cancel: the waiting step, else the task check
    On(CORE, CommandHandler("cancel", private_only, filters=~PRIVATE)),  # never a private draft from a group
    On(CORE, RouterSlot.CANCEL),
    On(CORE, RouterSlot.MESSAGES),
    # fallbacks, last in group 0: only what nobody else took
    On(CHECK, MessageHandler(PRIVATE & filters.COMMAND & filters.UpdateType.MESSAGE, check.on_unknown_command)),
    On(CHECK, CallbackQueryHandler(check.on_stray_button)),
)

# Where the router sends a message that no step waits for.
TASK_CHECK = (CHECK, check.on_text, check.on_non_text)

JOBS: tuple[Job, ...] = (
    Job(CORE, core.OUTBOX_FLUSH_JOB, core.flush_outbox,
        lambda s: Every(timedelta(seconds=OUTBOX_FLUSH_SECONDS), first=timedelta(seconds=1))),
    Job(CORE, core.PURGE_JOB, core.purge_expired_pending, lambda s: Every(core.PURGE_INTERVAL, first=core.PURGE_FIRST)),
    Job(DIGEST, digest.WEEKLY_JOB, digest.weekly_job,
        lambda s: DailyAt(parse_time(s.digest_time), days=(s.digest_weekday % 7,))),
    Job(SURVEY, survey.ERASE_JOB, survey.erase_keys_job, lambda s: DailyAt(time(0, 5))),  # periods turn at midnight
    Job(DIGEST, digest.CATCH_UP_JOB, digest.weekly_job, lambda s: Once(timedelta(seconds=digest.CATCH_UP_DELAY_SECONDS))),
    Job(EVALUATION, evaluation_bureau.REMINDER_JOB, evaluation_bureau.reminder_job,
        lambda s: Every(timedelta(seconds=evaluation_bureau.REMINDER_POLL_SECONDS),
                        first=timedelta(seconds=evaluation_bureau.REMINDER_POLL_SECONDS))),
    Job(DIGEST, digest.RETRY_JOB, digest.retry_job,
        lambda s: Every(timedelta(seconds=digest.RETRY_POLL_SECONDS), first=timedelta(seconds=digest.RETRY_POLL_SECONDS))),
)


# ---------------------------------------------------------------------------------------------- wiring


def known_features() -> set[str]:
    return {row.feature for row in (*HANDLERS, *STEPS, *JOBS)} - {CORE}


def _check_features(features: Iterable[str]) -> set[str]:
    """The features asked for; a module that does not exist raises ModuleNotFoundError (never a feature silently
    left out), one that exists but has no rows here raises ValueError."""
    chosen = set(features)
    for name in chosen - known_features():
        importlib.import_module(name)
        raise ValueError(f"{name} has no rows in bot/wiring.py")
    return chosen | {CORE}


def router_for(features: set[str]) -> Router:
    feature, on_task, on_other = TASK_CHECK
    steps = tuple(row.step for row in STEPS if row.feature in features)
    if feature in features:
        return Router(steps=steps, on_task=on_task, on_other=on_other)
    return Router(steps=steps)


def wire(app: Application, features: Iterable[str]) -> Router:
    """Register the error handler, the handlers of `features` (in table order) and their jobs; the router."""
    chosen = _check_features(features)
    router = router_for(chosen)
    router_handlers = {
        RouterSlot.CANCEL: CommandHandler("cancel", router.on_cancel, filters=PRIVATE),
        RouterSlot.MESSAGES: MessageHandler(ROUTED, router.on_message),
    }
    app.add_error_handler(errors.on_error)
    for row in HANDLERS:
        if row.feature in chosen:
            handler = router_handlers[row.handler] if isinstance(row.handler, RouterSlot) else row.handler
            app.add_handler(handler, group=row.group)
    schedule_jobs(app, chosen)
    return router


def schedule_jobs(app: Application, features: Iterable[str]) -> None:
    """Put the jobs of `features` (and the bot's own) on the JobQueue; none without a JobQueue (some tests)."""
    job_queue = job_queue_of(app)
    if job_queue is None:
        return
    chosen = set(features) | {CORE}
    settings = services_of(app).settings
    tz = ZoneInfo(settings.timezone or "Asia/Shanghai")
    for job in JOBS:
        if job.feature not in chosen:
            continue
        when = job.when(settings)
        if isinstance(when, Every):
            job_queue.run_repeating(job.callback, interval=when.interval, first=when.first, name=job.name)
        elif isinstance(when, DailyAt):
            ptb_days = tuple((day + 1) % 7 for day in when.days)  # python-telegram-bot counts from Sunday = 0
            job_queue.run_daily(job.callback, time=when.at.replace(tzinfo=tz), days=ptb_days, name=job.name)
        else:
            job_queue.run_once(job.callback, when=when.after, name=job.name)


__all__ = ["HANDLERS", "JOBS", "STEPS", "DailyAt", "Every", "Job", "On", "Once", "RouterSlot", "Step",
           "known_features", "router_for", "schedule_jobs", "wire"]
