"""Residents' satisfaction survey (居民满意度测评): thin Telegram handlers over bot.survey_rules and storage.surveys.

Entry points:
    /start s_<VILLAGECODE>   handlers/start.py calls `begin_survey(update, context, village_code)`
    /survey [CODE]           with a code: that village's survey; without: resume a survey in progress, else
                             a cadre gets the village's survey link, a bureau member the town's links, and a
                             resident is told how to open the survey
    buttons                  callback data 'sv:<period>:…' (bot.survey_rules.Button)
    free text / other media  a MessageHandler in group -1: handled (and ApplicationHandlerStop raised) only when
                             the user has a survey in progress; otherwise the task check in group 0 runs
    /cancel                  group -1: drops the survey in progress; without one, other /cancel handlers run
    daily job                deletes drafts untouched for storage.surveys.DRAFT_MAX_AGE (abandoned surveys must
                             not keep partial answers and an exact time for ever); also shortly after start-up

Progress lives in the database (survey drafts keyed by HMACs, never by Telegram ID), so a new Application on the
same database resumes where the resident was. Every database step is one transaction in a worker thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import survey_rules as R
from bot.services import Services, get_services
from texts import survey as T
from handlers.common import job_queue_of
from storage import surveys as S
from storage.errors import AlreadyResponded, DatabaseUnavailable, InvalidInput
from storage.members import get_member, survey_link
from storage.models import ROLE_BUREAU, ROLE_CADRE, SurveyDraft, SurveyPeriod, Village
from storage.places import get_village, list_villages, normalize_code

log = logging.getLogger(__name__)

RATE_KIND = "survey"  # services.limiter kind for survey submissions
MAX_LINKS = 40  # links listed for a bureau member before pointing to the CLI
BUTTON_PATTERN = r"^sv(:|$)"
GROUP = -1  # runs before the task check (group 0)
PROMPT_KEY = "survey_comment_prompt"  # chat_data: message id of the comment prompt (no answers kept there)


# ---------------------------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class Place:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class DraftView:
    """A survey in progress, as plain data (nothing lazy-loaded after the transaction)."""

    respondent_key: str
    village: Place
    period_id: int
    period: str
    state: R.SurveyState


@dataclass
class Outcome:
    """What a database step decided; the async side renders it."""

    kind: str
    view: DraftView | None = None
    village: Place | None = None
    period: str = ""
    day: date | None = None
    note: str = ""
    step: int = 0
    score: int | None = None
    replaced: bool = False
    dropped: str = ""  # a dropped draft's village name ('other') or period code ('old')
    dropped_why: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _place(village: Village) -> Place:
    return Place(village.id, village.code, village.name)


def _view(session: Any, draft: Any, aspects: tuple[S.Aspect, ...]) -> DraftView:
    period = session.get(SurveyPeriod, draft.period_id)
    return DraftView(
        respondent_key=draft.respondent_key,
        village=_place(draft.village),
        period_id=draft.period_id,
        period=period.code if period is not None else "",
        state=R.SurveyState.from_draft(draft, aspects),
    )


def _find(session: Any, okey: str, aspects: tuple[S.Aspect, ...]) -> DraftView | None:
    draft = S.load_draft(session, owner_key=okey)
    return None if draft is None else _view(session, draft, aspects)


def _save(session: Any, okey: str, view: DraftView, state: R.SurveyState) -> DraftView:
    S.save_draft(
        session,
        respondent_key=view.respondent_key,
        owner_key=okey,
        village_id=view.village.id,
        period_id=view.period_id,
        **state.draft_fields(),
    )
    return DraftView(view.respondent_key, view.village, view.period_id, view.period, state)


def _new_draft(
    session: Any, settings: Any, user_id: int, okey: str, village: Place, period: SurveyPeriod, *, replacing: bool
) -> DraftView:
    rkey = S.respondent_key(settings.secret, user_id, village.code, period.code)
    view = DraftView(rkey, village, period.id, period.code, R.SurveyState())
    return _save(session, okey, view, R.SurveyState(replace_existing=replacing))


# ---------------------------------------------------------------------------------------------- database steps


def _start(session: Any, settings: Any, user_id: int, code: str, aspects: tuple[S.Aspect, ...]) -> Outcome:
    """Open the survey of village `code`: new, resume, or offer to replace this period's earlier answer."""
    village_row = get_village(session, code)
    if village_row is None:
        return Outcome("unknown_village")
    village = _place(village_row)
    period = S.current_period(session, settings)
    okey = S.owner_key(settings.secret, user_id)
    existing = _find(session, okey, aspects)
    rkey = S.respondent_key(settings.secret, user_id, village.code, period.code)
    response = S.get_response(session, rkey)
    plan = R.plan_start(
        draft=None if existing is None else R.DraftInfo(existing.village.id, existing.period),
        village_id=village.id,
        period=period.code,
        already_responded=response is not None,
    )
    outcome = Outcome(plan.action.value, village=village, period=period.code)
    if plan.drop_draft and existing is not None:
        S.delete_draft(session, owner_key=okey)
        if plan.dropped_old_period:
            outcome.dropped, outcome.dropped_why = existing.period, "old"
        elif plan.dropped_other_village:
            outcome.dropped, outcome.dropped_why = existing.village.name, "other"
    if plan.action is R.StartAction.RESUME:
        outcome.view = existing
    elif plan.action is R.StartAction.NEW:
        outcome.view = _new_draft(session, settings, user_id, okey, village, period, replacing=False)
    else:
        outcome.day = response.day if response is not None else None
    return outcome


