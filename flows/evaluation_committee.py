"""The committee's side of the two-way evaluation (村(居)委会评价部门), without Telegram.

    screen = resume(session, basis, actor)                      # CardScreen | RatingScreen | Finished | Refused
    screen = next_screen(session, basis, member, rnd, chat_id)  # the same, for a known member and round
    result = answer(session, basis, actor, pending_id, "r")     # Saved | RoundClosed | Refused
    shown = reopen(session, basis, actor, pending_id)           # 改: the answered question again, with its buttons

The questions and their order are flows.evaluation.progress.committee_todo's (per department: its confirmed red
cards, then its aspects); what is answered is read from the database, so stopping and coming back resumes at
the next unanswered question. Each question asked is one PendingAction (kind KIND) whose payload names exactly
that question (round, village, department, card or aspect, the grades offered): a button keeps meaning the
question it was sent with, whatever was asked or answered since. The step stays valid while its round is open
(pressing an older question's button again changes that answer); a closed round makes every button stale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from flows import Actor
from flows.evaluation.basis import EvaluationBasis
from flows.evaluation.progress import CardQuestion, CommitteeTodo, RatingQuestion, committee_todo
from storage import evaluation as ev
from storage import pending
from storage.errors import InvalidInput, NotFound, NotPermitted
from storage.members import get_member
from storage.models import NO_ITEM, ROLE_CADRE, CardChoice, EvaluationRound, Member, PendingAction, RoundStatus
from storage.timeutil import local_date

KIND = "eval_committee"
# Long enough to outlive any round (a half-year and its deadline); the round's status is what makes it stale.
STEP_TTL = timedelta(days=400)
GRADE_PREFIX = "g"
# The same grade for every aspect of the department still ungraded: offered on a department's first aspect, so a
# committee with nothing to tell apart grades a department with one tap instead of one per aspect.
ALL_PREFIX = "a"


class Choice(StrEnum):
    """A card button (a grade button is GRADE_PREFIX + the grade's index in the question's payload)."""

    RAISE = "r"
    DROP = "d"


CARD_CHOICES = {Choice.RAISE: CardChoice.RAISED, Choice.DROP: CardChoice.DROPPED}


class Refusal(StrEnum):
    NOT_COMMITTEE = "not_committee"  # not registered, or not a village cadre
    NO_ROUND = "no_round"  # the town has no open round
    NO_AGREEMENT = "no_agreement"  # the round's town has no agreement in the knowledge base
    STALE = "stale"  # the step is gone, or its question no longer exists (a card withdrawn meanwhile)
    NOT_YOURS = "not_yours"
    WRONG_VILLAGE = "wrong_village"  # the cadre moved to another village since the question was sent
    BAD_CHOICE = "bad_choice"


@dataclass(frozen=True)
class Refused:
    reason: Refusal


@dataclass(frozen=True)
class RoundClosed:
    label: str


@dataclass(frozen=True)
class CardScreen:
    """Raise (亮红牌) or drop one confirmed candidate, seeing the evidence."""

    pending_id: int
    round_label: str
    department: str
    item_id: str  # NO_ITEM for 清单外事项
    reports: int
    first_day: date
    last_day: date
    evidence: tuple[str, ...]
    number: int  # 1-based position among all the questions
    total: int
    decision: CardChoice | None


@dataclass(frozen=True)
class RatingScreen:
    """Grade one department on one aspect."""

    pending_id: int
    round_label: str
    department: str
    aspect: str  # the aspect's label
    grades: tuple[str, ...]  # the grades' labels, in the buttons' order
    number: int
    total: int
    grade: str | None  # the label given, None while unanswered
    offer_all: bool = False  # the department's first aspect: one grade may go to all its aspects at once


@dataclass(frozen=True)
class Finished:
    round_label: str
    raised: int
    dropped: int
    departments: int  # departments graded


Question = CardScreen | RatingScreen
Screen = CardScreen | RatingScreen | Finished


@dataclass(frozen=True)
class Saved:
    """The answer is recorded; `question` shows it (with the answer given)."""

    question: Question
    first_time: bool  # False: an earlier answer was changed
    next: Screen | None  # what to ask now (None when an earlier answer was changed: the current one stands)


# ---------------------------------------------------------------------------------------------- asking


def _committee(session: Session, actor: Actor) -> Member | Refused:
    member = get_member(session, actor.user_id)
    if member is None or member.role != ROLE_CADRE or member.village_id is None:
        return Refused(Refusal.NOT_COMMITTEE)
    return member


def _todo(session: Session, basis: EvaluationBasis, rnd: EvaluationRound, village_id: int) -> CommitteeTodo:
    return committee_todo(session, rnd, basis.terms, basis.scheme, village_id, tz=basis.tz)


def resume(session: Session, basis: EvaluationBasis, actor: Actor) -> Screen | Refused:
    """/evaluation for a cadre: the next unanswered question of the town's open round (or the summary)."""
    member = _committee(session, actor)
    if isinstance(member, Refused):
        return member
    town_id = member.effective_town_id
    rnd = ev.current_round(session, town_id) if town_id is not None else None
    if rnd is None:
        return Refused(Refusal.NO_ROUND)
    return next_screen(session, basis, member, rnd, actor.chat_id)


