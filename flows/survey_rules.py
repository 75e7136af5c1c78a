"""The residents' satisfaction survey as pure rules: no Telegram, no database, no message text.

flows/survey.py keeps the state in the database and asks this module what to do:

    aspects = aspect_list(settings)                     # the configured aspects, in order
    state = SurveyState.from_draft(draft, aspects)      # or SurveyState() for a new survey
    screen = current_screen(state, aspects)             # what to show: a question, the comment prompt, the summary
    button = parse_button(query.data)                   # a Button, a Pick (village picker) or None: forged/malformed
    check = check_button(button, current_period=..., draft_period=..., state=state, aspects=aspects)
    state = answer(state, aspects, button.step, button.score)     # score None = skipped
    state, cleaned = give_comment(state, text)                    # cleaned.problem: CommentProblem or None
    plan_start(...), plan_submit(...)                            # new / resume / offer to replace; submit / replace

The survey: one question per aspect (score 5..1 or skipped), then an optional comment, then a summary to
confirm. Callback data is short and carries IDs only, at most 64 bytes:
`sv:<period>:<action>[:<arg>...]` for the survey's buttons, `sv:t:<page>`, `sv:v:<town id>:<page>` and
`sv:go:<village id>` for the village picker.

A question's button carries an answer code, not the score: `sv:<period>:a:<step>:<code>`, where the six choices
(5..1, 跳过) get the codes a..f in an order keyed per draft and question (`choice_order`, with the draft's key
from storage.surveys.choice_key). Whoever sees the callback data (Telegram, a client log) cannot tell the score.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from storage.surveys import Aspect, configured_aspects
from texts import survey as vocabulary  # only what residents may type (SCORE_WORDS, SKIP_WORDS, button labels)

SCORES: tuple[int, ...] = (5, 4, 3, 2, 1)  # button order: best first
COMMENT_MAX = 500  # characters; storage keeps up to 1000, residents are told 500
CALLBACK_PREFIX = "sv"
CALLBACK_MAX_BYTES = 64
TOKEN_LEN = 8
PAGE_SIZE = 8  # towns or villages per picker page: one button per row fits a phone screen
CHOICES: tuple[int | None, ...] = (*SCORES, None)  # a question's answers: the scores, then 跳过
CHOICE_CODES = "abcdef"  # what a question's button carries instead of the score (one per choice)


# ---------------------------------------------------------------------------------------------- aspects


def aspect_list(settings: Any = None) -> tuple[Aspect, ...]:
    """The configured aspects: `settings.survey_aspects` (CADREBOT_SURVEY_ASPECTS: 'service,overall' or
    'code:标签') if set, else the eight founding aspects."""
    spec = getattr(settings, "survey_aspects", None)
    return configured_aspects(spec if spec else None)


# ---------------------------------------------------------------------------------------------- state


class Stage(StrEnum):
    ASPECTS = "aspects"  # answering the questions, one per aspect
    COMMENT = "comment"  # waiting for a free-text comment (or 跳过)
    CONFIRM = "confirm"  # the summary: submit, restart or cancel


@dataclass(frozen=True)
class SurveyState:
    """Where a resident is: stage, current question index, answers so far (code -> 1..5 or None = skipped)."""

    stage: Stage = Stage.ASPECTS
    step: int = 0
    answers: Mapping[str, int | None] = field(default_factory=dict)
    comment: str | None = None
    replace_existing: bool = False

    @classmethod
    def from_draft(cls, draft: Any, aspects: Sequence[Aspect]) -> SurveyState:
        """The state kept in a storage.surveys.SurveyDraft, made consistent with the current aspect set."""
        return normalize(
            cls(
                stage=getattr(draft, "stage", Stage.ASPECTS),
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
            "stage": str(self.stage),
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
    stage = Stage(state.stage) if state.stage in tuple(Stage) else Stage.ASPECTS
    try:
        step = int(state.step)
    except (TypeError, ValueError):
        step = 0
    step = max(0, step)
    if stage == Stage.ASPECTS and step >= len(codes):
        stage, step = Stage.COMMENT, len(codes)
    if stage != Stage.ASPECTS:
        step = len(codes)
    comment = state.comment if isinstance(state.comment, str) and state.comment.strip() else None
    return SurveyState(stage, step, answers, comment, bool(state.replace_existing))


def answer(state: SurveyState, aspects: Sequence[Aspect], step: int, score: int | None) -> SurveyState:
    """Record the answer to question `step` (None = skipped) and move on; after the last one, to the comment."""
    if state.stage != Stage.ASPECTS or step != state.step or not 0 <= step < len(aspects):
        raise ValueError(f"not the current question: {step} (state {state.stage}/{state.step})")
    if score is not None and score not in SCORES:
        raise ValueError(f"score must be 1-5, not {score!r}")
    answers = dict(state.answers)
    answers[aspects[step].code] = score
    if step + 1 < len(aspects):
        return replace(state, step=step + 1, answers=answers)
    return replace(state, stage=Stage.COMMENT, step=len(aspects), answers=answers)


class CommentProblem(StrEnum):
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
    if state.stage != Stage.COMMENT:
        raise ValueError("not waiting for a comment")
    cleaned = clean_comment(raw)
    if cleaned.problem is not None:
        return state, cleaned
    return replace(state, stage=Stage.CONFIRM, comment=cleaned.text), cleaned


def skip_comment(state: SurveyState) -> SurveyState:
    if state.stage != Stage.COMMENT:
        raise ValueError("not waiting for a comment")
    return replace(state, stage=Stage.CONFIRM, comment=None)


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


# ---------------------------------------------------------------------------------------------- screens


@dataclass(frozen=True)
class Screen:
    """What the resident should see now: the question `index` (stage ASPECTS), the comment prompt or the summary."""

    stage: Stage
    index: int = 0


def current_screen(state: SurveyState, aspects: Sequence[Aspect]) -> Screen:
    """What a resume shows: the current question, the comment prompt or the summary."""
    state = normalize(state, aspects)
    if state.stage == Stage.ASPECTS:
        return Screen(Stage.ASPECTS, state.step)
    return Screen(state.stage)


# ---------------------------------------------------------------------------------------------- typed input


@dataclass(frozen=True)
class TypedAnswer:
    score: int | None  # None: skip


def interpret_typed(text: str | None) -> TypedAnswer | None:
    """A resident may type '4', '满意' or '跳过' instead of pressing the button; None if it is not that."""
    word = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).strip("。.!！")
    if word in vocabulary.SKIP_WORDS:
        return TypedAnswer(None)
    if word in vocabulary.SCORE_WORDS:
        return TypedAnswer(vocabulary.SCORE_WORDS[word])
    for score, label in vocabulary.SCORE_BUTTON.items():  # the button label typed out, e.g. '4满意'
        if word == label.replace(" ", ""):
            return TypedAnswer(score)
    return None


# ---------------------------------------------------------------------------------------------- buttons


class Action(StrEnum):
    """What a survey button does; the value is what its callback data carries."""

    QUESTION = "a"  # carries an answer code (CHOICE_CODES), never the score ("q" carried it in clear)
    COMMENT_SKIP = "cs"
    SUBMIT = "ok"
    RESTART = "re"
    CANCEL = "no"
    REPLACE = "rp"
    KEEP = "kp"


CONFIRM_ACTIONS = (Action.SUBMIT, Action.RESTART, Action.CANCEL)
OFFER_ACTIONS = (Action.REPLACE, Action.KEEP)

_PERIOD = r"\d{4}-(?:\d{2}|Q[1-4])"
_BUTTON_RE = re.compile(
    rf"^{CALLBACK_PREFIX}:(?P<period>{_PERIOD}):(?:"
    rf"a:(?P<step>0|[1-9]\d?):(?P<choice>[{CHOICE_CODES}])"
    r"|(?P<cs>cs)"
    rf"|(?P<confirm>ok|re|no):(?P<token>[0-9a-f]{{{TOKEN_LEN}}})"
    r"|(?P<offer>rp|kp):(?P<village>\d{1,9})"
    r")$",
    re.ASCII,
)
_ID = r"[1-9]\d{0,8}"
_PAGE = r"0|[1-9]\d{0,3}"
_PICK_RE = re.compile(
    rf"^{CALLBACK_PREFIX}:(?:t:(?P<towns_page>{_PAGE})|v:(?P<town>{_ID}):(?P<villages_page>{_PAGE})"
    rf"|go:(?P<village>{_ID}))$",
    re.ASCII,
)


def _checked(text: str) -> str:
    if len(text.encode()) > CALLBACK_MAX_BYTES:
        raise ValueError(f"callback data over {CALLBACK_MAX_BYTES} bytes: {text!r}")
    return text


@dataclass(frozen=True)
class Button:
    """A button of one period's survey (questions, comment skip, summary, replace/keep offer)."""

    period: str
    action: Action
    step: int | None = None
    score: int | None = None  # with Action.QUESTION: None means 跳过 (known once `choice` is decoded)
    token: str | None = None
    village_id: int | None = None
    choice: str | None = None  # with Action.QUESTION: the answer code the button carries

    def data(self) -> str:
        if self.action is Action.QUESTION:
            return _checked(f"{CALLBACK_PREFIX}:{self.period}:{self.action}:{self.step}:{self.choice}")
        if self.action is Action.COMMENT_SKIP:
            return _checked(f"{CALLBACK_PREFIX}:{self.period}:cs")
        if self.action in CONFIRM_ACTIONS:
            return _checked(f"{CALLBACK_PREFIX}:{self.period}:{self.action}:{self.token}")
        return _checked(f"{CALLBACK_PREFIX}:{self.period}:{self.action}:{self.village_id}")


