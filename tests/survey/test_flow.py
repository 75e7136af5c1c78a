"""flows/survey.py without Telegram: each step takes (session, resident, input) and returns a typed result."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest

from flows import survey as F
from flows import survey_rules as R
from storage import surveys as S
from storage.models import utcnow
from storage.places import add_town, add_village

SECRET = "flow-secret"
USER_ID = 6_660_001_234


@pytest.fixture
def flow() -> F.SurveyFlow:
    return F.SurveyFlow(F.SurveyConfig(aspects=S.DEFAULT_ASPECTS[:2]))  # two questions keep the walks short


@pytest.fixture
def aunt() -> F.Resident:
    return F.Resident.of(SECRET, USER_ID)


@pytest.fixture
def villages(session):
    add_town(session, "T1", "示范镇")
    add_village(session, "V1", "东湖村", "T1")
    add_village(session, "V2", "西山村", "T1")
    session.flush()


def test_the_resident_is_known_by_keyed_hashes_only(aunt):
    assert str(USER_ID) not in repr(aunt)
    assert aunt.owner_key == S.owner_key(SECRET, USER_ID)
    assert aunt.respondent_key("V1", "2026-11") == S.respondent_key(SECRET, USER_ID, "V1", "2026-11")
    assert [f.name for f in fields(aunt)] == ["_owner_key", "_respondent_key", "_choice_key"]  # bound functions only


def test_every_result_has_its_own_kind():
    results = [cls for cls in vars(F).values()
               if isinstance(cls, type) and isinstance(getattr(cls, "kind", None), F.Kind)]
    assert sorted(cls.kind for cls in results) == sorted(F.Kind), "one result class per kind"
    for cls in results:
        assert cls.__dataclass_params__.frozen, cls


def test_a_walk_through_the_survey(session, villages, flow, aunt):
    started = flow.open(session, aunt, "v1")
    assert isinstance(started, F.Started) and started.dropped is None
    assert (started.survey.village.name, started.survey.state.step) == ("东湖村", 0)
    assert flow.is_waiting(session, aunt)
    period = started.survey.period
    answered = flow.press(session, aunt, R.question_button(period, 0, 5, started.survey.choices))
    assert isinstance(answered, F.Answered) and (answered.step, answered.score) == (0, 5)
    typed = flow.typed(session, aunt, F.Typed("跳过"))
    assert isinstance(typed, F.Answered) and typed.score is None
    assert typed.survey.state.stage == R.Stage.COMMENT
    # the comment prompt has not been delivered yet (the handler notes it once sent): a message is not a comment
    assert isinstance(flow.typed(session, aunt, F.Typed("怎么没反应")), F.PromptAgain)
    flow.note_prompt(session, aunt, 1234)
    assert isinstance(flow.typed(session, aunt, F.Typed(None)), F.CommentNotText)
    refused = flow.typed(session, aunt, F.Typed("👍"))
    assert isinstance(refused, F.CommentRefused) and refused.problem is R.CommentProblem.NO_WORDS
    commented = flow.typed(session, aunt, F.Typed("路灯坏了"))
    assert isinstance(commented, F.Commented) and commented.survey.state.comment == "路灯坏了"
    assert commented.prompt_id == 1234  # the prompt whose 跳过 button goes
    assert isinstance(flow.typed(session, aunt, F.Typed("提交")), F.UseConfirm)
    submitted = flow.press(session, aunt, R.confirm_button(period, R.Action.SUBMIT, commented.survey.state))
    assert submitted == F.Submitted(replaced=False)
    assert not flow.is_waiting(session, aunt)
    assert isinstance(flow.typed(session, aunt, F.Typed("还有")), F.NotWaiting)
    again = flow.open(session, aunt, "V1")
    assert isinstance(again, F.AlreadyAnswered) and again.day is not None


def test_bad_and_unknown_codes(session, villages, flow, aunt):
    assert flow.open(session, aunt, "东湖村") == F.BadCode()
    assert flow.open(session, aunt, " NOPE ") == F.UnknownVillage("NOPE")


def test_buttons_without_a_survey_are_refused(session, villages, flow, aunt):
    period = S.current_period(session).code
    assert flow.press(session, aunt, R.question_button(period, 0, 5, b"any key")) == F.Refused(R.ButtonCheck.NO_SURVEY)
    assert flow.press(session, aunt, None) == F.Refused(R.ButtonCheck.INVALID)
    assert flow.cancel(session, aunt) is False


def test_a_draft_of_a_past_period_is_not_waiting_and_is_dropped(session, villages, flow, aunt):
    flow.open(session, aunt, "V1")
    later = F.SurveyFlow(F.SurveyConfig(aspects=flow.aspects))
    old = S.previous_period_spec(S.period_spec(utcnow()))
    draft = S.load_draft(session, owner_key=aunt.owner_key)
    S.save_draft(session, respondent_key=draft.respondent_key, owner_key=aunt.owner_key, village_id=draft.village_id,
                 period_id=S.ensure_period(session, old).id)
    assert isinstance(later.typed(session, aunt, F.Typed("5")), F.NotWaiting)
    assert S.load_draft(session, owner_key=aunt.owner_key) is None


def test_an_expired_draft_is_gone(session, villages, flow, aunt):
    flow.open(session, aunt, "V1")
    assert S.load_draft(session, owner_key=aunt.owner_key, now=utcnow() + S.DRAFT_MAX_AGE + timedelta(minutes=1)) is None


def test_the_picker_and_the_staff_links(session, villages, flow, aunt):
    one_town = flow.open_bare(session, aunt, None)
    assert isinstance(one_town, F.ChooseVillage) and one_town.only_town
    assert [v.name for v in one_town.villages.items] == ["东湖村", "西山村"]
    add_town(session, "T2", "临江街道")
    add_village(session, "R1", "滨江社区", "T2")
    add_town(session, "T3", "空镇")  # a town without villages is not offered
    session.flush()
    towns = flow.open_bare(session, aunt, None)
    assert isinstance(towns, F.ChooseTown) and [t.name for t in towns.towns.items] == ["示范镇", "临江街道"]
    riverside = towns.towns.items[1]
    villages_page = flow.press(session, aunt, R.villages_page(riverside.id, 0))
    assert isinstance(villages_page, F.ChooseVillage) and not villages_page.only_town
    picked = flow.press(session, aunt, R.village_pick(villages_page.villages.items[0].id))
    assert isinstance(picked, F.Picked) and picked.town == "临江街道" and isinstance(picked.opened, F.Started)
    # with a survey in progress, a bare /survey resumes it
    assert isinstance(flow.open_bare(session, aunt, None), F.Resumed)
    flow.cancel(session, aunt)

    cadre = F.Staff("cadre", village_id=one_town.villages.items[0].id)
    assert flow.open_bare(session, aunt, cadre) == F.CadreLink(one_town.villages.items[0])
    bureau = F.Staff("bureau", town_id=riverside.id)
    assert flow.open_bare(session, aunt, bureau) == F.BureauLinks("临江街道", (F.Place(picked.opened.survey.village.id,
                                                                                   "R1", "滨江社区"),))


def test_nothing_to_pick_without_villages(session, flow, aunt):
    assert flow.open_bare(session, aunt, None) == F.NoVillages()
    assert flow.press(session, aunt, R.towns_page(0)) == F.NoVillages()


def test_pages_of_the_picker():
    page = R.page_of(list(range(19)), 0, size=8)
    assert (page.items, page.number, page.count, page.previous, page.next) == (tuple(range(8)), 0, 3, None, 1)
    last = R.page_of(list(range(19)), 2, size=8)
    assert (last.items, last.previous, last.next) == ((16, 17, 18), 1, None)
    assert R.page_of(list(range(19)), 99, size=8) == last, "past the end: the last page"
    assert R.page_of([], 0).items == () and R.page_of([], 0).count == 1


def test_picker_buttons_round_trip_within_64_bytes():
    for button in (R.towns_page(0), R.towns_page(9999), R.villages_page(999_999_999, 9999), R.village_pick(1)):
        data = button.data()
        assert len(data.encode()) <= R.CALLBACK_MAX_BYTES and data.isascii()
        assert R.parse_button(data) == button
