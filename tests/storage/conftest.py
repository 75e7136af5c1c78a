"""Fixtures for the storage tests: a small committed world of places and members."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from storage.members import issue_invite, redeem_invite
from storage.places import add_town, add_village


@dataclass
class World:
    towns: dict
    villages: dict
    members: dict


@pytest.fixture
def world(session_factory) -> World:
    """Towns T1 (villages V1, V2) and T2 (V3); members: cadre1 (V1), cadre2 (V2), cadre3 (V3),
    bureau1 (T1), bureau2 (T2), admin. Everything committed; objects are detached but loaded."""
    with session_factory() as s:
        towns = {"T1": add_town(s, "T1", "一镇"), "T2": add_town(s, "T2", "二镇")}
        villages = {
            "V1": add_village(s, "V1", "一村", "T1"),
            "V2": add_village(s, "V2", "二村", "T1"),
            "V3": add_village(s, "V3", "三村", "T2"),
        }
        specs = {
            "cadre1": dict(role="cadre", village_code="V1"),
            "cadre2": dict(role="cadre", village_code="V2"),
            "cadre3": dict(role="cadre", village_code="V3"),
            "bureau1": dict(role="bureau", town_code="T1"),
            "bureau2": dict(role="bureau", town_code="T2"),
            "admin": dict(role="admin"),
        }
        members = {}
        for i, (name, spec) in enumerate(specs.items(), 1):
            invite = issue_invite(s, **spec)
            members[name] = redeem_invite(s, invite.code, telegram_user_id=9_000_000_000 + i, display_name=name)
        s.commit()
    return World(towns=towns, villages=villages, members=members)


@pytest.fixture
def overlap(session_factory):
    """overlap(first, second, hold=0.3) -> [(result, error), (result, error)]; see run_overlapping."""

    def run(first, second, *, hold: float = 0.3):
        results: list = [(None, None), (None, None)]
        first_done = threading.Event()

        def one() -> None:
            with session_factory() as s:
                try:
                    value = first(s)
                    first_done.set()
                    threading.Event().wait(hold)  # keep the transaction open while `second` runs into it
                    s.commit()
                    results[0] = (value, None)
                except Exception as error:  # noqa: BLE001
                    s.rollback()
                    results[0] = (None, error)
                finally:
                    first_done.set()

        def two() -> None:
            first_done.wait(10)
            with session_factory() as s:
                try:
                    value = second(s)
                    s.commit()
                    results[1] = (value, None)
                except Exception as error:  # noqa: BLE001
                    s.rollback()
                    results[1] = (None, error)

        threads = [threading.Thread(target=one), threading.Thread(target=two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads), "a thread hung"
        return results

    return run


@pytest.fixture
def stampede(session_factory):
    """stampede(fn, n=8) runs fn(session) in n threads released together, each committing; returns outcomes."""

    def run(fn, n: int = 8):
        barrier = threading.Barrier(n)
        results: list = [None] * n

        def worker(i: int) -> None:
            barrier.wait(10)
            with session_factory() as s:
                try:
                    value = fn(s)
                    s.commit()
                    results[i] = SimpleNamespace(value=value, error=None)
                except Exception as error:  # noqa: BLE001
                    s.rollback()
                    results[i] = SimpleNamespace(value=None, error=error)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a thread hung"
        return results

    return run