class PickAction(StrEnum):
    """The village picker of a bare /survey."""

    TOWNS = "t"  # a page of towns
    VILLAGES = "v"  # a page of one town's villages
    VILLAGE = "go"  # this village: start its survey


@dataclass(frozen=True)
class Pick:
    """A button of the village picker (no period: choosing a place is the same in every period)."""

    action: PickAction
    page: int = 0
    town_id: int | None = None
    village_id: int | None = None

    def data(self) -> str:
        if self.action is PickAction.TOWNS:
            return _checked(f"{CALLBACK_PREFIX}:t:{self.page}")
        if self.action is PickAction.VILLAGES:
            return _checked(f"{CALLBACK_PREFIX}:v:{self.town_id}:{self.page}")
        return _checked(f"{CALLBACK_PREFIX}:go:{self.village_id}")


def choice_order(key: bytes, step: int) -> tuple[int | None, ...]:
    """The choices in the order of CHOICE_CODES for question `step` of the draft with this key: a keyed shuffle
    (each choice ranked by HMAC(key, step|choice)), so every draft and question has its own codes."""
    def rank(choice: int | None) -> bytes:
        return hmac.new(key, f"{step}|{choice}".encode(), hashlib.sha256).digest()

    return tuple(sorted(CHOICES, key=rank))


