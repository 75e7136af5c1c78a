"""Fixtures of the end-to-end tests: telegram-test-api (npm, pinned to 4.2.1 in package.json) as a real HTTP
server, the production Application polling it, and users driving its client API.

    emulator       session scope: `node server.js` on a free 127.0.0.1 port, waited for until it says READY on
                   that port and answers getMe (one per test worker), stopped afterwards (terminate, by its own
                   process id). Needs `make e2e-deps` (cd tests/e2e && npm ci). Missing node or node_modules:
                   skipped locally with the reason, FAILS under CI=true.
    knowledge_base session scope: the real knowledge base, loaded once.
    e2e_bot        a fresh database (sqlite / postgres, from `db_url`) with a demo town, and the bot built by
                   `build_application(settings, request=..., get_updates_request=..., base_url=<emulator>)`,
                   started as `cadrebot run` starts it (post_init, polling every 50 ms) and stopped afterwards.
                   The test fails if the bot sent callback_data over 64 bytes.
    user(id, name) an EmulatorUser talking to that bot over HTTP.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.emulator import EmulatorRequest, EmulatorUser

E2E_DIR = Path(__file__).resolve().parent
PACKAGE = E2E_DIR / "node_modules" / "telegram-test-api"
START_TIMEOUT = 20.0
POLL_INTERVAL = 0.05


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the end-to-end tests must run, not be skipped)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Emulator:
    url: str  # http://127.0.0.1:PORT (bot API under /bot<token>/, client API at the root)
    port: int
    process: subprocess.Popen
    log: Path


def _start_emulator(node: str, log: Path) -> Emulator:
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [node, str(E2E_DIR / "server.js")],
            cwd=E2E_DIR,
            env={**os.environ, "TTA_PORT": str(port)},
            stdin=subprocess.PIPE,  # the emulator stops when this closes
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"telegram-test-api exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        # Our own process must say it listens: a port can be taken between choosing and binding it, even by
        # another test worker's emulator, which would answer the probe just as well.
        if f"READY {port}" in log.read_text(errors="replace"):
            try:
                if httpx.get(f"{url}/bot0:probe/getMe", timeout=1.0).status_code == 200:
                    return Emulator(url, port, process, log)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    _stop(process)
    raise RuntimeError(f"telegram-test-api did not answer within {START_TIMEOUT} s:\n{log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    finally:
        if process.stdin is not None:
            process.stdin.close()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed: the end-to-end tests need Node.js for telegram-test-api")
    if not (PACKAGE / "package.json").is_file():
        _unavailable(f"telegram-test-api is not installed in {E2E_DIR / 'node_modules'}: run `make e2e-deps`")
    log = tmp_path_factory.mktemp("emulator") / "telegram-test-api.log"
    errors: list[str] = []
    for _ in range(3):  # a free port can be taken between choosing it and the emulator binding it
        try:
            running = _start_emulator(node, log)
            break
        except RuntimeError as error:
            errors.append(str(error))
    else:
        pytest.fail("could not start telegram-test-api:\n" + "\n".join(errors), pytrace=False)
    try:
        yield running
    finally:
        _stop(running.process)


@pytest.fixture(scope="session")
def knowledge_base():
    import knowledge
    from bot.settings import Settings

    return knowledge.from_settings(Settings())


@dataclass
class BotUnderTest:
    app: Any
    token: str
    request: EmulatorRequest
    updates_request: EmulatorRequest
    emulator: Emulator
    village_ids: dict[str, int]
    bot_user: dict[str, Any]

    def wire(self, method: str) -> list[Any]:
        return self.request.calls(method)


def _seed(session_factory) -> dict[str, int]:
    from storage.places import add_town, add_village

    with session_factory() as s:
        add_town(s, "DEMO", "示范镇")
        east = add_village(s, "DEMO01", "东湖村", "DEMO")
        west = add_village(s, "DEMO02", "西山村", "DEMO")
        s.commit()
        return {"DEMO01": east.id, "DEMO02": west.id}


@pytest.fixture
async def e2e_bot(emulator, knowledge_base, engine, session_factory, db_settings):
    from bot.app import RATE_LIMIT_RETRIES, build_application
    from bot.outgoing_limits import OutgoingLimits

    village_ids = _seed(session_factory)
    token = f"{uuid.uuid4().int % 10**10}:E2E{uuid.uuid4().hex[:12]}"  # the emulator keeps messages per token
    settings = db_settings.replace(bot_token=token, api_base_url=emulator.url)
    request = EmulatorRequest(connection_pool_size=8)
    updates_request = EmulatorRequest()
    # Telegram's outgoing limits as production keeps them, except that a chat's next message may follow its
    # previous one after 50 ms instead of 1 s: the test taps far faster than a person, and the pacing itself is
    # tested in tests/bot/test_outgoing_limits.py.
    limits = OutgoingLimits(max_retries=RATE_LIMIT_RETRIES, chat_interval=0.05)
    app = build_application(settings, request=request, get_updates_request=updates_request,
                            base_url=emulator.url, kb=knowledge_base, rate_limiter=limits)
    # As Application.run_polling does, without taking over the event loop.
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.updater.start_polling(poll_interval=POLL_INTERVAL, timeout=0)
    await app.start()
    bot_user = app.bot.bot.to_dict()
    under_test = BotUnderTest(app, token, request, updates_request, emulator, village_ids, bot_user)
    try:
        yield under_test
    finally:
        try:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        finally:
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
    violations = request.violations + updates_request.violations
    if violations:
        pytest.fail("the bot sent callback_data Telegram would refuse:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
async def user(e2e_bot):
    clients: list[httpx.AsyncClient] = []

    def make(user_id: int, first_name: str) -> EmulatorUser:
        http = httpx.AsyncClient(base_url=e2e_bot.emulator.url, timeout=10.0)
        clients.append(http)
        return EmulatorUser(http, e2e_bot.token, user_id, first_name, bot_user=e2e_bot.bot_user)

    yield make
    for http in clients:
        await http.aclose()
