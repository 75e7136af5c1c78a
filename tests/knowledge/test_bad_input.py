"""Bad input always gets a clear Chinese reply and a valid verdict, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge import KnowledgeBase
from knowledge.model import VERDICTS
from knowledge.normalize import has_cjk


@pytest.mark.parametrize(
    "text, expected_words",
    [
        ("", "没有收到文字"),
        ("   \n\t ", "没有收到文字"),
        ("低保" * 2049, "太长"),
        ("😀🙏👍", "没有收到文字"),
        ("\x00\x01\x02", "没有收到文字"),
        ("*_[]", "没有收到文字"),
        ("95", "只收到数字"),  # a score typed when no question waits for it is no task
        ("８７.５ ", "只收到数字"),
    ],
)
def test_bad_input_gets_a_short_chinese_reply(kb: KnowledgeBase, text: str, expected_words: str):
    result = kb.check(text)
    assert expected_words in result.reply
    assert result.verdict in VERDICTS
    assert result.matches == ()


@pytest.mark.parametrize(
    "text",
    [
        "<b>派出所</b>让社区开<i>无犯罪证明</i>",
        "'; DROP TABLE check_log; -- 让社区开死亡证明",
        "街道让我们装反诈APP，KPI考核注册率",
        "dibao 入户 suan ma",
        "Please help me",
    ],
)
def test_markup_sql_english_and_pinyin_are_answered(kb: KnowledgeBase, text: str):
    result = kb.check(text)
    assert result.verdict in VERDICTS
    assert result.reply and has_cjk(result.reply)


def test_markup_does_not_hide_the_task(kb: KnowledgeBase):
    assert kb.check("<b>派出所</b>让社区开<i>无犯罪记录证明</i>").matches[0].id == "P5"


def test_sql_looking_text_is_just_text(kb: KnowledgeBase):
    assert kb.check("'; DROP TABLE check_log; -- 医院说死亡证明要社区开").verdict == "certificate_refused"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300) | st.text(alphabet="低保医保证明排名打卡不是只是宣传让我们，。！😀<>*_", max_size=80))
def test_check_never_raises_and_always_returns_a_valid_verdict(kb: KnowledgeBase, text: str):
    result = kb.check(text)
    assert result.verdict in VERDICTS
    assert result.in_agreement in (True, False, None)
    assert isinstance(result.reply, str) and result.reply
    assert len(result.matches) <= 3