def question_button(period: str, step: int, score: int | None, key: bytes) -> Button:
    """The button answering question `step` with `score` (None = 跳过), its code keyed by the draft's `key`."""
    choice = CHOICE_CODES[choice_order(key, step).index(score)]
    return Button(period, Action.QUESTION, step=step, score=score, choice=choice)


def decode_choice(button: Button, key: bytes) -> Button | None:
    """A question's button with its score read from the answer code under the draft's `key`; other buttons as
    they are. None if it is not a question's button of this key (cannot happen for a well-formed code)."""
    if button.action is not Action.QUESTION:
        return button
    if button.choice is None or button.choice not in CHOICE_CODES or button.step is None:
        return None
    return replace(button, score=choice_order(key, button.step)[CHOICE_CODES.index(button.choice)])


def comment_skip_button(period: str) -> Button:
    return Button(period, Action.COMMENT_SKIP)


def confirm_button(period: str, action: Action, state: SurveyState) -> Button:
    return Button(period, action, token=summary_token(state))


def offer_button(period: str, action: Action, village_id: int) -> Button:
    return Button(period, action, village_id=village_id)


def towns_page(page: int) -> Pick:
    return Pick(PickAction.TOWNS, page=page)


def villages_page(town_id: int, page: int) -> Pick:
    return Pick(PickAction.VILLAGES, page=page, town_id=town_id)


def village_pick(village_id: int) -> Pick:
    return Pick(PickAction.VILLAGE, village_id=village_id)


def parse_button(data: str | None) -> Button | Pick | None:
    """The button, or None when the data is malformed or forged."""
    if not data or len(data.encode("utf-8", "replace")) > CALLBACK_MAX_BYTES:
        return None
    pick = _PICK_RE.fullmatch(data)
    if pick:
        if pick["towns_page"] is not None:
            return towns_page(int(pick["towns_page"]))
        if pick["town"] is not None:
            return villages_page(int(pick["town"]), int(pick["villages_page"]))
        return village_pick(int(pick["village"]))
    match = _BUTTON_RE.fullmatch(data)
    if not match:
        return None
    period = match["period"]
    if match["step"] is not None:  # the score is unknown until decoded with the draft's key (decode_choice)
        return Button(period, Action.QUESTION, step=int(match["step"]), choice=match["choice"])
    if match["cs"]:
        return comment_skip_button(period)
    if match["confirm"]:
        return Button(period, Action(match["confirm"]), token=match["token"])
    return offer_button(period, Action(match["offer"]), int(match["village"]))


