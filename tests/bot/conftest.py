"""Fixtures for the bot's handler tests, on SQLite and PostgreSQL (`db_url` from tests/conftest.py).

    kb              the real knowledge base, loaded once per session
    places          committed places: towns T1 (示范镇: V1 东湖村, V2 西山村) and T2 (临江街道: V3 滨江社区)
    invite(...)     a fresh invite code (role, village or town; ttl)
    bot             a started bot: `bot.chat(user_id)` gives a Chat; `bot.restart()` builds a second Application
                    on the same database (a restart); `bot.services`, `bot.transport`, `bot.db`
    cadre           a Chat of a cadre registered (through /register) for V1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from tests.chat import Chat
from tests.telegram_transport import RecordingRequest

TOKEN = "123456:BOT-handler-tests"
CADRE_ID = 4_100_000_001
CADRE2_ID = 4_100_000_002  # cadre of V2 (same town)
OTHER_TOWN_CADRE_ID = 4_100_000_003  # cadre of V3 (another town)
BUREAU_ID = 4_200_000_001  # bureau of T1
RESIDENT_ID = 5_100_000_001  # never registers
STRANGER_ID = 5_100_000_002


@pytest.fixture(scope="session")
def kb(tmp_path_factory: pytest.TempPathFactory):
    import knowledge

    return knowledge.from_settings(Settings(data_dir=tmp_path_factory.mktemp("kb")))


@dataclass
class Places:
    village_ids: dict[str, int]
    town_ids: dict[str, int]


@pytest.fixture
def places(engine, session_factory) -> Places:
    from storage.places import add_town, add_village

    with session_factory() as s:
        t1 = add_town(s, "T1", "示范镇")
        t2 = add_town(s, "T2", "临江街道")
        v1 = add_village(s, "V1", "东湖村", "T1")
        v2 = add_village(s, "V2", "西山村", "T1")
        v3 = add_village(s, "V3", "滨江社区", "T2")
        s.commit()
        return Places({"V1": v1.id, "V2": v2.id, "V3": v3.id}, {"T1": t1.id, "T2": t2.id})


@pytest.fixture
def invite(session_factory, places):
    from storage.members import issue_invite

    def make(role: str = "cadre", village: str | None = "V1", town: str | None = None,
             ttl: timedelta = timedelta(days=7), now=None) -> str:
        if role != "cadre":
            village = None
        with session_factory() as s:
            code = issue_invite(s, role=role, village_code=village, town_code=town, ttl=ttl, now=now).code
            s.commit()
            return code

    return make


@dataclass
class Bot:
    """A running bot on the test database; `restart()` starts another Application on the same database."""

    settings: Settings
    db_url: str
    kb: Any
    per_minute: int = 1000
    apps: list[tuple[Application, Any]] = field(default_factory=list)

    async def start(self, transport: RecordingRequest | None = None, **overrides: Any) -> Application:
        from storage.db import Database

        transport = transport or RecordingRequest()
        db = Database(self.db_url)
        options: dict[str, Any] = dict(token=TOKEN, request=transport, db=db, kb=self.kb, rate_limiter=None,
                                       job_queue=False, set_commands=False,
                                       limiter=RateLimiter(per_minute=self.per_minute))
        options.update(overrides)
        app = build_application(self.settings, **options)
        await app.initialize()
        app.bot_data["transport"] = transport
        self.apps.append((app, db))
        return app

    @property
    def app(self) -> Application:
        return self.apps[-1][0]

    @property
    def transport(self) -> RecordingRequest:
        return self.app.bot_data["transport"]

    @property
    def services(self):
        return self.app.bot_data.services

    @property
    def db(self):
        return self.services.db

    def chat(self, user_id: int, name: str = "测试用户") -> Chat:
        return Chat(self.app, self.transport, user_id=user_id, first_name=name)

    async def restart(self, **overrides: Any) -> Application:
        """Shut the current Application down and start a new one on the same database (a process restart).
        Telegram (the transport) keeps its messages, so old buttons can be pressed on the new process."""
        app, _ = self.apps[-1]
        transport = self.transport
        await app.shutdown()
        self.apps[-1] = (app, None)
        return await self.start(transport=transport, **overrides)

    async def close(self) -> None:
        for app, db in self.apps:
            if db is not None:
                try:
                    await app.shutdown()
                except RuntimeError:
                    pass
            services = app.bot_data.services
            services.db.dispose()


@pytest.fixture
async def bot(db_url, engine, places, kb, tmp_path: Path):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    running = Bot(settings, db_url, kb)
    await running.start()
    yield running
    await running.close()


async def register(chat: Chat, code: str) -> None:
    await chat.send_command("register", code)
    assert "注册成功" in chat.last_message.text, chat.last_message.text


@pytest.fixture
async def cadre(bot, invite) -> Chat:
    chat = bot.chat(CADRE_ID, "王书记")
    await register(chat, invite("cadre", "V1"))
    return chat
