"""A resident who sends a bare /survey picks the town, then the village, from buttons: nobody needs to know a
village code. On SQLite and PostgreSQL, through the production Application."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flows.survey_rules import CALLBACK_MAX_BYTES
from storage import surveys as S
from storage.models import PendingAction, Town, Village
from storage.places import add_town, add_village
from texts import survey as T

# 临江街道 has more villages than fit on one page of the picker (8)
RIVERSIDE = [f"滨江{n}村" for n in "一二三四五六七八九十"] + ["江心社区"]


@pytest.fixture
def two_towns(town, session_factory):
    """示范镇 (东湖村, 西山村) from the survey fixtures, and 临江街道 with eleven villages."""
    with session_factory() as s:
        add_town(s, "T2", "临江街道")
        for number, name in enumerate(RIVERSIDE, 1):
            add_village(s, f"R{number:02d}", name, "T2")
        s.commit()


def village_buttons(message) -> list[str]:
    return [label for label in message.button_labels if label not in
            (T.PREVIOUS_PAGE_BUTTON, T.NEXT_PAGE_BUTTON, T.BACK_TO_TOWNS_BUTTON)]


def all_callback_data(chat) -> list[str]:
    return [data for message in chat.replies for row in message.buttons for _, data in row if data]


async def test_a_resident_picks_town_then_village_across_pages_and_the_survey_starts(
        start_bot, resident, two_towns, session_factory):
    aunt = resident(await start_bot())
    [picker] = await aunt.send_command("survey")
    assert picker.text == T.PICK_TOWN
    assert picker.button_labels == ["示范镇", "临江街道"]

    await aunt.press("临江街道")
    picker = aunt.last_message  # the same message, now listing the villages
    assert len(aunt.replies) == 1
    assert picker.text.startswith("临江街道：请选择您所在的村(社区)") and "第 1/2 页" in picker.text
    assert village_buttons(picker) == RIVERSIDE[:8]
    assert T.NEXT_PAGE_BUTTON in picker.button_labels and T.PREVIOUS_PAGE_BUTTON not in picker.button_labels

    await aunt.press(T.NEXT_PAGE_BUTTON)
    picker = aunt.last_message
    assert "第 2/2 页" in picker.text
    assert village_buttons(picker) == RIVERSIDE[8:]
    assert T.PREVIOUS_PAGE_BUTTON in picker.button_labels and T.NEXT_PAGE_BUTTON not in picker.button_labels

    new = await aunt.press("江心社区")
    assert aunt.replies[0].text == "您选择了：临江街道 江心社区" and not aunt.replies[0].buttons
    assert "江心社区居民满意度测评" in new[0].text and "匿名" in new[0].text
    assert new[1].text.startswith("第 1/8 题：社区为民服务")
    await aunt.press("4 满意")
    assert aunt.last_message.text.startswith("第 2/8 题")

    with session_factory() as s:
        [draft_owner] = s.scalars(select(PendingAction.owner_key).where(PendingAction.kind == S.DRAFT_KIND))
        draft = S.load_draft(s, owner_key=draft_owner)
        assert s.get(Village, draft.village_id).name == "江心社区" and draft.answers == {"service": 4}
    for data in all_callback_data(aunt):
        assert len(data.encode()) <= CALLBACK_MAX_BYTES and data.isascii(), data


async def test_the_picker_goes_back_to_the_towns(start_bot, resident, two_towns):
    aunt = resident(await start_bot())
    await aunt.send_command("survey")
    await aunt.press("临江街道")
    await aunt.press(T.BACK_TO_TOWNS_BUTTON)
    assert aunt.last_message.text == T.PICK_TOWN and aunt.last_message.button_labels == ["示范镇", "临江街道"]
    await aunt.press("示范镇")
    assert village_buttons(aunt.last_message) == ["东湖村", "西山村"]
    assert "页" not in aunt.last_message.text, "one page: no page numbers"
    new = await aunt.press("西山村")
    assert "西山村居民满意度测评" in new[0].text


async def test_with_one_town_the_picker_starts_with_its_villages(start_bot, resident):
    aunt = resident(await start_bot())
    [picker] = await aunt.send_command("survey")
    assert picker.text.startswith("示范镇：请选择您所在的村(社区)")
    assert picker.button_labels == ["东湖村", "西山村"], "no way back to a town list of one"
    new = await aunt.press("东湖村")
    assert "东湖村居民满意度测评" in new[0].text and new[1].text.startswith("第 1/8 题")


async def test_picking_a_village_already_answered_offers_to_replace(start_bot, resident):
    aunt = resident(await start_bot())
    await aunt.send_command("survey", "V2")
    for _ in range(8):
        await aunt.press("5 非常满意")
    await aunt.press("跳过")
    await aunt.press("提交")
    await aunt.send_command("survey")
    new = await aunt.press("西山村")
    assert "已经评价过西山村" in new[0].text
    assert new[0].button_labels == ["重新填写并替换", "保留原来的评价"]


async def test_forged_or_outdated_picker_buttons_get_a_short_note(start_bot, resident, two_towns, session_factory):
    aunt = resident(await start_bot())
    await aunt.send_command("survey")
    count = len(aunt.replies)
    for forged in ("sv:v:999999:0", "sv:go:999999", "sv:t:x", "sv:v:1", "sv:go:0", "sv:t:99999"):
        await aunt.press_data(forged)
        assert aunt.last_answer == T.BUTTON_INVALID, forged
    assert len(aunt.replies) == count, "nothing new is sent"
    with session_factory() as s:
        town_id = s.scalar(select(Town.id).where(Town.code == "T2"))
    await aunt.press_data(f"sv:v:{town_id}:7")  # a page that no longer exists: the last one
    assert "第 2/2 页" in aunt.last_message.text