def next_screen(session: Session, basis: EvaluationBasis, member: Member, rnd: EvaluationRound,
                chat_id: int) -> Screen | Refused:
    if member.village_id is None:
        return Refused(Refusal.NOT_COMMITTEE)
    try:
        basis.require_town(rnd.town.code)
    except NotFound:
        return Refused(Refusal.NO_AGREEMENT)
    todo = _todo(session, basis, rnd, member.village_id)
    index = todo.next_index
    if index is None:
        return finished(session, rnd, member.village_id)
    return _screen(basis, rnd, todo, index, _step(session, basis, member, rnd, chat_id, todo.questions[index]))


def finished(session: Session, rnd: EvaluationRound, village_id: int) -> Finished:
    decisions = [c.decision for c in ev.round_cards(session, rnd, village_id)]
    graded = {r.department for r in ev.ratings(session, rnd, village_id)}
    return Finished(ev.round_label(rnd), decisions.count(CardChoice.RAISED), decisions.count(CardChoice.DROPPED),
                    len(graded))


def _payload(basis: EvaluationBasis, member: Member, rnd: EvaluationRound,
             question: CardQuestion | RatingQuestion) -> dict[str, Any]:
    payload: dict[str, Any] = {"round_id": rnd.id, "village_id": member.village_id, "department": question.department}
    if isinstance(question, CardQuestion):
        payload["card_id"] = question.card.card.id
    else:
        payload["aspect"] = question.aspect.code
        payload["grades"] = [g.code for g in basis.scheme.grades]
    return payload


def _step(session: Session, basis: EvaluationBasis, member: Member, rnd: EvaluationRound, chat_id: int,
          question: CardQuestion | RatingQuestion) -> int:
    """The pending step of this question: the one sent before (asked again on /evaluation), else a new one."""
    payload = _payload(basis, member, rnd, question)
    for action in pending.list_pending(session, member_id=member.id, kind=KIND):
        if action.payload == payload and action.chat_id == chat_id:
            return action.id
    return pending.create_pending(session, kind=KIND, member_id=member.id, chat_id=chat_id, ttl=STEP_TTL,
                                  payload=payload).id


def _screen(basis: EvaluationBasis, rnd: EvaluationRound, todo: CommitteeTodo, index: int,
            pending_id: int) -> Question:
    question = todo.questions[index]
    label = ev.round_label(rnd)
    if isinstance(question, CardQuestion):
        found = question.card
        return CardScreen(pending_id, label, question.department, found.card.item_id or NO_ITEM, found.reports,
                          local_date(found.first_seen, basis.tz), local_date(found.last_seen, basis.tz),
                          found.evidence, index + 1, todo.total, found.decision)
    first_aspect = bool(basis.scheme.aspects) and question.aspect == basis.scheme.aspects[0]
    return RatingScreen(pending_id, label, question.department, question.aspect.label,
                        tuple(g.label for g in basis.scheme.grades), index + 1, todo.total, None,
                        offer_all=first_aspect and len(basis.scheme.aspects) > 1)


# ---------------------------------------------------------------------------------------------- answering


@dataclass(frozen=True)
class _Asked:
    """A pressed button's question, found again in the database."""

    member: Member
    rnd: EvaluationRound
    todo: CommitteeTodo
    index: int
    action: PendingAction


def _asked(session: Session, basis: EvaluationBasis, actor: Actor, pending_id: int) -> _Asked | RoundClosed | Refused:
    member = _committee(session, actor)
    if isinstance(member, Refused):
        return member
    try:
        action = pending.get_pending(session, pending_id, member_id=member.id, chat_id=actor.chat_id, kind=KIND)
    except NotPermitted:
        return Refused(Refusal.NOT_YOURS)
    if action is None:
        return Refused(Refusal.STALE)
    payload = action.payload
    rnd = session.get(EvaluationRound, payload.get("round_id"))
    if rnd is None:
        return Refused(Refusal.STALE)
    if rnd.status != RoundStatus.OPEN:
        return RoundClosed(ev.round_label(rnd))
    village_id = member.village_id
    if village_id is None or village_id != payload.get("village_id"):
        return Refused(Refusal.WRONG_VILLAGE)
    todo = _todo(session, basis, rnd, village_id)
    index = _index_of(todo, payload)
    if index is None:
        return Refused(Refusal.STALE)
    return _Asked(member, rnd, todo, index, action)


