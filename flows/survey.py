"""The residents' satisfaction survey (居民满意度测评) as steps `(session, resident, input) -> typed result`.

    flow = SurveyFlow(SurveyConfig.from_settings(settings))
    resident = Resident.of(settings.secret, telegram_user_id)     # keyed hashes only; the ID is never stored
    result = flow.open(session, resident, "V1")                  # /survey V1, /start s_V1
    result = flow.open_bare(session, resident, staff)            # /survey: resume, links for staff, else the picker
    result = flow.press(session, resident, parse_button(data))   # a survey or picker button
    result = flow.typed(session, resident, Typed(text))          # a message while a survey is in progress
    flow.cancel(session, resident)                                # /cancel: True if a survey was dropped

Each result is a frozen dataclass with a `kind` (Kind); handlers/survey.py turns it into texts and keyboards.
The survey in progress is a storage.surveys draft (a pending step found by the resident's owner key), so a new
process on the same database resumes where the resident was. Every call is one database transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from flows import survey_rules as R
from storage import surveys as S
from storage.errors import AlreadyResponded, InvalidInput
from storage.models import ROLE_BUREAU, ROLE_CADRE, SurveyPeriod, Town, Village
from storage.places import get_village, list_towns_with_villages, list_villages, normalize_code
from storage.timeutil import DEFAULT_TZ

# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)  # only bound functions inside: two Residents are never "equal" by value
class Resident:
    """Who is answering, as the survey knows them: keyed hashes of the Telegram user, never the ID itself.

    `owner_key` finds their survey in progress; `respondent_key(village, period)` names their one response per
    village and period; `choice_key(nonce)` keys the answer codes of a draft's buttons. The ID stays inside the
    bound hash functions (not in repr, never in a row). The keys are slow (scrypt) and derived on first use, i.e.
    inside the flow's database step, off the event loop."""

    _owner_key: Callable[[], str] = field(repr=False, compare=False)
    _respondent_key: Callable[[str, str], str] = field(repr=False, compare=False)
    _choice_key: Callable[[str], bytes] = field(repr=False, compare=False)

    @classmethod
    def of(cls, secret: str, telegram_user_id: int) -> Resident:
        return cls(partial(S.owner_key, secret, telegram_user_id), partial(S.respondent_key, secret, telegram_user_id),
                   partial(S.choice_key, secret))

    @property
    def owner_key(self) -> str:
        return self._owner_key()  # memoized in storage.surveys

    def respondent_key(self, village_code: str, period_code: str) -> str:
        return self._respondent_key(village_code, period_code)

    def choice_key(self, nonce: str) -> bytes:
        return self._choice_key(nonce)


@dataclass(frozen=True)
class Staff:
    """A registered cadre (with their village) or bureau member (with their town) asking for survey links."""

    role: str
    village_id: int | None = None
    town_id: int | None = None


@dataclass(frozen=True)
class Typed:
    """A message from a resident: its text, or None for a photo, sticker, voice message, …"""

    text: str | None


@dataclass(frozen=True)
class SurveyConfig:
    aspects: tuple[S.Aspect, ...]
    granularity: str = "monthly"
    timezone: str = DEFAULT_TZ

    @classmethod
    def from_settings(cls, settings: Any) -> SurveyConfig:
        return cls(
            aspects=R.aspect_list(settings),
            granularity=str(getattr(settings, "survey_period", None) or "monthly"),
            timezone=getattr(settings, "timezone", None) or DEFAULT_TZ,
        )


# ---------------------------------------------------------------------------------------------- results


