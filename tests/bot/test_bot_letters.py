"""📝 生成回复函 as a cadre sees it: the button under a refusal, the letter to forward and its Word document."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from sqlalchemy import update

from bot import callbacks
from storage.models import CheckLog, Member
from tests.bot.conftest import CADRE2_ID, CADRE_ID, OTHER_TOWN_CADRE_ID, RESIDENT_ID, register
from tests.bot.test_bot_check import ASSIST, CERTIFICATE, FORBIDDEN, rows
from tests.chat import Chat
from tests.telegram_transport import SentMessage
from texts import bot_check as B
from texts import letters as L

UNLISTED = "让我们帮快递公司发传单"  # unlisted, no department named
DUTY = "村里自己组织村民代表会议讨论修路"  # duty (A6)
VILLAGE_COMMITTEE = "示范镇东湖村村民委员会"  # V1 of the test places
COMMUNITY_COMMITTEE = "临江街道滨江社区居民委员会"  # V3


def answered(kb, text, verdict, item_id=None):
    """`text` after checking the knowledge base still answers it so (else: choose another phrase for the test)."""
    result = kb.check(text)
    found = (result.verdict, result.top.id if result.top else None)
    assert found[0] == verdict and (item_id is None or found[1] == item_id), (
        f"the knowledge base now answers {text!r} {found}: choose another phrase for this test")
    return text


def today_written(bot) -> str:
    day = datetime.now(ZoneInfo(bot.settings.timezone)).date()
    return f"{day.year}年{day.month}月{day.day}日"


async def press_letter(chat: Chat) -> tuple[SentMessage, SentMessage, str]:
    """Press 生成回复函 on the last answer: the text message, the document and the document's text."""
    text, document = await chat.press(B.BTN_LETTER)
    assert chat.last_answer == L.SENT
    assert (text.kind, document.kind) == ("text", "document")
    return text, document, "\n".join(p.text for p in opened_docx(document).paragraphs)


def opened_docx(document: SentMessage):
    assert document.document is not None
    return docx.Document(BytesIO(document.document[1]))


def file_name(document: SentMessage) -> str:
    assert document.document is not None
    return document.document[0]


async def test_a_restricted_task_gets_a_letter_declining_it(bot, cadre, kb):
    answer = answered(kb, FORBIDDEN, "restricted", "C20")
    item = kb.items["C20"]
    await cadre.send_text(answer)
    assert B.BTN_LETTER in cadre.last_message.button_labels
    text, document, in_word = await press_letter(cadre)
    assert "C20" in text.text and item.title in text.text and item.basis[0] in text.text
    assert "街道办事处：" in text.text  # the department the message named
    assert VILLAGE_COMMITTEE in text.text and "盖章" in text.text and today_written(bot) in text.text
    assert file_name(document) == "回复函-C20.docx"
    for expected in (VILLAGE_COMMITTEE, today_written(bot), "盖章", item.basis[0], "C20"):
        assert expected in in_word, expected


async def test_an_unlisted_task_gets_a_request_for_an_agreement(bot, cadre, kb):
    await cadre.send_text(answered(kb, UNLISTED, "unlisted"))
    assert B.BTN_LETTER in cadre.last_message.button_labels
    text, document, in_word = await press_letter(cadre)
    assert "费随事转" in text.text and "项目协议书" in text.text
    assert "村组法第37条" in text.text and "居组法" not in text.text  # a village committee's own law
    assert "________：" in text.text  # no department named: a line to fill in by hand
    assert file_name(document) == "回复函-协议申请.docx"
    for expected in (VILLAGE_COMMITTEE, today_written(bot), "盖章", "村组法第37条", "费随事转"):
        assert expected in in_word, expected


async def test_a_refused_certificate_gets_a_card_for_the_resident(bot, cadre, kb):
    await cadre.send_text(answered(kb, CERTIFICATE, "certificate_refused", "P1"))
    item = kb.items["P1"]
    text, document, in_word = await press_letter(cadre)
    assert item.title in text.text and item.issuer.rstrip("。") in text.text and item.basis[0] in text.text
    assert "公安机关" in text.text
    assert file_name(document) == "办事指引-P1.docx"
    for expected in (VILLAGE_COMMITTEE, today_written(bot), "盖章", item.basis[0]):
        assert expected in in_word, expected


