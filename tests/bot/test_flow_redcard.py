"""flows/redcard.py without Telegram: `(session, actor, input) -> typed result`, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from flows import Actor
from flows import redcard as flow
from storage import checklog
from storage.members import issue_invite, redeem_invite
from storage.models import RedCard
from tests.bot.test_bot_check import FORBIDDEN, rows

CADRE = Actor(user_id=7001, chat_id=7001)
OTHER_CADRE = Actor(user_id=7002, chat_id=7002)
STRANGER = Actor(user_id=7003, chat_id=7003)


@pytest.fixture
def cadres(session_factory, places):
    with session_factory() as s:
        for actor, village in ((CADRE, "V1"), (OTHER_CADRE, "V1")):
            code = issue_invite(s, role="cadre", village_code=village).code
            redeem_invite(s, code, telegram_user_id=actor.user_id)
        s.commit()


def _checked(session_factory, kb, actor: Actor, text: str) -> int:
    from storage.members import get_member

    with session_factory() as s:
        member = get_member(s, actor.user_id)
        check_id = checklog.log_check(s, text=text, verdict=kb.check(text).verdict, member_id=member.id,
                                      village_id=member.village_id)
        s.commit()
        return check_id


def step(session_factory, fn, *args):
    with session_factory() as s:
        result = fn(s, *args)
        s.commit()
        return result


@pytest.mark.parametrize("text", ["镇医保办", "城管", "派出所", "县人社局", "蓝天志愿者协会", "镇政府", "社区卫生服务中心"])
def test_department_names_are_departments(kb, text):
    assert not flow.reads_as_task(kb, text)


@pytest.mark.parametrize("text", [
    "镇上还让我们每天在群里打卡，还要拍照上传", "镇上还让我们每天在群里打卡还要拍照上传", "打卡",
    "派出所叫社区开个证明，证明张阿姨跟她儿子是母子关系", "街道让我们收医保的钱还要排名",
])
def test_tasks_are_no_departments(kb, text):
    assert flow.reads_as_task(kb, text)


def test_a_card_from_start_to_a_typed_department(session_factory, kb, cadres):
    check_id = _checked(session_factory, kb, CADRE, FORBIDDEN)
    asking = step(session_factory, flow.start, kb, CADRE, check_id, flow.Pick.TOP)
    assert isinstance(asking, flow.Asking) and asking.task == FORBIDDEN and asking.departments == ("街道办事处",)
    typing = step(session_factory, flow.choose_other, CADRE, asking.pending_id)
    assert isinstance(typing, flow.Typing)
    assert step(session_factory, flow.waiting_for_typed, CADRE)
    assert not step(session_factory, flow.waiting_for_typed, OTHER_CADRE)
    assert step(session_factory, flow.typed_department, kb, CADRE, "👍👍") == flow.NotADepartment(flow.TypedProblem.EMPTY)
    assert step(session_factory, flow.typed_department, kb, CADRE, "镇上还让我们每天在群里打卡") == flow.StillWaiting(FORBIDDEN)
    saved = step(session_factory, flow.typed_department, kb, CADRE, " 镇医保办 ")
    assert saved == flow.Saved("镇医保办", "C20", 1) and saved.created
    [card] = rows(session_factory, RedCard)
    assert (card.department, card.department_key, card.item_id) == ("镇医保办", "医保局", "C20")
    assert not step(session_factory, flow.waiting_for_typed, CADRE)
    assert step(session_factory, flow.typed_department, kb, CADRE, "镇医保办") == flow.NothingWaiting()


def test_refusals_are_typed(session_factory, kb, cadres):
    check_id = _checked(session_factory, kb, CADRE, FORBIDDEN)
    assert step(session_factory, flow.start, kb, STRANGER, check_id, flow.Pick.TOP) == flow.Refused(flow.Refusal.NOT_REGISTERED)
    assert step(session_factory, flow.start, kb, OTHER_CADRE, check_id, flow.Pick.TOP) == flow.Refused(flow.Refusal.NOT_YOURS)
    assert step(session_factory, flow.start, kb, CADRE, 999_999, flow.Pick.TOP) == flow.Refused(flow.Refusal.STALE)
    assert step(session_factory, flow.start, kb, CADRE, check_id, flow.Pick.SECOND) == flow.Refused(flow.Refusal.NOT_REFUSABLE)
    asking = step(session_factory, flow.start, kb, CADRE, check_id, flow.Pick.TOP)
    assert step(session_factory, flow.choose_guess, kb, OTHER_CADRE, asking.pending_id, 0) == flow.Refused(flow.Refusal.NOT_YOURS)
    assert step(session_factory, flow.choose_guess, kb, CADRE, asking.pending_id, 0) == flow.Saved("街道办事处", "C20", 1)
    # a double tap: the step is used
    assert step(session_factory, flow.choose_guess, kb, CADRE, asking.pending_id, 0) == flow.Refused(flow.Refusal.STALE)


def test_withdraw_and_undo(session_factory, kb, cadres):
    check_id = _checked(session_factory, kb, CADRE, FORBIDDEN)
    asking = step(session_factory, flow.start, kb, CADRE, check_id, flow.Pick.TOP)
    step(session_factory, flow.choose_guess, kb, CADRE, asking.pending_id, 0)
    [card] = rows(session_factory, RedCard)
    assert step(session_factory, flow.decide, CADRE, card.id, flow.Decision.CONFIRM) == flow.Decided(flow.Decision.CONFIRM)
    withdrawn = step(session_factory, flow.decide, CADRE, card.id, flow.Decision.WITHDRAW)
    assert withdrawn.undo_id is not None
    assert step(session_factory, flow.undoable, CADRE) == {card.id: withdrawn.undo_id}
    assert step(session_factory, flow.undo_withdrawal, OTHER_CADRE, withdrawn.undo_id) == flow.Refused(flow.Refusal.NOT_YOURS)
    assert step(session_factory, flow.undo_withdrawal, CADRE, withdrawn.undo_id) == flow.Restored(card.id, "confirmed")
    assert step(session_factory, flow.undo_withdrawal, CADRE, withdrawn.undo_id) == flow.Refused(flow.Refusal.STALE)
    assert step(session_factory, flow.decide, CADRE, card.id, flow.Decision.CONFIRM) == flow.Refused(flow.Refusal.ALREADY, "confirmed")


def test_cancel_all_drops_only_waiting_cards(session_factory, kb, cadres):
    check_id = _checked(session_factory, kb, CADRE, FORBIDDEN)
    step(session_factory, flow.start, kb, CADRE, check_id, flow.Pick.TOP)
    assert step(session_factory, flow.cancel_all, OTHER_CADRE) is False
    assert step(session_factory, flow.cancel_all, CADRE) is True
    assert step(session_factory, flow.cancel_all, CADRE) is False
