"""The survey rules in plain Python (flows/survey_rules.py: no Telegram, no database) and the words residents
see for them (handlers/survey_view.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from flows import survey as F
from flows import survey_rules as R
from handlers import survey_view as V
from handlers.survey import BUTTON_PATTERN
from storage.surveys import DEFAULT_ASPECTS, Aspect
from texts import survey as T

ASPECTS = DEFAULT_ASPECTS
FOUNDING_EIGHT = ["社区为民服务", "关心弱势群体", "社区文体教育", "社区稳定工作",
                  "社区环境卫生", "社区民主自治", "社工工作绩效", "社区综合评价"]


def run(state: R.SurveyState, scores: list[int | None]) -> R.SurveyState:
    for score in scores:
        state = R.answer(state, ASPECTS, state.step, score)
    return state


# ---------------------------------------------------------------------------------------------- aspects


def test_default_aspects_are_the_eight_of_the_founding_documents_in_order():
    aspects = R.aspect_list(None)
    assert [V.aspect_name(a) for a in aspects] == FOUNDING_EIGHT
    assert len({a.code for a in aspects}) == 8
    assert all(a.code.isascii() and len(a.code) <= 16 for a in aspects)


def test_texts_name_every_default_aspect_as_storage_does():
    # storage keeps labels for the CLI and digest; residents see texts/survey.py: they must agree.
    assert {a.code: a.label for a in DEFAULT_ASPECTS} == T.ASPECT_NAMES


def test_aspect_set_is_configurable_through_settings():
    settings = SimpleNamespace(survey_aspects="overall,environment,safety:社区消防安全")
    aspects = R.aspect_list(settings)
    assert [a.code for a in aspects] == ["overall", "environment", "safety"]
    assert [V.aspect_name(a) for a in aspects] == ["社区综合评价", "社区环境卫生", "社区消防安全"]


def test_aspect_set_from_the_environment(monkeypatch, tmp_path):
    from bot.settings import Settings

    monkeypatch.setenv("CADREBOT_SURVEY_ASPECTS", "service,overall")
    assert [a.code for a in R.aspect_list(Settings(data_dir=tmp_path))] == ["service", "overall"]


def test_score_labels_are_words():
    assert [V.answer_label(s) for s in R.SCORES] == ["5 非常满意", "4 满意", "3 一般", "2 不满意", "1 很不满意"]
    assert V.answer_label(None) == "跳过"


def test_period_labels():
    assert V.period_label("2026-11") == "2026年11月"
    assert V.period_label("2026-03") == "2026年3月"
    assert V.period_label("2026-Q4") == "2026年第4季度"
    assert V.period_label("junk") == "junk"


# ---------------------------------------------------------------------------------------------- steps


def test_questions_in_order_then_comment_then_summary():
    state = R.SurveyState()
    assert R.current_screen(state, ASPECTS) == R.Screen(R.Stage.ASPECTS, 0)
    state = R.answer(state, ASPECTS, 0, 5)
    assert R.current_screen(state, ASPECTS) == R.Screen(R.Stage.ASPECTS, 1)
    state = run(state, [4, None, 3, 2, 1, None])
    assert R.current_screen(state, ASPECTS) == R.Screen(R.Stage.ASPECTS, 7)
    state = R.answer(state, ASPECTS, 7, 4)
    assert state.stage == R.Stage.COMMENT
    assert R.current_screen(state, ASPECTS) == R.Screen(R.Stage.COMMENT)
    state, cleaned = R.give_comment(state, "  垃圾分类点太远了\r\n希望增设一个  ")
    assert cleaned.problem is None
    assert state.stage == R.Stage.CONFIRM and state.comment == "垃圾分类点太远了\n希望增设一个"
    assert R.current_screen(state, ASPECTS) == R.Screen(R.Stage.CONFIRM)
    assert R.progress(state, ASPECTS) == (8, 8)
    summary = V.summary_text(F.Survey(F.Place(1, "V1", "东湖村"), "2026-11", state), ASPECTS)
    lines = summary.split("\n")
    assert lines[0] == "请核对您对东湖村的评价（2026年11月）："
    assert lines[1:4] == ["1. 社区为民服务：5 非常满意", "2. 关心弱势群体：4 满意", "3. 社区文体教育：跳过"]
    assert "8. 社区综合评价：4 满意\n意见：垃圾分类点太远了\n希望增设一个\n" in summary
    assert R.plan_submit(state) is R.SubmitAction.SUBMIT


def test_answering_a_question_that_is_not_the_current_one_is_refused():
    state = R.answer(R.SurveyState(), ASPECTS, 0, 5)
    with pytest.raises(ValueError):
        R.answer(state, ASPECTS, 0, 4)
    with pytest.raises(ValueError):
        R.answer(state, ASPECTS, 1, 7)
    with pytest.raises(ValueError):
        R.give_comment(state, "x")


def test_skip_comment_and_restart_keeps_the_replace_choice():
    state = run(R.SurveyState(replace_existing=True), [5] * 8)
    state = R.skip_comment(state)
    assert state.stage == R.Stage.CONFIRM and state.comment is None
    assert R.plan_submit(state) is R.SubmitAction.REPLACE
    again = R.restart(state)
    assert again == R.SurveyState(replace_existing=True)


def test_all_skipped_without_comment_has_nothing_to_submit():
    state = R.skip_comment(run(R.SurveyState(), [None] * 8))
    assert not R.submittable(state)
    assert R.plan_submit(state) is R.SubmitAction.NOTHING
    with_comment, _ = R.give_comment(run(R.SurveyState(), [None] * 8), "路灯坏了")
    assert R.plan_submit(with_comment) is R.SubmitAction.SUBMIT


def test_resume_from_a_draft_row():
    draft = SimpleNamespace(stage="aspects", step=3, answers={"service": 5, "vulnerable": None, "culture": 4},
                            comment=None, replace_existing=False)
    state = R.SurveyState.from_draft(draft, ASPECTS)
    assert R.current_screen(state, ASPECTS) == R.Screen(R.Stage.ASPECTS, 3)
    assert R.progress(state, ASPECTS) == (3, 8)
    assert R.SurveyState.from_draft(SimpleNamespace(**state.draft_fields()), ASPECTS) == state


def test_a_damaged_or_outdated_draft_still_resumes_sensibly():
    draft = SimpleNamespace(stage="bogus", step=-4, answers={"gone": 5, "service": 9, "culture": 3},
                            comment="   ", replace_existing=None)
    state = R.SurveyState.from_draft(draft, ASPECTS)
    assert state == R.SurveyState(answers={"culture": 3})
    # the aspect set shrank below the saved step: go on to the comment
    two = (Aspect("service", "社区为民服务"), Aspect("overall", "社区综合评价"))
    state = R.SurveyState.from_draft(SimpleNamespace(stage="aspects", step=5, answers={}, comment=None,
                                                     replace_existing=False), two)
    assert R.current_screen(state, two) == R.Screen(R.Stage.COMMENT)


# ---------------------------------------------------------------------------------------------- comments


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("", R.CommentProblem.EMPTY),
        ("   \n\t ", R.CommentProblem.EMPTY),
        ("\x00\x07\u200b", R.CommentProblem.EMPTY),
        ("👍👍🎉", R.CommentProblem.NO_WORDS),
        ("👨\u200d👩\u200d👧 ！！", R.CommentProblem.NO_WORDS),
        ("。。。？？", R.CommentProblem.NO_WORDS),
        ("好" * 501, R.CommentProblem.TOO_LONG),
        ("意见" * 2500, R.CommentProblem.TOO_LONG),
    ],
)
def test_bad_comments_are_refused(raw, problem):
    cleaned = R.clean_comment(raw)
    assert cleaned.problem is problem and cleaned.text is None


def test_a_long_comment_reports_its_length():
    assert R.clean_comment("x" * 5000).length == 5000


def test_comment_sanitising_strips_control_and_invisible_characters():
    cleaned = R.clean_comment("路灯\x00坏了\u200b，\x1b[31m请修\u202e\n\n\n\n谢谢👍")
    assert cleaned.problem is None
    assert cleaned.text == "路灯坏了，[31m请修\n\n谢谢👍"
    assert R.clean_comment("好" * 500).text == "好" * 500
    assert R.clean_comment("A1").text == "A1"


# ---------------------------------------------------------------------------------------------- typed answers


@pytest.mark.parametrize(
    "text, score",
    [("5", 5), ("５", 5), (" 满意 ", 4), ("非常满意", 5), ("4 满意", 4), ("1很不满意", 1), ("一般。", 3)],
)
def test_typed_scores_are_understood(text, score):
    assert R.interpret_typed(text) == R.TypedAnswer(score)


def test_typed_skip_and_other_text():
    assert R.interpret_typed("跳过") == R.TypedAnswer(None)
    assert R.interpret_typed("不知道") == R.TypedAnswer(None)
    for text in ("6", "0", "还行吧", "", None, "街道让我们收医保"):
        assert R.interpret_typed(text) is None


# ---------------------------------------------------------------------------------------------- buttons


KEY = b"k" * 32  # a draft's choice key (storage.surveys.choice_key)


def all_buttons(period: str = "2026-11", village_id: int = 123456789) -> list[R.Button | R.Pick]:
    state = R.skip_comment(run(R.SurveyState(), [5] * 8))
    buttons = [R.question_button(period, step, score, KEY) for step in range(99) for score in (*R.SCORES, None)]
    buttons += [R.comment_skip_button(period), R.offer_button(period, R.Action.REPLACE, village_id),
                R.offer_button(period, R.Action.KEEP, village_id)]
    buttons += [R.confirm_button(period, action, state) for action in (R.Action.SUBMIT, R.Action.RESTART, R.Action.CANCEL)]
    buttons += [R.towns_page(9999), R.villages_page(village_id, 9999), R.village_pick(village_id)]  # the picker
    return buttons


@pytest.mark.parametrize("period", ["2026-11", "2026-Q4"])
def test_every_button_round_trips_within_64_bytes_and_carries_no_text(period):
    for button in all_buttons(period):
        data = button.data()
        assert len(data.encode()) <= 64
        assert data.isascii()
        assert re.match(BUTTON_PATTERN, data), "the survey's button handler gets it"
        parsed = R.parse_button(data)
        assert parsed is not None
        assert (R.decode_choice(parsed, KEY) if isinstance(parsed, R.Button) else parsed) == button


@pytest.mark.parametrize(
    "data",
    [
        "", "sv", "sv:", "sv:2026-11", "sv:2026-11:q:1", "sv:2026-11:q:1:6", "sv:2026-11:q:1:0",
        "sv:2026-11:q:01:5", "sv:2026-11:q:100:5", "sv:2026-13x:q:1:5", "sv:26-11:q:1:5",
        "sv:2026-Q5:cs", "sv:2026-11:ok", "sv:2026-11:ok:XYZ", "sv:2026-11:ok:abcdef0", "sv:2026-11:rp:",
        "sv:2026-11:rp:abc", "sv:2026-11:zz:1", "sv:2026-11:q:1:5:extra", "sv:2026-11:cs\n",
        "sv:2026-11:q:1:5" + "x" * 60, "rc:1:confirm", "sv:2026-11:q:１:5",
        "sv:2026-11:a:1:5", "sv:2026-11:a:1:g", "sv:2026-11:a:01:a", "sv:2026-11:a:1", "sv:2026-11:a:1:ab",
    ],
)
def test_malformed_or_forged_data_is_rejected(data):
    assert R.parse_button(data) is None
    assert R.check_button(None, current_period="2026-11", draft_period="2026-11",
                          state=R.SurveyState(), aspects=ASPECTS) is R.ButtonCheck.INVALID


def check(button: R.Button, state: R.SurveyState | None, *, current="2026-11", draft="2026-11") -> R.ButtonCheck:
    return R.check_button(button, current_period=current, draft_period=draft if state else None,
                          state=state, aspects=ASPECTS)


def test_the_current_question_button_is_accepted_and_old_ones_are_stale():
    state = run(R.SurveyState(), [5, 4, 3])
    assert check(R.question_button("2026-11", 3, 2, KEY), state) is R.ButtonCheck.OK
    assert check(R.question_button("2026-11", 3, None, KEY), state) is R.ButtonCheck.OK
    assert check(R.question_button("2026-11", 1, 5, KEY), state) is R.ButtonCheck.STALE_QUESTION
    assert check(R.question_button("2026-11", 1, 4, KEY), state) is R.ButtonCheck.DUPLICATE  # double tap
    assert check(R.question_button("2026-11", 5, 4, KEY), state) is R.ButtonCheck.STALE_QUESTION  # from the future
    assert check(R.question_button("2026-11", 50, 4, KEY), state) is R.ButtonCheck.INVALID
    assert check(R.comment_skip_button("2026-11"), state) is R.ButtonCheck.STALE_QUESTION


def test_buttons_of_an_old_period_or_without_a_survey():
    state = run(R.SurveyState(), [5])
    assert check(R.question_button("2026-10", 1, 5, KEY), state) is R.ButtonCheck.OLD_PERIOD
    assert check(R.offer_button("2026-10", R.Action.REPLACE, 1), None) is R.ButtonCheck.OLD_PERIOD
    assert check(R.question_button("2026-11", 1, 5, KEY), None) is R.ButtonCheck.NO_SURVEY
    assert check(R.question_button("2026-11", 1, 5, KEY), state, draft="2026-10") is R.ButtonCheck.OLD_PERIOD
    assert check(R.offer_button("2026-11", R.Action.KEEP, 1), None) is R.ButtonCheck.OK


def test_summary_buttons_only_work_for_the_summary_they_belong_to():
    state = R.skip_comment(run(R.SurveyState(), [5] * 8))
    ok = R.confirm_button("2026-11", R.Action.SUBMIT, state)
    assert check(ok, state) is R.ButtonCheck.OK
    changed = R.skip_comment(run(R.SurveyState(), [4] * 8))
    assert R.summary_token(changed) != R.summary_token(state)
    assert check(ok, changed) is R.ButtonCheck.STALE_SUMMARY
    assert check(ok, R.restart(state)) is R.ButtonCheck.STALE_SUMMARY
    assert check(R.comment_skip_button("2026-11"), state) is R.ButtonCheck.DUPLICATE


def test_every_refusal_has_a_short_chinese_note():
    for result in R.ButtonCheck:
        if result is R.ButtonCheck.OK:
            continue
        note = V.REFUSAL_NOTES[result]
        assert note and len(note) <= 200  # answerCallbackQuery text limit


# ---------------------------------------------------------------------------------------------- decisions


def test_plan_start():
    P, A = R.plan_start, R.StartAction
    assert P(draft=None, village_id=1, period="2026-11", already_responded=False) == R.StartPlan(A.NEW)
    assert P(draft=None, village_id=1, period="2026-11", already_responded=True) == R.StartPlan(A.OFFER_REPLACE)
    same = R.DraftInfo(1, "2026-11")
    assert P(draft=same, village_id=1, period="2026-11", already_responded=True).action is A.RESUME
    other = P(draft=R.DraftInfo(2, "2026-11"), village_id=1, period="2026-11", already_responded=False)
    assert other == R.StartPlan(A.NEW, drop=R.DropReason.OTHER_VILLAGE)
    old = P(draft=R.DraftInfo(1, "2026-10"), village_id=1, period="2026-11", already_responded=True)
    assert old == R.StartPlan(A.OFFER_REPLACE, drop=R.DropReason.OLD_PERIOD)
