"""What each side of a round still has to do: the committee's questions, the department's scores, and who has
not finished (the reminders and `evaluation status`).

    todo = committee_todo(session, rnd, terms, scheme, village_id)
    todo.next_question        # CardQuestion | RatingQuestion | None (finished)
    state = round_progress(session, rnd, terms, scheme)   # every village and department: done / total
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.evaluation_terms import AgreedItem, AgreementTerms, Aspect, EvaluationScheme
from storage import evaluation as ev
from storage.models import EvaluationRound, Village


@dataclass(frozen=True)
class CardQuestion:
    """Raise or drop one confirmed candidate."""

    department: str
    card: ev.RoundCard


@dataclass(frozen=True)
class RatingQuestion:
    """Grade one department on one aspect."""

    department: str
    aspect: Aspect


Question = CardQuestion | RatingQuestion


@dataclass(frozen=True)
class CommitteeTodo:
    village_id: int
    departments: tuple[str, ...]
    questions: tuple[Question, ...]  # all of them, in the order they are asked
    answered: frozenset[int]  # indexes of questions answered

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def done(self) -> int:
        return len(self.answered)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def next_index(self) -> int | None:
        return next((i for i in range(self.total) if i not in self.answered), None)

    @property
    def next_question(self) -> Question | None:
        index = self.next_index
        return None if index is None else self.questions[index]


def committee_departments(terms: AgreementTerms, cards: list[ev.RoundCard]) -> tuple[str, ...]:
    """The departments a committee evaluates: those that commissioned agreed work, then those that pushed work
    down (a confirmed red card of the half-year), each once."""
    pushed = [c.card.department_key or c.card.department for c in cards]
    return tuple(dict.fromkeys([*terms.departments(), *pushed]))


def committee_todo(session: Session, rnd: EvaluationRound, terms: AgreementTerms, scheme: EvaluationScheme,
                   village_id: int, *, tz: str) -> CommitteeTodo:
    cards = ev.round_cards(session, rnd, village_id, tz=tz)
    departments = committee_departments(terms, cards)
    graded = {(r.department, r.aspect_code) for r in ev.ratings(session, rnd, village_id)}
    questions: list[Question] = []
    answered: set[int] = set()
    for department in departments:
        for card in cards:
            if (card.card.department_key or card.card.department) == department:
                if card.decision is not None:
                    answered.add(len(questions))
                questions.append(CardQuestion(department, card))
        for aspect in scheme.aspects:
            if (department, aspect.code) in graded:
                answered.add(len(questions))
            questions.append(RatingQuestion(department, aspect))
    return CommitteeTodo(village_id, departments, tuple(questions), frozenset(answered))


@dataclass(frozen=True)
class ScoreTask:
    village: Village
    item: AgreedItem
    score: float | None


@dataclass(frozen=True)
class DepartmentTodo:
    department: str
    tasks: tuple[ScoreTask, ...]  # per village (by code), then item, in the agreement's order
    bonuses: dict[int, tuple[float, str]]  # village id -> (points, reason)

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t.score is not None)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def next_task(self) -> ScoreTask | None:
        return next((t for t in self.tasks if t.score is None), None)


def town_villages(session: Session, town_id: int) -> list[Village]:
    return list(session.scalars(select(Village).where(Village.town_id == town_id).order_by(Village.code)))


def department_todo(session: Session, rnd: EvaluationRound, terms: AgreementTerms, department: str) -> DepartmentTodo:
    items = terms.items_of(department)
    given = {(s.village_id, s.item_id): s.score for s in ev.scores(session, rnd, department=department)}
    tasks = tuple(ScoreTask(village, item, given.get((village.id, item.item_id)))
                  for village in town_villages(session, rnd.town_id) for item in items)
    extra = {b.village_id: (b.points, b.reason) for b in ev.bonuses(session, rnd, department=department)}
    return DepartmentTodo(department, tasks, extra)


@dataclass(frozen=True)
class Standing:
    """One village's or department's progress in the round."""

    name: str
    done: int
    total: int

    @property
    def finished(self) -> bool:
        return self.done >= self.total


@dataclass(frozen=True)
class RoundProgress:
    villages: tuple[tuple[Village, Standing], ...]
    departments: tuple[Standing, ...]

    @property
    def unfinished_villages(self) -> list[Village]:
        return [v for v, s in self.villages if not s.finished]

    @property
    def unfinished_departments(self) -> list[str]:
        return [s.name for s in self.departments if not s.finished]


def round_progress(session: Session, rnd: EvaluationRound, terms: AgreementTerms, scheme: EvaluationScheme, *,
                   tz: str) -> RoundProgress:
    villages = []
    for village in town_villages(session, rnd.town_id):
        todo = committee_todo(session, rnd, terms, scheme, village.id, tz=tz)
        villages.append((village, Standing(village.name, todo.done, todo.total)))
    departments = []
    for department in terms.departments():
        dtodo = department_todo(session, rnd, terms, department)
        departments.append(Standing(department, dtodo.done, dtodo.total))
    return RoundProgress(tuple(villages), tuple(departments))


__all__ = ["CardQuestion", "CommitteeTodo", "DepartmentTodo", "Question", "RatingQuestion", "RoundProgress",
           "ScoreTask", "Standing", "committee_departments", "committee_todo", "department_todo", "round_progress",
           "town_villages"]
