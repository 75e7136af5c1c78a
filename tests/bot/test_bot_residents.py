"""Residents (people who came through a village's survey link and never registered) asking how to get something
done get an answer in their words: where to go and what to bring, never the cadres' lists or red cards."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import CheckLog, Resident
from tests.bot.conftest import RESIDENT_ID, STRANGER_ID
from tests.bot.test_bot_check import rows


def residents(session_factory) -> list[Resident]:
    with session_factory() as s:
        return list(s.scalars(select(Resident)))

CADRE_WORDS = ("在协议内", "负面清单", "红牌", "清单", "协助政府工作", "村(居)委会可代为", "B1")


async def resident_of_v1(bot):
    aunt = bot.chat(RESIDENT_ID, "李阿姨")
    await aunt.send_command("start", "s_V1")  # the village's survey link …
    await aunt.send_command("cancel")  # … she leaves the survey for later
    return aunt


async def test_a_resident_asking_about_dibao_is_told_where_to_go_and_what_to_bring(bot, session_factory):
    aunt = await resident_of_v1(bot)
    assert len(residents(session_factory)) == 1
    await aunt.send_text("低保怎么申请")
    reply = aunt.last_message
    assert "低保" in reply.text
    assert "到哪里办：" in reply.text and "社会救助窗口" in reply.text
    assert "要带什么：" in reply.text and "身份证" in reply.text and "户口簿" in reply.text
    assert not [w for w in CADRE_WORDS if w in reply.text], reply.text
    assert "/register" not in reply.text
    assert reply.button_labels == ["👍", "👎"]  # no 记为红牌候选
    [entry] = rows(session_factory, CheckLog)
    assert entry.member_id is None and entry.verdict == "assist"


async def test_a_resident_asking_for_a_certificate_is_sent_to_whoever_issues_it(bot):
    aunt = await resident_of_v1(bot)
    await aunt.send_text("怎么开无犯罪证明")
    text = aunt.last_message.text
    assert "不由村(社区)居委会开" in text and "到哪里办：" in text
    assert "不应出具" not in text and "红牌" not in text
    assert "记为红牌候选" not in aunt.last_message.button_labels


async def test_a_resident_without_a_clear_question_is_asked_to_say_more(bot):
    aunt = await resident_of_v1(bot)
    await aunt.send_text("你好")
    assert "办事去哪里" in aunt.last_message.text
    await aunt.send_text("   ")
    assert "没有收到文字" in aunt.last_message.text


async def test_cadres_and_strangers_still_get_the_cadres_answer(bot, cadre):
    await cadre.send_text("低保怎么申请")
    assert cadre.last_message.text.startswith("🤝")
    stranger = bot.chat(STRANGER_ID)  # unregistered, but never came through a survey link
    await stranger.send_text("低保怎么申请")
    assert stranger.last_message.text.startswith("🤝") and "/register" in stranger.last_message.text


async def test_a_cadre_opening_a_survey_link_stays_a_cadre(bot, cadre, session_factory):
    await cadre.send_command("start", "s_V1")
    await cadre.send_command("cancel")
    assert residents(session_factory) == []
    await cadre.send_text("低保怎么申请")
    assert cadre.last_message.text.startswith("🤝")
