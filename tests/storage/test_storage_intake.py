"""The durable intake's queue rules, on SQLite and PostgreSQL: per-user order, fairness, no double claims,
redeliveries ignored, leases, retries."""

from __future__ import annotations

import threading
from datetime import timedelta

from storage import intake
from storage.intake import Status
from storage.models import utcnow

BOT = 424242


def _put(session_factory, *updates: tuple[int, int]) -> None:
    with session_factory() as s:
        intake.receive(s, BOT, [(uid, user, f'{{"update_id": {uid}}}') for uid, user in updates])
        s.commit()


def _claim(session_factory, worker: str = "w1", limit: int = 100) -> list[int]:
    with session_factory() as s:
        claimed = intake.claim(s, BOT, worker=worker, limit=limit)
        s.commit()
    return [c.update_id for c in claimed]


def _finish(session_factory, *ids: int) -> None:
    with session_factory() as s:
        intake.finish(s, BOT, list(ids))
        s.commit()


def test_a_redelivered_update_is_stored_once(session_factory):
    _put(session_factory, (1, 10), (2, 10))
    with session_factory() as s:
        assert intake.receive(s, BOT, [(2, 10, "{}"), (3, 11, "{}")]) == 1
        s.commit()
        assert intake.counts(s)[Status.PENDING] == 3


def test_a_users_updates_are_claimed_as_one_chain_in_order_and_no_more_until_it_is_done(session_factory):
    _put(session_factory, (1, 10), (2, 10), (3, 10))
    assert _claim(session_factory) == [1, 2, 3]  # handled one after the other by the worker that holds them
    _put(session_factory, (4, 10))
    assert _claim(session_factory) == []  # 1-3 are still being handled: 4 must wait for them
    _finish(session_factory, 1, 2, 3)
    assert _claim(session_factory) == [4]


def test_a_chain_is_at_most_chain_long(session_factory):
    _put(session_factory, *[(uid, 10) for uid in range(1, intake.CHAIN + 6)])
    assert _claim(session_factory) == list(range(1, intake.CHAIN + 1))


def test_a_backlog_does_not_hold_up_other_users(session_factory):
    flood = [(uid, 10) for uid in range(1, 1001)]
    others = [(1000 + n, 100 + n) for n in range(1, 101)]
    _put(session_factory, *flood, *others)
    first_round = _claim(session_factory, limit=200)
    assert first_round == [*range(1, intake.CHAIN + 1), *range(1001, 1101)]  # the flooder's next few, everyone's


def test_two_workers_claiming_at_once_never_share_an_update(session_factory):
    _put(session_factory, *[(uid, uid % 37) for uid in range(1, 401)])
    taken: dict[str, list[int]] = {"a": [], "b": []}

    def work(name: str) -> None:
        while True:
            ids = _claim(session_factory, worker=name, limit=8)
            if not ids:
                with session_factory() as s:
                    if intake.counts(s)[Status.PENDING] == 0:
                        return
                continue
            taken[name].extend(ids)
            _finish(session_factory, *ids)

    threads = [threading.Thread(target=work, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = taken["a"] + taken["b"]
    assert sorted(everything) == list(range(1, 401))  # all handled, none twice
    for name in taken:  # and each user's updates in order within each worker
        for user in range(37):
            mine = [u for u in taken[name] if u % 37 == user]
            assert mine == sorted(mine)


def test_a_transient_failure_is_retried_later_keeping_the_users_order(session_factory):
    _put(session_factory, (1, 10), (2, 10))
    assert _claim(session_factory) == [1, 2]
    with session_factory() as s:
        assert intake.retry_later(s, BOT, 1, attempts=0) == Status.PENDING
        intake.release(s, BOT, [2])  # the rest of the chain goes back behind it
        s.commit()
    assert _claim(session_factory) == []  # not yet; and 2 waits behind 1
    with session_factory() as s:
        later = intake.claim(s, BOT, worker="w1", limit=10, now=utcnow() + timedelta(seconds=5))
        s.commit()
    assert [c.update_id for c in later] == [1, 2] and later[0].attempts == 1


def test_after_the_last_retry_the_update_is_given_up_and_the_next_one_runs(session_factory):
    _put(session_factory, (1, 10), (2, 10))
    _claim(session_factory)
    with session_factory() as s:
        assert intake.retry_later(s, BOT, 1, attempts=len(intake.RETRY_DELAYS)) == Status.FAILED
        intake.release(s, BOT, [2])
        s.commit()
    assert _claim(session_factory) == [2]


def test_a_dead_workers_claims_come_back_after_the_lease(session_factory):
    _put(session_factory, (1, 10))
    assert _claim(session_factory, worker="dead") == [1]
    with session_factory() as s:
        assert intake.release_expired(s) == 0
        assert intake.release_expired(s, now=utcnow() + intake.LEASE + timedelta(seconds=1)) == 1
        s.commit()
    assert _claim(session_factory, worker="alive") == [1]


def test_finishing_erases_the_payload_and_old_done_rows_are_purged(session_factory):
    from storage.models import InboundUpdate

    _put(session_factory, (1, 10))
    _claim(session_factory)
    _finish(session_factory, 1)
    with session_factory() as s:
        row = s.get(InboundUpdate, (BOT, 1))
        assert row.status == Status.DONE and row.payload is None
        assert intake.purge_done(s) == 0
        assert intake.purge_done(s, now=utcnow() + timedelta(days=intake.INTAKE_KEEP_DAYS + 1)) == 1
        s.commit()


def test_update_ids_count_per_bot_and_a_worker_claims_only_its_own_bots(session_factory):
    """A new bot token on the same database starts again at low update ids: not mistaken for redeliveries."""
    _put(session_factory, (1, 10))
    with session_factory() as s:
        assert intake.receive(s, BOT + 1, [(1, 10, "{}")]) == 1  # another bot's update 1 is new
        s.commit()
        assert [c.update_id for c in intake.claim(s, BOT + 1, worker="other", limit=10)] == [1]
        s.commit()
    assert _claim(session_factory) == [1]  # this bot's own update 1, still there for this bot's worker
