"""Load test of the bot: N simulated users through the real Application (bot.app.build_application) and the
offline recording transport, on SQLite and on PostgreSQL, with a baseline in the same run.

    .venv/bin/python bench/bot_load.py                         # 100 users, SQLite and PostgreSQL
    .venv/bin/python bench/bot_load.py --users 100 --db postgres --seconds 20 --rate 200
    .venv/bin/python bench/bot_load.py --intake --workers 1,2,4      # production's path: the durable intake,
                                                                     # 1-4 worker processes on PostgreSQL

What runs:
- Each database is fresh (SQLite: a temporary file; PostgreSQL: a throwaway database, dropped afterwards),
  migrated with Alembic, with 1 town, 10 villages, and half of the users registered as cadres.
- Closed loop: every user sends a message, waits until the bot has handled it, and sends the next one at once
  (maximum sustained throughput with N users talking at the same time).
- Open loop: updates arrive at a fixed rate (--rate, default 200/s) spread over the users (a Poisson process),
  whatever the bot's speed; this is the "sustained 200 updates/s" check, with latency measured under it.
- The traffic is what cadres do: task checks (the development set's phrasings), 👍/👎 on answers, the red-card
  flow (记为红牌候选 -> a department), and sometimes /redcards or /help.
- Baseline: the same users and rhythm through an Application with one no-op handler that only replies "ok".
- With --intake, a second baseline: that no-op handler in a real worker behind the durable intake (the same
  driver, database and UDP report), so the intake's own cost is seen apart from the bot's handlers.

Latency is measured per update from the moment it is put on the Application's update queue until all its
handlers have finished (queueing included). The per-user rate limit is switched off (it would refuse most of a
load test's messages by design), and so is the flood limiter (Telegram's server limits are not what is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml
from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.app import PerUserUpdateProcessor, build_application, tune_runtime
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from tests.telegram_transport import RecordingRequest

TOKEN = "123456:BENCH-token"
PG_SERVER = os.environ.get("CADREBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432").rstrip("/")
FIRST_USER = 8_000_000_000


# ---------------------------------------------------------------------------------------------- timing


class TimingProcessor(PerUserUpdateProcessor):
    """The production processor, plus: when each update was queued and when its handlers finished."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.queued: dict[int, float] = {}
        self.latencies: list[float] = []
        self.done: dict[int, asyncio.Future] = {}

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        try:
            await super().do_process_update(update, coroutine)
        finally:
            uid = getattr(update, "update_id", None)
            started = self.queued.pop(uid, None)
            if started is not None:
                self.latencies.append(time.perf_counter() - started)
            future = self.done.pop(uid, None)
            if future is not None and not future.done():
                future.set_result(None)


# ---------------------------------------------------------------------------------------------- databases


def pg_admin():
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_SERVER + "/postgres")
    return psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                           password=url.password, dbname="postgres", autocommit=True, connect_timeout=3)


class Throwaway:
    """A fresh, migrated database of one kind; removed on exit."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.tmp = tempfile.TemporaryDirectory(prefix="cadrebot-bench-")
        self.name = f"botload_{uuid.uuid4().hex[:12]}"
        self.url = ""

    def __enter__(self) -> Throwaway:
        if self.kind == "sqlite":
            self.url = f"sqlite:///{Path(self.tmp.name) / 'bench.db'}"
        else:
            with pg_admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = f"{PG_SERVER}/{self.name}"
        from storage.migrate import upgrade

        upgrade(self.url)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.kind == "postgres":
            with pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.tmp.cleanup()


def seed(url: str, users: int) -> set[int]:
    """1 town, 10 villages; every second user a registered cadre. Returns the cadres' user ids."""
    from storage.db import Database
    from storage.members import issue_invite, redeem_invite
    from storage.places import add_town, add_village

    db = Database(url)
    cadres: set[int] = set()
    with db.session() as s:
        add_town(s, "BT", "压测镇")
        for v in range(10):
            add_village(s, f"BV{v}", f"压测村{v}", "BT")
        for i in range(0, users, 2):
            code = issue_invite(s, role="cadre", village_code=f"BV{i % 10}").code
            redeem_invite(s, code, telegram_user_id=FIRST_USER + i)
            cadres.add(FIRST_USER + i)
    db.dispose()
    return cadres


# ---------------------------------------------------------------------------------------------- traffic


@dataclass
class User:
    user_id: int
    cadre: bool
    rng: random.Random
    pending: list[str] = field(default_factory=list)  # buttons to press next (callback data)