def _start_without_code(session: Any, settings: Any, user_id: int, aspects: tuple[S.Aspect, ...]) -> Outcome:
    """/survey alone: resume a survey in progress; else what a cadre, bureau member or resident should get."""
    okey = S.owner_key(settings.secret, user_id)
    existing = _find(session, okey, aspects)
    if existing is not None:
        return _start(session, settings, user_id, existing.village.code, aspects)
    member = get_member(session, user_id)
    if member is not None and member.role == ROLE_CADRE and member.village is not None:
        return Outcome("cadre_link", village=_place(member.village))
    if member is not None and member.role == ROLE_BUREAU and member.town is not None:
        villages = [_place(v) for v in list_villages(session, member.town.code)]
        return Outcome("bureau_links", extra={"town": member.town.name, "villages": villages})
    return Outcome("how_to")


def _press(
    session: Any, settings: Any, user_id: int, button: R.Button, aspects: tuple[S.Aspect, ...]
) -> Outcome:
    """A survey button was pressed: check it against the resident's draft and apply it."""
    period = S.current_period(session, settings)
    okey = S.owner_key(settings.secret, user_id)
    view = _find(session, okey, aspects)
    check = R.check_button(
        button,
        current_period=period.code,
        draft_period=view.period if view else None,
        state=view.state if view else None,
        aspects=aspects,
    )
    if check is not R.ButtonCheck.OK:
        return Outcome("note", note=check.note)
    if button.action in (R.ACT_REPLACE, R.ACT_KEEP):
        return _offer_choice(session, settings, user_id, okey, button, view, period)
    assert view is not None
    state = view.state
    if button.action == R.ACT_QUESTION:
        assert button.step is not None
        new = _save(session, okey, view, R.answer(state, aspects, button.step, button.score))
        return Outcome("answered", view=new, step=button.step, score=button.score)
    if button.action == R.ACT_COMMENT_SKIP:
        return Outcome("comment_skipped", view=_save(session, okey, view, R.skip_comment(state)))
    if button.action == R.ACT_RESTART:
        return Outcome("restarted", view=_save(session, okey, view, R.restart(state)))
    if button.action == R.ACT_CANCEL:
        S.delete_draft(session, owner_key=okey)
        return Outcome("cancelled")
    return _submit(session, settings, view, aspects)


def _submit(session: Any, settings: Any, view: DraftView, aspects: tuple[S.Aspect, ...]) -> Outcome:
    plan = R.plan_submit(view.state)
    if plan is R.SubmitAction.NOTHING:
        return Outcome("note", note=T.NOTHING_TO_SUBMIT, view=view)
    try:
        S.submit_response(
            session,
            respondent_key=view.respondent_key,
            village_id=view.village.id,
            period_id=view.period_id,
            answers=dict(view.state.answers),
            comment=view.state.comment,
            replace=plan is R.SubmitAction.REPLACE,
            aspects=aspects,
            tz=getattr(settings, "timezone", None) or "Asia/Shanghai",
        )
    except AlreadyResponded:  # nothing was written: the transaction goes on
        # Answered meanwhile (another device): keep the draft and ask whether to replace.
        response = S.get_response(session, view.respondent_key)
        return Outcome("offer_replace", village=view.village, period=view.period,
                       day=response.day if response is not None else None)
    return Outcome("submitted", replaced=plan is R.SubmitAction.REPLACE, village=view.village)


