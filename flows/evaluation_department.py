"""The departments' side of the two-way evaluation (部门为各村评分), without Telegram.

    screen = next_screen(session, basis, actor)                   # ScoreQuestion | BonusQuestion | Finished | Refused
    result = press(session, basis, actor, pending_id, "95")       # Answered | Typing | Refused
    result = press(session, basis, actor, pending_id, Choice.TYPE, message_id)   # ✏️: the answer comes as text
    result = typed(session, basis, actor, "87.5")                 # Answered | Invalid | NothingWaiting | Refused
    attach_message(session, actor, typing_id, message_id)        # the message a typed answer belongs to
    cancel_typed(session, actor)                                  # /cancel: True if a typed answer was awaited

A department member scores each village of the town on each agreed item the department commissioned
(basis.item_of), in flows.evaluation.progress.department_todo's order (village by village, items in the agreement's
order), and after a village's last item is asked for its bonus (加分, optional, with a reason). What is answered
is read from the database, so /evaluation resumes at the next unanswered question.

Each question asked is one PendingAction (kind QUESTION) naming it (round, village, item; BONUS for the bonus):
its buttons keep meaning that question, and pressing an older one again changes that answer while the round is
open. A typed answer waits in a PendingAction of kind TYPED (one per chat), armed by ✏️ 其他分数 and by a bonus
question (a bonus always comes as text: points, then the reason).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from flows import Actor
from flows.evaluation.basis import EvaluationBasis
from flows.evaluation.dossier import weighted_score
from flows.evaluation.dossier_model import ItemScore
from flows.evaluation.progress import DepartmentTodo, ScoreTask, department_todo
from knowledge.evaluation_terms import AgreedItem, AgreementTerms
from storage import evaluation as ev
from storage import pending
from storage.errors import InvalidInput, NotFound, NotPermitted
from storage.members import get_member
from storage.models import ROLE_DEPARTMENT, EvaluationRound, Member, PendingAction, RoundStatus, ScoreSource, Village
from texts.evaluation_department import NO_BONUS_WORDS

QUESTION = "eval_department"
TYPED = "eval_department_typed"
# Long enough to outlive any round (a half-year and its deadline); the round's status is what makes it stale.
QUESTION_TTL = timedelta(days=400)
TYPED_TTL = timedelta(days=1)
BONUS = ""  # the item of a village's bonus question
SCORE_BUTTONS = (100, 95, 90, 85, 80, 75, 70, 60)
REASON_MAX = 500

NUMBER = r"[+-]?\d+(?:\.\d+)?"
SCORE_RE = re.compile(rf"({NUMBER})\s*分?")
# The points end where a space, 分, a separator or the (Chinese) reason begins: "1e9 很好" is no bonus of 1 point.
BONUS_RE = re.compile(rf"({NUMBER})(?=$|\s|分|[,，:：、;；.。]|[\u4e00-\u9fff])\s*分?\s*[,，:：、;；.。]?\s*(.*)", re.S)
TRAILING = "。.!！~～ "


class Choice(StrEnum):
    """A button other than a score (a score button carries the score itself)."""

    TYPE = "t"  # ✏️ 其他分数 / ✏️ 填写加分
    NO_BONUS = "n"  # 无加分


class Refusal(StrEnum):
    NOT_DEPARTMENT = "not_department"  # not registered, or not department staff
    NO_ROUND = "no_round"  # the town has no open round
    NO_AGREEMENT = "no_agreement"  # the round's town has no agreement in the knowledge base
    NO_ITEMS = "no_items"  # the department commissioned none of the agreed items
    STALE = "stale"  # the question's step is gone
    NOT_YOURS = "not_yours"
    ROUND_CLOSED = "round_closed"
    NOT_PERMITTED = "not_permitted"  # moved to another town or department since the question was sent
    BAD_CHOICE = "bad_choice"


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    detail: str = ""  # NO_ITEMS: the department; ROUND_CLOSED: the round's label


class Problem(StrEnum):
    """Why a typed answer was not taken (the step keeps waiting)."""

    NOT_A_SCORE = "not_a_score"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    NOT_A_BONUS = "not_a_bonus"
    BONUS_OUT_OF_RANGE = "bonus_out_of_range"
    BONUS_NEEDS_REASON = "bonus_needs_reason"


@dataclass(frozen=True)
class Invalid:
    problem: Problem
    text: str  # what was typed (trimmed)
    bonus_max: float = 0.0
    points: float = 0.0  # BONUS_NEEDS_REASON: the points typed


@dataclass(frozen=True)
class Bonus:
    points: float
    reason: str


@dataclass(frozen=True)
class ScoreQuestion:
    pending_id: int
    department: str
    round_label: str
    village: str
    item_id: str
    title: str
    weight: int
    number: int  # 1-based position among the department's scores
    total: int
    score: float | None  # the score given, None while unanswered


@dataclass(frozen=True)
class BonusQuestion:
    pending_id: int
    department: str
    round_label: str
    village: str
    bonus_max: float
    bonus: Bonus | None  # None while unanswered
    typing_id: int | None = None  # the typed step armed with it (see attach_message)


@dataclass(frozen=True)
class VillageResult:
    village: str
    weighted: float | None  # Σ weight·score / Σ weight of the department's items (None: none scored)
    bonus: Bonus | None


@dataclass(frozen=True)
class Finished:
    department: str
    round_label: str
    villages: tuple[VillageResult, ...]


Question = ScoreQuestion | BonusQuestion
Screen = ScoreQuestion | BonusQuestion | Finished


@dataclass(frozen=True)
class Intro:
    """The first screen of /evaluation, with where the department stands."""

    department: str
    round_label: str
    deadline: date
    done: int
    total: int
    screen: Screen


@dataclass(frozen=True)
class Answered:
    """The answer is saved; `question` shows it."""

    question: Question
    first_time: bool  # False: an earlier answer was changed
    next: Screen | None  # what to ask now (None when an earlier answer was changed and some are still open)
    message_id: int | None = None  # a typed answer: the question's message, to show the answer there


@dataclass(frozen=True)
class Typing:
    """The answer to `question` comes as the next text."""

    question: Question


@dataclass(frozen=True)
class NothingWaiting:
    """No typed answer is awaited from this user in this chat (any more)."""


# ---------------------------------------------------------------------------------------------- parsing what is typed


def _clean(text: str) -> str:
    """Full-width digits and spaces to ASCII (９５ -> 95), outer blanks and closing punctuation off."""
    return unicodedata.normalize("NFKC", text or "").strip().rstrip(TRAILING).strip()


def parse_score(text: str) -> float | Problem:
    """A typed 百分制 score: '95', '95分', '９５', '87.5' -> the score (one decimal); a Problem otherwise."""
    match = SCORE_RE.fullmatch(_clean(text))
    if match is None:
        return Problem.NOT_A_SCORE
    score = float(match.group(1))
    if not 0 <= score <= 100:
        return Problem.SCORE_OUT_OF_RANGE
    return round(score, 1)


def parse_bonus(text: str, bonus_max: float) -> Bonus | Problem:
    """A typed bonus: points, then the reason ('3 组织了招聘会'); '无加分' or '0' is none."""
    cleaned = _clean(text)
    if cleaned in NO_BONUS_WORDS:
        return Bonus(0.0, "")
    match = BONUS_RE.fullmatch(cleaned)
    if match is None:
        return Problem.NOT_A_BONUS
    points = float(match.group(1))
    if not 0 <= points <= bonus_max:
        return Problem.BONUS_OUT_OF_RANGE
    reason = " ".join(match.group(2).split())[:REASON_MAX]
    if points > 0 and not reason:
        return Problem.BONUS_NEEDS_REASON
    return Bonus(round(points, 1), reason)


# ---------------------------------------------------------------------------------------------- who and which round


@dataclass(frozen=True)
class Scope:
    member: Member
    rnd: EvaluationRound
    terms: AgreementTerms

    @property
    def department(self) -> str:
        return self.member.department or ""


def _staff(session: Session, actor: Actor) -> Member | Refused:
    member = get_member(session, actor.user_id)
    if member is None or member.role != ROLE_DEPARTMENT or member.town_id is None or not member.department:
        return Refused(Refusal.NOT_DEPARTMENT)
    return member


def _scope(basis: EvaluationBasis, member: Member, rnd: EvaluationRound) -> Scope | Refused:
    try:
        terms = basis.require_town(rnd.town.code)
    except NotFound:
        return Refused(Refusal.NO_AGREEMENT)
    if not terms.items_of(member.department or ""):
        return Refused(Refusal.NO_ITEMS, member.department or "")
    return Scope(member, rnd, terms)


def _todo(session: Session, scope: Scope) -> DepartmentTodo:
    return department_todo(session, scope.rnd, scope.terms, scope.department)


# ---------------------------------------------------------------------------------------------- asking


def start(session: Session, basis: EvaluationBasis, actor: Actor) -> Intro | Refused:
    """/evaluation for department staff: where they stand, and the next unanswered question (or the summary)."""
    member = _staff(session, actor)
    if isinstance(member, Refused):
        return member
    rnd = ev.current_round(session, member.town_id) if member.town_id is not None else None
    if rnd is None:
        return Refused(Refusal.NO_ROUND)
    scope = _scope(basis, member, rnd)
    if isinstance(scope, Refused):
        return scope
    todo = _todo(session, scope)
    pending.delete_pending(session, chat_id=actor.chat_id, kind=TYPED)  # resuming: no older prompt takes the text
    screen = _next(session, scope, todo, actor.chat_id)
    return Intro(scope.department, ev.round_label(rnd), rnd.deadline, todo.done, todo.total, screen)


def next_screen(session: Session, basis: EvaluationBasis, actor: Actor) -> Screen | Refused:
    """The next unanswered question of the town's open round (or the summary)."""
    intro = start(session, basis, actor)
    return intro if isinstance(intro, Refused) else intro.screen