class Traffic:
    """Builds each user's next update as Telegram would send it, from what the bot showed them last."""

    def __init__(self, app: Any, transport: RecordingRequest, texts: list[str]) -> None:
        self.app = app
        self.transport = transport
        self.texts = texts
        self.ids = itertools.count(1)
        self.kinds: dict[str, int] = {}

    def next_update(self, user: User) -> Update:
        uid = next(self.ids)
        last = self._last_message(user.user_id)
        buttons = {label: data for row in (last.buttons if last else []) for label, data in row if data}
        roll = user.rng.random()
        if user.cadre and "记为红牌候选" in buttons and roll < 0.5:
            return self._press(uid, user, last, buttons["记为红牌候选"], "red_card")
        department = next((d for label, d in buttons.items() if d.startswith("rd:") and label not in
                           ("其他(手动输入)", "取消")), None)
        if department and roll < 0.9:
            return self._press(uid, user, last, department, "department")
        feedback = [d for d in buttons.values() if d.startswith("fb:")]
        if len(feedback) == 2 and roll < 0.3:
            return self._press(uid, user, last, feedback[0 if roll < 0.2 else 1], "feedback")
        if roll > 0.96:
            command = "/redcards" if user.cadre else "/help"
            return self._message(uid, user, command, command=True)
        return self._message(uid, user, user.rng.choice(self.texts))

    def _last_message(self, chat_id: int):
        next_id = self.transport._next_id.get(chat_id)
        if next_id is None:
            return None
        return self.transport.messages.get((chat_id, next_id))

    def _message(self, uid: int, user: User, text: str, command: bool = False) -> Update:
        self.kinds["command" if command else "check"] = self.kinds.get("command" if command else "check", 0) + 1
        message = {"message_id": uid, "date": int(time.time()), "text": text,
                   "chat": {"id": user.user_id, "type": "private", "first_name": "压测"},
                   "from": {"id": user.user_id, "is_bot": False, "first_name": "压测"}}
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return Update.de_json({"update_id": uid, "message": message}, self.app.bot)

    def _press(self, uid: int, user: User, last: Any, data: str, kind: str) -> Update:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        query = {"id": str(uid), "chat_instance": "bench", "data": data,
                 "from": {"id": user.user_id, "is_bot": False, "first_name": "压测"},
                 "message": last.to_api(self.transport.bot)}
        return Update.de_json({"update_id": uid, "callback_query": query}, self.app.bot)


def load_texts() -> list[str]:
    data = yaml.safe_load((ROOT / "tests" / "data" / "devset.yaml").read_text(encoding="utf-8"))
    return [entry["text"] for entry in data if isinstance(entry, dict) and entry.get("text")]


# ---------------------------------------------------------------------------------------------- runs


@dataclass
class Result:
    label: str
    updates: int
    seconds: float
    latencies: list[float]
    errors: int
    kinds: dict[str, int]
    # --intake: CPU milliseconds per update, by process kind (worker(s), PostgreSQL, the receiving driver).
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        mean = statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")
        cpu = "".join(f"   {kind} {ms:.2f}" for kind, ms in self.cpu_ms.items())
        return (f"{self.label:<34} {self.updates:>7} upd {self.rate:>8.1f} upd/s   p50 {self.pct(0.50):6.1f} ms   "
                f"p99 {self.pct(0.99):6.1f} ms   mean {mean:6.1f} ms   errors {self.errors}"
                + (f"   CPU ms/update:{cpu}" if cpu else ""))


