"""The residents' satisfaction survey as plain Python: no Telegram, no database.

handlers/survey.py keeps the state in the database (storage.surveys drafts) and asks this module what to do:

    aspects = aspect_list(settings)                     # the configured aspects, in order
    state = SurveyState.from_draft(draft, aspects)      # or SurveyState() for a new survey
    screen = current_screen(state, aspects)             # what to show: a question, the comment prompt, the summary
    button = parse_button(query.data)                   # None: forged or malformed
    check = check_button(button, current_period=..., draft_period=..., state=state, aspects=aspects)
    state = answer(state, aspects, button.step, button.score)     # score None = skipped
    state, problem = give_comment(state, text)                    # problem: CommentProblem or None
    plan_start(...), plan_submit(...)                            # new / resume / offer to replace; submit / replace

The survey: one question per aspect (score 5..1 or skipped), then an optional comment, then a summary to
confirm. Callback data is short and carries IDs only: `sv:<period>:<action>[:<arg>...]`, at most 64 bytes.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from texts import survey as texts
from storage.surveys import Aspect, configured_aspects

STAGE_ASPECTS = "aspects"
STAGE_COMMENT = "comment"
STAGE_CONFIRM = "confirm"
STAGES = (STAGE_ASPECTS, STAGE_COMMENT, STAGE_CONFIRM)

SCORES: tuple[int, ...] = (5, 4, 3, 2, 1)  # button order: best first
COMMENT_MAX = 500  # characters; storage keeps up to 1000, residents are told 500
CALLBACK_PREFIX = "sv"
CALLBACK_MAX_BYTES = 64
TOKEN_LEN = 8

# ---------------------------------------------------------------------------------------------- aspects


def aspect_list(settings: Any = None) -> tuple[Aspect, ...]:
    """The configured aspects: `settings.survey_aspects` if set (same syntax as CADREBOT_SURVEY_ASPECTS:
    'service,overall' or 'code:标签'), else the environment variable, else the eight founding aspects."""
    spec = getattr(settings, "survey_aspects", None)
    return configured_aspects(spec if spec else None)


def aspect_name(aspect: Aspect) -> str:
    """The Chinese name shown to residents (texts/survey.py; a custom aspect uses its configured label)."""
    return texts.ASPECT_NAMES.get(aspect.code, aspect.label)


def answer_label(score: int | None) -> str:
    """'4 满意' for a score, '跳过' for a skipped aspect."""
    return texts.SKIPPED if score is None else texts.SCORE_BUTTON[score]


def period_label(code: str) -> str:
    """'2026年11月' for '2026-11', '2026年第4季度' for '2026-Q4'."""
    match = re.fullmatch(r"(\d{4})-(?:(\d{2})|Q([1-4]))", code or "")
    if not match:
        return code
    year, month, quarter = match.groups()
    if month:
        return texts.PERIOD_MONTH.format(year=year, month=int(month))
    return texts.PERIOD_QUARTER.format(year=year, quarter=quarter)


# ---------------------------------------------------------------------------------------------- state


@dataclass(frozen=True)
class SurveyState:
    """Where a resident is: stage, current question index, answers so far (code -> 1..5 or None = skipped)."""

    stage: str = STAGE_ASPECTS
    step: int = 0
    answers: Mapping[str, int | None] = field(default_factory=dict)
    comment: str | None = None
    replace_existing: bool = False

    @classmethod
    def from_draft(cls, draft: Any, aspects: Sequence[Aspect]) -> SurveyState:
        """The state kept in a storage.models.SurveyDraft, made consistent with the current aspect set."""
        return normalize(
            cls(
                stage=getattr(draft, "stage", STAGE_ASPECTS),
                step=getattr(draft, "step", 0),
                answers=dict(getattr(draft, "answers", None) or {}),
                comment=getattr(draft, "comment", None),
                replace_existing=bool(getattr(draft, "replace_existing", False)),
            ),
            aspects,
        )

    def draft_fields(self) -> dict[str, Any]:
        """Keyword arguments for storage.surveys.save_draft."""
        return {
            "stage": self.stage,
            "step": self.step,
            "answers": dict(self.answers),
            "comment": self.comment,
            "replace_existing": self.replace_existing,
        }


def normalize(state: SurveyState, aspects: Sequence[Aspect]) -> SurveyState:
    """Drop answers to aspects no longer configured and bad scores; keep the step within the aspect list.

    A draft saved before the aspect set changed (or a damaged row) still resumes somewhere sensible.
    """
    codes = [a.code for a in aspects]
    answers = {
        code: score
        for code, score in dict(state.answers or {}).items()
        if code in codes and (score is None or (type(score) is int and score in SCORES))
    }
    stage = state.stage if state.stage in STAGES else STAGE_ASPECTS
    try:
        step = int(state.step)
    except (TypeError, ValueError):
        step = 0
    step = max(0, step)
    if stage == STAGE_ASPECTS and step >= len(codes):
        stage, step = STAGE_COMMENT, len(codes)
    if stage != STAGE_ASPECTS:
        step = len(codes)
    comment = state.comment if isinstance(state.comment, str) and state.comment.strip() else None
    return SurveyState(stage, step, answers, comment, bool(state.replace_existing))


def answer(state: SurveyState, aspects: Sequence[Aspect], step: int, score: int | None) -> SurveyState:
    """Record the answer to question `step` (None = skipped) and move on; after the last one, to the comment."""
    if state.stage != STAGE_ASPECTS or step != state.step or not 0 <= step < len(aspects):
        raise ValueError(f"not the current question: {step} (state {state.stage}/{state.step})")
    if score is not None and score not in SCORES:
        raise ValueError(f"score must be 1-5, not {score!r}")
    answers = dict(state.answers)
    answers[aspects[step].code] = score
    if step + 1 < len(aspects):
        return replace(state, step=step + 1, answers=answers)
    return replace(state, stage=STAGE_COMMENT, step=len(aspects), answers=answers)


class CommentProblem(enum.Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"  # only emoji, symbols or punctuation


@dataclass(frozen=True)
class CleanComment:
    text: str | None  # the sanitised comment, None when refused
    problem: CommentProblem | None = None
    length: int = 0  # characters after sanitising (to tell the resident how long it was)


_KEEP_FORMAT = {"\u200d"}  # zero-width joiner (inside emoji sequences); other format chars are dropped


def clean_comment(raw: str | None, limit: int = COMMENT_MAX) -> CleanComment:
    """Sanitise a free-text comment: NFC, control and invisible format characters removed (newlines kept,
    at most two in a row), trimmed. Refused when empty, longer than `limit` characters, or without a single
    letter or digit (emoji or punctuation only)."""
    text = unicodedata.normalize("NFC", raw or "").replace("\r\n", "\n").replace("\r", "\n")
    kept: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch == "\n":
            kept.append(ch)
        elif ch == "\t":
            kept.append(" ")
        elif category in ("Cc", "Cs", "Co", "Cn") or (category == "Cf" and ch not in _KEEP_FORMAT):
            continue
        elif category in ("Zl", "Zp"):
            kept.append("\n")
        else:
            kept.append(ch)
    text = "".join(kept)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r"[ \u3000]{2,}", " ", text).strip()
    if not text:
        return CleanComment(None, CommentProblem.EMPTY, 0)
    if len(text) > limit:
        return CleanComment(None, CommentProblem.TOO_LONG, len(text))
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        return CleanComment(None, CommentProblem.NO_WORDS, len(text))
    return CleanComment(text, None, len(text))


def give_comment(state: SurveyState, raw: str | None) -> tuple[SurveyState, CleanComment]:
    """The resident typed a comment: on success go to the summary; on a problem the state is unchanged."""
    if state.stage != STAGE_COMMENT:
        raise ValueError("not waiting for a comment")
    cleaned = clean_comment(raw)
    if cleaned.problem is not None:
        return state, cleaned
    return replace(state, stage=STAGE_CONFIRM, comment=cleaned.text), cleaned


def skip_comment(state: SurveyState) -> SurveyState:
    if state.stage != STAGE_COMMENT:
        raise ValueError("not waiting for a comment")
    return replace(state, stage=STAGE_CONFIRM, comment=None)


def restart(state: SurveyState) -> SurveyState:
    """重新填写: back to question 1 with nothing answered (still replacing, if the resident chose that)."""
    return SurveyState(replace_existing=state.replace_existing)


def submittable(state: SurveyState) -> bool:
    """At least one score or a comment: an all-skipped survey with no comment has nothing to submit."""
    return any(score is not None for score in state.answers.values()) or bool(state.comment)


def progress(state: SurveyState, aspects: Sequence[Aspect]) -> tuple[int, int]:
    """(questions answered or skipped, number of questions)."""
    codes = {a.code for a in aspects}
    return sum(1 for code in state.answers if code in codes), len(aspects)


def summary_token(state: SurveyState) -> str:
    """A short fingerprint of what a summary shows: its buttons only work while the draft still says that."""
    canonical = json.dumps(
        [sorted((k, v) for k, v in state.answers.items()), state.comment or "", state.replace_existing],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:TOKEN_LEN]


@dataclass(frozen=True)
class SummaryLine:
    number: int
    aspect: str
    answer: str


def summary_lines(state: SurveyState, aspects: Sequence[Aspect]) -> list[SummaryLine]:
    return [
        SummaryLine(i + 1, aspect_name(a), answer_label(state.answers.get(a.code))) for i, a in enumerate(aspects)
    ]


# ---------------------------------------------------------------------------------------------- screens


@dataclass(frozen=True)
class Screen:
    """What the resident should see now: 'question' (with `index`), 'comment' or 'confirm'."""

    kind: str
    index: int = 0


def current_screen(state: SurveyState, aspects: Sequence[Aspect]) -> Screen:
    """What a resume shows: the current question, the comment prompt or the summary."""
    state = normalize(state, aspects)
    if state.stage == STAGE_ASPECTS:
        return Screen("question", state.step)
    return Screen(state.stage)


# ---------------------------------------------------------------------------------------------- typed input


@dataclass(frozen=True)
class TypedAnswer:
    score: int | None  # None: skip


def interpret_typed(text: str | None) -> TypedAnswer | None:
    """A resident may type '4', '满意' or '跳过' instead of pressing the button; None if it is not that."""
    word = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).strip("。.!！")
    if word in texts.SKIP_WORDS:
        return TypedAnswer(None)
    if word in texts.SCORE_WORDS:
        return TypedAnswer(texts.SCORE_WORDS[word])
    for score, label in texts.SCORE_BUTTON.items():  # the button label typed out, e.g. '4满意'
        if word == label.replace(" ", ""):
            return TypedAnswer(score)
    return None


# ---------------------------------------------------------------------------------------------- buttons

ACT_QUESTION = "q"
ACT_COMMENT_SKIP = "cs"
ACT_SUBMIT = "ok"
ACT_RESTART = "re"
ACT_CANCEL = "no"
ACT_REPLACE = "rp"
ACT_KEEP = "kp"
CONFIRM_ACTIONS = (ACT_SUBMIT, ACT_RESTART, ACT_CANCEL)

_PERIOD = r"\d{4}-(?:\d{2}|Q[1-4])"
_BUTTON_RE = re.compile(
    rf"^{CALLBACK_PREFIX}:(?P<period>{_PERIOD}):(?:"
    r"q:(?P<step>0|[1-9]\d?):(?P<score>[1-5s])"
    r"|(?P<cs>cs)"
    rf"|(?P<confirm>ok|re|no):(?P<token>[0-9a-f]{{{TOKEN_LEN}}})"
    r"|(?P<offer>rp|kp):(?P<village>\d{1,9})"
    r")$",
    re.ASCII,
)


@dataclass(frozen=True)
class Button:
    period: str
    action: str
    step: int | None = None
    score: int | None = None  # with ACT_QUESTION: None means 跳过
    token: str | None = None
    village_id: int | None = None

    def data(self) -> str:
        if self.action == ACT_QUESTION:
            value = "s" if self.score is None else str(self.score)
            text = f"{CALLBACK_PREFIX}:{self.period}:q:{self.step}:{value}"
        elif self.action == ACT_COMMENT_SKIP:
            text = f"{CALLBACK_PREFIX}:{self.period}:cs"
        elif self.action in CONFIRM_ACTIONS:
            text = f"{CALLBACK_PREFIX}:{self.period}:{self.action}:{self.token}"
        elif self.action in (ACT_REPLACE, ACT_KEEP):
            text = f"{CALLBACK_PREFIX}:{self.period}:{self.action}:{self.village_id}"
        else:
            raise ValueError(f"unknown action {self.action!r}")
        if len(text.encode()) > CALLBACK_MAX_BYTES:
            raise ValueError(f"callback data over {CALLBACK_MAX_BYTES} bytes: {text!r}")
        return text


def question_button(period: str, step: int, score: int | None) -> Button:
    return Button(period, ACT_QUESTION, step=step, score=score)


def comment_skip_button(period: str) -> Button:
    return Button(period, ACT_COMMENT_SKIP)


def confirm_button(period: str, action: str, state: SurveyState) -> Button:
    return Button(period, action, token=summary_token(state))


def offer_button(period: str, action: str, village_id: int) -> Button:
    return Button(period, action, village_id=village_id)


def is_survey_data(data: str | None) -> bool:
    """Whether callback data is addressed to the survey (it may still be malformed)."""
    return bool(data) and (data == CALLBACK_PREFIX or data.startswith(CALLBACK_PREFIX + ":"))


def parse_button(data: str | None) -> Button | None:
    """The button, or None when the data is malformed or forged."""
    if not data or len(data.encode("utf-8", "replace")) > CALLBACK_MAX_BYTES:
        return None
    match = _BUTTON_RE.fullmatch(data)
    if not match:
        return None
    period = match["period"]
    if match["step"] is not None:
        score = None if match["score"] == "s" else int(match["score"])
        return Button(period, ACT_QUESTION, step=int(match["step"]), score=score)
    if match["cs"]:
        return Button(period, ACT_COMMENT_SKIP)
    if match["confirm"]:
        return Button(period, match["confirm"], token=match["token"])
    return Button(period, match["offer"], village_id=int(match["village"]))


class ButtonCheck(enum.Enum):
    OK = "ok"
    INVALID = "invalid"  # forged or malformed
    OLD_PERIOD = "old_period"  # from a previous period's survey
    NO_SURVEY = "no_survey"  # nothing in progress (finished, cancelled or expired)
    STALE_QUESTION = "stale_question"  # a question (or comment prompt) already passed
    STALE_SUMMARY = "stale_summary"  # a summary that no longer matches the draft
    DUPLICATE = "duplicate"  # the same answer pressed again (double tap): nothing to do

    @property
    def note(self) -> str:
        """The short note shown to the resident for a button that cannot be used."""
        return {
            ButtonCheck.OK: "",
            ButtonCheck.INVALID: texts.BUTTON_INVALID,
            ButtonCheck.OLD_PERIOD: texts.BUTTON_OLD_PERIOD,
            ButtonCheck.NO_SURVEY: texts.BUTTON_NO_SURVEY,
            ButtonCheck.STALE_QUESTION: texts.BUTTON_STALE_QUESTION,
            ButtonCheck.STALE_SUMMARY: texts.BUTTON_STALE_SUMMARY,
            ButtonCheck.DUPLICATE: texts.BUTTON_NOTED,
        }[self]


def check_button(
    button: Button | None,
    *,
    current_period: str,
    draft_period: str | None,
    state: SurveyState | None,
    aspects: Sequence[Aspect],
) -> ButtonCheck:
    """May this button act on the resident's survey now?

    `state`/`draft_period` describe the resident's draft (None: no survey in progress).
    The replace/keep offer needs no draft; every other button needs the draft the button was made for.
    """
    if button is None:
        return ButtonCheck.INVALID
    if button.period != current_period:
        return ButtonCheck.OLD_PERIOD
    if button.action in (ACT_REPLACE, ACT_KEEP):
        return ButtonCheck.OK
    if state is None or draft_period is None:
        return ButtonCheck.NO_SURVEY
    if draft_period != button.period:
        return ButtonCheck.OLD_PERIOD
    state = normalize(state, aspects)
    if button.action == ACT_QUESTION:
        assert button.step is not None
        if button.step >= len(aspects):
            return ButtonCheck.INVALID
        if state.stage == STAGE_ASPECTS and button.step == state.step:
            return ButtonCheck.OK
        code = aspects[button.step].code
        if button.step < state.step and code in state.answers and state.answers[code] == button.score:
            return ButtonCheck.DUPLICATE
        return ButtonCheck.STALE_QUESTION
    if button.action == ACT_COMMENT_SKIP:
        if state.stage == STAGE_COMMENT:
            return ButtonCheck.OK
        if state.stage == STAGE_CONFIRM and state.comment is None:
            return ButtonCheck.DUPLICATE
        return ButtonCheck.STALE_QUESTION
    if button.action in CONFIRM_ACTIONS:
        if state.stage == STAGE_CONFIRM and button.token == summary_token(state):
            return ButtonCheck.OK
        return ButtonCheck.STALE_SUMMARY
    return ButtonCheck.INVALID


# ---------------------------------------------------------------------------------------------- decisions


class StartAction(enum.Enum):
    NEW = "new"  # start at question 1
    RESUME = "resume"  # continue the draft where it was
    OFFER_REPLACE = "offer_replace"  # answered already this period: ask whether to replace


@dataclass(frozen=True)
class DraftInfo:
    village_id: int
    period: str


@dataclass(frozen=True)
class StartPlan:
    action: StartAction
    drop_draft: bool = False  # the draft in progress is for another village or an old period: drop it
    dropped_old_period: bool = False  # ... because its period is over (tell the resident)
    dropped_other_village: bool = False  # ... because the resident opened another village's survey


def plan_start(
    *, draft: DraftInfo | None, village_id: int, period: str, already_responded: bool
) -> StartPlan:
    """What opening the survey of `village_id` in `period` does, given the resident's draft and earlier answer."""
    if draft is not None and draft.village_id == village_id and draft.period == period:
        return StartPlan(StartAction.RESUME)
    dropped_old = draft is not None and draft.period != period
    dropped_other = draft is not None and not dropped_old and draft.village_id != village_id
    action = StartAction.OFFER_REPLACE if already_responded else StartAction.NEW
    return StartPlan(action, draft is not None, dropped_old, dropped_other)