def _villages(todo: DepartmentTodo) -> list[tuple[Village, list[ScoreTask]]]:
    """The tasks village by village, in the todo's order."""
    grouped: dict[int, tuple[Village, list[ScoreTask]]] = {}
    for task in todo.tasks:
        grouped.setdefault(task.village.id, (task.village, []))[1].append(task)
    return list(grouped.values())


def _next(session: Session, scope: Scope, todo: DepartmentTodo, chat_id: int) -> Screen:
    """A village's unscored items first, then its bonus; the next village after that."""
    for village, tasks in _villages(todo):
        task = next((t for t in tasks if t.score is None), None)
        if task is not None:
            return _score_question(session, scope, todo, chat_id, village, task.item)
        if village.id not in todo.bonuses:
            return _bonus_question(session, scope, todo, chat_id, village, arm=True)
    return _finished(scope, todo)


def _finished(scope: Scope, todo: DepartmentTodo) -> Finished:
    results = []
    for village, tasks in _villages(todo):
        weighted = weighted_score([ItemScore(t.item.item_id, t.item.title, t.item.department_key, t.item.weight,
                                             t.score) for t in tasks])
        given = todo.bonuses.get(village.id)
        results.append(VillageResult(village.name, weighted, Bonus(*given) if given and given[0] > 0 else None))
    return Finished(scope.department, ev.round_label(scope.rnd), tuple(results))