class Kind(StrEnum):
    BAD_CODE = "bad_code"  # not a village code at all (e.g. a name typed after /survey)
    UNKNOWN_VILLAGE = "unknown_village"
    STARTED = "started"  # a new survey, at question 1
    RESUMED = "resumed"
    ALREADY_ANSWERED = "already_answered"  # answered this period: replace or keep?
    CADRE_LINK = "cadre_link"
    BUREAU_LINKS = "bureau_links"
    NO_VILLAGES = "no_villages"
    CHOOSE_TOWN = "choose_town"
    CHOOSE_VILLAGE = "choose_village"
    PICKED = "picked"  # a village chosen in the picker: its survey opens
    REFUSED = "refused"  # a button that cannot act now
    NOTHING_TO_SUBMIT = "nothing_to_submit"
    ANSWERED = "answered"
    COMMENT_SKIPPED = "comment_skipped"
    RESTARTED = "restarted"
    CANCELLED = "cancelled"
    SUBMITTED = "submitted"
    KEPT = "kept"
    REPLACING = "replacing"  # the resident chose to answer again and replace
    NOT_WAITING = "not_waiting"  # no survey in progress: the message is not the survey's
    USE_BUTTONS = "use_buttons"
    NOT_TEXT = "not_text"
    COMMENT_NOT_TEXT = "comment_not_text"
    COMMENT_REFUSED = "comment_refused"
    COMMENTED = "commented"
    PROMPT_AGAIN = "prompt_again"  # a message while the comment prompt was never delivered: shown again
    USE_CONFIRM = "use_confirm"


@dataclass(frozen=True)
class Place:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Survey:
    """A survey in progress, as plain data: whose village, which period, where the resident is; `choices` keys
    the answer codes of its question buttons (survey_rules.question_button), `prompt_id` is the comment prompt
    on screen, if any."""

    village: Place
    period: str
    state: R.SurveyState
    nonce: str = field(default="", repr=False)
    choices: bytes = field(default=b"", repr=False, compare=False)
    prompt_id: int | None = None


@dataclass(frozen=True)
class Dropped:
    """The unfinished survey that opening another one dropped."""

    reason: R.DropReason
    village: str
    period: str


@dataclass(frozen=True)
class BadCode:
    kind: ClassVar[Kind] = Kind.BAD_CODE


@dataclass(frozen=True)
class UnknownVillage:
    code: str
    kind: ClassVar[Kind] = Kind.UNKNOWN_VILLAGE


@dataclass(frozen=True)
class Started:
    survey: Survey
    dropped: Dropped | None = None
    kind: ClassVar[Kind] = Kind.STARTED


@dataclass(frozen=True)
class Resumed:
    survey: Survey
    kind: ClassVar[Kind] = Kind.RESUMED


@dataclass(frozen=True)
class AlreadyAnswered:
    village: Place
    period: str
    day: date | None
    dropped: Dropped | None = None
    kind: ClassVar[Kind] = Kind.ALREADY_ANSWERED


@dataclass(frozen=True)
class CadreLink:
    village: Place
    kind: ClassVar[Kind] = Kind.CADRE_LINK


@dataclass(frozen=True)
class BureauLinks:
    town: str
    villages: tuple[Place, ...]
    kind: ClassVar[Kind] = Kind.BUREAU_LINKS


@dataclass(frozen=True)
class NoVillages:
    kind: ClassVar[Kind] = Kind.NO_VILLAGES


@dataclass(frozen=True)
class ChooseTown:
    towns: R.Page[Place]
    kind: ClassVar[Kind] = Kind.CHOOSE_TOWN


@dataclass(frozen=True)
class ChooseVillage:
    town: Place
    villages: R.Page[Place]
    only_town: bool  # the town list was skipped (there is one town): no way back to it
    kind: ClassVar[Kind] = Kind.CHOOSE_VILLAGE


@dataclass(frozen=True)
class Picked:
    town: str
    village: Place
    opened: Started | Resumed | AlreadyAnswered
    kind: ClassVar[Kind] = Kind.PICKED


@dataclass(frozen=True)
class Refused:
    check: R.ButtonCheck
    kind: ClassVar[Kind] = Kind.REFUSED


@dataclass(frozen=True)
class NothingToSubmit:
    kind: ClassVar[Kind] = Kind.NOTHING_TO_SUBMIT