def _offer_choice(
    session: Any, settings: Any, user_id: int, okey: str, button: R.Button, view: DraftView | None,
    period: SurveyPeriod,
) -> Outcome:
    """重新填写并替换 / 保留原来的评价."""
    village_row = session.get(Village, button.village_id)
    if village_row is None:
        return Outcome("note", note=T.BUTTON_INVALID)
    village = _place(village_row)
    same = view is not None and view.village.id == village.id and view.period == period.code
    if button.action == R.ACT_KEEP:
        if same:
            S.delete_draft(session, owner_key=okey)
        return Outcome("kept")
    if same:
        assert view is not None
        state = view.state
        if not state.replace_existing:
            state = replace(state, replace_existing=True)
        return Outcome("replace_resume", view=_save(session, okey, view, state))
    return Outcome(
        "replace_new", view=_new_draft(session, settings, user_id, okey, village, period, replacing=True)
    )


def _typed(session: Any, settings: Any, user_id: int, text: str | None, is_text: bool,
           aspects: tuple[S.Aspect, ...]) -> Outcome:
    """A message (not a command) from a user: handled only if they have a survey in progress."""
    okey = S.owner_key(settings.secret, user_id)
    view = _find(session, okey, aspects)
    if view is None:
        return Outcome("not_mine")
    period = S.current_period(session, settings)
    if view.period != period.code:
        S.delete_draft(session, owner_key=okey)  # that period is over; the message is not a survey answer
        return Outcome("not_mine")
    state = view.state
    if state.stage == R.STAGE_ASPECTS:
        typed = R.interpret_typed(text) if is_text else None
        if typed is None:
            return Outcome("use_buttons" if is_text else "not_text", view=view)
        new = _save(session, okey, view, R.answer(state, aspects, state.step, typed.score))
        return Outcome("answered", view=new, step=state.step, score=typed.score)
    if state.stage == R.STAGE_COMMENT:
        if not is_text:
            return Outcome("comment_not_text", view=view)
        new_state, cleaned = R.give_comment(state, text)
        if cleaned.problem is not None:
            return Outcome("comment_problem", view=view, extra={"cleaned": cleaned})
        return Outcome("commented", view=_save(session, okey, view, new_state))
    return Outcome("use_confirm", view=view)


def _cancel(session: Any, settings: Any, user_id: int) -> bool:
    return S.delete_draft(session, owner_key=S.owner_key(settings.secret, user_id))


# ---------------------------------------------------------------------------------------------- rendering


def _question_markup(period: str, step: int) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(T.SCORE_BUTTON[s], callback_data=R.question_button(period, step, s).data())]
        for s in R.SCORES
    ]
    rows.append([InlineKeyboardButton(T.SKIP_BUTTON, callback_data=R.question_button(period, step, None).data())])
    return InlineKeyboardMarkup(rows)


def _comment_markup(period: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(T.SKIP_BUTTON, callback_data=R.comment_skip_button(period).data())]]
    )


def _confirm_markup(period: str, state: R.SurveyState) -> InlineKeyboardMarkup:
    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=R.confirm_button(period, action, state).data())

    return InlineKeyboardMarkup(
        [
            [button(T.SUBMIT_BUTTON, R.ACT_SUBMIT)],
            [button(T.RESTART_BUTTON, R.ACT_RESTART), button(T.CANCEL_BUTTON, R.ACT_CANCEL)],
        ]
    )


def _offer_markup(period: str, village_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(T.REPLACE_BUTTON,
                                  callback_data=R.offer_button(period, R.ACT_REPLACE, village_id).data())],
            [InlineKeyboardButton(T.KEEP_BUTTON, callback_data=R.offer_button(period, R.ACT_KEEP, village_id).data())],
        ]
    )


def _question_text(aspects: tuple[S.Aspect, ...], index: int) -> str:
    return T.QUESTION.format(number=index + 1, count=len(aspects), aspect=R.aspect_name(aspects[index]))