def _step(session: Session, scope: Scope, chat_id: int, village_id: int, item_id: str) -> int:
    """The pending step of this question: the one sent before (asked again on /evaluation), else a new one."""
    payload = {"round_id": scope.rnd.id, "village_id": village_id, "item_id": item_id}
    for action in pending.list_pending(session, member_id=scope.member.id, kind=QUESTION):
        if action.payload == payload and action.chat_id == chat_id:
            return action.id
    return pending.create_pending(session, kind=QUESTION, member_id=scope.member.id, chat_id=chat_id,
                                  ttl=QUESTION_TTL, payload=payload).id


def _score_question(session: Session, scope: Scope, todo: DepartmentTodo, chat_id: int, village: Village,
                    item: AgreedItem, pending_id: int | None = None) -> ScoreQuestion:
    number, task = next((i, t) for i, t in enumerate(todo.tasks, 1)
                        if t.village.id == village.id and t.item.item_id == item.item_id)
    if pending_id is None:
        pending_id = _step(session, scope, chat_id, village.id, item.item_id)
    return ScoreQuestion(pending_id, scope.department, ev.round_label(scope.rnd), village.name, item.item_id,
                         item.title, item.weight, number, todo.total, task.score)


def _bonus_question(session: Session, scope: Scope, todo: DepartmentTodo, chat_id: int, village: Village, *,
                    arm: bool, pending_id: int | None = None) -> BonusQuestion:
    """The village's bonus question; `arm`: its answer may be typed right away (a bonus always is)."""
    if pending_id is None:
        pending_id = _step(session, scope, chat_id, village.id, BONUS)
    given = todo.bonuses.get(village.id)
    typing_id = _arm(session, scope.member, chat_id, pending_id).id if arm else None
    return BonusQuestion(pending_id, scope.department, ev.round_label(scope.rnd), village.name,
                         scope.terms.bonus_max, Bonus(*given) if given else None, typing_id)


