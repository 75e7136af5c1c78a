"""A round's dossier from the database: per village and per department, every figure the bureau files.

    d = build_dossier(session, rnd, terms, scheme, survey_aspects, tz="Asia/Shanghai")
    dossier_xlsx(d), dossier_pdf(d, font_path)      # flows.evaluation.dossier_xlsx / dossier_pdf render it
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.evaluation.dossier_model import (
    Bonus,
    CardDecision,
    DepartmentSection,
    Dossier,
    FeeLine,
    ItemScore,
    Rating,
    RedCardLine,
    SatisfactionLine,
    VillageSection,
)
from flows.evaluation.progress import committee_departments, round_progress, town_villages
from knowledge.evaluation_terms import AgreementTerms, EvaluationScheme
from storage import evaluation as ev
from storage.models import EvaluationRound, RoundStatus, SurveyAnswer, SurveyPeriod, SurveyResponse, Village, utcnow
from storage.surveys import MIN_RESPONSES
from storage.surveys import Aspect as SurveyAspect
from storage.timeutil import local_date
from texts import evaluation as T


def weighted_score(scored: Sequence[ItemScore]) -> float | None:
    """Σ weight·score / Σ weight over the items that were scored; None if none was."""
    rated = [s for s in scored if s.score is not None]
    weights = sum(s.weight for s in rated)
    if not rated or weights == 0:
        return None
    return round(sum(s.weight * (s.score or 0.0) for s in rated) / weights, 2)


def _satisfaction(session: Session, rnd: EvaluationRound, village_id: int,
                  aspects: Sequence[SurveyAspect]) -> tuple[int, bool, tuple[SatisfactionLine, ...]]:
    overlapping = select(SurveyPeriod.id).where(SurveyPeriod.starts_on <= rnd.ends_on,
                                                SurveyPeriod.ends_on >= rnd.starts_on)
    responses = int(session.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.village_id == village_id, SurveyResponse.period_id.in_(overlapping))) or 0)
    rows = dict((code, (int(n), float(total))) for code, n, total in session.execute(
        select(SurveyAnswer.aspect_code, func.count(), func.sum(SurveyAnswer.score))
        .where(SurveyAnswer.village_id == village_id, SurveyAnswer.period_id.in_(overlapping))
        .group_by(SurveyAnswer.aspect_code)).all())
    suppressed = responses < MIN_RESPONSES
    lines = []
    for aspect in aspects:
        n, total = rows.get(aspect.code, (0, 0.0))
        mean = None if suppressed or n < MIN_RESPONSES else round(total / n, 2)
        lines.append(SatisfactionLine(aspect.label, n, mean))
    return responses, suppressed, tuple(lines)


def build_dossier(session: Session, rnd: EvaluationRound, terms: AgreementTerms, scheme: EvaluationScheme,
                  survey_aspects: Sequence[SurveyAspect], *, item_titles: dict[str, str], tz: str,
                  now: datetime | None = None) -> Dossier:
    """Every village's and department's section of the round (`item_titles`: item id -> title, for red cards)."""
    villages = town_villages(session, rnd.town_id)
    names = {v.id: v.name for v in villages}
    all_cards = ev.round_cards(session, rnd, tz=tz)
    scores = {(s.village_id, s.item_id): s.score for s in ev.scores(session, rnd)}
    bonuses = defaultdict(list)
    for b in ev.bonuses(session, rnd):
        if b.points > 0:
            bonuses[b.village_id].append(Bonus(b.department, b.points, b.reason))
    grades = {(r.village_id, r.department, r.aspect_code): r.grade_code for r in ev.ratings(session, rnd)}
    paid: Counter[tuple[int, str]] = Counter()
    for p in ev.payments(session, rnd):
        paid[(p.village_id, p.item_id)] += p.amount_fen

    def card_line(card: ev.RoundCard) -> RedCardLine:
        decision = CardDecision(card.decision.value) if card.decision is not None else CardDecision.UNDECIDED
        return RedCardLine(
            village_name=names.get(card.card.village_id, ""), department=card.card.department_key or card.card.department,
            item_id=card.card.item_id, item_title=item_titles.get(card.card.item_id, ""), count=card.reports,
            first_seen=local_date(card.first_seen, tz), last_seen=local_date(card.last_seen, tz),
            evidence=card.evidence, decision=decision)

    def fee_line(village: Village, item_index: int) -> FeeLine:
        item = terms.items[item_index]
        score = scores.get((village.id, item.item_id))
        due = terms.due_fen(item, score)
        got = paid.get((village.id, item.item_id), 0)
        return FeeLine(village.name, item.item_id, item.title, item.department_key, terms.round_fen(item), score,
                       due, got, None if due is None else due - got)

    sections = []
    fee_lines: list[FeeLine] = []
    all_ratings: list[Rating] = []
    card_lines: list[RedCardLine] = []
    for village in villages:
        item_scores = tuple(ItemScore(i.item_id, i.title, i.department_key, i.weight, scores.get((village.id, i.item_id)))
                            for i in terms.items)
        weighted = weighted_score(item_scores)
        extra = tuple(bonuses.get(village.id, ()))
        bonus_total = round(sum(b.points for b in extra), 2)
        cards = [c for c in all_cards if c.card.village_id == village.id]
        ratings = tuple(
            Rating(village.name, department, tuple(
                (a.label, g.label if (g := scheme.grade(grades.get((village.id, department, a.code), ""))) else None)
                for a in scheme.aspects))
            for department in committee_departments(terms, cards))
        lines = tuple(fee_line(village, index) for index in range(len(terms.items)))
        responses, suppressed, satisfaction = _satisfaction(session, rnd, village.id, survey_aspects)
        village_cards = tuple(card_line(c) for c in cards)
        due_total = sum(line.due_fen for line in lines if line.due_fen is not None)
        paid_total = sum(got for (vid, _), got in paid.items() if vid == village.id)
        outstanding = sum(line.outstanding_fen for line in lines if line.outstanding_fen is not None)
        sections.append(VillageSection(
            code=village.code, name=village.name, item_scores=item_scores, weighted_score=weighted,
            bonuses=extra, bonus_total=bonus_total,
            total_score=None if weighted is None else round(weighted + bonus_total, 2),
            ratings=ratings, red_cards=village_cards, satisfaction_n=responses, satisfaction_suppressed=suppressed,
            satisfaction=satisfaction, fees=lines, due_fen=due_total, paid_fen=paid_total,
            outstanding_fen=outstanding))
        fee_lines.extend(lines)
        all_ratings.extend(ratings)
        card_lines.extend(village_cards)

    departments = []
    raised = [c for c in card_lines if c.decision is CardDecision.RAISED]
    for name in dict.fromkeys([*terms.departments(), *(c.department for c in raised)]):
        received = tuple(r for r in all_ratings if r.department == name)
        counts = tuple(
            (aspect.label, tuple((g.label, sum(1 for r in received for label, got in r.grades
                                              if label == aspect.label and got == g.label))
                                 for g in scheme.grades))
            for aspect in scheme.aspects)
        owed = tuple(line for line in fee_lines if line.department == name)
        departments.append(DepartmentSection(
            name=name, red_cards=tuple(c for c in raised if c.department == name), ratings=received,
            grade_counts=counts, fees=owed,
            due_fen=sum(line.due_fen for line in owed if line.due_fen is not None),
            paid_fen=sum(line.paid_fen for line in owed),
            outstanding_fen=sum(line.outstanding_fen for line in owed if line.outstanding_fen is not None)))

    progress = round_progress(session, rnd, terms, scheme, tz=tz)
    notes = tuple(
        [T.DOSSIER_UNFINISHED_VILLAGE.format(name=v.name, done=s.done, total=s.total)
         for v, s in progress.villages if not s.finished]
        + [T.DOSSIER_UNFINISHED_DEPARTMENT.format(name=s.name, done=s.done, total=s.total)
           for s in progress.departments if not s.finished])
    return Dossier(
        town_code=rnd.town.code, town_name=rnd.town.name, round_code=rnd.code, round_label=ev.round_label(rnd),
        starts_on=rnd.starts_on, ends_on=rnd.ends_on, deadline=rnd.deadline, closed=rnd.status == RoundStatus.CLOSED,
        generated_at=now or utcnow(), agreement_name=terms.name, villages=tuple(sections),
        departments=tuple(departments), notes=notes)


__all__ = ["build_dossier", "weighted_score"]
