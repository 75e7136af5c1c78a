"""The check limit shared by worker processes (bot.ratelimit.SharedRateLimiter over storage.ratelimits), on
SQLite and PostgreSQL: two processes count one window, warn once, and keep no Telegram ID."""

from __future__ import annotations

from sqlalchemy import select

from bot.ratelimit import SharedRateLimiter
from storage.models import RateWindow

USER = 7_123_456_789


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _hit(session_factory, limiter: SharedRateLimiter, user: int = USER, limit: int = 3):
    with session_factory() as s:
        decision = limiter.hit(s, user, limit, "check")
        s.commit()
        return decision


def test_two_processes_share_one_window_and_warn_once(session_factory):
    clock = Clock()
    first, second = (SharedRateLimiter("secret", clock=clock) for _ in range(2))  # two worker processes
    for limiter in (first, second, first):
        assert _hit(session_factory, limiter)
        clock.now += 1
    told = _hit(session_factory, second)  # the fourth in a minute, whichever process handles it
    assert not told and told.warn and told.clear_after == 59
    assert not _hit(session_factory, first).warn  # the rest of the burst is silent, in every process
    assert _hit(session_factory, first, user=USER + 1)  # someone else is not held up
    clock.now += told.clear_after  # waited as told: a fresh window
    assert all(_hit(session_factory, limiter) for limiter in (second, first, second))
    again = _hit(session_factory, first)
    assert not again and again.warn


def test_the_window_is_keyed_by_a_hash_not_the_telegram_id(session_factory):
    _hit(session_factory, SharedRateLimiter("secret"))
    with session_factory() as s:
        [row] = s.scalars(select(RateWindow)).all()
    assert str(USER) not in row.user_key and len(row.user_key) == 64
    assert row.user_key != SharedRateLimiter("another secret").key(USER)


def test_windows_idle_for_a_whole_window_are_purged_and_no_others(session_factory):
    from storage.ratelimits import purge_idle

    clock = Clock()
    limiter = SharedRateLimiter("secret", clock=clock)
    _hit(session_factory, limiter, limit=1)
    assert not _hit(session_factory, limiter, user=USER, limit=1).allowed  # warned: quiet until the window clears
    clock.now += 30
    _hit(session_factory, limiter, user=USER + 1, limit=1)
    clock.now += 31
    with session_factory() as s:
        assert purge_idle(s, now=clock.now, window=60) == 1  # USER's last hit is 61 s old, USER + 1's only 31 s
        s.commit()
    assert not _hit(session_factory, limiter, user=USER + 1, limit=1).allowed  # its window was kept: still counted
    clock.now += 30
    with session_factory() as s:
        assert purge_idle(s, now=clock.now, window=60) == 1
        s.commit()
        assert s.scalars(select(RateWindow)).all() == []
