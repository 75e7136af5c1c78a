"""Every figure of the dossier equals an independent count over the fixture, on SQLite and PostgreSQL.

The fixture is written through the same storage calls the bot and the CLI use; the expected figures are computed
here from the fixture's own lists and from the agreement file read as YAML, never from the code under test.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import yaml

from flows.evaluation.dossier import build_dossier
from flows.evaluation.dossier_model import CardDecision
from knowledge.loader import bundled_data_dir
from storage import evaluation as ev
from storage.models import CardChoice, EvaluationRound, SurveyAnswer, SurveyPeriod, SurveyResponse
from storage.redcards import confirm_red_card, record_red_card
from tests.evaluation.conftest import TZ

AGREEMENT = yaml.safe_load((bundled_data_dir() / "agreements" / "demo.yaml").read_text(encoding="utf-8"))
GRADES = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "差"}


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_every_dossier_figure_equals_an_independent_count(session, town, basis):
    rng = random.Random(20261202)
    rnd = session.get(EvaluationRound, town.round_id)
    assert rnd is not None
    villages = [town.villages[c] for c in ("DEMO01", "DEMO02", "DEMO03")]
    cadres = {"DEMO01": town.members["cadre1"], "DEMO02": town.members["cadre2"], "DEMO03": town.members["cadre3"]}
    items = AGREEMENT["items"]
    hr_items = [i for i, t in items.items() if t["department"] == "人社所"]  # the agreement's own words

    # scores: the bureau imports for every department (the CLI actor); DEMO03 is left unscored on purpose
    given: dict[tuple[str, str], float] = {}
    for village in villages[:2]:
        for item_id in items:
            if rng.random() < 0.8:
                score = round(rng.uniform(55, 100), 1)
                department = basis.terms.item(item_id).department_key  # type: ignore[union-attr]
                ev.score_item(session, rnd, "cli", village.id, item_id, department, score)
                given[(village.code, item_id)] = score
    ev.give_bonus(session, rnd, town.members["hr"], villages[0].id, "人社局", 3, "招聘会", bonus_max=5)
    ev.give_bonus(session, rnd, town.members["civil"], villages[0].id, "民政局", 1.5, "低保复核零差错", bonus_max=5)

    # red cards: DEMO01 three confirmed (two raised, one dropped), one candidate never confirmed, one of H1
    cards = []
    for department, text, item in (("人社局", "让收社保费", "C3"), ("镇政府", "让拆违建", "C1"), ("城管局", "让去执法", "C2")):
        card = record_red_card(session, village_id=villages[0].id, department=department, task_text=text,
                               item_id=item, member_id=cadres["DEMO01"].id,
                               now=datetime(2026, 8, 1, tzinfo=UTC), tz=TZ).card
        confirm_red_card(session, card.id, cadres["DEMO01"])
        cards.append(card)
    for extra in range(2):  # the 人社局 card reported twice more
        record_red_card(session, village_id=villages[0].id, department="人社局", task_text=f"又让收社保费{extra}",
                        item_id="C3", member_id=cadres["DEMO01"].id, now=datetime(2026, 9, 1 + extra, tzinfo=UTC), tz=TZ)
    record_red_card(session, village_id=villages[0].id, department="医保局", task_text="代收医保费",
                    member_id=cadres["DEMO01"].id, now=datetime(2026, 8, 2, tzinfo=UTC), tz=TZ)
    old = record_red_card(session, village_id=villages[1].id, department="人社局", task_text="上半年的",
                          item_id="C3", member_id=cadres["DEMO02"].id, now=datetime(2026, 3, 1, tzinfo=UTC), tz=TZ).card
    confirm_red_card(session, old.id, cadres["DEMO02"])
    decisions = {cards[0].id: CardChoice.RAISED, cards[1].id: CardChoice.RAISED, cards[2].id: CardChoice.DROPPED}
    for card_id, choice in decisions.items():
        ev.decide_card(session, rnd, cadres["DEMO01"], card_id, choice, tz=TZ)

    # ratings: DEMO01 and DEMO02 grade three departments on random aspects
    rated: dict[tuple[str, str, str], str] = {}
    for village in villages[:2]:
        for department in ("人社局", "民政局", "医保局"):
            for aspect in ("guidance", "service", "interference", "fees"):
                if rng.random() < 0.7:
                    grade = rng.choice(list(GRADES))
                    ev.rate_department(session, rnd, cadres[village.code], department, aspect, grade)
                    rated[(village.code, department, aspect)] = grade

    # payments, one of them on an item with no fixed fee (B16, 50元/件)
    paid = [("DEMO01", "B5", 300_000), ("DEMO01", "B5", 50_000), ("DEMO01", "B16", 20_000), ("DEMO02", "B1", 900_000)]
    for code, item_id, fen in paid:
        ev.record_payment(session, rnd, "cli", code, item_id, fen, date(2027, 1, 20))

    # satisfaction: Q4 overlaps the round, Q2 does not; DEMO02 has only 3 responses (suppressed)
    q4 = SurveyPeriod(code="2026-Q4", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31))
    q2 = SurveyPeriod(code="2026-Q2", starts_on=date(2026, 4, 1), ends_on=date(2026, 6, 30))
    session.add_all([q4, q2])
    session.flush()
    answers: dict[tuple[str, str], list[int]] = defaultdict(list)
    responses: Counter[str] = Counter()
    for village, count, period in ((villages[0], 7, q4), (villages[1], 3, q4), (villages[0], 4, q2)):
        for _ in range(count):
            response = SurveyResponse(village_id=village.id, period_id=period.id, day=period.starts_on)
            session.add(response)
            session.flush()
            for aspect in ("service", "democracy"):
                if aspect == "democracy" and rng.random() < 0.5:
                    continue
                score = rng.randint(1, 5)
                session.add(SurveyAnswer(response_id=response.id, aspect_code=aspect, score=score,
                                         village_id=village.id, period_id=period.id))
                if period is q4:
                    answers[(village.code, aspect)].append(score)
            if period is q4:
                responses[village.code] += 1
    session.flush()

    d = build_dossier(session, rnd, basis.terms, basis.scheme, basis.survey_aspects, item_titles=basis.item_titles,
                      tz=TZ, now=datetime(2027, 1, 21, tzinfo=UTC))

    by_code = {v.code: v for v in d.villages}
    for village in villages:
        section = by_code[village.code]
        scored = [(items[i].get("weight", 1), given[(village.code, i)]) for i in items if (village.code, i) in given]
        expected_weighted = round(sum(w * s for w, s in scored) / sum(w for w, _ in scored), 2) if scored else None
        assert section.weighted_score == expected_weighted
        bonus = {"DEMO01": 4.5}.get(village.code, 0)
        assert section.bonus_total == bonus
        assert section.total_score == (None if expected_weighted is None else round(expected_weighted + bonus, 2))
        # fees: half the yearly fee (fen) × score / 100, half up; paid as recorded
        expected_due = 0
        expected_outstanding = 0
        for line in section.fees:
            terms = items[line.item_id]
            got = sum(f for c, i, f in paid if c == village.code and i == line.item_id)
            assert line.paid_fen == got
            if "fee_yuan" not in terms:
                assert line.due_fen is None and line.outstanding_fen is None
                continue
            agreed = _half_up(Decimal(terms["fee_yuan"]) * 100 / 2)
            assert line.agreed_fen == agreed
            score = given.get((village.code, line.item_id))
            due = 0 if score is None else _half_up(Decimal(agreed) * Decimal(str(min(score, 100))) / 100)
            assert line.due_fen == due, line
            expected_due += due
            expected_outstanding += due - got
        assert section.due_fen == expected_due
        assert section.paid_fen == sum(f for c, _, f in paid if c == village.code)
        assert section.outstanding_fen == expected_outstanding
        # satisfaction over the periods that overlap the round only, suppressed under 5 responses
        assert section.satisfaction_n == responses[village.code]
        assert section.satisfaction_suppressed == (responses[village.code] < 5)
        for line in section.satisfaction:
            code = {"社区为民服务": "service", "社区民主自治": "democracy"}.get(line.aspect)
            scores = answers.get((village.code, code), []) if code else []
            assert line.n == len(scores)
            shown = None if responses[village.code] < 5 or len(scores) < 5 else round(sum(scores) / len(scores), 2)
            assert line.mean == shown, line

    demo01 = by_code["DEMO01"]
    assert {(c.department, c.decision) for c in demo01.red_cards} == {
        ("人社局", CardDecision.RAISED), ("镇政府", CardDecision.RAISED), ("城管局", CardDecision.DROPPED)}
    hr_card = next(c for c in demo01.red_cards if c.department == "人社局")
    assert hr_card.count == 3 and hr_card.evidence == ("让收社保费", "又让收社保费0", "又让收社保费1")
    assert (hr_card.first_seen, hr_card.last_seen) == (date(2026, 8, 1), date(2026, 9, 2))
    assert by_code["DEMO02"].red_cards == ()  # its only card was reported in the first half-year

    departments = {s.name: s for s in d.departments}
    assert [c.village_name for c in departments["人社局"].red_cards] == ["东风村"]
    assert [c.village_name for c in departments["镇政府"].red_cards] == ["东风村"]
    assert "城管局" not in departments or departments["城管局"].red_cards == ()
    for name in ("人社局", "民政局", "医保局"):
        counts = dict(departments[name].grade_counts)
        for aspect_label, aspect in (("行政指导", "guidance"), ("社会服务", "service")):
            expected = Counter(GRADES[g] for (v, dep, a), g in rated.items() if dep == name and a == aspect)
            assert dict(counts[aspect_label]) == {label: expected.get(label, 0) for label in GRADES.values()}
    hr = departments["人社局"]
    assert {line.item_id for line in hr.fees} == set(hr_items)
    assert hr.paid_fen == 350_000
    assert hr.due_fen == sum(line.due_fen or 0 for line in hr.fees)
    assert d.notes  # nobody finished: the dossier says so
    assert (d.round_label, d.deadline) == ("2026年年末评估", date(2027, 1, 15))  # the dossier's heading
