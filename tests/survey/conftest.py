"""Fixtures for the survey handler tests: a small town on a fresh database (SQLite and PostgreSQL), and bots built
with the production factory on the offline RecordingRequest transport.

    town            committed places: town T1 (示范镇) with villages V1 (东湖村) and V2 (西山村); a cadre of V1
    start_bot()     a started Application on the test database (call again for a "restart": a new Application,
                    a new transport, the same database)
    resident(app)   a Chat for the resident user RESIDENT_ID on that bot
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from storage.members import issue_invite, redeem_invite
from storage.places import add_town, add_village
from storage.surveys import period_spec
from tests.chat import Chat
from tests.telegram_transport import RecordingRequest

TOKEN = "123456:SURVEY-test"
RESIDENT_ID = 5_550_001_234
OTHER_RESIDENT_ID = 5_550_009_876
CADRE_ID = 4_440_000_001
BUREAU_ID = 4_440_000_002
FALLTHROUGH = "CHECK-HANDLER-GOT:"  # what the stand-in for the task check (group 0) answers


def current_period_code() -> str:
    return period_spec(None, "monthly").code


@dataclass
class Town:
    village_ids: dict[str, int]


@pytest.fixture
def town(session_factory) -> Town:
    with session_factory() as s:
        add_town(s, "T1", "示范镇")
        v1 = add_village(s, "V1", "东湖村", "T1")
        v2 = add_village(s, "V2", "西山村", "T1")
        invite = issue_invite(s, role="cadre", village_code="V1")
        redeem_invite(s, invite.code, telegram_user_id=CADRE_ID, display_name="王书记")
        invite = issue_invite(s, role="bureau", town_code="T1")
        redeem_invite(s, invite.code, telegram_user_id=BUREAU_ID, display_name="民政办")
        s.commit()
        return Town({"V1": v1.id, "V2": v2.id})


class StubKB:
    """The survey tests do not exercise the task check; a stand-in group-0 handler records fall-through."""

    def check(self, text: str) -> Any:  # pragma: no cover - not used by the survey handlers
        raise AssertionError("the knowledge base is not used by the survey tests")


def _modules() -> tuple[str, ...]:
    # handlers.start provides the /start s_<CODE> deep link.
    return ("handlers.start", "handlers.survey")


async def _fallthrough(update, context) -> None:
    message = update.effective_message
    if message is not None:
        await context.bot.send_message(message.chat_id, FALLTHROUGH + (message.text or "<non-text>"))
    raise ApplicationHandlerStop


@pytest.fixture
async def start_bot(engine, db_url, db_settings, town):
    from bot.app import build_application
    from bot.ratelimit import RateLimiter
    from storage.db import Database

    running: list[Any] = []

    async def start(*, per_minute: int = 30, job_queue: bool = False):
        transport = RecordingRequest()
        db = Database(db_url)
        app = build_application(
            db_settings,
            token=TOKEN,
            request=transport,
            db=db,
            kb=StubKB(),
            rate_limiter=None,
            job_queue=job_queue,  # with one, jobs are scheduled but never run: the Application is not started
            set_commands=False,
            handler_modules=_modules(),
            limiter=RateLimiter(per_minute=per_minute),
        )
        app.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, _fallthrough), group=5)
        await app.initialize()
        running.append((app, db))
        app.bot_data["transport"] = transport
        return app

    yield start
    for app, db in running:
        try:
            await app.shutdown()
        finally:
            db.dispose()


def chat_for(app, user_id: int = RESIDENT_ID, name: str = "李阿姨") -> Chat:
    return Chat(app, app.bot_data["transport"], user_id=user_id, first_name=name)


@pytest.fixture
def resident():
    return chat_for
