"""Nothing acknowledged is lost: `cadrebot run` as a real process, against a Bot API over HTTP with Telegram's
getUpdates offset semantics (an update is gone once a getUpdates asks for a higher offset), killed with SIGKILL
at random moments of a 200-update burst."""

from __future__ import annotations

import random
import subprocess
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import intake
from storage.models import CheckLog
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.test_bot_cli_run import CADREBOT, FORBIDDEN, ROOT, TOKEN, env_for, stop

BURST = 200
# 50 cadres, 4 messages each: the replies go out at Telegram's pace (1 a second per chat, 30 a second in all)
USERS = 50
KILLS = 5


def _start(tmp_path, db_url, api: FakeBotApi) -> subprocess.Popen:
    return subprocess.Popen([*CADREBOT, "run", "--poll-interval", "0"], cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env_for(tmp_path, db_url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.url,
                                        CADREBOT_CHECKS_PER_MINUTE="1000"))


def _checks(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(CheckLog)) or 0,
                conn.scalar(select(func.count(func.distinct(CheckLog.update_id)))) or 0)


def _wait(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.mark.long
def test_sigkill_at_five_random_moments_of_a_burst_loses_and_duplicates_nothing(tmp_path, db_url, engine):
    rng = random.Random(20261202)
    with FakeBotApi() as api:
        for n in range(BURST):
            api.push_message(900_000 + n % USERS, f"{FORBIDDEN} 第{n}件")
        # Kill after a random number of checks is saved, plus a random few milliseconds (mid-handling,
        # mid-getUpdates, mid-save alike); the first kill comes soon after start.
        thresholds = sorted(rng.sample(range(1, BURST - 10), KILLS))
        for threshold in thresholds:
            process = _start(tmp_path, db_url, api)
            try:
                _wait(lambda threshold=threshold: _checks(engine)[0] >= threshold)
                time.sleep(rng.uniform(0, 0.05))
            finally:
                process.kill()  # SIGKILL: no shutdown, no flush, nothing written on the way out
                process.wait(10)
        process = _start(tmp_path, db_url, api)
        try:
            _wait(lambda: _checks(engine)[0] >= BURST)
            with engine.connect() as conn:
                _wait(lambda: intake.counts(Session(conn))[intake.Status.DONE] >= BURST)
        finally:
            stop(process)
        total, distinct = _checks(engine)
        assert (total, distinct) == (BURST, BURST)  # every update checked exactly once
        with engine.connect() as conn:
            left = intake.counts(Session(conn))
        assert left[intake.Status.PENDING] == left[intake.Status.CLAIMED] == left[intake.Status.FAILED] == 0
        for user in range(USERS):  # and every cadre got an answer to every message (some twice, after a kill)
            answers = [m for m in api.sent(900_000 + user) if m.text.startswith("⛔")]
            assert len(answers) >= BURST // USERS


# ---------------------------------------------------------------------------------------------- fairness


FLOOD = 1000
OTHERS = 100


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)  # the embedded default: one process, as deployed
@pytest.mark.long
def test_a_flood_from_one_user_does_not_hold_up_a_hundred_others(tmp_path, db_url, engine):
    """One user sends 1,000 messages, which reach the bot; then 100 others send one each (spread over 4 s, under
    Telegram's 30 messages/s a bot may send in all). Each of the others gets the first reply within 2 s (p99), and the flooder
    gets one "too fast" warning, not one per message (its limit set to 5 checks a minute, to keep the test short)."""
    flooder = 910_000
    with FakeBotApi() as api:
        process = subprocess.Popen([*CADREBOT, "run", "--poll-interval", "0"], cwd=ROOT, text=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=env_for(tmp_path, db_url, TELEGRAM_BOT_TOKEN=TOKEN,
                                               TELEGRAM_API_BASE_URL=api.url, CADREBOT_CHECKS_PER_MINUTE="5"))
        try:
            api.push_message(flooder - 1, FORBIDDEN)  # the bot is up once this is answered
            _wait(lambda: api.first_sent_at.get(flooder - 1))
            for n in range(FLOOD):
                api.push_message(flooder, f"{FORBIDDEN} {n}")
            # The flood has reached the bot (saved and acknowledged: Telegram forgot it), then the others write.
            _wait(lambda: not api.updates, timeout=60)
            sent_at: dict[int, float] = {}
            for n in range(OTHERS):
                user = 920_000 + n
                sent_at[user] = time.monotonic()
                api.push_message(user, FORBIDDEN)
                time.sleep(4.0 / OTHERS)
            _wait(lambda: all(u in api.first_sent_at for u in sent_at), timeout=60)
            waits = sorted(api.first_sent_at[u] - sent_at[u] for u in sent_at)
            p99 = waits[int(0.99 * len(waits)) - 1]
            assert p99 <= 2.0, f"others' first reply: p50 {waits[len(waits) // 2]:.2f} s, p99 {p99:.2f} s"
            print(f"others' first reply: p50 {waits[len(waits) // 2]:.2f} s, p99 {p99:.2f} s, max {waits[-1]:.2f} s")
            # The flooder: 5 checks answered (one a second, Telegram's pace for one chat), then one warning.
            _wait(lambda: [m for m in api.sent(flooder) if "发得太快" in m.text], timeout=90)
            time.sleep(2)
            assert len([m for m in api.sent(flooder) if "发得太快" in m.text]) == 1
            assert len([m for m in api.sent(flooder) if m.text.startswith("⛔")]) == 5
        finally:
            stop(process)


# ---------------------------------------------------------------------------------------------- database outage


@pytest.mark.long
def test_postgres_stopped_and_started_mid_burst_with_two_workers_loses_nothing(tmp_path):
    """The database is a PostgreSQL server of the test's own (tests/own_postgres.py), stopped for 3 s."""
    from sqlalchemy import create_engine

    from storage.migrate import upgrade
    from tests.own_postgres import OwnPostgres

    with OwnPostgres() as pg, FakeBotApi() as api:
        url = pg.create_database()
        upgrade(url)
        engine = create_engine(url)
        process = subprocess.Popen([*CADREBOT, "run", "--poll-interval", "0", "--workers", "2"], cwd=ROOT,
                                   text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=env_for(tmp_path, url, TELEGRAM_BOT_TOKEN=TOKEN,
                                               TELEGRAM_API_BASE_URL=api.url, CADREBOT_CHECKS_PER_MINUTE="1000"))
        try:
            for n in range(BURST):
                api.push_message(930_000 + n % USERS, f"{FORBIDDEN} 第{n}件")
            _wait(lambda: _checks(engine)[0] >= BURST // 4)
            assert _checks(engine)[0] < BURST * 3 // 4  # mid-burst indeed
            engine.dispose()
            pg.stop()
            time.sleep(3)
            pg.start()
            _wait(lambda: _checks(engine)[0] >= BURST, timeout=120)
        finally:
            stop(process)
        total, distinct = _checks(engine)
        engine.dispose()
    assert (total, distinct) == (BURST, BURST)
    for user in range(USERS):
        assert len([m for m in api.sent(930_000 + user) if m.text.startswith("⛔")]) >= BURST // USERS