@dataclass(frozen=True)
class Answered:
    survey: Survey
    step: int  # the question answered
    score: int | None  # None: skipped
    kind: ClassVar[Kind] = Kind.ANSWERED


@dataclass(frozen=True)
class CommentSkipped:
    survey: Survey
    kind: ClassVar[Kind] = Kind.COMMENT_SKIPPED


@dataclass(frozen=True)
class Restarted:
    survey: Survey
    kind: ClassVar[Kind] = Kind.RESTARTED


@dataclass(frozen=True)
class Cancelled:
    kind: ClassVar[Kind] = Kind.CANCELLED


@dataclass(frozen=True)
class Submitted:
    replaced: bool  # an earlier answer of this period was replaced
    kind: ClassVar[Kind] = Kind.SUBMITTED


@dataclass(frozen=True)
class Kept:
    kind: ClassVar[Kind] = Kind.KEPT


@dataclass(frozen=True)
class Replacing:
    survey: Survey
    fresh: bool  # a new survey from question 1 (else the one in progress goes on)
    kind: ClassVar[Kind] = Kind.REPLACING


@dataclass(frozen=True)
class NotWaiting:
    kind: ClassVar[Kind] = Kind.NOT_WAITING


@dataclass(frozen=True)
class UseButtons:
    survey: Survey
    kind: ClassVar[Kind] = Kind.USE_BUTTONS


@dataclass(frozen=True)
class NotText:
    survey: Survey
    kind: ClassVar[Kind] = Kind.NOT_TEXT


@dataclass(frozen=True)
class CommentNotText:
    survey: Survey
    kind: ClassVar[Kind] = Kind.COMMENT_NOT_TEXT


@dataclass(frozen=True)
class CommentRefused:
    survey: Survey
    problem: R.CommentProblem
    length: int  # characters after sanitising
    kind: ClassVar[Kind] = Kind.COMMENT_REFUSED


@dataclass(frozen=True)
class Commented:
    survey: Survey
    prompt_id: int | None = None  # the comment prompt to take the 跳过 button off
    kind: ClassVar[Kind] = Kind.COMMENTED


@dataclass(frozen=True)
class PromptAgain:
    survey: Survey
    kind: ClassVar[Kind] = Kind.PROMPT_AGAIN


@dataclass(frozen=True)
class UseConfirm:
    survey: Survey
    kind: ClassVar[Kind] = Kind.USE_CONFIRM


OpenResult = BadCode | UnknownVillage | Started | Resumed | AlreadyAnswered
BareResult = OpenResult | CadreLink | BureauLinks | NoVillages | ChooseTown | ChooseVillage
PressResult = (ChooseTown | ChooseVillage | NoVillages | Picked | Refused | NothingToSubmit | Answered
               | CommentSkipped | Restarted | Cancelled | Submitted | AlreadyAnswered | Kept | Replacing)
TypedResult = (NotWaiting | Answered | UseButtons | NotText | CommentNotText | CommentRefused | Commented
               | PromptAgain | UseConfirm)


# ---------------------------------------------------------------------------------------------- the flow


def _place(row: Village | Town) -> Place:
    return Place(row.id, row.code, row.name)


