"""What a resident sees for each result of flows/survey.py: texts (texts/survey.py) and inline keyboards.

Pure functions, no I/O: `opened(result, …)`, `pressed(result, …)` and `typed(result, …)` return a `Reply`, which
handlers/survey.py delivers (new messages, an edit of the pressed message, the button's short note).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from flows import survey as F
from flows import survey_rules as R
from storage.members import survey_link
from storage.surveys import Aspect
from texts import survey as T

MAX_LINKS = 40  # links listed for a bureau member before pointing to the CLI


@dataclass(frozen=True)
class Message:
    text: str
    markup: InlineKeyboardMarkup | None = None
    comment_prompt: bool = False  # the prompt for a typed comment (its 跳过 button goes once a comment arrives)


@dataclass(frozen=True)
class Edit:
    """How the pressed message changes: new text (None keeps it) and keyboard (None takes it off)."""

    text: str | None = None
    markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class Reply:
    messages: tuple[Message, ...] = ()
    edit: Edit | None = None  # None: the pressed message stays as it is
    note: str = ""  # the short answer to a button press
    alert: bool = False
    clear_prompt: int | None = None  # the comment prompt (message id) whose 跳过 button goes


# ---------------------------------------------------------------------------------------------- words


def aspect_name(aspect: Aspect) -> str:
    """The Chinese name shown to residents (a custom aspect uses its configured label)."""
    return T.ASPECT_NAMES.get(aspect.code, aspect.label)


def answer_label(score: int | None) -> str:
    """'4 满意' for a score, '跳过' for a skipped aspect."""
    return T.SKIPPED if score is None else T.SCORE_BUTTON[score]


def period_label(code: str) -> str:
    """'2026年11月' for '2026-11', '2026年第4季度' for '2026-Q4'."""
    match = re.fullmatch(r"(\d{4})-(?:(\d{2})|Q([1-4]))", code or "")
    if not match:
        return code
    year, month, quarter = match.groups()
    if month:
        return T.PERIOD_MONTH.format(year=year, month=int(month))
    return T.PERIOD_QUARTER.format(year=year, quarter=quarter)


REFUSAL_NOTES: dict[R.ButtonCheck, str] = {
    R.ButtonCheck.INVALID: T.BUTTON_INVALID,
    R.ButtonCheck.OLD_PERIOD: T.BUTTON_OLD_PERIOD,
    R.ButtonCheck.NO_SURVEY: T.BUTTON_NO_SURVEY,
    R.ButtonCheck.STALE_QUESTION: T.BUTTON_STALE_QUESTION,
    R.ButtonCheck.STALE_SUMMARY: T.BUTTON_STALE_SUMMARY,
    R.ButtonCheck.DUPLICATE: T.BUTTON_NOTED,
}

COMMENT_REFUSALS: dict[R.CommentProblem, str] = {
    R.CommentProblem.TOO_LONG: T.COMMENT_TOO_LONG,
    R.CommentProblem.NO_WORDS: T.COMMENT_NO_WORDS,
    R.CommentProblem.EMPTY: T.COMMENT_EMPTY,
}


# ---------------------------------------------------------------------------------------------- keyboards


def _button(label: str, button: R.Button | R.Pick) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=button.data())


def question_markup(period: str, step: int, key: bytes) -> InlineKeyboardMarkup:
    """The score buttons of question `step`; their data carries answer codes keyed by the draft (`key`)."""
    rows = [[_button(T.SCORE_BUTTON[s], R.question_button(period, step, s, key))] for s in R.SCORES]
    rows.append([_button(T.SKIP_BUTTON, R.question_button(period, step, None, key))])
    return InlineKeyboardMarkup(rows)


def comment_markup(period: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(T.SKIP_BUTTON, R.comment_skip_button(period))]])


def confirm_markup(period: str, state: R.SurveyState) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_button(T.SUBMIT_BUTTON, R.confirm_button(period, R.Action.SUBMIT, state))],
        [_button(T.RESTART_BUTTON, R.confirm_button(period, R.Action.RESTART, state)),
         _button(T.CANCEL_BUTTON, R.confirm_button(period, R.Action.CANCEL, state))],
    ])


def offer_markup(period: str, village_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_button(T.REPLACE_BUTTON, R.offer_button(period, R.Action.REPLACE, village_id))],
        [_button(T.KEEP_BUTTON, R.offer_button(period, R.Action.KEEP, village_id))],
    ])


def _paging_row(page: R.Page[F.Place], to_page: Callable[[int], R.Pick]) -> list[InlineKeyboardButton]:
    row: list[InlineKeyboardButton] = []
    if page.previous is not None:
        row.append(_button(T.PREVIOUS_PAGE_BUTTON, to_page(page.previous)))
    if page.next is not None:
        row.append(_button(T.NEXT_PAGE_BUTTON, to_page(page.next)))
    return row


def _page_suffix(page: R.Page[F.Place]) -> str:
    return "\n" + T.PICK_PAGE.format(number=page.number + 1, count=page.count) if page.count > 1 else ""


def town_picker(result: F.ChooseTown) -> Message:
    page = result.towns
    rows = [[_button(town.name, R.villages_page(town.id, 0))] for town in page.items]
    paging = _paging_row(page, R.towns_page)
    if paging:
        rows.append(paging)
    return Message(T.PICK_TOWN + _page_suffix(page), InlineKeyboardMarkup(rows))


def village_picker(result: F.ChooseVillage) -> Message:
    page, town = result.villages, result.town
    rows = [[_button(village.name, R.village_pick(village.id))] for village in page.items]
    paging = _paging_row(page, lambda number: R.villages_page(town.id, number))
    if paging:
        rows.append(paging)
    if not result.only_town:
        rows.append([_button(T.BACK_TO_TOWNS_BUTTON, R.towns_page(0))])
    return Message(T.PICK_VILLAGE.format(town=town.name) + _page_suffix(page), InlineKeyboardMarkup(rows))


# ---------------------------------------------------------------------------------------------- screens


def answered_text(aspects: Sequence[Aspect], step: int, score: int | None) -> str:
    return T.ANSWERED.format(number=step + 1, count=len(aspects), aspect=aspect_name(aspects[step]),
                             answer=answer_label(score))


def summary_text(survey: F.Survey, aspects: Sequence[Aspect]) -> str:
    state = survey.state
    lines = [T.SUMMARY_HEAD.format(village=survey.village.name, period=period_label(survey.period))]
    lines += [T.SUMMARY_LINE.format(number=i + 1, aspect=aspect_name(a), answer=answer_label(state.answers.get(a.code)))
              for i, a in enumerate(aspects)]
    lines.append(T.SUMMARY_COMMENT.format(comment=state.comment) if state.comment else T.SUMMARY_NO_COMMENT)
    lines.append(T.SUMMARY_FOOT_REPLACE if state.replace_existing else T.SUMMARY_FOOT)
    return "\n".join(lines)


def screen(survey: F.Survey, aspects: Sequence[Aspect], prefix: str = "") -> Message:
    """The message that shows where the resident is now: the question, the comment prompt or the summary."""
    shown = R.current_screen(survey.state, aspects)
    if shown.stage == R.Stage.ASPECTS:
        text = T.QUESTION.format(number=shown.index + 1, count=len(aspects), aspect=aspect_name(aspects[shown.index]))
        message = Message(text, question_markup(survey.period, shown.index, survey.choices))
    elif shown.stage == R.Stage.COMMENT:
        text = T.COMMENT_PROMPT.format(village=survey.village.name, limit=R.COMMENT_MAX)
        message = Message(text, comment_markup(survey.period), comment_prompt=True)
    else:
        message = Message(summary_text(survey, aspects), confirm_markup(survey.period, survey.state))
    return replace(message, text=prefix + "\n\n" + message.text) if prefix else message


def offer_text(village: F.Place, period: str, day: date | None) -> str:
    if day is not None:
        return T.ALREADY_ANSWERED.format(period=period_label(period), village=village.name,
                                         day=f"{day.month}月{day.day}日")
    return T.ALREADY_ANSWERED_NO_DAY.format(period=period_label(period), village=village.name)


def _dropped_note(dropped: F.Dropped | None) -> list[str]:
    if dropped is None:
        return []
    if dropped.reason is R.DropReason.OLD_PERIOD:
        return [T.OLD_PERIOD_DRAFT_DROPPED.format(period=period_label(dropped.period))]
    return [T.OTHER_DRAFT_DROPPED.format(village=dropped.village)]


def _offer(result: F.AlreadyAnswered) -> Message:
    text = "\n".join([*_dropped_note(result.dropped), offer_text(result.village, result.period, result.day)])
    return Message(text, offer_markup(result.period, result.village.id))


def _start_messages(result: F.Started | F.Resumed | F.AlreadyAnswered, aspects: Sequence[Aspect]) -> tuple[Message, ...]:
    if isinstance(result, F.AlreadyAnswered):
        return (_offer(result),)
    survey = result.survey
    period = period_label(survey.period)
    if isinstance(result, F.Resumed):
        done, count = R.progress(survey.state, aspects)
        notes = [T.RESUME.format(village=survey.village.name, period=period, done=done, count=count)]
    else:
        notes = [*_dropped_note(result.dropped),
                 T.INTRO.format(village=survey.village.name, period=period, count=len(aspects))]
    return Message("\n".join(notes)), screen(survey, aspects)


# ---------------------------------------------------------------------------------------------- replies


def opened(result: F.BareResult, aspects: Sequence[Aspect], bot_username: str) -> Reply:
    """/survey [CODE] or the deep link /start s_<CODE>."""
    match result:
        case F.BadCode():
            return Reply((Message(T.BAD_VILLAGE_CODE),))
        case F.UnknownVillage(code=code):
            return Reply((Message(T.UNKNOWN_VILLAGE.format(code=code[:40])),))
        case F.Started() | F.Resumed() | F.AlreadyAnswered():
            return Reply(_start_messages(result, aspects))
        case F.CadreLink(village=village):
            link = survey_link(bot_username, village.code)
            return Reply((Message(T.CADRE_LINK.format(village=village.name, link=link)),))
        case F.BureauLinks(town=town, villages=villages):
            lines = [T.BUREAU_LINKS_HEAD.format(town=town)]
            lines += [T.BUREAU_LINK_LINE.format(village=v.name, link=survey_link(bot_username, v.code))
                      for v in villages[:MAX_LINKS]]
            if len(villages) > MAX_LINKS:
                lines.append(T.BUREAU_LINKS_MORE.format(more=len(villages) - MAX_LINKS))
            return Reply((Message("\n".join(lines)),))
        case F.NoVillages():
            return Reply((Message(T.NO_VILLAGES),))
        case F.ChooseTown():
            return Reply((town_picker(result),))
        case F.ChooseVillage():
            return Reply((village_picker(result),))
    raise TypeError(f"not a survey opening: {result!r}")


def pressed(result: F.PressResult, aspects: Sequence[Aspect]) -> Reply:
    """A survey or picker button."""
    off = Edit()  # the pressed message loses its keyboard
    match result:
        case F.Refused(check=check):
            return Reply(note=REFUSAL_NOTES[check])
        case F.NothingToSubmit():
            return Reply(note=T.NOTHING_TO_SUBMIT, alert=True)
        case F.ChooseTown():
            picker = town_picker(result)
            return Reply(edit=Edit(picker.text, picker.markup))
        case F.ChooseVillage():
            picker = village_picker(result)
            return Reply(edit=Edit(picker.text, picker.markup))
        case F.NoVillages():
            return Reply(edit=Edit(T.NO_VILLAGES))
        case F.Picked(town=town, village=village, opened=opened):
            return Reply(_start_messages(opened, aspects), edit=Edit(T.PICKED.format(town=town, village=village.name)))
        case F.AlreadyAnswered():  # submitted meanwhile from another device
            return Reply((_offer(result),), edit=off)
        case F.Answered(survey=survey, step=step, score=score):
            return Reply((screen(survey, aspects),), edit=Edit(answered_text(aspects, step, score)))
        case F.CommentSkipped(survey=survey):
            return Reply((screen(survey, aspects),), edit=Edit(T.COMMENT_SKIPPED))
        case F.Restarted(survey=survey):
            return Reply((screen(survey, aspects, prefix=T.RESTARTED),), edit=off)
        case F.Cancelled():
            return Reply((Message(T.CANCELLED),), edit=off)
        case F.Submitted(replaced=replaced):
            return Reply((Message(T.REPLACED if replaced else T.SUBMITTED),), edit=off)
        case F.Kept():
            return Reply((Message(T.KEPT),), edit=off)
        case F.Replacing(survey=survey, fresh=fresh):
            intro = T.INTRO.format(village=survey.village.name, period=period_label(survey.period), count=len(aspects))
            return Reply(((Message(intro),) if fresh else ()) + (screen(survey, aspects),), edit=off)
    raise TypeError(f"not a survey button result: {result!r}")


def typed(result: F.TypedResult, aspects: Sequence[Aspect]) -> Reply:
    """A message while a survey is in progress."""
    match result:
        case F.Answered(survey=survey, step=step, score=score):
            prefix = T.BUTTON_NOTED + "：" + answered_text(aspects, step, score)
            return Reply((screen(survey, aspects, prefix=prefix),))
        case F.UseButtons(survey=survey):
            return Reply((screen(survey, aspects, prefix=T.USE_BUTTONS),))
        case F.NotText(survey=survey):
            return Reply((screen(survey, aspects, prefix=T.ANSWER_NOT_TEXT),))
        case F.CommentNotText(survey=survey):
            return Reply((Message(T.COMMENT_NOT_TEXT, comment_markup(survey.period)),))
        case F.CommentRefused(survey=survey, problem=problem, length=length):
            text = COMMENT_REFUSALS[problem].format(length=length, limit=R.COMMENT_MAX)
            return Reply((Message(text, comment_markup(survey.period)),))
        case F.Commented(survey=survey, prompt_id=prompt_id):
            return Reply((screen(survey, aspects, prefix=T.COMMENT_RECEIVED),), clear_prompt=prompt_id)
        case F.PromptAgain(survey=survey):
            return Reply((screen(survey, aspects, prefix=T.COMMENT_PROMPT_AGAIN),))
        case F.UseConfirm(survey=survey):
            return Reply((screen(survey, aspects, prefix=T.USE_CONFIRM_BUTTONS),))
        case F.NotWaiting():
            return Reply((Message(T.SURVEY_GONE),))
    raise TypeError(f"not a survey message result: {result!r}")


__all__ = ["Edit", "Message", "Reply", "answer_label", "aspect_name", "opened", "period_label", "pressed", "typed"]