def _index_of(todo: CommitteeTodo, payload: dict[str, Any]) -> int | None:
    department = payload.get("department")
    for index, question in enumerate(todo.questions):
        if question.department != department:
            continue
        if isinstance(question, CardQuestion) and question.card.card.id == payload.get("card_id"):
            return index
        if isinstance(question, RatingQuestion) and question.aspect.code == payload.get("aspect"):
            return index
    return None


def _grade_code(payload: dict[str, Any], choice: str, basis: EvaluationBasis) -> str | None:
    """The grade a button stands for: its index among the grades the question was sent with (still in the scheme)."""
    codes = payload.get("grades") or []
    prefix = ALL_PREFIX if choice.startswith(ALL_PREFIX) else GRADE_PREFIX
    digits = choice[len(prefix):]
    if not choice.startswith(prefix) or not digits.isdigit() or int(digits) >= len(codes):
        return None
    code = codes[int(digits)]
    return code if basis.scheme.grade(code) is not None else None


def answer(session: Session, basis: EvaluationBasis, actor: Actor, pending_id: int,
           choice: str) -> Saved | RoundClosed | Refused:
    """A pressed answer: raise/drop the card, or the grade; then what comes next."""
    asked = _asked(session, basis, actor, pending_id)
    if not isinstance(asked, _Asked):
        return asked
    question = asked.todo.questions[asked.index]
    payload = asked.action.payload
    try:
        if isinstance(question, CardQuestion):
            if choice not in set(Choice):
                return Refused(Refusal.BAD_CHOICE)
            ev.decide_card(session, asked.rnd, asked.member, question.card.card.id, CARD_CHOICES[Choice(choice)],
                           tz=basis.tz)
        else:
            grade = _grade_code(payload, choice, basis)
            if grade is None:
                return Refused(Refusal.BAD_CHOICE)
            for aspect in _aspects_to_grade(session, basis, asked, question, all_at_once=choice.startswith(ALL_PREFIX)):
                ev.rate_department(session, asked.rnd, asked.member, question.department, aspect, grade,
                                   village_id=asked.member.village_id)
    except NotPermitted:
        return Refused(Refusal.NOT_COMMITTEE)
    except NotFound:
        return Refused(Refusal.STALE)
    except InvalidInput:  # the round closed at this very moment
        return RoundClosed(ev.round_label(asked.rnd))
    first_time = asked.index not in asked.todo.answered
    shown = _answered_screen(session, basis, asked, pending_id)
    upcoming = next_screen(session, basis, asked.member, asked.rnd, actor.chat_id) if first_time else None
    if isinstance(upcoming, Refused):  # cannot happen after a saved answer (the agreement was there a moment ago)
        upcoming = None
    return Saved(shown, first_time, upcoming)


def _aspects_to_grade(session: Session, basis: EvaluationBasis, asked: _Asked, question: RatingQuestion, *,
                      all_at_once: bool) -> list[str]:
    """This question's aspect; with the all-at-once button also the department's aspects not graded yet (a grade
    given before is never overwritten by it)."""
    if not all_at_once:
        return [question.aspect.code]
    graded = {r.aspect_code for r in ev.ratings(session, asked.rnd, asked.member.village_id)
              if r.department == question.department}
    return [question.aspect.code, *(a.code for a in basis.scheme.aspects
                                    if a.code != question.aspect.code and a.code not in graded)]


def _answered_screen(session: Session, basis: EvaluationBasis, asked: _Asked, pending_id: int) -> Question:
    """The question as it stands now, with its recorded answer."""
    village_id = asked.member.village_id
    assert village_id is not None  # a committee's question
    todo = _todo(session, basis, asked.rnd, village_id)
    index = _index_of(todo, asked.action.payload)
    screen = _screen(basis, asked.rnd, todo, asked.index if index is None else index, pending_id)
    if isinstance(screen, RatingScreen):
        given = {(r.department, r.aspect_code): r.grade_code for r in ev.ratings(session, asked.rnd, village_id)}
        code = given.get((screen.department, str(asked.action.payload.get("aspect"))))
        grade = basis.scheme.grade(code) if code else None
        screen = replace(screen, grade=grade.label if grade else None)
    return screen


def reopen(session: Session, basis: EvaluationBasis, actor: Actor, pending_id: int) -> Question | RoundClosed | Refused:
    """改 under an answered question: the question again (with the answer it has), to answer it anew."""
    asked = _asked(session, basis, actor, pending_id)
    if not isinstance(asked, _Asked):
        return asked
    return _answered_screen(session, basis, asked, pending_id)


__all__ = ["ALL_PREFIX", "CARD_CHOICES", "GRADE_PREFIX", "KIND", "STEP_TTL", "CardScreen", "Choice", "Finished", "Question",
           "RatingScreen", "Refusal", "Refused", "RoundClosed", "Saved", "Screen", "answer", "finished",
           "next_screen", "reopen", "resume"]