def _summary_text(view: DraftView, aspects: tuple[S.Aspect, ...]) -> str:
    lines = [T.SUMMARY_HEAD.format(village=view.village.name, period=R.period_label(view.period))]
    lines += [T.SUMMARY_LINE.format(number=ln.number, aspect=ln.aspect, answer=ln.answer)
              for ln in R.summary_lines(view.state, aspects)]
    lines.append(T.SUMMARY_COMMENT.format(comment=view.state.comment) if view.state.comment else T.SUMMARY_NO_COMMENT)
    lines.append(T.SUMMARY_FOOT_REPLACE if view.state.replace_existing else T.SUMMARY_FOOT)
    return "\n".join(lines)


def _screen(view: DraftView, aspects: tuple[S.Aspect, ...], prefix: str = "") -> tuple[str, InlineKeyboardMarkup]:
    """The message that shows where the resident is now (question, comment prompt or summary)."""
    screen = R.current_screen(view.state, aspects)
    if screen.kind == "question":
        text, markup = _question_text(aspects, screen.index), _question_markup(view.period, screen.index)
    elif screen.kind == "comment":
        text = T.COMMENT_PROMPT.format(village=view.village.name, limit=R.COMMENT_MAX)
        markup = _comment_markup(view.period)
    else:
        text, markup = _summary_text(view, aspects), _confirm_markup(view.period, view.state)
    return (prefix + "\n\n" + text if prefix else text), markup


async def _send(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str,
                markup: InlineKeyboardMarkup | None = None) -> Any:
    chat = update.effective_chat
    assert chat is not None
    return await context.bot.send_message(chat.id, text, reply_markup=markup)


async def _send_screen(update: Update, context: ContextTypes.DEFAULT_TYPE, view: DraftView,
                       aspects: tuple[S.Aspect, ...], prefix: str = "") -> None:
    text, markup = _screen(view, aspects, prefix)
    sent = await _send(update, context, text, markup)
    if view.state.stage == R.STAGE_COMMENT and sent is not None and context.chat_data is not None:
        # Only so the 跳过 button can be taken off once a comment arrives (cosmetic; lost on restart).
        context.chat_data[PROMPT_KEY] = getattr(sent, "message_id", None)


async def _clear_comment_prompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    message_id = context.chat_data.pop(PROMPT_KEY, None) if context.chat_data is not None else None
    if chat is None or not message_id:
        return
    try:
        await context.bot.edit_message_reply_markup(chat.id, message_id, reply_markup=None)
    except TelegramError as exc:
        log.debug("could not take the keyboard off the comment prompt: %s", exc)