async def noop_reply(update: Update, context: Any) -> None:
    """Baseline: the least a handler can do, one reply."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    else:
        await context.bot.send_message(update.effective_chat.id, "ok")
    raise ApplicationHandlerStop


DB_MODE: dict[str, Any] = {}  # --db-mode: {"db_in_thread": bool}; empty = the factory's default


def make_app(settings: Settings, kb: Any, url: str, baseline: bool, concurrency: int):
    """The production factory; the database is the one it builds itself from settings.database_url."""
    transport = RecordingRequest(record=False)
    processor = TimingProcessor(concurrency)
    options: dict[str, Any] = {}
    if baseline:
        options["handler_modules"] = ()
    settings = settings.replace(database_url=url)
    app = build_application(settings, token=TOKEN, request=transport, kb=kb, rate_limiter=None,
                            job_queue=False, set_commands=False, limiter=RateLimiter(per_minute=0),
                            concurrent_updates=processor, **DB_MODE, **options)
    if baseline:
        app.add_handler(TypeHandler(Update, noop_reply))
    errors = [0]

    async def count_error(update: object, context: Any) -> None:
        errors[0] += 1
        if errors[0] <= 3:
            print(f"  handler error: {context.error!r}", file=sys.stderr)

    app.error_handlers.clear()
    app.add_error_handler(count_error)
    return app, transport, processor, errors


async def closed_loop(label: str, settings: Settings, kb: Any, url: str, cadres: set[int], users: int,
                      seconds: float, baseline: bool, concurrency: int, texts: list[str]) -> Result:
    app, transport, processor, errors = make_app(settings, kb, url, baseline, concurrency)
    traffic = Traffic(app, transport, texts)
    people = [User(FIRST_USER + i, FIRST_USER + i in cadres, random.Random(i)) for i in range(users)]
    async with app:
        await app.start()
        await warm_up(app, processor, traffic, people)
        processor.latencies.clear()
        traffic.kinds.clear()
        deadline = time.perf_counter() + seconds
        count = [0]

        async def talk(user: User) -> None:
            while time.perf_counter() < deadline:
                update = traffic.next_update(user)
                future = asyncio.get_running_loop().create_future()
                processor.done[update.update_id] = future
                processor.queued[update.update_id] = time.perf_counter()
                await app.update_queue.put(update)
                await future
                count[0] += 1

        started = time.perf_counter()
        await asyncio.gather(*(talk(u) for u in people))
        elapsed = time.perf_counter() - started
        await app.stop()
    app.bot_data.services.db.dispose()
    return Result(label, count[0], elapsed, list(processor.latencies), errors[0], dict(traffic.kinds))


async def open_loop(label: str, settings: Settings, kb: Any, url: str, cadres: set[int], users: int,
                    seconds: float, rate: float, baseline: bool, concurrency: int, texts: list[str]) -> Result:
    app, transport, processor, errors = make_app(settings, kb, url, baseline, concurrency)
    traffic = Traffic(app, transport, texts)
    people = [User(FIRST_USER + i, FIRST_USER + i in cadres, random.Random(i)) for i in range(users)]
    rng = random.Random(42)
    async with app:
        await app.start()
        await warm_up(app, processor, traffic, people)
        processor.latencies.clear()
        traffic.kinds.clear()
        futures: list[asyncio.Future] = []
        started = time.perf_counter()
        next_at = started
        sent = 0
        while next_at < started + seconds:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user = rng.choice(people)
            update = traffic.next_update(user)
            future = asyncio.get_running_loop().create_future()
            processor.done[update.update_id] = future
            processor.queued[update.update_id] = time.perf_counter()
            app.update_queue.put_nowait(update)
            futures.append(future)
            sent += 1
            next_at += rng.expovariate(rate)
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
        await app.stop()
    app.bot_data.services.db.dispose()
    return Result(label, sent, elapsed, list(processor.latencies), errors[0], dict(traffic.kinds))


async def warm_up(app: Any, processor: TimingProcessor, traffic: Traffic, people: list[User]) -> None:
    """One message per user first (connections opened, caches warm), not measured."""
    futures = []
    for user in people:
        update = traffic._message(next(traffic.ids), user, traffic.texts[user.user_id % len(traffic.texts)])
        future = asyncio.get_running_loop().create_future()
        processor.done[update.update_id] = future
        await app.update_queue.put(update)
        futures.append(future)
    await asyncio.gather(*futures)


def count_rows(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import CheckLog, RedCard

    db = Database(url)
    with db.session() as s:
        counts = {"check_log": s.scalar(select(func.count()).select_from(CheckLog)) or 0,
                  "red_cards": s.scalar(select(func.count()).select_from(RedCard)) or 0,
                  "with_feedback": s.scalar(select(func.count()).select_from(CheckLog)
                                            .where(CheckLog.feedback.is_not(None))) or 0}
    db.dispose()
    return counts


async def main_async(args: argparse.Namespace) -> int:
    import knowledge

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="cadrebot-bench-data-") as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        kb = knowledge.from_settings(settings)
        texts = load_texts()
        tune_runtime()  # as `cadrebot run` does after start-up (gc.freeze, 1 ms GIL switch interval)
        print(f"cadrebot bot load: {args.users} users, {args.seconds:.0f} s per run, open loop at {args.rate:.0f} "
              f"upd/s, concurrent_updates={args.concurrency} (per-user order kept), {os.cpu_count()} CPU(s)")
        failed = False
        for kind in kinds:
            print(f"\n[{kind}]  (each run on its own fresh, migrated, seeded database)")
            plan = [
                ("baseline no-op, closed loop", True, None),
                ("cadrebot, closed loop", False, None),
                (f"baseline no-op, open {args.rate:.0f}/s", True, args.rate),
                (f"cadrebot, open {args.rate:.0f}/s", False, args.rate),
            ]
            runs: list[Result] = []
            for label, baseline, rate in plan:
                with Throwaway(kind) as database:
                    cadres = seed(database.url, args.users)
                    if rate is None:
                        result = await closed_loop(label, settings, kb, database.url, cadres, args.users,
                                                   args.seconds, baseline, args.concurrency, texts)
                    else:
                        result = await open_loop(label, settings, kb, database.url, cadres, args.users,
                                                 args.seconds, rate, baseline, args.concurrency, texts)
                    rows = count_rows(database.url) if not baseline else None
                runs.append(result)
                print("  " + result.line() + (f"   rows {rows}" if rows else ""), flush=True)
            print(f"  traffic (cadrebot closed loop): {runs[1].kinds}")
            if kind == "postgres":
                target = runs[3]
                ok = runs[1].rate >= 200 and target.pct(0.99) <= 50 and target.errors == 0
                print(f"  target (PostgreSQL, {args.users} users: >= 200 upd/s sustained, p99 <= 50 ms): "
                      f"{'MET' if ok else 'NOT MET'}")
                failed |= not ok
        return 1 if failed and args.strict else 0


# ---------------------------------------------------------------------------------------------- the intake, 1-4 workers


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; a process gone meanwhile counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes (the benchmark's database is the only busy one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU per update of the workers, PostgreSQL and this process (the receiving side) over a measured window:
    where a 2-core machine's time goes, and so how far more workers can scale on it (see intake_main)."""

    def __init__(self, workers: list[int]) -> None:
        self.groups = {"worker": workers, "postgres": postgres_pids() if sys.platform == "linux" else [],
                       "receiver": [os.getpid()]}
        self.start = {kind: cpu_seconds(pids) for kind, pids in self.groups.items()}

    def per_update(self, updates: int) -> dict[str, float]:
        if sys.platform != "linux" or not updates:
            return {}
        return {kind: (cpu_seconds(pids) - self.start[kind]) * 1000 / updates for kind, pids in self.groups.items()}


