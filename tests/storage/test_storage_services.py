"""Check log and feedback, places import, pending actions, digest subscriptions and send claims, audit,
timestamps, and the database-down error."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from storage.audit import log_action, recent_actions
from storage.checklog import log_check, recent_checks, set_feedback
from storage.db import Database, make_engine, make_session_factory, session_scope
from storage.digests import (
    claim_digest_send,
    digest_scope,
    get_digest_send,
    list_subscriptions,
    mark_digest_sent,
    release_digest_send,
    sent_weeks,
    subscribe,
    subscribed_scopes,
    unsubscribe,
)
from storage.errors import AlreadyExists, DatabaseUnavailable, InvalidInput, NotFound, NotPermitted
from storage.models import CheckLog, Town, Village
from storage.pending import (
    create_pending,
    delete_pending,
    get_pending,
    latest_pending,
    open_kinds_of_chats,
    purge_expired,
    save_owned,
    take_pending,
)
from storage.places import add_town, add_village, import_places, list_villages, normalize_code
from storage.timeutil import iso_week_of, week_bounds_utc

# ---------------------------------------------------------------------------------------------- check log


def test_a_check_is_logged_with_an_aware_utc_time_and_rated_by_its_cadre(session, world):
    cadre = world.members["cadre1"]
    check_id = log_check(session, text="要求开具无犯罪证明", verdict="certificate_refused", top_item_id="P10",
                         village_id=cadre.village_id, member_id=cadre.id)
    session.commit()
    session.expunge_all()
    stored = session.get(CheckLog, check_id)
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)
    assert abs(stored.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert set_feedback(session, check_id, -1, member_id=cadre.id).feedback == -1
    assert set_feedback(session, check_id, 1, member_id=cadre.id).feedback == 1
    with pytest.raises(NotPermitted):
        set_feedback(session, check_id, -1, member_id=world.members["cadre2"].id)
    with pytest.raises(InvalidInput):
        set_feedback(session, check_id, 5, member_id=cadre.id)
    with pytest.raises(NotFound):
        set_feedback(session, 123456, 1)


def test_unregistered_checks_are_logged_without_member_or_village(session):
    check_id = log_check(session, text="x" * 5000, verdict="unclear")
    session.commit()
    entry = session.get(CheckLog, check_id)
    assert entry.member_id is None and entry.village_id is None and len(entry.text) == 4096
    assert set_feedback(session, check_id, 1).feedback == 1
    assert recent_checks(session)[0].id == check_id


def test_times_from_other_zones_are_stored_as_the_same_instant(session, world):
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 11, 23, 0, 0, tzinfo=shanghai)  # Monday 00:00 in Shanghai
    check_id = log_check(session, text="t", verdict="duty", now=local)
    session.commit()
    session.expunge_all()
    stored = session.get(CheckLog, check_id)
    assert stored.created_at == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    start, end = week_bounds_utc("2026-W48")
    assert start == stored.created_at
    in_week = session.query(CheckLog).filter(CheckLog.created_at >= start, CheckLog.created_at < end).count()
    in_prev = session.query(CheckLog).filter(CheckLog.created_at < start).count()
    assert (in_week, in_prev) == (1, 0)


def test_iso_weeks_turn_at_shanghai_midnight():
    sunday_2359 = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)  # Sun 23:59 Shanghai
    monday_0000 = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # Mon 00:00 Shanghai
    assert iso_week_of(sunday_2359) == "2026-W47"
    assert iso_week_of(monday_0000) == "2026-W48"


# ---------------------------------------------------------------------------------------------- places


def test_place_codes_are_normalised_and_validated(session):
    assert normalize_code(" demo-01 ") == "DEMO-01"
    for bad in ("", "a b", "镇", "x" * 33, "-X"):
        with pytest.raises(InvalidInput):
            normalize_code(bad)
    add_town(session, "t9", "九镇")
    with pytest.raises(AlreadyExists):
        add_town(session, "T9", "又一个")
    with pytest.raises(NotFound):
        add_village(session, "V9", "九村", "NOPE")


def test_import_places_from_yaml_and_csv_is_idempotent(session, tmp_path):
    yaml_file = tmp_path / "places.yaml"
    yaml_file.write_text(
        "towns:\n  - code: A\n    name: 甲镇\n    villages:\n      - {code: A1, name: 甲一村}\n      - {code: A2, name: 甲二村}\n",
        encoding="utf-8",
    )
    report = import_places(session, yaml_file)
    assert (report.towns_created, report.villages_created) == (1, 2)
    again = import_places(session, yaml_file)
    assert (again.towns_created, again.villages_created, again.unchanged) == (0, 0, 3)

    csv_file = tmp_path / "places.csv"
    csv_file.write_text(
        "\ufefftown_code,town_name,village_code,village_name\nA,甲镇,A2,甲二社区\nB,乙镇,B1,乙一村\nC,丙镇,,\n",
        encoding="utf-8",
    )
    report = import_places(session, csv_file)
    assert (report.towns_created, report.villages_created, report.villages_updated) == (2, 1, 1)
    assert [v.name for v in list_villages(session, "A")] == ["甲一村", "甲二社区"]
    assert session.query(Town).count() == 3 and session.query(Village).count() == 3


def test_bad_places_files_are_refused_with_a_reason(session, tmp_path):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("code,name\nA,甲\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        import_places(session, bad_csv)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("towns:\n  - name: 没有代码\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        import_places(session, bad_yaml)
    with pytest.raises(InvalidInput):
        import_places(session, tmp_path / "missing.yaml")


# ---------------------------------------------------------------------------------------------- pending actions


def test_pending_action_survives_a_restart_and_is_taken_once(session_factory, world):
    cadre = world.members["cadre1"]
    with session_factory() as s:
        action = create_pending(s, kind="redcard_confirm", payload={"department": "住建局", "item": "C20"},
                                member_id=cadre.id, chat_id=555)
        s.commit()
        action_id = action.id
    with session_factory() as s:  # "after a restart"
        resumed = latest_pending(s, member_id=cadre.id, kind="redcard_confirm")
        assert resumed.id == action_id and resumed.payload["item"] == "C20"
        with pytest.raises(NotPermitted):
            get_pending(s, action_id, member_id=world.members["cadre2"].id)
        assert get_pending(s, action_id, member_id=cadre.id, kind="other") is None
        taken = take_pending(s, action_id, member_id=cadre.id, chat_id=555)
        s.commit()
        assert taken.payload == {"department": "住建局", "item": "C20"}
        assert take_pending(s, action_id, member_id=cadre.id) is None


def test_pending_actions_expire_and_cancel(session, world):
    cadre = world.members["cadre1"]
    now = datetime.now(UTC)
    old = create_pending(session, kind="k", member_id=cadre.id, ttl=timedelta(minutes=5), now=now - timedelta(hours=1))
    assert get_pending(session, old.id, member_id=cadre.id) is None
    assert purge_expired(session) == 1
    create_pending(session, kind="k", member_id=cadre.id)
    create_pending(session, kind="k", member_id=cadre.id)
    assert delete_pending(session, member_id=cadre.id) == 2


def test_open_steps_of_several_chats_in_one_look_up(session):
    """Each chat's own open kinds, plus an anonymous owner's (whose chat is not stored) for every chat; never an
    expired step, never a kind not asked for."""
    now = datetime.now(UTC)
    create_pending(session, kind="typed", chat_id=1, now=now)
    create_pending(session, kind="typed", chat_id=3, ttl=timedelta(minutes=5), now=now - timedelta(hours=1))
    create_pending(session, kind="other", chat_id=2, now=now)
    assert open_kinds_of_chats(session, {"typed", "draft"}, [1, 2, 3], now=now) == {1: {"typed"}, 2: set(), 3: set()}
    save_owned(session, kind="draft", owner_key="k" * 64, payload={}, now=now)
    assert open_kinds_of_chats(session, {"typed", "draft"}, [1, 2], now=now) == {1: {"typed", "draft"}, 2: {"draft"}}
    assert open_kinds_of_chats(session, set(), [1], now=now) == {1: set()}


def test_a_double_tap_takes_a_pending_action_only_once(session, world, stampede):
    cadre_id = world.members["cadre1"].id
    action = create_pending(session, kind="k", member_id=cadre_id)
    session.commit()
    outcomes = stampede(lambda s: take_pending(s, action.id, member_id=cadre_id), n=4)
    assert [o.error for o in outcomes] == [None] * 4
    assert sum(o.value is not None for o in outcomes) == 1


# ---------------------------------------------------------------------------------------------- digest


def test_subscriptions(session, world):
    bureau, admin = world.members["bureau1"], world.members["admin"]
    sub = subscribe(session, bureau)
    assert sub.town_id == world.towns["T1"].id
    assert subscribe(session, bureau).id == sub.id  # idempotent
    assert subscribe(session, admin).town_id is None  # no town: the city roll-up
    session.commit()
    assert {s.member.id for s in list_subscriptions(session)} == {bureau.id, admin.id}
    assert subscribed_scopes(session) == [("city", None), ("town:T1", world.towns["T1"].id)]
    assert unsubscribe(session, bureau.id) is True
    assert unsubscribe(session, bureau.id) is False


def test_digest_send_is_claimed_once_per_scope_and_week(session, world):
    scope = digest_scope("T1")
    assert scope == "town:T1" and digest_scope(None) == "city"
    assert claim_digest_send(session, scope=scope, iso_week="2026-W47", town_id=world.towns["T1"].id)
    assert not claim_digest_send(session, scope=scope, iso_week="2026-W47")
    assert claim_digest_send(session, scope="city", iso_week="2026-W47")
    assert not claim_digest_send(session, scope="city", iso_week="2026-W47")  # NULL town_id does not defeat it
    mark_digest_sent(session, scope=scope, iso_week="2026-W47")
    assert get_digest_send(session, scope=scope, iso_week="2026-W47").finished_at is not None
    assert sent_weeks(session, scope) == {"2026-W47"}
    release_digest_send(session, scope="city", iso_week="2026-W47")
    assert claim_digest_send(session, scope="city", iso_week="2026-W47")
    with pytest.raises(InvalidInput):
        claim_digest_send(session, scope="city", iso_week="2026-47")


def test_two_concurrent_senders_only_one_claims(session, world, overlap, stampede):
    claim = lambda s: claim_digest_send(s, scope="city", iso_week="2026-W48")  # noqa: E731
    first, second = overlap(claim, claim)
    assert (first, second) == ((True, None), (False, None))
    outcomes = stampede(lambda s: claim_digest_send(s, scope="town:T2", iso_week="2026-W48"), n=6)
    assert [o.error for o in outcomes] == [None] * 6
    assert sum(o.value for o in outcomes) == 1


# ---------------------------------------------------------------------------------------------- audit, errors


def test_audit_log_records_cli_and_member_actions(session, world):
    log_action(session, "cli", "test_action", {"x": 1})
    log_action(session, world.members["admin"], "other")
    actions = recent_actions(session, limit=2)
    assert [(a.actor, a.action) for a in actions] == [(f"member:{world.members['admin'].id}", "other"), ("cli", "test_action")]
    assert actions[1].detail == {"x": 1}


def test_an_unreachable_database_raises_database_unavailable():
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nothing", pool_pre_ping=False)
    try:
        with pytest.raises(DatabaseUnavailable):
            with session_scope(make_session_factory(engine)) as s:
                s.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def test_a_locked_sqlite_database_raises_database_unavailable(sqlite_url):
    from storage.migrate import upgrade

    upgrade(sqlite_url)
    db = Database(sqlite_url, busy_timeout_ms=100)
    holder = make_engine(sqlite_url)
    locked, release = threading.Event(), threading.Event()

    def hold_write_lock() -> None:
        with holder.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            connection.exec_driver_sql("ROLLBACK")

    thread = threading.Thread(target=hold_write_lock)
    thread.start()
    try:
        assert locked.wait(10)
        with pytest.raises(DatabaseUnavailable):
            with db.session() as s:
                add_town(s, "LOCK", "锁镇")
    finally:
        release.set()
        thread.join(10)
        holder.dispose()
        db.dispose()