async def _edit_pressed(update: Update, text: str | None = None) -> None:
    """Take the keyboard off the message whose button was pressed (optionally rewriting its text).
    Cosmetic: a failure (message too old, deleted, not modified) is ignored."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        if text is not None:
            await query.edit_message_text(text)
        else:
            await query.edit_message_reply_markup(None)
    except TelegramError as exc:
        log.debug("could not edit the pressed survey message: %s", exc)


async def _answer(update: Update, text: str = "", alert: bool = False) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text or None, show_alert=alert)
    except TelegramError as exc:
        log.debug("could not answer a survey button: %s", exc)


def _offer_text(village: Place, period: str, day: date | None) -> str:
    if day is not None:
        return T.ALREADY_ANSWERED.format(period=R.period_label(period), village=village.name,
                                         day=f"{day.month}月{day.day}日")
    return T.ALREADY_ANSWERED_NO_DAY.format(period=R.period_label(period), village=village.name)


# Owner keys (HMACs of the user ID, never the ID itself) of the surveys in progress, read from the database
# once per process and kept up to date here: a message from anyone else goes straight to the task check,
# without a database round trip. A stale entry costs one look-up and is then dropped.
DRAFT_OWNERS_KEY = "survey_draft_owners"


async def _draft_owners(context: ContextTypes.DEFAULT_TYPE, services: Services) -> set[str]:
    owners = context.bot_data.get(DRAFT_OWNERS_KEY)
    if owners is None:
        keys = await services.run_db(lambda session: set(session.scalars(select(SurveyDraft.owner_key))))
        owners = context.bot_data.get(DRAFT_OWNERS_KEY)  # another update may have loaded it meanwhile
        if owners is None:
            owners = context.bot_data[DRAFT_OWNERS_KEY] = keys
    return owners


async def _note_draft_owner(context: ContextTypes.DEFAULT_TYPE, services: Services, user_id: int) -> None:
    try:
        (await _draft_owners(context, services)).add(S.owner_key(services.settings.secret, user_id))
    except DatabaseUnavailable:
        pass  # the set is loaded, with this owner in it, once the database is back


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _bot_username(context: ContextTypes.DEFAULT_TYPE, services: Services) -> str:
    try:
        name = context.bot.username
    except RuntimeError:  # bot not initialised (getMe not called)
        name = None
    return name or services.settings.bot_username


# ---------------------------------------------------------------------------------------------- handlers


async def begin_survey(update: Update, context: ContextTypes.DEFAULT_TYPE, village_code: str | None) -> None:
    """Start or resume the survey of a village (deep link /start s_<CODE>, or /survey CODE); without a code,
    resume a survey in progress or explain how to open one."""
    user = update.effective_user
    if user is None or update.effective_chat is None:
        return
    if not _is_private(update):
        await _send(update, context, T.PRIVATE_ONLY)
        return
    services = get_services(context)
    aspects = R.aspect_list(services.settings)
    await _note_draft_owner(context, services, user.id)
    try:
        if village_code is None or not village_code.strip():
            outcome = await services.run_db(_start_without_code, services.settings, user.id, aspects)
        else:
            try:
                code = normalize_code(village_code)
            except InvalidInput:
                await _send(update, context, T.BAD_VILLAGE_CODE)
                return
            outcome = await services.run_db(_start, services.settings, user.id, code, aspects)
    except DatabaseUnavailable:
        await _send(update, context, T.DB_UNAVAILABLE)
        return

    if outcome.kind == "unknown_village":
        await _send(update, context, T.UNKNOWN_VILLAGE.format(code=village_code.strip()[:40]))
    elif outcome.kind == "how_to":
        await _send(update, context, T.HOW_TO_START)
    elif outcome.kind == "cadre_link":
        assert outcome.village is not None
        link = survey_link(_bot_username(context, services), outcome.village.code)
        await _send(update, context, T.CADRE_LINK.format(village=outcome.village.name, link=link))
    elif outcome.kind == "bureau_links":
        villages: list[Place] = outcome.extra["villages"]
        if not villages:
            await _send(update, context, T.NO_VILLAGES)
            return
        username = _bot_username(context, services)
        lines = [T.BUREAU_LINKS_HEAD.format(town=outcome.extra["town"])]
        lines += [T.BUREAU_LINK_LINE.format(village=v.name, link=survey_link(username, v.code))
                  for v in villages[:MAX_LINKS]]
        if len(villages) > MAX_LINKS:
            lines.append(T.BUREAU_LINKS_MORE.format(more=len(villages) - MAX_LINKS))
        await _send(update, context, "\n".join(lines))
    else:
        await _render_start(update, context, outcome, aspects)


async def _render_start(update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome,
                        aspects: tuple[S.Aspect, ...]) -> None:
    notes: list[str] = []
    if outcome.dropped_why == "old":
        notes.append(T.OLD_PERIOD_DRAFT_DROPPED.format(period=R.period_label(outcome.dropped)))
    elif outcome.dropped_why == "other":
        notes.append(T.OTHER_DRAFT_DROPPED.format(village=outcome.dropped))
    assert outcome.village is not None
    if outcome.kind == R.StartAction.OFFER_REPLACE.value:
        notes.append(_offer_text(outcome.village, outcome.period, outcome.day))
        await _send(update, context, "\n".join(notes), _offer_markup(outcome.period, outcome.village.id))
        return
    view = outcome.view
    assert view is not None
    period = R.period_label(view.period)
    if outcome.kind == R.StartAction.RESUME.value:
        done, count = R.progress(view.state, aspects)
        notes.append(T.RESUME.format(village=view.village.name, period=period, done=done, count=count))
    else:
        notes.append(T.INTRO.format(village=view.village.name, period=period, count=len(aspects)))
    await _send(update, context, "\n".join(notes))
    await _send_screen(update, context, view, aspects)


async def survey_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/survey [CODE]"""
    args = context.args or []
    await begin_survey(update, context, args[0] if args else None)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every 'sv:…' button: checked against the resident's draft, then applied. Fully handled here, so no
    later group (e.g. a catch-all for unknown buttons) sees it."""
    await _on_button(update, context)
    raise ApplicationHandlerStop


async def _on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    services = get_services(context)
    aspects = R.aspect_list(services.settings)
    await _note_draft_owner(context, services, user.id)
    button = R.parse_button(query.data)
    if button is None or not _is_private(update):
        await _answer(update, T.BUTTON_INVALID)
        return
    if button.action == R.ACT_SUBMIT:
        decision = services.limiter.hit(user.id, RATE_KIND)
        if not decision.allowed:
            await _answer(update, T.RATE_LIMITED.format(seconds=decision.retry_after), alert=True)
            return
    try:
        outcome = await services.run_db(_press, services.settings, user.id, button, aspects)
    except DatabaseUnavailable:
        await _answer(update, T.DB_UNAVAILABLE, alert=True)
        return
    await _render_press(update, context, outcome, aspects)


async def _render_press(update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome,
                        aspects: tuple[S.Aspect, ...]) -> None:
    kind, view = outcome.kind, outcome.view
    if kind == "note":
        await _answer(update, outcome.note, alert=outcome.note == T.NOTHING_TO_SUBMIT)
        return
    await _answer(update)
    if kind == "answered":
        assert view is not None
        await _edit_pressed(update, _answered_text(aspects, outcome.step, outcome.score))
        await _send_screen(update, context, view, aspects)
    elif kind == "comment_skipped":
        assert view is not None
        await _edit_pressed(update, T.COMMENT_SKIPPED)
        await _send_screen(update, context, view, aspects)
    elif kind == "restarted":
        assert view is not None
        await _edit_pressed(update)
        await _send_screen(update, context, view, aspects, prefix=T.RESTARTED)
    elif kind == "cancelled":
        await _edit_pressed(update)
        await _send(update, context, T.CANCELLED)
    elif kind == "submitted":
        await _edit_pressed(update)
        await _send(update, context, T.REPLACED if outcome.replaced else T.SUBMITTED)
    elif kind == "offer_replace":
        assert outcome.village is not None
        await _edit_pressed(update)
        await _send(update, context, _offer_text(outcome.village, outcome.period, outcome.day),
                    _offer_markup(outcome.period, outcome.village.id))
    elif kind == "kept":
        await _edit_pressed(update)
        await _send(update, context, T.KEPT)
    elif kind in ("replace_new", "replace_resume"):
        assert view is not None
        await _edit_pressed(update)
        if kind == "replace_new":
            await _send(update, context, T.INTRO.format(village=view.village.name,
                                                        period=R.period_label(view.period), count=len(aspects)))
        await _send_screen(update, context, view, aspects)


def _answered_text(aspects: tuple[S.Aspect, ...], step: int, score: int | None) -> str:
    return T.ANSWERED.format(number=step + 1, count=len(aspects), aspect=R.aspect_name(aspects[step]),
                             answer=R.answer_label(score))


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group -1: a message from a user with a survey in progress is the survey's (then the check does not run)."""
    message = update.message
    user = update.effective_user
    if message is None or user is None or not _is_private(update):
        return
    services = get_services(context)
    owner = S.owner_key(services.settings.secret, user.id)
    try:
        owners = await _draft_owners(context, services)
        if owner not in owners:
            return
        aspects = R.aspect_list(services.settings)
        outcome = await services.run_db(_typed, services.settings, user.id, message.text, message.text is not None, aspects)
    except DatabaseUnavailable:
        return  # cannot tell whether it is a survey answer: let the check answer it
    if outcome.kind == "not_mine":
        owners.discard(owner)
        return
    view = outcome.view
    assert view is not None
    if outcome.kind == "answered":
        await _send_screen(update, context, view, aspects,
                           prefix=T.BUTTON_NOTED + "：" + _answered_text(aspects, outcome.step, outcome.score))
    elif outcome.kind == "use_buttons":
        await _send_screen(update, context, view, aspects, prefix=T.USE_BUTTONS)
    elif outcome.kind == "not_text":
        await _send_screen(update, context, view, aspects, prefix=T.ANSWER_NOT_TEXT)
    elif outcome.kind == "comment_not_text":
        await _send(update, context, T.COMMENT_NOT_TEXT, _comment_markup(view.period))
    elif outcome.kind == "comment_problem":
        cleaned: R.CleanComment = outcome.extra["cleaned"]
        text = {
            R.CommentProblem.TOO_LONG: T.COMMENT_TOO_LONG.format(length=cleaned.length, limit=R.COMMENT_MAX),
            R.CommentProblem.NO_WORDS: T.COMMENT_NO_WORDS,
            R.CommentProblem.EMPTY: T.COMMENT_EMPTY,
        }[cleaned.problem]  # type: ignore[index]
        await _send(update, context, text, _comment_markup(view.period))
    elif outcome.kind == "commented":
        await _clear_comment_prompt(update, context)
        await _send_screen(update, context, view, aspects, prefix=T.COMMENT_RECEIVED)
    elif outcome.kind == "use_confirm":
        await _send_screen(update, context, view, aspects, prefix=T.USE_CONFIRM_BUTTONS)
    raise ApplicationHandlerStop