def worker_process(url: str, name: str, data_dir: str, report_port: str, handlers: str = "cadrebot") -> None:
    """One `cadrebot worker` as production builds and serves it (bot.cli_run.serve_worker), with the offline
    transport instead of Telegram; tells the driver (a UDP datagram to `report_port`) each update id whose
    handlers have run; stops when the driver sends SIGTERM. handlers="noop": the same worker and intake, with
    one no-op handler before the bot's own (what the intake costs by itself)."""
    import socket

    import knowledge
    from bot.cli_run import serve_worker
    from bot.intake import IntakeMode

    settings = Settings(data_dir=Path(data_dir)).replace(database_url=url)
    kb = knowledge.from_settings(settings)
    app = build_application(settings, token=TOKEN, request=RecordingRequest(record=False), kb=kb, rate_limiter=None,
                            set_commands=False, limiter=RateLimiter(per_minute=0), intake=IntakeMode.WORKER,
                            worker_name=name, job_queue=False, **DB_MODE)
    if handlers == "noop":
        app.add_handler(TypeHandler(Update, noop_reply), group=-1)
    report = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = ("127.0.0.1", int(report_port))
    app.bot_data.intake_worker.on_handled = lambda update_id: report.sendto(b"%d" % update_id, address)
    tune_runtime()
    asyncio.run(serve_worker(app, name))


