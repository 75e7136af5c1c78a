"""Red-card candidates: the same department+item in a period is counted, not duplicated; status changes are
permission-checked and recorded on a timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.errors import InvalidInput, InvalidTransition, NotFound, NotPermitted
from storage.models import NO_ITEM, CheckLog, RedCard, RedCardEvent
from storage.redcards import (
    can_view,
    confirm_red_card,
    evaluation_period,
    include_red_card,
    include_year_end,
    list_red_cards,
    list_town_red_cards,
    record_red_card,
    reported_card,
    timeline,
    withdraw_red_card,
)


def _record(session, world, village="V1", member="cadre1", **kw):
    kw.setdefault("department", "住建局")
    kw.setdefault("item_id", "C20")
    kw.setdefault("task_text", "要求村里出具房屋安全证明")
    return record_red_card(
        session, village_id=world.villages[village].id, member_id=world.members[member].id, **kw
    )


def test_the_same_department_and_item_again_increments_the_count(session, world):
    first = _record(session, world, evidence=["证明"])
    session.commit()
    again = _record(session, world, task_text="又要我们开房屋安全证明", evidence=["证明", "房屋"])
    session.commit()
    assert first.created and not again.created
    assert again.card.id == first.card.id
    assert again.card.count == 2
    assert again.card.evidence == ["证明", "房屋"]
    assert again.card.task_text == "要求村里出具房屋安全证明"
    assert session.query(RedCard).count() == 1
    events = timeline(session, first.card.id)
    assert [e.action for e in events] == ["created", "reported_again"]
    assert events[1].note == "又要我们开房屋安全证明"
    assert events[1].actor_member_id == world.members["cadre1"].id


def test_other_item_village_or_period_make_a_new_candidate(session, world):
    base = _record(session, world).card
    assert _record(session, world, item_id="C21").card.id != base.id
    assert _record(session, world, village="V2", member="cadre2").card.id != base.id
    assert _record(session, world, period="2025").card.id != base.id
    assert _record(session, world, department="公安局").card.id != base.id
    assert session.query(RedCard).count() == 5


def test_unlisted_tasks_are_deduplicated_too(session, world):
    a = _record(session, world, item_id=None, task_text="让村里统计养狗户")
    b = _record(session, world, item_id=None, task_text="再统计一次养狗户")
    assert a.card.id == b.card.id and b.card.count == 2
    assert a.card.item_id == NO_ITEM


def test_department_is_required(session, world):
    with pytest.raises(InvalidInput):
        _record(session, world, department="  ")


def test_period_is_the_evaluation_year_in_shanghai_time():
    # 2026-12-31 16:00 UTC is already 2027-01-01 00:00 in Shanghai.
    assert evaluation_period(datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)) == "2026"
    assert evaluation_period(datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC)) == "2027"


def test_concurrent_record_or_increment_yields_one_row_with_count_two(session, world, overlap):
    village_id, member_id = world.villages["V1"].id, world.members["cadre1"].id

    def record(s):
        return record_red_card(
            s, village_id=village_id, member_id=member_id, department="民政局", item_id="B6", task_text="x"
        ).created

    first, second = overlap(record, record)
    assert first == (True, None)
    assert second == (False, None)
    session.expire_all()
    rows = session.query(RedCard).all()
    assert len(rows) == 1 and rows[0].count == 2
    assert sorted(e.action for e in timeline(session, rows[0].id)) == ["created", "reported_again"]


def test_many_concurrent_reports_are_all_counted(session, world, stampede):
    village_id, member_id = world.villages["V2"].id, world.members["cadre2"].id
    outcomes = stampede(
        lambda s: record_red_card(
            s, village_id=village_id, member_id=member_id, department="卫健委", item_id=None, task_text="y"
        ).created,
        n=8,
    )
    assert [o.error for o in outcomes] == [None] * 8
    assert sorted(o.value for o in outcomes) == [False] * 7 + [True]
    session.expire_all()
    (row,) = session.query(RedCard).all()
    assert row.count == 8
    assert session.query(RedCardEvent).count() == 8


def _check(session, world, member="cadre1", village="V1"):
    entry = CheckLog(text="要求村里出具房屋安全证明", verdict="restricted", top_item_id="C20",
                     village_id=world.villages[village].id, member_id=world.members[member].id)
    session.add(entry)
    session.commit()
    return entry.id


def test_one_check_is_reported_once_however_often_it_is_sent(session, world):
    check_id = _check(session, world)
    first = _record(session, world, check_id=check_id)
    session.commit()
    again = _record(session, world, check_id=check_id, department="县住建局")  # even under another department
    session.commit()
    assert first.created and not first.already_reported
    assert again.already_reported and again.card.id == first.card.id and again.card.department == "住建局"
    (row,) = session.query(RedCard).all()
    assert row.count == 1
    assert [e.action for e in timeline(session, row.id)] == ["created"]
    assert reported_card(session, check_id).id == row.id
    # another check of the same task is a new report, counted on the same card
    other = _record(session, world, check_id=_check(session, world))
    session.commit()
    assert not other.already_reported and other.card.count == 2


def test_concurrent_reports_of_one_check_count_once(session, world, stampede):
    check_id = _check(session, world, member="cadre2", village="V2")
    village_id, member_id = world.villages["V2"].id, world.members["cadre2"].id
    outcomes = stampede(
        lambda s: record_red_card(
            s, village_id=village_id, member_id=member_id, department="卫健委", item_id=None, task_text="y",
            check_id=check_id,
        ).already_reported,
        n=5,
    )
    assert [o.error for o in outcomes] == [None] * 5
    assert sorted(o.value for o in outcomes) == [False] + [True] * 4
    session.expire_all()
    (row,) = session.query(RedCard).all()
    assert row.count == 1
    assert session.query(RedCardEvent).count() == 1


def test_listing_is_per_village_paginated_newest_first(session, world):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(7):
        _record(session, world, item_id=f"C{i}", now=start + timedelta(days=i))
    _record(session, world, village="V2", member="cadre2", item_id="C1")
    session.commit()
    page0 = list_red_cards(session, world.villages["V1"].id, page=0, page_size=5)
    page1 = list_red_cards(session, world.villages["V1"].id, page=1, page_size=5)
    assert page0.total == 7 and page0.pages == 2
    assert [c.item_id for c in page0.items] == ["C6", "C5", "C4", "C3", "C2"]
    assert [c.item_id for c in page1.items] == ["C1", "C0"]
    assert page0.has_next and not page0.has_prev and page1.has_prev and not page1.has_next
    # a stale page number past the end shows the last page
    assert [c.item_id for c in list_red_cards(session, world.villages["V1"].id, page=9).items] == ["C1", "C0"]
    assert list_town_red_cards(session, world.towns["T1"].id, page_size=50).total == 8
    assert list_red_cards(session, world.villages["V3"].id).items == []


def test_confirm_and_withdraw_need_a_cadre_of_that_village(session, world):
    card = _record(session, world).card
    session.commit()
    for outsider in ("cadre2", "cadre3", "bureau1", "admin"):
        with pytest.raises(NotPermitted):
            confirm_red_card(session, card.id, world.members[outsider])
        with pytest.raises(NotPermitted):
            withdraw_red_card(session, card.id, world.members[outsider])
    assert confirm_red_card(session, card.id, world.members["cadre1"], note="核实").status == "confirmed"
    session.commit()
    assert [e.action for e in timeline(session, card.id)] == ["created", "confirmed"]
    assert timeline(session, card.id)[1].note == "核实"


def test_status_transitions(session, world):
    card = _record(session, world).card
    cadre, bureau = world.members["cadre1"], world.members["bureau1"]
    with pytest.raises(InvalidTransition):
        include_red_card(session, card.id, bureau)  # only confirmed cards
    confirm_red_card(session, card.id, cadre)
    with pytest.raises(InvalidTransition) as caught:
        confirm_red_card(session, card.id, cadre)  # a double tap
    assert caught.value.current == "confirmed"
    with pytest.raises(NotPermitted):
        include_red_card(session, card.id, world.members["bureau2"])  # other town
    assert include_red_card(session, card.id, bureau).status == "included"
    with pytest.raises(InvalidTransition):
        withdraw_red_card(session, card.id, cadre)
    other = _record(session, world, item_id="C99").card
    assert withdraw_red_card(session, other.id, cadre).status == "withdrawn"
    with pytest.raises(InvalidTransition):
        confirm_red_card(session, other.id, cadre)
    with pytest.raises(NotFound):
        confirm_red_card(session, 999_999, cadre)
    assert [e.action for e in timeline(session, card.id)] == ["created", "confirmed", "included"]


def test_who_can_view(session, world):
    card = _record(session, world).card
    m = world.members
    assert can_view(m["cadre1"], card) and can_view(m["bureau1"], card) and can_view(m["admin"], card)
    assert not can_view(m["cadre2"], card) and not can_view(m["bureau2"], card) and not can_view(None, card)


def test_the_command_line_may_include_a_confirmed_card_and_is_audited(session, world):
    from storage.audit import recent_actions

    card = _record(session, world).card
    with pytest.raises(InvalidTransition):
        include_red_card(session, card.id, "cli")  # still only confirmed cards
    confirm_red_card(session, card.id, world.members["cadre1"])
    for impostor in (None, "member:1", "CLI", ""):
        with pytest.raises(NotPermitted):
            include_red_card(session, card.id, impostor)
    assert include_red_card(session, card.id, "cli", note="年终评估").status == "included"
    session.commit()
    last = timeline(session, card.id)[-1]
    assert (last.action, last.actor_member_id, last.note) == ("included", None, "年终评估")
    [entry] = [a for a in recent_actions(session) if a.action == "include_red_card"]
    assert entry.actor == "cli" and entry.detail["red_card_id"] == card.id and entry.detail["village"] == "V1"


def test_year_end_by_a_member_is_limited_to_their_town(session, world):
    card = _record(session, world, period="2025").card
    confirm_red_card(session, card.id, world.members["cadre1"])
    with pytest.raises(NotPermitted):
        include_year_end(session, "T1", "2025", world.members["bureau2"])
    with pytest.raises(NotPermitted):
        include_year_end(session, "T1", "2025", world.members["cadre1"])
    with pytest.raises(InvalidInput):
        include_year_end(session, "T1", "last year")
    result = include_year_end(session, "T1", "2025", world.members["bureau1"])
    assert [c.id for c in result.included] == [card.id] and result.unconfirmed == 0
    assert timeline(session, card.id)[-1].actor_member_id == world.members["bureau1"].id
    assert include_year_end(session, "T1", "2025", world.members["admin"]).included == []