class SubmitAction(enum.Enum):
    NOTHING = "nothing"  # all skipped, no comment: nothing to store
    SUBMIT = "submit"  # a first answer this period (storage refuses if one exists: then offer to replace)
    REPLACE = "replace"  # the resident chose to replace the earlier answer


def plan_submit(state: SurveyState) -> SubmitAction:
    if not submittable(state):
        return SubmitAction.NOTHING
    return SubmitAction.REPLACE if state.replace_existing else SubmitAction.SUBMIT


__all__ = [
    "ACT_CANCEL",
    "ACT_COMMENT_SKIP",
    "ACT_KEEP",
    "ACT_QUESTION",
    "ACT_REPLACE",
    "ACT_RESTART",
    "ACT_SUBMIT",
    "Aspect",
    "Button",
    "ButtonCheck",
    "COMMENT_MAX",
    "CleanComment",
    "CommentProblem",
    "DraftInfo",
    "SCORES",
    "STAGE_ASPECTS",
    "STAGE_COMMENT",
    "STAGE_CONFIRM",
    "Screen",
    "StartAction",
    "StartPlan",
    "SubmitAction",
    "SummaryLine",
    "SurveyState",
    "TypedAnswer",
    "answer",
    "answer_label",
    "aspect_list",
    "aspect_name",
    "check_button",
    "clean_comment",
    "comment_skip_button",
    "confirm_button",
    "current_screen",
    "give_comment",
    "interpret_typed",
    "is_survey_data",
    "normalize",
    "offer_button",
    "parse_button",
    "period_label",
    "plan_start",
    "plan_submit",
    "progress",
    "question_button",
    "restart",
    "skip_comment",
    "submittable",
    "summary_lines",
    "summary_token",
]