class IntakeDriver(asyncio.DatagramProtocol):
    """The receiving side: saves updates into the intake exactly as `cadrebot run` does (DurableUpdateQueue, one
    transaction per batch). The workers tell it over UDP when an update's handlers have run (its reply sent);
    reading the intake's status back every 250 ms catches anything a datagram missed. (Until 2026-12 the driver
    polled the database every 2 ms: on 2 cores that polling took CPU from the workers and PostgreSQL.)"""

    def __init__(self, url: str, texts: list[str]) -> None:
        from bot.intake import DurableUpdateQueue, bot_id_of
        from storage.db import Database

        self.db = Database(url)
        self.queue = DurableUpdateQueue(self.db, Settings().secret.get_secret_value(), bot_id_of(TOKEN))
        self.texts = texts
        self.ids = itertools.count(1)
        self.sent_at: dict[int, float] = {}
        self.waiters: dict[int, asyncio.Future] = {}
        self.latencies: list[float] = []
        self.kinds: dict[str, int] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def update_for(self, user: User) -> Update:
        uid = next(self.ids)
        message: dict[str, Any] = {"message_id": uid, "date": int(time.time()),
                                   "chat": {"id": user.user_id, "type": "private", "first_name": "压测"},
                                   "from": {"id": user.user_id, "is_bot": False, "first_name": "压测"}}
        if user.rng.random() > 0.96:
            command = "/redcards" if user.cadre else "/help"
            message["text"] = command
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            self.kinds["command"] = self.kinds.get("command", 0) + 1
        else:
            message["text"] = user.rng.choice(self.texts)
            self.kinds["check"] = self.kinds.get("check", 0) + 1
        return Update.de_json({"update_id": uid, "message": message}, None)

    async def send(self, updates: list[Update]) -> list[asyncio.Future]:
        loop = asyncio.get_running_loop()
        futures = []
        now = time.perf_counter()
        for update in updates:
            await self.queue.put(update)
            self.sent_at[update.update_id] = now
            futures.append(self.waiters.setdefault(update.update_id, loop.create_future()))
        await self.queue.save()
        return futures

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._resolve([int(data)])

    def _resolve(self, update_ids: list[int]) -> None:
        now = time.perf_counter()
        for uid in update_ids:
            future = self.waiters.pop(uid, None)
            if future is not None and not future.done():
                self.latencies.append(now - self.sent_at.pop(uid))
                future.set_result(None)

    async def listen(self) -> int:
        """Start receiving the workers' datagrams; the port they send to."""
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(lambda: self,
                                                                                 local_addr=("127.0.0.1", 0))
        self.transport = transport
        return transport.get_extra_info("sockname")[1]

    async def watch(self) -> None:
        """Resolve the futures of updates marked done whose datagram did not come (a safety net)."""
        from sqlalchemy import select

        from storage.intake import Status
        from storage.models import InboundUpdate

        def finished(waiting: list[int]) -> list[int]:
            with self.db.session() as s:
                return list(s.scalars(select(InboundUpdate.update_id).where(
                    InboundUpdate.bot_id == self.queue.bot_id, InboundUpdate.update_id.in_(waiting),
                    InboundUpdate.status >= int(Status.DONE))))

        while True:
            await asyncio.sleep(0.25)
            waiting = list(self.waiters)
            self._resolve(await asyncio.to_thread(finished, waiting) if waiting else [])


async def intake_run(label: str, url: str, data_dir: str, workers: int, people: list[User], texts: list[str],
                     seconds: float, rate: float | None, handlers: str = "cadrebot") -> Result:
    """1-N worker processes on one PostgreSQL database; closed loop (rate None) or open loop at `rate`."""
    import subprocess

    driver = IntakeDriver(url, texts)
    port = await driver.listen()
    processes = [subprocess.Popen([sys.executable, __file__, "--worker-process", url, f"bench-w{n}", data_dir,
                                   str(port), handlers], stdout=subprocess.PIPE, text=True, cwd=ROOT) for n in range(workers)]
    try:
        for process in processes:  # serve_worker prints one line once the worker is claiming
            assert process.stdout is not None and process.stdout.readline().strip()
        watcher = asyncio.create_task(driver.watch())
        await asyncio.gather(*await driver.send([driver.update_for(u) for u in people]))  # warm-up
        driver.latencies.clear()
        driver.kinds.clear()
        meter = CpuMeter([process.pid for process in processes])
        started = time.perf_counter()
        deadline = started + seconds
        count = 0
        if rate is None:
            async def talk(user: User) -> None:
                nonlocal count
                while time.perf_counter() < deadline:
                    [future] = await driver.send([driver.update_for(user)])
                    await future
                    count += 1

            await asyncio.gather(*(talk(u) for u in people))
        else:
            rng = random.Random(42)
            futures: list[asyncio.Future] = []
            next_at = started
            while next_at < deadline:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                batch = []
                while next_at <= time.perf_counter():  # everything due by now, in one save (like one getUpdates)
                    batch.append(driver.update_for(rng.choice(people)))
                    next_at += rng.expovariate(rate)
                futures += await driver.send(batch)
            await asyncio.gather(*futures)
            count = len(futures)
        elapsed = time.perf_counter() - started
        cpu_ms = meter.per_update(count)
        watcher.cancel()
        if driver.transport is not None:
            driver.transport.close()
        driver.db.dispose()
        return Result(label, count, elapsed, list(driver.latencies), 0, dict(driver.kinds), cpu_ms)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