def _arm(session: Session, member: Member, chat_id: int, question_id: int,
         message_id: int | None = None) -> PendingAction:
    """Wait for a typed answer to this question (the only one this chat waits for)."""
    pending.delete_pending(session, chat_id=chat_id, kind=TYPED)
    return pending.create_pending(session, kind=TYPED, member_id=member.id, chat_id=chat_id, ttl=TYPED_TTL,
                                  payload={"question_id": question_id, "message_id": message_id})


def attach_message(session: Session, actor: Actor, typing_id: int, message_id: int) -> None:
    """The message of the question a typed answer belongs to (known only once it was sent)."""
    member = get_member(session, actor.user_id)
    if member is None:
        return
    try:
        action = pending.get_pending(session, typing_id, member_id=member.id, chat_id=actor.chat_id, kind=TYPED)
    except NotPermitted:
        return
    if action is not None:
        pending.update_pending(session, action, {**action.payload, "message_id": message_id})


# ---------------------------------------------------------------------------------------------- answering


@dataclass(frozen=True)
class Asked:
    """A question step, checked: whose, which round, which village and item."""

    scope: Scope
    action: PendingAction
    village: Village
    item: AgreedItem | None  # None: the bonus question


def _asked(session: Session, basis: EvaluationBasis, actor: Actor, question_id: int) -> Asked | Refused:
    member = _staff(session, actor)
    if isinstance(member, Refused):
        return member
    try:
        action = pending.get_pending(session, question_id, member_id=member.id, chat_id=actor.chat_id, kind=QUESTION)
    except NotPermitted:
        return Refused(Refusal.NOT_YOURS)
    if action is None:
        return Refused(Refusal.STALE)
    payload: dict[str, Any] = action.payload
    rnd = session.get(EvaluationRound, payload.get("round_id"))
    village = session.get(Village, payload.get("village_id"))
    if rnd is None or village is None:
        return Refused(Refusal.STALE)
    if rnd.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_CLOSED, ev.round_label(rnd))
    if rnd.town_id != member.town_id or village.town_id != rnd.town_id:
        return Refused(Refusal.NOT_PERMITTED)
    scope = _scope(basis, member, rnd)
    if isinstance(scope, Refused):
        return Refused(Refusal.NOT_PERMITTED) if scope.reason == Refusal.NO_ITEMS else scope
    item_id = str(payload.get("item_id") or BONUS)
    item = basis.item_of(scope.department, item_id) if item_id != BONUS else None
    if item_id != BONUS and item is None:
        return Refused(Refusal.NOT_PERMITTED)
    return Asked(scope, action, village, item)


def press(session: Session, basis: EvaluationBasis, actor: Actor, question_id: int, choice: str,
          message_id: int | None = None) -> Answered | Typing | Refused:
    """A button under a question: a score, 无加分, or ✏️ (the answer comes as text; `message_id`: the question's)."""
    asked = _asked(session, basis, actor, question_id)
    if isinstance(asked, Refused):
        return asked
    todo = _todo(session, asked.scope)
    if choice == Choice.TYPE:
        _arm(session, asked.scope.member, actor.chat_id, question_id, message_id)
        return Typing(_question(session, asked, todo, actor.chat_id))
    if asked.item is None:
        if choice != Choice.NO_BONUS:
            return Refused(Refusal.BAD_CHOICE)
        return _save(session, asked, todo, actor, Bonus(0.0, ""))
    score = int(choice) if choice.isascii() and choice.isdigit() else None
    if score not in SCORE_BUTTONS:
        return Refused(Refusal.BAD_CHOICE)
    return _save(session, asked, todo, actor, float(score))


def waiting_for_typed(session: Session, actor: Actor) -> bool:
    """Does a question wait for this user to type its answer, in this chat? (one indexed look-up)"""
    return pending.latest_pending(session, chat_id=actor.chat_id, kind=TYPED) is not None


