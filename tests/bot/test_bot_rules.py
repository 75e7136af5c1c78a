"""Plain-Python rules of the bot, tested without Telegram: rate limit, button payloads, retry queue, wiring."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bot import callbacks
from bot.app import PerUserUpdateProcessor, _file_base_url, normalize_base_url
from bot.outbox import Outbox
from bot.ratelimit import RateLimiter
from storage.errors import DatabaseUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------------------------------- rate limit


def test_rate_limit_allows_n_per_minute_then_says_when():
    clock = Clock()
    limiter = RateLimiter(per_minute=3, clock=clock)
    assert all(limiter.hit(1, "check") for _ in range(3))
    clock.now += 10
    refused = limiter.hit(1, "check")
    assert not refused and refused.retry_after == 50
    clock.now += 50
    assert limiter.hit(1, "check")


def test_rate_limit_is_per_user_and_per_kind_and_refusals_do_not_count():
    clock = Clock()
    limiter = RateLimiter(per_minute=1, clock=clock)
    assert limiter.hit(1, "check")
    assert not limiter.hit(1, "check")
    assert limiter.hit(2, "check")
    assert limiter.hit(1, "survey")
    for _ in range(100):
        limiter.hit(1, "check")
    clock.now += 60
    assert limiter.hit(1, "check")


def test_a_burst_of_refusals_is_warned_once_with_the_wait_until_the_window_is_clear():
    clock = Clock()
    limiter = RateLimiter(per_minute=3, clock=clock)
    for _ in range(3):
        assert limiter.hit(1, "check")
        clock.now += 1  # hits at 1000, 1001, 1002
    first = limiter.hit(1, "check")  # at 1003
    assert not first and first.warn
    assert first.retry_after == 57  # one slot frees at 1060 ...
    assert first.clear_after == 59  # ... and the whole window at 1062: the wait the warning gives
    refusals = []
    for _ in range(1000):  # the rest of the burst, and more slots trickling free at 1060-1062: all silent
        clock.now += 0.05
        decision = limiter.hit(1, "check")
        if not decision:
            refusals.append(decision)
    assert refusals and not any(d.warn for d in refusals)
    # Someone else, and the same user's survey submissions, have their own warning.
    for user, kind in ((2, "check"), (1, "survey")):
        assert all(limiter.hit(user, kind) for _ in range(3))
        assert limiter.hit(user, kind).warn


def test_after_the_told_wait_a_resent_batch_is_accepted_and_a_new_burst_is_warned_again():
    clock = Clock()
    limiter = RateLimiter(per_minute=3, clock=clock)
    for _ in range(3):
        limiter.hit(1, "check")
    told = limiter.hit(1, "check")
    assert told.warn and not limiter.hit(1, "check").warn
    clock.now += told.clear_after  # the user waits as told and resends three messages
    assert all(limiter.hit(1, "check") for _ in range(3))
    again = limiter.hit(1, "check")
    assert not again and again.warn


def test_a_reset_forgets_the_warning_too():
    clock = Clock()
    limiter = RateLimiter(per_minute=1, clock=clock)
    limiter.hit(1, "check")
    assert limiter.hit(1, "check").warn
    limiter.reset(1)
    limiter.hit(1, "check")
    assert limiter.hit(1, "check").warn


def test_rate_limit_off_and_memory_bounded():
    assert all(RateLimiter(per_minute=0).hit(1) for _ in range(1000))
    clock = Clock()
    limiter = RateLimiter(per_minute=5, clock=clock, max_users=100)
    for user in range(1000):
        limiter.hit(user)
        clock.now += 0.01
    assert len(limiter._hits) <= 100


# ---------------------------------------------------------------------------------------------- callback data


def test_signed_payloads_round_trip_and_fit_64_bytes():
    data = callbacks.sign("secret", 42, "rk", 2**40, "c", 9999)
    assert len(data.encode()) <= 64
    assert callbacks.verify("secret", 42, data, "rk", 3) == [str(2**40), "c", "9999"]


def test_payloads_of_another_user_or_edited_are_refused():
    data = callbacks.sign("secret", 42, "fb", 7, "u")
    assert callbacks.verify("secret", 43, data, "fb") is None
    assert callbacks.verify("other", 42, data, "fb") is None
    assert callbacks.verify("secret", 42, data.replace(":7:", ":8:"), "fb") is None
    assert callbacks.verify("secret", 42, data, "rc") is None
    assert callbacks.verify("secret", 42, data, "fb", 3) is None
    for junk in (None, "", "fb", "fb:7:u", "::::", "💥" * 20):
        assert callbacks.verify("secret", 42, junk, "fb") is None


def test_text_never_goes_into_payloads():
    with pytest.raises(ValueError):
        callbacks.sign("s", 1, "rd", "街道办事处")
    with pytest.raises(ValueError):
        callbacks.sign("s", 1, "rd", "1:2")
    with pytest.raises(ValueError):
        callbacks.sign("s", 1, "x" * 20, "y" * 20, "z" * 20)


def test_ids_are_parsed_strictly():
    assert callbacks.as_int("12") == 12
    for bad in ("", "-1", "+1", "1.0", "١٢", "²", "9" * 30, " 1"):
        assert callbacks.as_int(bad) is None
    assert callbacks.as_int("5", 1, 3) is None


# ---------------------------------------------------------------------------------------------- outbox


class FakeDB:
    """A database that holds nothing: for code that only needs to open (or fail to open) a session."""

    def __init__(self, down: bool = False) -> None:
        self.down = down

    @contextlib.contextmanager
    def session(self):
        if self.down:
            raise DatabaseUnavailable("down")
        yield self


class SwitchableDB:
    """A real database that can be switched off: while down, opening a session fails as a dead server does."""

    def __init__(self, db, down: bool = False) -> None:
        self.db = db
        self.down = down

    def session(self):
        if self.down:
            raise DatabaseUnavailable("down")
        return self.db.session()


def test_outbox_keeps_writes_until_the_database_is_back(tmp_path: Path, engine, db_url):
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import CheckLog

    outbox = Outbox(path=tmp_path / "outbox.jsonl")
    for i in range(3):
        assert outbox.put("check_log", {"text": f"t{i}", "verdict": "assist", "now": "2026-01-05T01:02:03+00:00"})
    db = SwitchableDB(Database(db_url), down=True)
    assert outbox.flush(db) == 0 and len(outbox) == 3
    db.down = False
    assert outbox.flush(db) == 3 and len(outbox) == 0
    with db.session() as session:
        saved = session.execute(select(CheckLog.text, CheckLog.created_at).order_by(CheckLog.id)).all()
    assert [text for text, _ in saved] == ["t0", "t1", "t2"]
    assert saved[0].created_at.year == 2026
    db.db.dispose()


def test_outbox_is_bounded_and_survives_a_restart(tmp_path: Path, engine, db_url):
    from storage.db import Database

    outbox = Outbox(max_entries=2, path=tmp_path / "outbox.jsonl")
    assert outbox.put("check_log", {"text": "a", "verdict": "assist"})
    assert outbox.put("check_log", {"text": "b", "verdict": "assist"})
    assert not outbox.put("check_log", {"text": "c", "verdict": "assist"})
    with pytest.raises(ValueError):
        outbox.put("nonsense", {})
    # on disk at once (no shutdown needed): a process killed now loses nothing
    again = Outbox(path=tmp_path / "outbox.jsonl")
    assert again.load() == 2 and len(again) == 2
    db = Database(db_url)
    assert again.flush(db) == 2
    db.dispose()
    assert len(Outbox(path=tmp_path / "outbox.jsonl")) == 0


# ---------------------------------------------------------------------------------------------- wiring


def test_base_url_forms():
    assert normalize_base_url("") == "https://api.telegram.org/bot"
    assert normalize_base_url("http://127.0.0.1:8081") == "http://127.0.0.1:8081/bot"
    assert normalize_base_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/bot"
    assert normalize_base_url("http://h/x/bot{token}/test") == "http://h/x/bot{token}/test"
    assert _file_base_url("http://h:1/bot") == "http://h:1/file/bot"


def _wired(tmp_path: Path, **overrides):
    from bot.app import build_application
    from bot.settings import Settings
    from tests.telegram_transport import RecordingRequest

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    return build_application(settings, token="1:wiring", request=RecordingRequest(), kb=object(), db=FakeDB(),
                             job_queue=False, **overrides)


def test_every_feature_is_wired_and_answers_its_menu_command(tmp_path: Path):
    from bot.app import registered_commands
    from texts.start import MENU

    app = _wired(tmp_path)
    assert {command for command, _ in MENU} <= registered_commands(app)


def test_a_missing_handler_module_fails_loudly(tmp_path: Path, monkeypatch):
    import importlib
    import sys

    with pytest.raises(ModuleNotFoundError, match="handlers.voting"):
        _wired(tmp_path, handler_modules=("handlers.start", "handlers.voting"))
    # /start hands survey links to the survey: without the survey module, /start cannot be loaded either
    # (instead of telling residents that the survey is "not open yet").
    monkeypatch.setitem(sys.modules, "handlers.survey", None)
    monkeypatch.delitem(sys.modules, "handlers.start")
    with pytest.raises(ModuleNotFoundError, match="handlers.survey"):
        importlib.import_module("handlers.start")


async def test_updates_of_one_user_run_in_order_and_users_in_parallel():
    from telegram import Update

    processor = PerUserUpdateProcessor(16)
    events: list[str] = []

    def update_of(user_id: int, n: int) -> Update:
        return Update.de_json({"update_id": n, "message": {
            "message_id": n, "date": 0, "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "x"}, "text": "t"}}, None)

    async def work(tag: str, delay: float) -> None:
        events.append(f"start {tag}")
        await asyncio.sleep(delay)
        events.append(f"end {tag}")

    await asyncio.gather(
        processor.process_update(update_of(1, 1), work("1a", 0.05)),
        processor.process_update(update_of(1, 2), work("1b", 0.0)),
        processor.process_update(update_of(2, 3), work("2a", 0.01)),
    )
    assert events.index("end 1a") < events.index("start 1b")
    assert events.index("start 2a") < events.index("end 1a")
    assert processor._locks == {}


async def test_after_a_database_failure_the_bot_fails_fast_for_a_moment():
    from bot.services import Services
    from bot.settings import Settings

    class CountingDB(FakeDB):
        calls = 0

        def session(self):
            CountingDB.calls += 1
            return super().session()

    db = CountingDB(down=True)
    services = Services(Settings(data_dir=Path("/nonexistent")), kb=None, db=db, db_pause_seconds=60)
    for _ in range(5):
        with pytest.raises(DatabaseUnavailable):
            await services.run_db(lambda session: None)
    assert CountingDB.calls == 1  # one real attempt, then no waiting on a dead database
    db.down = False
    services.database_back()
    assert await services.run_db(lambda session: "ok") == "ok"


def test_settings_never_show_the_token_the_secret_or_the_password():
    from bot.settings import Settings

    settings = Settings(data_dir=Path("d"), database_url="postgres://cadre:pw-9x@db.example:5432/cadrebot",
                        bot_token="123:TOKEN-x", secret="s3cret-x")
    shown = repr(settings)
    assert "pw-9x" not in shown and "TOKEN-x" not in shown and "s3cret-x" not in shown
    # The URL as every other message shows it (storage.db.redacted_url, e.g. `cadrebot db upgrade`).
    assert "database_url='postgresql+psycopg://cadre:***@db.example:5432/cadrebot'" in shown
    assert str(settings) != repr(settings) and "pw-9x" not in str(settings) and "TOKEN-x" not in str(settings)