async def intake_main(args: argparse.Namespace) -> int:
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="cadrebot-bench-data-") as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        import knowledge

        kb = knowledge.from_settings(settings)
        texts = load_texts()
        tune_runtime()
        print(f"cadrebot bot load through the durable intake (PostgreSQL): {args.users} users, {args.seconds:.0f} s "
              f"per run, {os.cpu_count()} CPU(s); workers = separate processes; latency = saved in the intake "
              f"-> handlers done, reply sent (told by the worker over UDP)")
        results: dict[str, Result] = {}
        plan: list[tuple[str, int, float | None]] = [("baseline no-op PTB, closed loop", 0, None),
                                                     ("no-op handler, intake, 1 worker", -1, None)]
        plan += [(f"cadrebot {n} worker(s), closed loop", n, None) for n in counts]
        plan += [(f"cadrebot {n} worker(s), open {args.rate:.0f}/s", n, args.rate) for n in counts]
        for label, workers, rate in plan:
            with Throwaway("postgres") as database:
                cadres = seed(database.url, args.users)
                people = [User(FIRST_USER + i, FIRST_USER + i in cadres, random.Random(i)) for i in range(args.users)]
                if workers == -1:  # the intake alone: same driver and worker, a handler that only replies
                    result = await intake_run(label, database.url, data_dir, 1, people, texts, args.seconds, None,
                                              handlers="noop")
                elif workers == 0:
                    result = await closed_loop(label, settings, kb, database.url, cadres, args.users, args.seconds,
                                               True, args.concurrency, texts)
                else:
                    result = await intake_run(label, database.url, data_dir, workers, people, texts, args.seconds,
                                              rate)
            results[label] = result
            print("  " + result.line(), flush=True)
        base = results[plan[0][0]].rate
        one = results.get("cadrebot 1 worker(s), closed loop")
        two = results.get("cadrebot 2 worker(s), closed loop")
        if one:
            print(f"  1 process / no-op PTB: {one.rate / base:.1%} (target >= 20%); "
                  f"/ no-op handler through the intake: {one.rate / results[plan[1][0]].rate:.1%}")
        if one and two:
            print(f"  2 workers / 1 process: {two.rate / one.rate:.2f}x (target >= 1.6x)")
        if one and one.cpu_ms:
            # What the cores allow: each worker process is one event loop (about one core at most), and every
            # update also costs PostgreSQL and the receiving side their share of the same cores.
            worker, total = one.cpu_ms["worker"], sum(one.cpu_ms.values())
            cores = os.cpu_count() or 1
            for n in counts:
                ceiling = min(n * 1000 / worker, cores * 1000 / total)
                print(f"  ceiling for {n} worker(s) on {cores} cores, from the 1-worker run's CPU per update "
                      f"({total:.2f} ms in all, {worker:.2f} in the worker): {ceiling:.0f} upd/s "
                      f"= {ceiling / (1000 / worker):.2f}x one worker's own limit")
        opened = results.get(f"cadrebot 1 worker(s), open {args.rate:.0f}/s")
        if opened:
            print(f"  open loop {args.rate:.0f}/s, 1 process: p99 {opened.pct(0.99):.1f} ms (target <= 50 ms)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured run")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop arrival rate, updates/s")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=64, help="updates processed at once (different users)")
    parser.add_argument("--db-mode", choices=["default", "thread", "inline"], default="default",
                        help="database work in worker threads or on the event loop (default: the factory's choice)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if the PostgreSQL target is not met")
    parser.add_argument("--intake", action="store_true",
                        help="through the durable intake on PostgreSQL, with --workers worker processes")
    parser.add_argument("--workers", default="1,2,4", help="worker-process counts for --intake (default 1,2,4)")
    parser.add_argument("--worker-process", nargs=5, metavar=("URL", "NAME", "DATA_DIR", "PORT", "HANDLERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_process:
        if os.environ.get("BENCH_DB_MODE"):
            DB_MODE["db_in_thread"] = os.environ["BENCH_DB_MODE"] == "thread"
        worker_process(*args.worker_process)
        return 0
    if args.intake:
        return asyncio.run(intake_main(args))
    if args.db_mode != "default":
        DB_MODE["db_in_thread"] = args.db_mode == "thread"
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