class ButtonCheck(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # forged or malformed
    OLD_PERIOD = "old_period"  # from a previous period's survey
    NO_SURVEY = "no_survey"  # nothing in progress (finished, cancelled or expired)
    STALE_QUESTION = "stale_question"  # a question (or comment prompt) already passed
    STALE_SUMMARY = "stale_summary"  # a summary that no longer matches the draft
    DUPLICATE = "duplicate"  # the same answer pressed again (double tap): nothing to do


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
    if button.action in OFFER_ACTIONS:
        return ButtonCheck.OK
    if state is None or draft_period is None:
        return ButtonCheck.NO_SURVEY
    if draft_period != button.period:
        return ButtonCheck.OLD_PERIOD
    state = normalize(state, aspects)
    if button.action is Action.QUESTION:
        assert button.step is not None
        if button.step >= len(aspects):
            return ButtonCheck.INVALID
        if state.stage == Stage.ASPECTS and button.step == state.step:
            return ButtonCheck.OK
        code = aspects[button.step].code
        if button.step < state.step and code in state.answers and state.answers[code] == button.score:
            return ButtonCheck.DUPLICATE
        return ButtonCheck.STALE_QUESTION
    if button.action is Action.COMMENT_SKIP:
        if state.stage == Stage.COMMENT:
            return ButtonCheck.OK
        if state.stage == Stage.CONFIRM and state.comment is None:
            return ButtonCheck.DUPLICATE
        return ButtonCheck.STALE_QUESTION
    if button.action in CONFIRM_ACTIONS:
        if state.stage == Stage.CONFIRM and button.token == summary_token(state):
            return ButtonCheck.OK
        return ButtonCheck.STALE_SUMMARY
    return ButtonCheck.INVALID


# ---------------------------------------------------------------------------------------------- picker pages

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, its number (from 0) and how many pages there are."""

    items: tuple[T, ...]
    number: int
    count: int

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 0 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number + 1 < self.count else None


def page_of(items: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page `number` of `items`; a number past the end (the list shrank meanwhile) gives the last page."""
    count = max(1, -(-len(items) // size))
    number = min(max(0, number), count - 1)
    return Page(tuple(items[number * size:(number + 1) * size]), number, count)


# ---------------------------------------------------------------------------------------------- decisions


class StartAction(StrEnum):
    NEW = "new"  # start at question 1
    RESUME = "resume"  # continue the draft where it was
    OFFER_REPLACE = "offer_replace"  # answered already this period: ask whether to replace


class DropReason(StrEnum):
    """Why opening a survey dropped the one in progress (the resident is told)."""

    OLD_PERIOD = "old_period"  # its period is over
    OTHER_VILLAGE = "other_village"  # the resident opened another village's survey


@dataclass(frozen=True)
class DraftInfo:
    village_id: int
    period: str


@dataclass(frozen=True)
class StartPlan:
    action: StartAction
    drop: DropReason | None = None  # the draft in progress is dropped, and why


def plan_start(
    *, draft: DraftInfo | None, village_id: int, period: str, already_responded: bool
) -> StartPlan:
    """What opening the survey of `village_id` in `period` does, given the resident's draft and earlier answer."""
    if draft is not None and draft.village_id == village_id and draft.period == period:
        return StartPlan(StartAction.RESUME)
    action = StartAction.OFFER_REPLACE if already_responded else StartAction.NEW
    if draft is None:
        return StartPlan(action)
    return StartPlan(action, DropReason.OLD_PERIOD if draft.period != period else DropReason.OTHER_VILLAGE)


class SubmitAction(StrEnum):
    NOTHING = "nothing"  # all skipped, no comment: nothing to store
    SUBMIT = "submit"  # a first answer this period (storage refuses if one exists: then offer to replace)
    REPLACE = "replace"  # the resident chose to replace the earlier answer


def plan_submit(state: SurveyState) -> SubmitAction:
    if not submittable(state):
        return SubmitAction.NOTHING
    return SubmitAction.REPLACE if state.replace_existing else SubmitAction.SUBMIT


__all__ = [
    "Action",
    "Aspect",
    "Button",
    "ButtonCheck",
    "COMMENT_MAX",
    "CHOICES",
    "CHOICE_CODES",
    "CleanComment",
    "CommentProblem",
    "DraftInfo",
    "DropReason",
    "PAGE_SIZE",
    "Page",
    "Pick",
    "PickAction",
    "SCORES",
    "Screen",
    "Stage",
    "StartAction",
    "StartPlan",
    "SubmitAction",
    "SurveyState",
    "TypedAnswer",
    "answer",
    "aspect_list",
    "check_button",
    "choice_order",
    "clean_comment",
    "comment_skip_button",
    "confirm_button",
    "current_screen",
    "decode_choice",
    "give_comment",
    "interpret_typed",
    "normalize",
    "offer_button",
    "page_of",
    "parse_button",
    "plan_start",
    "plan_submit",
    "progress",
    "question_button",
    "restart",
    "skip_comment",
    "submittable",
    "summary_token",
    "towns_page",
    "village_pick",
    "villages_page",
]