async def test_a_community_letter_carries_the_residents_committee_and_its_law(bot, invite, kb):
    community = bot.chat(OTHER_TOWN_CADRE_ID, "赵主任")
    await register(community, invite("cadre", "V3"))
    await community.send_text(answered(kb, UNLISTED, "unlisted"))
    text, _, in_word = await press_letter(community)
    assert COMMUNITY_COMMITTEE in text.text and COMMUNITY_COMMITTEE in in_word
    assert "居组法第20条" in text.text and "村组法" not in text.text


async def test_the_word_document_is_laid_out_for_printing(cadre, kb):
    await cadre.send_text(FORBIDDEN)
    _, document, _ = await press_letter(cadre)
    opened = opened_docx(document)
    paragraphs = [p for p in opened.paragraphs if p.text]
    assert paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.CENTER and "C20" not in paragraphs[0].text
    assert [p.alignment for p in paragraphs[-2:]] == [WD_ALIGN_PARAGRAPH.RIGHT] * 2
    assert "盖章" in paragraphs[-2].text
    # Every run names an East-Asian font, so Word shows the Chinese in it.
    for paragraph in paragraphs:
        for run in paragraph.runs:
            properties = run._element.rPr
            fonts = properties.rFonts if properties is not None else None
            assert fonts is not None and fonts.get(qn("w:eastAsia")), paragraph.text


@pytest.mark.parametrize("text", [DUTY, ASSIST])
async def test_allowed_work_gets_no_letter(cadre, kb, text):
    await cadre.send_text(text)
    assert kb.check(text).verdict in ("duty", "assist")
    assert B.BTN_LETTER not in cadre.last_message.button_labels


async def test_an_unregistered_user_gets_no_letter(bot):
    stranger = bot.chat(RESIDENT_ID)
    await stranger.send_text(FORBIDDEN)
    assert B.BTN_LETTER not in stranger.last_message.button_labels


async def test_letter_buttons_fit_telegrams_64_bytes(bot, cadre):
    await cadre.send_text(FORBIDDEN)
    _, data = cadre.find_button(B.BTN_LETTER)
    assert len(data.encode()) <= callbacks.MAX_BYTES
    # The largest check id a button carries still fits.
    secret = bot.settings.secret.get_secret_value()
    assert len(callbacks.sign(secret, CADRE_ID, "lt", 2**62).encode()) <= callbacks.MAX_BYTES


async def test_forged_stale_or_foreign_letter_buttons_send_nothing(bot, cadre, invite, session_factory):
    await cadre.send_text(FORBIDDEN)
    check_id = rows(session_factory, CheckLog)[0].id
    secret = bot.settings.secret.get_secret_value()
    before = len(cadre.replies)
    await cadre.press_data("lt:1:AAAAAAAA")
    assert cadre.last_answer == "无法识别这个按钮。"
    await cadre.press_data(callbacks.sign(secret, CADRE_ID, "lt", check_id + 1000))
    assert cadre.last_answer == "这个按钮已失效，请重新发送任务内容。"
    assert len(cadre.replies) == before
    # Another cadre (same town) with a button correctly signed for them cannot reach this cadre's check.
    other = bot.chat(CADRE2_ID)
    await register(other, invite("cadre", "V2"))
    _, data = cadre.find_button(B.BTN_LETTER)
    await other.press_data(data, message=cadre.last_message)
    assert other.last_answer == "无法识别这个按钮。"
    await other.press_data(callbacks.sign(secret, CADRE2_ID, "lt", check_id), message=cadre.last_message)
    assert other.last_answer == "这个按钮不是给您的。"
    assert len(cadre.replies) == before and len(other.replies) == 1  # only the registration reply


async def test_a_cadre_who_moved_village_cannot_write_for_the_old_one(bot, cadre, places, session_factory):
    await cadre.send_text(FORBIDDEN)
    answer = cadre.last_message
    with session_factory() as s:
        s.execute(update(Member).where(Member.telegram_user_id == CADRE_ID).values(village_id=places.village_ids["V2"]))
        s.commit()
    await cadre.press(B.BTN_LETTER, message=answer)
    assert cadre.last_answer == L.WRONG_VILLAGE
    assert cadre.last_message == answer