def typed(session: Session, basis: EvaluationBasis, actor: Actor,
          text: str) -> Answered | Invalid | NothingWaiting | Refused:
    """The text while a question waits for a typed score or bonus."""
    action = pending.latest_pending(session, chat_id=actor.chat_id, kind=TYPED)
    member = get_member(session, actor.user_id)
    if action is None or member is None or member.id != action.member_id:
        return NothingWaiting()
    asked = _asked(session, basis, actor, int(action.payload.get("question_id") or 0))
    if isinstance(asked, Refused):
        pending.delete_pending(session, chat_id=actor.chat_id, kind=TYPED)  # its question is gone: stop waiting
        return asked
    shown = _clean(text)[:40]
    answer: float | Bonus | Problem
    if asked.item is None:
        answer = parse_bonus(text, asked.scope.terms.bonus_max)
    else:
        answer = parse_score(text)
    if isinstance(answer, Problem):
        points = BONUS_RE.match(_clean(text))
        return Invalid(answer, shown, asked.scope.terms.bonus_max,
                       float(points.group(1)) if answer == Problem.BONUS_NEEDS_REASON and points else 0.0)
    message_id = action.payload.get("message_id")
    pending.delete_pending(session, chat_id=actor.chat_id, kind=TYPED)
    saved = _save(session, asked, _todo(session, asked.scope), actor, answer)
    if isinstance(saved, Refused):
        return saved
    return Answered(saved.question, saved.first_time, saved.next, message_id if isinstance(message_id, int) else None)


def cancel_typed(session: Session, actor: Actor) -> bool:
    """/cancel: stop waiting for a typed answer in this chat (the question and its buttons stay)."""
    return pending.delete_pending(session, chat_id=actor.chat_id, kind=TYPED) > 0


def _question(session: Session, asked: Asked, todo: DepartmentTodo, chat_id: int) -> Question:
    if asked.item is None:
        return _bonus_question(session, asked.scope, todo, chat_id, asked.village, arm=False,
                               pending_id=asked.action.id)
    return _score_question(session, asked.scope, todo, chat_id, asked.village, asked.item, pending_id=asked.action.id)


def _save(session: Session, asked: Asked, todo: DepartmentTodo, actor: Actor,
          answer: float | Bonus) -> Answered | Refused:
    scope, village = asked.scope, asked.village
    try:
        if isinstance(answer, Bonus):
            first_time = village.id not in todo.bonuses
            ev.give_bonus(session, scope.rnd, scope.member, village.id, scope.department, answer.points,
                          answer.reason, bonus_max=scope.terms.bonus_max, source=ScoreSource.BOT)
        else:
            assert asked.item is not None
            item_id = asked.item.item_id
            first_time = all(t.score is None for t in todo.tasks
                             if t.village.id == village.id and t.item.item_id == item_id)
            ev.score_item(session, scope.rnd, scope.member, village.id, item_id, scope.department, answer,
                          source=ScoreSource.BOT)
    except NotPermitted:
        return Refused(Refusal.NOT_PERMITTED)
    except InvalidInput:  # the round closed meanwhile (the values were checked above)
        return Refused(Refusal.ROUND_CLOSED, ev.round_label(scope.rnd))
    session.flush()
    # the question is answered: it waits for no typed answer any more (one awaited for another question still does)
    for waiting in pending.list_pending(session, member_id=scope.member.id, kind=TYPED):
        if waiting.payload.get("question_id") == asked.action.id:
            pending.take_pending(session, waiting.id, member_id=scope.member.id)
    todo = _todo(session, scope)
    question = _question(session, asked, todo, actor.chat_id)
    if first_time:
        return Answered(question, True, _next(session, scope, todo, actor.chat_id))
    # an earlier answer changed: the question asked now still stands; once all is done, the summary changed
    everything = todo.finished and all(village_id in todo.bonuses for village_id in {t.village.id for t in todo.tasks})
    return Answered(question, False, _finished(scope, todo) if everything else None)


__all__ = ["BONUS", "QUESTION", "SCORE_BUTTONS", "TYPED", "Answered", "Bonus", "BonusQuestion", "Choice",
           "Finished", "Intro", "Invalid", "NothingWaiting", "Problem", "Question", "Refusal", "Refused",
           "ScoreQuestion", "Screen", "Typing", "VillageResult", "attach_message", "cancel_typed", "next_screen",
           "parse_bonus", "parse_score", "press", "start", "typed", "waiting_for_typed"]
