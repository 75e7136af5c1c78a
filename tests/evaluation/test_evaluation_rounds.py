"""Rounds, access and audit of the two-way evaluation, on SQLite and PostgreSQL (storage.evaluation)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from flows.evaluation.progress import committee_todo, department_todo, round_progress
from knowledge.evaluation_terms import Payment, PaymentRule
from storage import evaluation as ev
from storage.errors import AlreadyExists, InvalidInput, NotFound, NotPermitted
from storage.models import AuditLog, CardChoice, EvaluationRound, EvaluationScore, ReminderReason
from storage.redcards import confirm_red_card, record_red_card
from tests.evaluation.conftest import IN_ROUND, OPENED, TZ


def _round(s, town) -> EvaluationRound:
    rnd = s.get(EvaluationRound, town.round_id)
    assert rnd is not None
    return rnd


def test_a_round_covers_its_half_year_and_schedules_two_reminders(session, town):
    rnd = _round(session, town)
    assert (rnd.starts_on, rnd.ends_on, rnd.deadline) == (date(2026, 7, 1), date(2026, 12, 31), date(2027, 1, 15))
    reminders = {r.reason: r.due_at for r in session.scalars(select(ev.EvaluationReminder))}
    # 09:00 in Shanghai, 3 days and 1 day before the deadline
    assert reminders == {ReminderReason.THREE_DAYS: datetime(2027, 1, 12, 1, 0, tzinfo=UTC),
                         ReminderReason.ONE_DAY: datetime(2027, 1, 14, 1, 0, tzinfo=UTC)}
    assert ev.due_reminders(session, datetime(2027, 1, 12, 0, 59, tzinfo=UTC)) == []
    assert [r.reason for r in ev.due_reminders(session, datetime(2027, 1, 12, 1, 0, tzinfo=UTC))] == ["3d"]


@pytest.mark.parametrize("text, code", [("2026H1", "2026H1"), ("2026h2", "2026H2"), ("2026年末", "2026H2"),
                                        ("2026年中", "2026H1")])
def test_round_codes_are_read_as_cadres_write_them(text, code):
    assert ev.parse_round_code(text).code == code


@pytest.mark.parametrize("text", ["2026", "2026H3", "H2", "26H2", "2026Q4", ""])
def test_a_malformed_round_code_is_refused(text):
    with pytest.raises(InvalidInput):
        ev.parse_round_code(text)


def test_a_round_is_opened_once_and_only_by_its_own_town(session, town):
    with pytest.raises(AlreadyExists):
        ev.open_round(session, "DEMO", "2026H2", deadline=date(2027, 1, 15))
    with pytest.raises(NotPermitted):
        ev.open_round(session, "DEMO", "2027H1", deadline=date(2027, 7, 15), actor=town.members["bureau_other"])
    with pytest.raises(NotPermitted):
        ev.open_round(session, "DEMO", "2027H1", deadline=date(2027, 7, 15), actor=town.members["cadre1"])
    with pytest.raises(InvalidInput):
        ev.open_round(session, "DEMO", "2027H1", deadline=date(2026, 12, 1))
    with pytest.raises(InvalidInput, match="还没有结束"):  # a second open round would hide the first one
        ev.open_round(session, "DEMO", "2027H1", deadline=date(2027, 7, 15), actor=town.members["bureau"])
    ev.close_round(session, _round(session, town), town.members["bureau"])
    with pytest.raises(InvalidInput, match="已经过去"):
        ev.open_round(session, "DEMO", "2026H1", deadline=date(2026, 7, 15), now=OPENED, tz=TZ)
    rnd = ev.open_round(session, "DEMO", "2027H1", deadline=date(2027, 7, 15), actor=town.members["bureau"])
    assert rnd.code == "2027H1"
    assert ev.current_round(session, rnd.town_id) is not None and ev.current_round(session, rnd.town_id).id == rnd.id


def _confirmed_card(s, town, department="人社局", text="人社所让我们去收社保费", item="C3", now=IN_ROUND):
    cadre = town.members["cadre1"]
    card = record_red_card(s, village_id=town.villages["DEMO01"].id, department=department, task_text=text,
                           item_id=item, member_id=cadre.id, now=now, tz=TZ).card
    confirm_red_card(s, card.id, cadre, now=now)
    return card


def test_the_committee_decides_only_its_own_villages_cards(session, town):
    rnd = _round(session, town)
    card = _confirmed_card(session, town)
    for outsider in ("cadre2", "cadre_other", "bureau", "hr", "admin"):
        with pytest.raises(NotPermitted):
            ev.decide_card(session, rnd, town.members[outsider], card.id, CardChoice.RAISED, tz=TZ)
    decided = ev.decide_card(session, rnd, town.members["cadre1"], card.id, CardChoice.RAISED, tz=TZ)
    assert decided.decision is CardChoice.RAISED
    ev.decide_card(session, rnd, town.members["cadre1"], card.id, CardChoice.DROPPED, tz=TZ)  # changes its mind
    assert [c.decision for c in ev.round_cards(session, rnd, tz=TZ)] == [CardChoice.DROPPED]


def test_only_confirmed_cards_reported_in_the_half_year_come_to_the_round(session, town):
    rnd = _round(session, town)
    cadre = town.members["cadre1"]
    village = town.villages["DEMO01"].id
    in_h1 = _confirmed_card(session, town, department="城管局", text="城管让我们去拆违建", now=datetime(2026, 3, 1, tzinfo=UTC))
    unconfirmed = record_red_card(session, village_id=village, department="医保局", task_text="代收医保费",
                                  member_id=cadre.id, now=IN_ROUND, tz=TZ).card
    counted = _confirmed_card(session, town)
    # reported again in the half-year: two reports, both texts kept as the evidence
    record_red_card(session, village_id=village, department="人社局", task_text="又让收社保费", item_id="C3",
                    member_id=cadre.id, now=IN_ROUND + timedelta(days=20), tz=TZ)
    cards = ev.round_cards(session, rnd, village, tz=TZ)
    assert [c.card.id for c in cards] == [counted.id]
    assert cards[0].reports == 2
    assert cards[0].evidence == ("人社所让我们去收社保费", "又让收社保费")
    assert cards[0].last_seen - cards[0].first_seen == timedelta(days=20)
    with pytest.raises(NotFound):
        ev.decide_card(session, rnd, cadre, in_h1.id, CardChoice.RAISED, tz=TZ)
    with pytest.raises(NotFound):
        ev.decide_card(session, rnd, cadre, unconfirmed.id, CardChoice.RAISED, tz=TZ)


def test_a_department_scores_only_its_own_town(session, town, basis):
    rnd = _round(session, town)
    village = town.villages["DEMO01"].id
    with pytest.raises(NotPermitted):
        ev.score_item(session, rnd, town.members["hr"], village, "B1", "民政局", 90)
    with pytest.raises(NotPermitted):
        ev.score_item(session, rnd, town.members["hr_other"], village, "B5", "人社局", 90)
    with pytest.raises(NotFound):
        ev.score_item(session, rnd, town.members["hr"], town.villages["OT01"].id, "B5", "人社局", 90)
    for bad in (-1, 100.5):
        with pytest.raises(InvalidInput):
            ev.score_item(session, rnd, town.members["hr"], village, "B5", "人社局", bad)
    ev.score_item(session, rnd, town.members["hr"], village, "B5", "人社局", 92.46)
    assert session.scalar(select(EvaluationScore.score)) == 92.5
    todo = department_todo(session, rnd, basis.terms, "人社局")
    assert {t.item.item_id for t in todo.tasks} == {"B5"}  # 人社所 is 人社局 in departments.yaml
    assert todo.done == 1 and todo.total == 3


def test_a_bonus_needs_a_reason_and_stays_within_the_limit(session, town, basis):
    rnd = _round(session, town)
    hr, village = town.members["hr"], town.villages["DEMO02"].id
    with pytest.raises(InvalidInput):
        ev.give_bonus(session, rnd, hr, village, "人社局", 3, " ", bonus_max=basis.terms.bonus_max)
    with pytest.raises(InvalidInput):
        ev.give_bonus(session, rnd, hr, village, "人社局", basis.terms.bonus_max + 1, "好", bonus_max=basis.terms.bonus_max)
    ev.give_bonus(session, rnd, hr, village, "人社局", 3, "办了三场招聘会", bonus_max=basis.terms.bonus_max)
    assert [(b.points, b.reason) for b in ev.bonuses(session, rnd)] == [(3.0, "办了三场招聘会")]


def test_nothing_changes_in_a_closed_round_but_payments_still_arrive(session, town):
    rnd = _round(session, town)
    with pytest.raises(NotPermitted):
        ev.close_round(session, rnd, town.members["cadre1"])
    ev.close_round(session, rnd, town.members["bureau"])
    with pytest.raises(InvalidInput):
        ev.score_item(session, rnd, town.members["hr"], town.villages["DEMO01"].id, "B5", "人社局", 90)
    with pytest.raises(InvalidInput):
        ev.rate_department(session, rnd, town.members["cadre1"], "人社局", "guidance", "good")
    with pytest.raises(InvalidInput):
        ev.ask_reminder(session, rnd)
    assert ev.due_reminders(session, datetime(2027, 2, 1, tzinfo=UTC)) == []  # the scheduled ones are gone
    payment = ev.record_payment(session, rnd, town.members["bureau"], "DEMO01", "B5", 400_000, date(2027, 2, 1))
    assert payment.recorded_by == f"member:{town.members['bureau'].id}"
    with pytest.raises(NotPermitted):
        ev.record_payment(session, rnd, town.members["hr"], "DEMO01", "B5", 1, date(2027, 2, 1))
    with pytest.raises(NotFound):
        ev.record_payment(session, rnd, "cli", "OT01", "B5", 1, date(2027, 2, 1))


def test_every_score_rating_decision_and_payment_is_audited(session, town):
    rnd = _round(session, town)
    card = _confirmed_card(session, town)
    before = session.scalar(select(func.count()).select_from(AuditLog))
    ev.decide_card(session, rnd, town.members["cadre1"], card.id, CardChoice.RAISED, tz=TZ)
    ev.rate_department(session, rnd, town.members["cadre1"], "人社局", "guidance", "good")
    ev.score_item(session, rnd, town.members["hr"], town.villages["DEMO01"].id, "B5", "人社局", 88)
    ev.give_bonus(session, rnd, town.members["hr"], town.villages["DEMO01"].id, "人社局", 2, "好", bonus_max=5)
    ev.record_payment(session, rnd, "cli", "DEMO01", "B5", 100, date(2027, 1, 20))
    actions = list(session.scalars(select(AuditLog.action).order_by(AuditLog.id).offset(before)))
    assert actions == ["evaluation_card", "evaluation_rating", "evaluation_score", "evaluation_bonus", "fee_payment"]


def test_progress_counts_what_each_side_still_owes(session, town, basis):
    rnd = _round(session, town)
    card = _confirmed_card(session, town, department="镇政府", text="镇里让村里去拆违建", item="C1")
    cadre = town.members["cadre1"]
    todo = committee_todo(session, rnd, basis.terms, basis.scheme, town.villages["DEMO01"].id, tz=TZ)
    aspects = len(basis.scheme.aspects)
    assert todo.total == len(basis.terms.departments()) * aspects + 1
    ev.decide_card(session, rnd, cadre, card.id, CardChoice.RAISED, tz=TZ)
    for department in todo.departments:
        for aspect in basis.scheme.aspects:
            ev.rate_department(session, rnd, cadre, department, aspect.code, "good")
    progress = round_progress(session, rnd, basis.terms, basis.scheme, tz=TZ)
    assert [v.code for v in progress.unfinished_villages] == ["DEMO02", "DEMO03"]
    assert "人社局" in progress.unfinished_departments


@pytest.mark.parametrize("rule, score, due", [
    (PaymentRule.SCORE_SHARE, 92.5, 370_000), (PaymentRule.SCORE_SHARE, 100, 400_000),
    (PaymentRule.SCORE_SHARE, None, 0), (PaymentRule.PASS_MARK, 60, 400_000), (PaymentRule.PASS_MARK, 59.9, 0),
])
def test_the_fee_follows_the_score_by_the_agreements_rule(rule, score, due):
    assert Payment(rule, pass_score=60).due_fen(400_000, score) == due


def test_a_round_pays_half_of_the_yearly_fee(basis):
    item = basis.terms.item("B5")
    assert item is not None and item.annual_fen == 800_000
    assert basis.terms.round_fen(item) == 400_000
    assert basis.terms.due_fen(item, 90) == 360_000
    no_fixed_fee = basis.terms.item("B16")  # 50元/件
    assert no_fixed_fee is not None and basis.terms.due_fen(no_fixed_fee, 90) is None


def test_a_bad_agreement_term_is_named_by_kb_validate(tmp_path):
    import shutil

    from knowledge.loader import bundled_data_dir, validate

    root = tmp_path / "data"
    shutil.copytree(bundled_data_dir(), root)
    path = root / "agreements" / "demo.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("fee_yuan: 8000, weight: 6", "fee_yuan: 八千, weight: 0")
    text = text.replace("payment: {rule: score_share}", "payment: {rule: by_mood}")
    path.write_text(text, encoding="utf-8")
    messages = [p.message for p in validate(root)]
    assert any("B5" in m and "fee_yuan" in m for m in messages)
    assert any("B5" in m and "weight" in m for m in messages)
    assert any("by_mood" in m for m in messages)


def test_opening_a_round_after_its_reminders_would_be_due_schedules_none(session, town):
    late = OPENED.replace(year=2027, month=1, day=14, hour=2)
    ev.close_round(session, _round(session, town), now=late)
    rnd = ev.open_round(session, "DEMO", "2026H1", deadline=date(2027, 1, 15), now=late, tz=TZ)
    scheduled = session.scalars(select(ev.EvaluationReminder.reason).where(ev.EvaluationReminder.round_id == rnd.id))
    assert list(scheduled) == []  # both were due before it opened: a late round is reminded by hand


def test_a_broken_letter_template_is_named_by_kb_validate(tmp_path):
    import shutil

    from knowledge.loader import bundled_data_dir, validate

    root = tmp_path / "data"
    shutil.copytree(bundled_data_dir(), root)
    path = root / "letters.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("\"{committee}（盖章）\"", "\"{committe}（盖章）\""), encoding="utf-8")
    problems = [p for p in validate(root) if p.file.endswith("letters.yaml")]
    assert problems and "committe" in problems[0].message


def test_a_due_reminder_is_taken_by_one_process_only(session_factory, town, db_kind):
    due = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)
    with session_factory() as first:
        taken = ev.due_reminders(first, due)
        assert [r.reason for r in taken] == ["3d"]
        if db_kind == "postgres":  # another worker asking meanwhile skips the locked row instead of sending it too
            with session_factory() as second:
                assert ev.due_reminders(second, due) == []
        ev.mark_reminder_sent(first, taken[0], 2, now=due)
        first.commit()
    with session_factory() as later:
        assert ev.due_reminders(later, due) == []


def test_asking_for_a_reminder_again_and_again_reminds_people_once(session, town):
    rnd = _round(session, town)
    first = ev.ask_reminder(session, rnd, now=OPENED)
    assert all(ev.ask_reminder(session, rnd, now=OPENED + timedelta(minutes=m)).id == first.id for m in range(5))
    ev.mark_reminder_sent(session, first, 3, now=OPENED + timedelta(minutes=5))
    assert ev.ask_reminder(session, rnd, now=OPENED + timedelta(minutes=30)).id == first.id  # sent half an hour ago
    later = ev.ask_reminder(session, rnd, now=OPENED + timedelta(hours=2))
    assert later.id != first.id and later.sent_at is None
