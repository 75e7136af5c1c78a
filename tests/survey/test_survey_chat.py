"""The residents' survey as a resident sees it, through the production Application and the recording transport.

Every test runs on SQLite and on PostgreSQL (fixture `db_url`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

import handlers.start  # noqa: F401 - the /start s_<CODE> deep link; a missing module must fail, not skip
from flows import survey_rules as R
from storage import surveys as S
from storage.models import PendingAction, SurveyAnswer, SurveyResponse
from tests.chat import make_update
from tests.survey.conftest import (
    BUREAU_ID,
    CADRE_ID,
    FALLTHROUGH,
    OTHER_RESIDENT_ID,
    RESIDENT_ID,
    chat_for,
    current_period_code,
)
from texts import errors as E
from texts import survey as T

EIGHT = ["社区为民服务", "关心弱势群体", "社区文体教育", "社区稳定工作",
         "社区环境卫生", "社区民主自治", "社工工作绩效", "社区综合评价"]


# ---------------------------------------------------------------------------------------------- helpers


def responses(session_factory) -> list[SurveyResponse]:
    with session_factory() as s:
        return list(s.scalars(select(SurveyResponse)))


def drafts(session_factory) -> list[S.SurveyDraft]:
    """Every survey in progress (pending steps of the survey's kind)."""
    with session_factory() as s:
        owners = list(s.scalars(select(PendingAction.owner_key).where(PendingAction.kind == S.DRAFT_KIND)))
        return [S.load_draft(s, owner_key=owner) for owner in owners]


def scores_of(session_factory) -> dict[str, int]:
    [only] = responses(session_factory)
    return only.scores


async def open_survey(chat, code: str = "V1"):
    return await chat.send_command("survey", code)


async def answer_all(chat, labels: list[str]) -> None:
    for label in labels:
        await chat.press(label)


async def to_summary(chat, labels: list[str] | None = None, comment: str | None = None) -> None:
    await open_survey(chat)
    await answer_all(chat, labels or ["4 满意"] * 8)
    if comment is None:
        await chat.press("跳过")
    else:
        await chat.send_text(comment)
    assert "请核对" in chat.last_message.text


def current_question(chat) -> str:
    """The question the resident is looking at: the newest message with score buttons."""
    for message in reversed(chat.replies):
        if "5 非常满意" in message.button_labels:
            return message.text
    raise AssertionError("no question on screen")


# ---------------------------------------------------------------------------------------------- the happy path


async def test_full_survey_with_skips_and_a_comment(start_bot, resident, session_factory):
    app = await start_bot()
    aunt = resident(app)
    new = await open_survey(aunt)
    assert "东湖村居民满意度测评" in new[0].text and "匿名" in new[0].text and "/cancel" in new[0].text
    assert new[1].text.startswith("第 1/8 题：社区为民服务")
    assert new[1].button_labels == ["5 非常满意", "4 满意", "3 一般", "2 不满意", "1 很不满意", "跳过"]

    seen = []
    for label in ["5 非常满意", "跳过", "4 满意", "3 一般", "跳过", "2 不满意", "1 很不满意", "4 满意"]:
        seen.append(current_question(aunt).split("\n")[0])
        await aunt.press(label)
    assert seen == [f"第 {i}/8 题：{name}" for i, name in enumerate(EIGHT, 1)]
    # each answered question now shows the answer, without buttons
    answered = [m for m in aunt.replies if "您的回答" in m.text]
    assert [m.text.split("您的回答：")[1] for m in answered][:3] == ["5 非常满意", "跳过", "4 满意"]
    assert all(not m.buttons for m in answered)

    assert "意见或建议" in aunt.last_message.text and aunt.last_message.button_labels == ["跳过"]
    await aunt.send_text("垃圾分类点太远了，希望增设一个。")
    summary = aunt.last_message
    assert "请核对您对东湖村的评价" in summary.text
    assert "1. 社区为民服务：5 非常满意" in summary.text
    assert "2. 关心弱势群体：跳过" in summary.text
    assert "意见：垃圾分类点太远了，希望增设一个。" in summary.text
    assert summary.button_labels == ["提交", "重新填写", "取消"]

    await aunt.press("提交")
    assert aunt.last_message.text == T.SUBMITTED
    assert not any(m.buttons for m in aunt.replies), "no live buttons are left"

    [stored] = responses(session_factory)
    assert stored.scores == {"service": 5, "culture": 4, "stability": 3, "democracy": 2,
                             "social_work": 1, "overall": 4}
    assert stored.comment == "垃圾分类点太远了，希望增设一个。"
    assert drafts(session_factory) == []


async def test_the_deep_link_opens_the_villages_survey(start_bot, resident):
    aunt = resident(await start_bot())
    new = await aunt.send_command("start", "s_V2")
    assert "西山村居民满意度测评" in new[0].text and new[1].text.startswith("第 1/8 题")
    await aunt.send_command("start", "s_NOPE")
    assert aunt.last_message.text == T.UNKNOWN_VILLAGE.format(code="NOPE")


async def test_typed_scores_count_like_buttons(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await open_survey(aunt)
    await aunt.send_text("5")
    assert aunt.last_message.text.startswith("已记录：第 1/8 题：社区为民服务\n您的回答：5 非常满意")
    assert "第 2/8 题" in aunt.last_message.text
    await aunt.send_text("满意")
    await aunt.send_text("跳过")
    assert "第 4/8 题" in current_question(aunt)


async def test_all_skipped_without_comment_cannot_be_submitted(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await to_summary(aunt, ["跳过"] * 8)
    await aunt.press("提交")
    assert aunt.last_answer == T.NOTHING_TO_SUBMIT
    assert responses(session_factory) == []
    await aunt.press("重新填写")
    assert "从第 1 题重新开始" in aunt.last_message.text and "第 1/8 题" in aunt.last_message.text


# ---------------------------------------------------------------------------------------------- restart


async def test_a_restart_of_the_bot_resumes_where_the_resident_was(start_bot, resident, session_factory):
    first = await start_bot()
    aunt = resident(first)
    await open_survey(aunt)
    await answer_all(aunt, ["5 非常满意", "4 满意", "跳过"])
    old_question = aunt.replies[-1]
    assert old_question.text.startswith("第 4/8 题")
    await first.shutdown()

    second = await start_bot()  # a new Application and transport on the same database
    aunt2 = resident(second)
    # The resident presses a button on the question the old process sent: it still works.
    _, data = aunt.find_button("3 一般", message=old_question)
    new = await aunt2.press_data(data, message_id=old_question.message_id)
    assert new[-1].text.startswith("第 5/8 题：社区环境卫生")
    # /survey shows where they are
    new = await aunt2.send_command("survey")
    assert "欢迎回来" in new[0].text and "已答 4/8" in new[0].text
    assert new[1].text.startswith("第 5/8 题")
    await answer_all(aunt2, ["4 满意"] * 4)
    await aunt2.press("跳过")
    await aunt2.press("提交")
    assert aunt2.last_message.text == T.SUBMITTED
    assert scores_of(session_factory) == {"service": 5, "vulnerable": 4, "stability": 3, "environment": 4,
                                          "democracy": 4, "social_work": 4, "overall": 4}


async def test_a_restart_at_the_summary_resumes_at_the_summary(start_bot, resident, session_factory):
    first = await start_bot()
    await to_summary(resident(first), comment="路灯坏了")
    await first.shutdown()
    aunt = resident(await start_bot())
    new = await aunt.send_command("survey", "V1")
    assert "已答 8/8" in new[0].text
    assert "意见：路灯坏了" in new[1].text
    await aunt.press("提交")
    assert aunt.last_message.text == T.SUBMITTED
    assert responses(session_factory)[0].comment == "路灯坏了"


# ---------------------------------------------------------------------------------------------- second vote


async def test_second_vote_in_the_same_period_can_replace_the_first(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await to_summary(aunt, ["2 不满意"] * 8)
    await aunt.press("提交")
    new = await open_survey(aunt)
    assert len(new) == 1 and "已经评价过东湖村" in new[0].text and "替换" in new[0].text
    assert new[0].button_labels == ["重新填写并替换", "保留原来的评价"]
    await aunt.press("重新填写并替换")
    assert "第 1/8 题" in aunt.last_message.text
    await answer_all(aunt, ["5 非常满意"] * 8)
    await aunt.send_text("这次好多了")
    assert "提交后将替换您本期之前的评价" in aunt.last_message.text
    await aunt.press("提交")
    assert aunt.last_message.text == T.REPLACED
    [stored] = responses(session_factory)
    assert set(stored.scores.values()) == {5} and stored.comment == "这次好多了"


async def test_second_vote_can_keep_the_first(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await to_summary(aunt, ["2 不满意"] * 8)
    await aunt.press("提交")
    await open_survey(aunt)
    await aunt.press("保留原来的评价")
    assert aunt.last_message.text == T.KEPT
    assert set(scores_of(session_factory).values()) == {2}
    assert drafts(session_factory) == []
    # the offer's buttons are gone; a forged replay of 'keep' changes nothing either
    assert not aunt.replies[-2].buttons


async def test_another_village_is_a_separate_vote(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await to_summary(aunt)
    await aunt.press("提交")
    new = await open_survey(aunt, "V2")
    assert "西山村" in new[0].text and "第 1/8 题" in new[1].text


async def test_opening_another_village_mid_survey_drops_the_unfinished_one(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await open_survey(aunt, "V1")
    await aunt.press("5 非常满意")
    new = await open_survey(aunt, "V2")
    assert "东湖村问卷已作废" in new[0].text and "西山村" in new[0].text
    assert len(drafts(session_factory)) == 1


# ---------------------------------------------------------------------------------------------- /cancel


@pytest.mark.parametrize("where", ["question", "comment", "summary"])
async def test_cancel_at_every_step_deletes_the_draft(start_bot, resident, session_factory, where):
    aunt = resident(await start_bot())
    await open_survey(aunt)
    if where != "question":
        await answer_all(aunt, ["4 满意"] * 8)
    if where == "summary":
        await aunt.press("跳过")
    assert len(drafts(session_factory)) == 1
    stale = aunt.last_message
    await aunt.send_command("cancel")
    assert aunt.last_message.text == E.CANCELLED
    assert drafts(session_factory) == [] and responses(session_factory) == []
    # the buttons left on screen do nothing now
    await aunt.press(stale.button_labels[0], message=stale)
    assert aunt.last_answer == T.BUTTON_NO_SURVEY
    assert drafts(session_factory) == [] and responses(session_factory) == []


async def test_cancel_button_on_the_summary(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await to_summary(aunt)
    await aunt.press("取消")
    assert aunt.last_message.text == T.CANCELLED
    assert drafts(session_factory) == [] and responses(session_factory) == []


async def test_cancel_without_a_survey(start_bot, resident):
    aunt = resident(await start_bot())
    await aunt.send_command("cancel")
    assert aunt.last_message.text == E.NOTHING_TO_CANCEL


# ---------------------------------------------------------------------------------------------- bad input


async def test_stale_and_forged_buttons_change_nothing(start_bot, resident, session_factory, db_settings):
    aunt = resident(await start_bot())
    await open_survey(aunt)
    await aunt.press("5 非常满意")
    await aunt.press("4 满意")
    period = current_period_code()
    before = drafts(session_factory)[0]
    assert before.step == 2
    key = S.choice_key(db_settings.secret.get_secret_value(), before.nonce)

    def q(step: int, score: int | None, of: str = period) -> str:
        """The data of the button answering `step` with `score`, as this draft's keyboards carry it."""
        return R.question_button(of, step, score, key).data()

    async def press(data: str, expected: str) -> None:
        count = len(aunt.replies)
        await aunt.press_data(data)
        assert aunt.last_answer == expected, data
        assert len(aunt.replies) == count, "nothing new is sent"
        after = drafts(session_factory)[0]
        assert (after.step, after.answers, after.stage) == (before.step, before.answers, before.stage)

    await press(q(0, 1), T.BUTTON_STALE_QUESTION)  # an old question, another answer
    await press(q(0, 5), T.BUTTON_NOTED)  # an old question, same answer (double tap)
    await press(q(6, 3), T.BUTTON_STALE_QUESTION)  # a question not asked yet
    await press(q(2, 3, "2020-01"), T.BUTTON_OLD_PERIOD)  # a previous period
    await press(f"sv:{period}:ok:0123abcd", T.BUTTON_STALE_SUMMARY)  # a summary that is not on screen
    await press(f"sv:{period}:cs", T.BUTTON_STALE_QUESTION)
    for forged in (f"sv:{period}:a:2:g", "sv:hack", q(2, 5) + ";DROP TABLE", "sv:" + "9" * 61,
                   f"sv:{period}:a:99:a", f"sv:{period}:q:2:5"):  # the last: the old format, score in clear
        await press(forged, T.BUTTON_INVALID)
    # a button of the keep/replace offer for a village that does not exist
    await press(f"sv:{period}:kp:987654", T.BUTTON_INVALID)
    assert "第 3/8 题" in current_question(aunt)


async def test_another_residents_buttons_cannot_touch_my_survey(start_bot, resident, session_factory):
    app = await start_bot()
    aunt = resident(app)
    await open_survey(aunt)
    _, data = aunt.find_button("5 非常满意")
    stranger = chat_for(app, OTHER_RESIDENT_ID, "路人")
    await stranger.press_data(data)
    assert stranger.last_answer == T.BUTTON_NO_SURVEY
    assert drafts(session_factory)[0].step == 0


async def test_typing_text_when_a_button_is_expected(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await open_survey(aunt)
    new = await aunt.send_text("你们这个社区还行吧")
    assert len(new) == 1 and new[0].text.startswith(T.USE_BUTTONS)
    assert "第 1/8 题" in new[0].text and "5 非常满意" in new[0].button_labels
    await aunt.send_photo()
    assert aunt.last_message.text.startswith(T.ANSWER_NOT_TEXT)
    await aunt.send_sticker()
    assert aunt.last_message.text.startswith(T.ANSWER_NOT_TEXT)
    assert drafts(session_factory)[0].step == 0
    assert not any(FALLTHROUGH in t for t in aunt.texts()), "survey input never reaches the task check"


async def test_bad_comments_get_a_short_reply_and_are_not_kept(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await open_survey(aunt)
    await answer_all(aunt, ["3 一般"] * 8)
    await aunt.send_photo(caption="看这张图")
    assert aunt.last_message.text == T.COMMENT_NOT_TEXT and aunt.last_message.button_labels == ["跳过"]
    await aunt.send_text("意" * 5000)
    assert "5000 字" in aunt.last_message.text and "最多 500 字" in aunt.last_message.text
    await aunt.send_text("👍👍👍🎉")
    assert aunt.last_message.text == T.COMMENT_NO_WORDS
    await aunt.send_text("\u200b\u200b")
    assert aunt.last_message.text == T.COMMENT_EMPTY
    assert drafts(session_factory)[0].stage == "comment"
    await aunt.send_text("希望多组织\x00活动👍")
    assert "意见：希望多组织活动👍" in aunt.last_message.text
    await aunt.send_text("提交吧")
    assert aunt.last_message.text.startswith(T.USE_CONFIRM_BUTTONS)
    await aunt.press("提交")
    assert responses(session_factory)[0].comment == "希望多组织活动👍"


async def test_without_a_survey_messages_go_to_the_task_check(start_bot, resident):
    aunt = resident(await start_bot())
    await aunt.send_text("街道让我们收医保的钱")
    assert aunt.last_message.text == FALLTHROUGH + "街道让我们收医保的钱"


async def test_unknown_or_malformed_village_codes(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await aunt.send_command("survey", "NOPE9")
    assert aunt.last_message.text == T.UNKNOWN_VILLAGE.format(code="NOPE9")
    await aunt.send_command("survey", "东湖村")
    assert aunt.last_message.text == T.BAD_VILLAGE_CODE
    assert drafts(session_factory) == []


async def test_survey_without_a_code(start_bot, resident):
    app = await start_bot()
    aunt = resident(app)
    await aunt.send_command("survey")  # a resident picks the village (one town here: its villages straight away)
    assert aunt.last_message.text.startswith("示范镇：请选择您所在的村(社区)")
    assert aunt.last_message.button_labels == ["东湖村", "西山村"]
    cadre = chat_for(app, CADRE_ID, "王书记")
    await cadre.send_command("survey")
    assert "东湖村居民满意度测评链接" in cadre.last_message.text
    assert f"https://t.me/{app.bot.username}?start=s_V1" in cadre.last_message.text
    # and the cadre can fill it in like anyone else
    await cadre.send_command("survey", "V1")
    assert "第 1/8 题" in cadre.last_message.text
    bureau = chat_for(app, BUREAU_ID, "民政办")
    await bureau.send_command("survey")
    text = bureau.last_message.text
    assert "示范镇各村(社区)居民满意度测评链接" in text
    assert "东湖村：https://t.me/" in text and text.endswith("?start=s_V2")


async def test_survey_is_refused_in_a_group(start_bot, session_factory):
    app = await start_bot()
    group = {"id": -100123, "type": "supergroup", "title": "东湖村居民群"}
    user = {"id": RESIDENT_ID, "is_bot": False, "first_name": "李阿姨"}
    update = make_update(app, {"message": {
        "message_id": 7, "date": 1_760_000_000, "chat": group, "from": user, "text": "/survey V1",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}})
    await app.process_update(update)
    assert app.bot_data["transport"].sent(-100123)[-1].text == T.PRIVATE_ONLY
    assert drafts(session_factory) == []


async def test_submissions_are_rate_limited(start_bot, resident, session_factory):
    aunt = resident(await start_bot(per_minute=1))
    await to_summary(aunt)
    await aunt.press("提交")
    await open_survey(aunt)
    await aunt.press("重新填写并替换")
    await answer_all(aunt, ["1 很不满意"] * 8)
    await aunt.press("跳过")
    await aunt.press("提交")
    assert "提交太频繁" in aunt.last_answer
    assert set(scores_of(session_factory).values()) == {4}, "the first answer stands"
    assert len(drafts(session_factory)) == 1, "the resident's answers are kept for a later try"


# ---------------------------------------------------------------------------------------------- anonymity


async def test_no_survey_row_contains_the_residents_telegram_id(start_bot, resident, session_factory, engine):
    app = await start_bot()
    aunt = resident(app)
    await to_summary(aunt, comment="好")
    await aunt.press("提交")
    neighbour = chat_for(app, OTHER_RESIDENT_ID, "张大爷")
    await open_survey(neighbour)
    await neighbour.press("3 一般")  # a draft in progress too

    survey_tables = [t for t in inspect(engine).get_table_names() if t.startswith("survey_")]
    assert set(survey_tables) >= {"survey_responses", "survey_answers", "survey_periods"}
    ids = {str(RESIDENT_ID), str(OTHER_RESIDENT_ID)}
    rows_seen = 0
    with engine.connect() as conn:
        for table in survey_tables:
            columns = [c["name"] for c in inspect(engine).get_columns(table)]
            assert not [c for c in columns if "user" in c or "telegram" in c or "chat" in c], table
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                rows_seen += 1
                for value in row:
                    assert not any(i in str(value) for i in ids), f"{table} holds a Telegram id: {row}"
        # the survey in progress is a pending step: found by an HMAC, with neither member nor chat
        in_progress = conn.execute(text("SELECT * FROM pending_actions WHERE kind = :kind"),
                                   {"kind": S.DRAFT_KIND}).mappings().all()
        assert len(in_progress) == 1
        for row in in_progress:
            rows_seen += 1
            assert row["member_id"] is None and row["chat_id"] is None and len(row["owner_key"]) == 64
            assert not any(i in str(value) for value in row.values() for i in ids), f"a draft holds a Telegram id: {row}"
    assert rows_seen >= 1 + 8 + 1 + 1
    with session_factory() as s:
        assert s.scalar(select(SurveyAnswer.score).limit(1)) is not None
        [response] = s.scalars(select(SurveyResponse)).all()
        assert len(response.respondent_key) == 64


# ---------------------------------------------------------------------------------------------- reliability


async def test_an_unfinished_survey_of_a_past_period_is_dropped(start_bot, resident, session_factory, db_settings):
    from storage import surveys as S

    old = S.previous_period_spec(S.period_spec(None, "monthly"))
    with session_factory() as s:
        period = S.ensure_period(s, old)
        village_id = s.scalar(text("SELECT id FROM villages WHERE code = 'V1'"))
        secret = db_settings.secret.get_secret_value()
        S.save_draft(s, respondent_key=S.respondent_key(secret, RESIDENT_ID, "V1", old.code),
                     owner_key=S.owner_key(secret, RESIDENT_ID), village_id=village_id,
                     period_id=period.id, step=3, answers={"service": 5, "vulnerable": 5, "culture": 5})
        s.commit()
    aunt = resident(await start_bot())
    # an old question's button from that period does nothing
    await aunt.press_data(f"sv:{old.code}:a:3:a", message_id=1)
    assert aunt.last_answer == T.BUTTON_OLD_PERIOD
    new = await aunt.send_command("survey")
    assert "上一期" in new[0].text and "已作废" in new[0].text
    assert new[1].text.startswith("第 1/8 题")
    [draft] = drafts(session_factory)
    assert draft.step == 0 and draft.answers == {}


async def test_database_down_the_resident_is_told_and_text_still_gets_an_answer(start_bot, resident,
                                                                                 session_factory):
    from bot.services import get_services
    from storage.errors import DatabaseUnavailable

    app = await start_bot()
    aunt = resident(app)
    await open_survey(aunt)
    services = get_services(app)
    real = services.run_db

    async def down(*args, **kwargs):
        raise DatabaseUnavailable("database is locked")

    services.run_db = down
    try:
        await aunt.press("5 非常满意")
        assert aunt.last_answer == T.DB_UNAVAILABLE
        await aunt.send_text("街道让我们收医保的钱")  # cannot tell if it is a survey answer: the check answers
        assert aunt.last_message.text == FALLTHROUGH + "街道让我们收医保的钱"
        await aunt.send_command("survey", "V1")
        assert aunt.last_message.text == T.DB_UNAVAILABLE
    finally:
        services.run_db = real
    await aunt.press("5 非常满意")  # the database is back: the same button works
    assert "第 2/8 题" in aunt.last_message.text