class SurveyFlow:
    """The survey's steps for one configuration (aspects, period length, time zone)."""

    def __init__(self, config: SurveyConfig) -> None:
        self.config = config
        self.aspects = config.aspects

    # ------------------------------------------------------------------ opening

    def open(self, session: Session, resident: Resident, code: str) -> OpenResult:
        """Open the survey of the village with this code: new, resume, or offer to replace this period's answer."""
        try:
            village = get_village(session, normalize_code(code))
        except InvalidInput:
            return BadCode()
        if village is None:
            return UnknownVillage(code.strip())
        return self._open_village(session, resident, _place(village))

    def open_bare(self, session: Session, resident: Resident, staff: Staff | None) -> BareResult:
        """/survey alone: resume a survey in progress; else a cadre's or bureau's links; else the village picker."""
        survey = self._find(session, resident)
        if survey is not None:
            return self._open_village(session, resident, survey.village)
        if staff is not None and staff.role == ROLE_CADRE and staff.village_id is not None:
            village = session.get(Village, staff.village_id)
            if village is not None:
                return CadreLink(_place(village))
        if staff is not None and staff.role == ROLE_BUREAU and staff.town_id is not None:
            town = session.get(Town, staff.town_id)
            if town is not None:
                villages = tuple(_place(v) for v in list_villages(session, town.code))
                return BureauLinks(town.name, villages) if villages else NoVillages()
        return self._towns(session, 0)

    # ------------------------------------------------------------------ buttons

    def press(self, session: Session, resident: Resident, button: R.Button | R.Pick | None) -> PressResult:
        """A survey or picker button: checked against the resident's survey in progress, then applied."""
        if isinstance(button, R.Pick):
            return self._pick(session, resident, button)
        period = self._period(session)
        survey = self._find(session, resident)
        if button is not None and survey is not None:  # a question's score is readable with the draft's key only
            button = R.decode_choice(button, survey.choices)
        check = R.check_button(
            button,
            current_period=period.code,
            draft_period=survey.period if survey else None,
            state=survey.state if survey else None,
            aspects=self.aspects,
        )
        if check is not R.ButtonCheck.OK:
            return Refused(check)
        assert button is not None
        if button.action in R.OFFER_ACTIONS:
            return self._offer_choice(session, resident, button, survey, period)
        assert survey is not None
        state = survey.state
        if button.action is R.Action.QUESTION:
            assert button.step is not None
            saved = self._save(session, resident, survey, R.answer(state, self.aspects, button.step, button.score))
            return Answered(saved, button.step, button.score)
        if button.action is R.Action.COMMENT_SKIP:
            return CommentSkipped(self._save(session, resident, survey, R.skip_comment(state)))
        if button.action is R.Action.RESTART:
            return Restarted(self._save(session, resident, survey, R.restart(state)))
        if button.action is R.Action.CANCEL:
            S.delete_draft(session, owner_key=resident.owner_key)
            return Cancelled()
        return self._submit(session, resident, survey)

    def _pick(self, session: Session, resident: Resident, pick: R.Pick) -> PressResult:
        if pick.action is R.PickAction.TOWNS:
            return self._towns(session, pick.page)
        if pick.action is R.PickAction.VILLAGES:
            town = session.get(Town, pick.town_id)
            if town is None:
                return Refused(R.ButtonCheck.INVALID)
            return self._villages(session, town, pick.page, only_town=False)
        village = session.get(Village, pick.village_id)
        if village is None:
            return Refused(R.ButtonCheck.INVALID)
        return Picked(village.town.name, _place(village), self._open_village(session, resident, _place(village)))

    def _submit(self, session: Session, resident: Resident, survey: Survey) -> PressResult:
        plan = R.plan_submit(survey.state)
        if plan is R.SubmitAction.NOTHING:
            return NothingToSubmit()
        key = resident.respondent_key(survey.village.code, survey.period)
        period = S.get_period(session, survey.period)
        assert period is not None
        try:
            S.submit_response(
                session,
                respondent_key=key,
                village_id=survey.village.id,
                period_id=period.id,
                answers=dict(survey.state.answers),
                comment=survey.state.comment,
                replace=plan is R.SubmitAction.REPLACE,
                aspects=self.aspects,
                tz=self.config.timezone,
                owner_key=resident.owner_key,
            )
        except AlreadyResponded:  # nothing was written: the transaction goes on
            # Answered meanwhile (another device): keep the draft and ask whether to replace.
            response = S.get_response(session, key)
            return AlreadyAnswered(survey.village, survey.period, response.day if response is not None else None)
        return Submitted(replaced=plan is R.SubmitAction.REPLACE)

    def _offer_choice(self, session: Session, resident: Resident, button: R.Button, survey: Survey | None,
                      period: SurveyPeriod) -> PressResult:
        """重新填写并替换 / 保留原来的评价."""
        row = session.get(Village, button.village_id)
        if row is None:
            return Refused(R.ButtonCheck.INVALID)
        village = _place(row)
        same = survey is not None and survey.village.id == village.id and survey.period == period.code
        if button.action is R.Action.KEEP:
            if same:
                S.delete_draft(session, owner_key=resident.owner_key)
            return Kept()
        if same:
            assert survey is not None
            return Replacing(self._save(session, resident, survey, replace(survey.state, replace_existing=True)),
                             fresh=False)
        fresh = self._fresh(resident, village, period.code, R.SurveyState(replace_existing=True))
        return Replacing(self._save(session, resident, fresh, fresh.state), fresh=True)

    # ------------------------------------------------------------------ messages

    def is_waiting(self, session: Session, resident: Resident) -> bool:
        """Whether the resident has a survey of this period in progress (then their messages are the survey's)."""
        return self._current(session, resident) is not None

    def typed(self, session: Session, resident: Resident, message: Typed) -> TypedResult:
        """A message (not a command) from a resident: the survey's only while a survey of this period is open."""
        survey = self._current(session, resident)
        if survey is None:
            return NotWaiting()
        state = survey.state
        if state.stage == R.Stage.ASPECTS:
            typed = R.interpret_typed(message.text) if message.text is not None else None
            if typed is None:
                return UseButtons(survey) if message.text is not None else NotText(survey)
            saved = self._save(session, resident, survey, R.answer(state, self.aspects, state.step, typed.score))
            return Answered(saved, state.step, typed.score)
        if state.stage == R.Stage.COMMENT:
            if survey.prompt_id is None:  # the resident never saw the prompt: this message is not their comment
                return PromptAgain(survey)
            if message.text is None:
                return CommentNotText(survey)
            new_state, cleaned = R.give_comment(state, message.text)
            if cleaned.problem is not None:
                return CommentRefused(survey, cleaned.problem, cleaned.length)
            return Commented(self._save(session, resident, survey, new_state), survey.prompt_id)
        return UseConfirm(survey)

    def cancel(self, session: Session, resident: Resident) -> bool:
        """Drop the survey in progress; True if there was one."""
        return S.delete_draft(session, owner_key=resident.owner_key)

    def note_prompt(self, session: Session, resident: Resident, message_id: int) -> None:
        """The comment prompt was sent as `message_id`: kept in the draft (not in one process's memory), so that
        whichever process gets the comment takes its 跳过 button off."""
        survey = self._find(session, resident)
        if survey is not None and survey.state.stage == R.Stage.COMMENT:
            self._save(session, resident, replace(survey, prompt_id=message_id), survey.state)

    # ------------------------------------------------------------------ helpers

    def _period(self, session: Session) -> SurveyPeriod:
        return S.current_period(session, granularity=self.config.granularity, tz=self.config.timezone)

    def _open_village(self, session: Session, resident: Resident, village: Place) -> Started | Resumed | AlreadyAnswered:
        period = self._period(session)
        existing = self._find(session, resident)
        response = S.get_response(session, resident.respondent_key(village.code, period.code))
        plan = R.plan_start(
            draft=None if existing is None else R.DraftInfo(existing.village.id, existing.period),
            village_id=village.id,
            period=period.code,
            already_responded=response is not None,
        )
        if plan.action is R.StartAction.RESUME:
            assert existing is not None
            return Resumed(existing)
        dropped = None
        if plan.drop is not None and existing is not None:
            S.delete_draft(session, owner_key=resident.owner_key)
            dropped = Dropped(plan.drop, existing.village.name, existing.period)
        if plan.action is R.StartAction.OFFER_REPLACE:
            return AlreadyAnswered(village, period.code, response.day if response is not None else None, dropped)
        fresh = self._fresh(resident, village, period.code, R.SurveyState())
        return Started(self._save(session, resident, fresh, fresh.state), dropped)

    def _towns(self, session: Session, page: int) -> ChooseTown | ChooseVillage | NoVillages:
        """The picker's towns (only those with villages); with a single town, straight to its villages."""
        towns = list_towns_with_villages(session)
        if not towns:
            return NoVillages()
        if len(towns) == 1:
            return self._villages(session, towns[0], 0, only_town=True)
        return ChooseTown(R.page_of([_place(t) for t in towns], page))

    def _villages(self, session: Session, town: Town, page: int, *, only_town: bool) -> ChooseVillage | NoVillages:
        villages = [_place(v) for v in list_villages(session, town.code)]
        if not villages:  # removed since the town list was shown
            return NoVillages()
        return ChooseVillage(_place(town), R.page_of(villages, page), only_town)

    def _current(self, session: Session, resident: Resident) -> Survey | None:
        """The survey in progress if it is of the current period; one of a period that is over is dropped."""
        survey = self._find(session, resident)
        if survey is not None and survey.period != self._period(session).code:
            S.delete_draft(session, owner_key=resident.owner_key)  # that period is over: not a survey answer
            return None
        return survey

    def _find(self, session: Session, resident: Resident) -> Survey | None:
        """The resident's survey in progress; a draft whose village or period is gone is dropped."""
        if not S.any_draft(session):  # nobody is answering a survey: skip the ~50 ms owner key (scrypt)
            return None
        draft = S.load_draft(session, owner_key=resident.owner_key)
        if draft is None:
            return None
        village = session.get(Village, draft.village_id)
        period = session.get(SurveyPeriod, draft.period_id)
        if village is None or period is None:
            S.delete_draft(session, owner_key=resident.owner_key)
            return None
        # A draft of an older version has no nonce: one derived from its (secret-keyed) respondent key serves.
        nonce = draft.nonce or draft.respondent_key[:16]
        return Survey(_place(village), period.code, R.SurveyState.from_draft(draft, self.aspects), nonce,
                      resident.choice_key(nonce), draft.prompt_message_id)

    @staticmethod
    def _fresh(resident: Resident, village: Place, period: str, state: R.SurveyState) -> Survey:
        """A new survey, with a nonce of its own (its buttons' codes differ from every other draft's)."""
        nonce = S.new_nonce()
        return Survey(village, period, state, nonce, resident.choice_key(nonce))

    def _save(self, session: Session, resident: Resident, survey: Survey, state: R.SurveyState) -> Survey:
        prompt_id = survey.prompt_id if state.stage == R.Stage.COMMENT else None  # a prompt matters while it asks
        period = S.get_period(session, survey.period)
        assert period is not None, "a survey's period row exists: it was read or created in this transaction"
        S.save_draft(
            session,
            respondent_key=resident.respondent_key(survey.village.code, survey.period),
            owner_key=resident.owner_key,
            village_id=survey.village.id,
            period_id=period.id,
            nonce=survey.nonce,
            prompt_message_id=prompt_id,
            **state.draft_fields(),
        )
        return replace(survey, state=state, prompt_id=prompt_id)


__all__ = [
    "AlreadyAnswered",
    "Answered",
    "BadCode",
    "BareResult",
    "BureauLinks",
    "CadreLink",
    "Cancelled",
    "ChooseTown",
    "ChooseVillage",
    "CommentNotText",
    "CommentRefused",
    "CommentSkipped",
    "Commented",
    "Dropped",
    "Kept",
    "Kind",
    "NoVillages",
    "NotText",
    "NotWaiting",
    "NothingToSubmit",
    "OpenResult",
    "Picked",
    "Place",
    "PromptAgain",
    "PressResult",
    "Refused",
    "Replacing",
    "Resident",
    "Restarted",
    "Resumed",
    "Staff",
    "Started",
    "Submitted",
    "Survey",
    "SurveyConfig",
    "SurveyFlow",
    "Typed",
    "TypedResult",
    "UnknownVillage",
    "UseButtons",
    "UseConfirm",
]
