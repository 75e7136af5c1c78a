"""Which (scope, week) pairs are due, and the database claim that lets exactly one sender send each of them —
also when two senders race for it at the same moment (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import time, timedelta

from bot.digest import Week
from bot.digest.delivery import CATCH_UP_WEEKS, claim, due_sends, finish, release
from bot.digest.model import Scope
from storage import digests as store
from storage.db import Database
from tests.digest.world import NOW, local, sql, sql_one


def _scope(world, code="T1"):
    return Scope("town", {"T1": "示范镇", "T2": "清河街道"}[code], world.towns[code], code)


def _race(db_url, n, target):
    """Run target(db) in n threads, each with its own engine (like separate processes), released together."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def run(i):
        db = Database(db_url)
        try:
            barrier.wait(10)
            results[i] = target(db)
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_concurrent_claims_let_exactly_one_sender_win(empty_world, db_url, session):
    scope, week = _scope(empty_world), Week.parse("2026-W47")
    results = _race(db_url, 6, lambda db: claim(db, (scope, week), now=NOW))
    assert sorted(results) == [False] * 5 + [True]
    assert sql(session, "SELECT scope, iso_week FROM digest_sends") == [("town:T1", "2026-W47")]


def test_a_claim_is_final_once_finished_and_is_taken_over_only_when_stale(empty_world, db_url):
    scope, week = _scope(empty_world), Week.parse("2026-W47")
    db = Database(db_url)
    try:
        assert claim(db, (scope, week), now=NOW)
        # the first sender is still at work: nobody else may send
        assert not claim(db, (scope, week), now=NOW + timedelta(minutes=10))
        # it died half an hour ago without finishing: one (and only one) sender takes over
        later = NOW + timedelta(minutes=31)
        results = _race(db_url, 4, lambda other: claim(other, (scope, week), now=later))
        assert sorted(results) == [False, False, False, True]
        finish(db, (scope, week), now=later)
        assert not claim(db, (scope, week), now=NOW + timedelta(days=30))
        # a released claim (nothing was delivered) can be claimed again
        other = (scope, Week.parse("2026-W46"))
        assert claim(db, other, now=NOW)
        release(db, other)
        assert claim(db, other, now=NOW)
    finally:
        db.dispose()


def test_due_weeks_start_at_the_subscription_and_skip_what_was_sent(empty_world, session):
    members = empty_world.members
    store.subscribe(session, members["bureau1"], now=local(2026, 11, 10, 9))  # Tuesday of W46
    store.subscribe(session, members["admin"], now=local(2026, 1, 5))  # long ago: city, catch-up is capped
    store.subscribe(session, members["V1"], now=local(2026, 1, 5))  # a cadre: never receives a digest
    session.flush()
    plan = due_sends(session, now=NOW, weekday=0, at=time(8, 30), tz="Asia/Shanghai")
    got = [(d.scope.key, d.week.iso, d.recipients) for d in plan]
    city_weeks = [Week.parse("2026-W47")]
    for _ in range(CATCH_UP_WEEKS - 1):
        city_weeks.insert(0, city_weeks[0].previous())
    assert got == sorted(
        [("town:T1", w, (members["bureau1"].telegram_user_id,)) for w in ("2026-W46", "2026-W47")]
        + [("city", w.iso, (members["admin"].telegram_user_id,)) for w in city_weeks],
        key=lambda x: (x[1], x[0]),
    )
    # once W46 of T1 is claimed it is no longer due
    store.claim_digest_send(session, scope="town:T1", iso_week="2026-W46", town_id=empty_world.towns["T1"], now=NOW)
    session.flush()
    plan = due_sends(session, now=NOW, weekday=0, at=time(8, 30), tz="Asia/Shanghai")
    assert ("town:T1", "2026-W46") not in [(d.scope.key, d.week.iso) for d in plan]
    # before Monday 08:30 the week just ended is not due yet
    early = due_sends(session, now=local(2026, 11, 23, 8, 29), weekday=0, at=time(8, 30), tz="Asia/Shanghai")
    assert "2026-W47" not in {d.week.iso for d in early}


def test_unsubscribed_scopes_are_not_due(empty_world, session):
    store.subscribe(session, empty_world.members["bureau2"], now=local(2026, 11, 1))
    store.unsubscribe(session, empty_world.members["bureau2"].id)
    session.flush()
    assert due_sends(session, now=NOW) == []
    assert sql_one(session, "SELECT COUNT(*) FROM digest_subscriptions") == 0


def test_claims_for_different_weeks_and_scopes_do_not_block_each_other(empty_world, db_url):
    a = (_scope(empty_world, "T1"), Week.parse("2026-W47"))
    b = (_scope(empty_world, "T2"), Week.parse("2026-W47"))
    c = (_scope(empty_world, "T1"), Week.parse("2026-W46"))
    db = Database(db_url)
    try:
        assert [claim(db, x, now=NOW) for x in (a, b, c)] == [True, True, True]
    finally:
        db.dispose()


def test_each_recipient_is_claimed_by_exactly_one_of_many_senders(empty_world, db_url, session):
    from bot.digest.delivery import DueSend, claim_batch, due_batches, plan

    scope, week = _scope(empty_world), Week.parse("2026-W47")
    due = DueSend(scope, week, (101, 102, 103))
    planned = _race(db_url, 4, lambda db: plan(db, due, now=NOW))
    assert sorted(planned) == [False, False, False, True]
    assert sql(session, "SELECT chat_id, status FROM digest_deliveries ORDER BY chat_id") == [
        (101, "pending"), (102, "pending"), (103, "pending")]
    [batch] = due_batches(session, now=NOW)
    assert (batch.scope, batch.week, batch.recipients) == (scope, week, (101, 102, 103))
    claims = _race(db_url, 6, lambda db: [c.chat_id for c in claim_batch(db, batch, now=NOW)])
    assert sorted(chat for won in claims for chat in won) == [101, 102, 103]
    # claimed deliveries are not due again until their lease has passed
    session.expire_all()
    assert due_batches(session, now=NOW + timedelta(minutes=5)) == []
    assert [b.recipients for b in due_batches(session, now=NOW + timedelta(minutes=11))] == [(101, 102, 103)]