async def cancel_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group -1 /cancel: drop the survey in progress; without one, let other /cancel handlers run."""
    user = update.effective_user
    if user is None or update.effective_chat is None:
        return
    services = get_services(context)
    try:
        cancelled = await services.run_db(_cancel, services.settings, user.id)
    except DatabaseUnavailable:
        await _send(update, context, T.DB_UNAVAILABLE)
        raise ApplicationHandlerStop from None
    if cancelled:
        await _send(update, context, T.CANCELLED)
        raise ApplicationHandlerStop
    if not _other_cancel_handlers(context.application):
        await _send(update, context, T.NOTHING_TO_CANCEL)
        raise ApplicationHandlerStop


def _other_cancel_handlers(app: Application) -> bool:
    for group, handlers in app.handlers.items():
        for handler in handlers:
            if (isinstance(handler, CommandHandler) and "cancel" in handler.commands
                    and handler.callback is not cancel_command):
                return True
    return False


# ---------------------------------------------------------------------------------------------- clean-up

PURGE_JOB = "survey-draft-purge"
PURGE_STARTUP_JOB = "survey-draft-purge-startup"
PURGE_AT = time(3, 30)  # local time: nobody is answering surveys
PURGE_STARTUP_DELAY_SECONDS = 120


async def purge_drafts_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue callback: delete abandoned survey drafts (storage.surveys.purge_stale_drafts). With the
    database down it logs and waits for the next run. Purged owners leave the in-process set of survey owners:
    the set is dropped and read from the database again on next use."""
    services = get_services(context)
    try:
        purged = await services.run_db(lambda session: S.purge_stale_drafts(session))
    except DatabaseUnavailable as exc:
        log.warning("survey drafts: database unavailable (%s); the next run purges them", exc)
        return
    if purged:
        context.bot_data.pop(DRAFT_OWNERS_KEY, None)  # reloaded from the database on next use
        log.info("survey drafts: %d abandoned draft(s) deleted", purged)


def schedule_jobs(app: Application) -> None:
    """The daily purge of abandoned drafts, and one run shortly after start-up. No JobQueue (some tests): none."""
    job_queue = job_queue_of(app)
    if job_queue is None:
        return
    tz = get_services(app).settings.timezone or "Asia/Shanghai"
    job_queue.run_daily(purge_drafts_job, time=PURGE_AT.replace(tzinfo=ZoneInfo(tz)), name=PURGE_JOB)
    job_queue.run_once(purge_drafts_job, when=PURGE_STARTUP_DELAY_SECONDS, name=PURGE_STARTUP_JOB)


def add_handlers(app: Application) -> None:
    app.add_handler(CommandHandler("survey", survey_command), group=0)
    app.add_handler(CommandHandler("cancel", cancel_command), group=GROUP)
    app.add_handler(CallbackQueryHandler(on_button, pattern=BUTTON_PATTERN), group=0)
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND, on_message),
        group=GROUP,
    )
    schedule_jobs(app)


__all__ = [
    "add_handlers",
    "begin_survey",
    "cancel_command",
    "on_button",
    "on_message",
    "purge_drafts_job",
    "schedule_jobs",
    "survey_command",
]
