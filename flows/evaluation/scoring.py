"""The departments' scoring form for a round, and its import: all rows or none.

    form = score_form_for(session, rnd, basis)                  # what write_score_form(form) turns into XLSX
    outcome = import_score_form(session, rnd, actor, data, basis)
    outcome.errors            # sheet:row errors; when there are any, nothing was saved
    outcome.scores, outcome.bonuses   # how many were saved
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from flows.evaluation.basis import EvaluationBasis
from flows.evaluation.progress import town_villages
from flows.evaluation.score_form import DepartmentForm, FormLine, RowError, ScoreForm, read_score_form
from storage import evaluation as ev
from storage.errors import NotPermitted
from storage.models import EvaluationRound, ScoreSource
from texts import evaluation as T


def score_form_for(session: Session, rnd: EvaluationRound, basis: EvaluationBasis) -> ScoreForm:
    """One sheet per commissioning department: each village of the town × each item the department commissioned."""
    terms = basis.require_town(rnd.town.code)
    villages = town_villages(session, rnd.town_id)
    departments = tuple(
        DepartmentForm(department, tuple(FormLine(v.code, v.name, i.item_id, i.title, i.weight)
                                         for v in villages for i in terms.items_of(department)))
        for department in terms.departments())
    return ScoreForm(rnd.town.code, rnd.town.name, rnd.code, ev.round_label(rnd), terms.bonus_max, departments)


@dataclass(frozen=True)
class ImportOutcome:
    errors: tuple[RowError, ...]
    scores: int = 0
    bonuses: int = 0

    @property
    def saved(self) -> bool:
        return not self.errors


def import_score_form(session: Session, rnd: EvaluationRound, actor: ev.Actor, data: bytes,
                      basis: EvaluationBasis) -> ImportOutcome:
    """Check every row of a filled form; save them all (source xlsx) only if none is wrong.

    NotPermitted unless `actor` manages the town (the CLI, the town's bureau, an admin)."""
    if not ev.is_manager(actor, rnd.town_id):
        raise NotPermitted(T.NOT_BUREAU)
    result = read_score_form(data, score_form_for(session, rnd, basis))
    if result.errors:
        return ImportOutcome(result.errors)
    villages = {v.code: v.id for v in town_villages(session, rnd.town_id)}
    for entry in result.scores:
        ev.score_item(session, rnd, actor, villages[entry.village_code], entry.item_id, entry.department,
                      entry.score, source=ScoreSource.XLSX)
    for bonus in result.bonuses:
        ev.give_bonus(session, rnd, actor, villages[bonus.village_code], bonus.department, bonus.points,
                      bonus.reason, bonus_max=basis.terms.bonus_max, source=ScoreSource.XLSX)
    return ImportOutcome((), len(result.scores), len(result.bonuses))


__all__ = ["ImportOutcome", "import_score_form", "score_form_for"]
