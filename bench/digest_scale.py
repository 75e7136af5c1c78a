"""The weekly digest at city scale, on SQLite and PostgreSQL (throwaway databases).

    python bench/digest_scale.py                      # full scale, both databases (a few minutes)
    python bench/digest_scale.py --scale 0.1          # 10 % of the rows, for a quick look
    python bench/digest_scale.py --db sqlite --periods 1   # every response in ONE survey period (worst case)

Synthetic city: 2,000 villages in 100 towns; 1,000,000 survey responses (each with up to 8 aspect scores, ~15 %
skipped, so ~6.8 million answer rows) spread over `--periods` monthly periods ending 2026-11; 200,000 checks over
the 52 weeks up to 2026-W47; 20,000 red-card candidates over 2026 with their timeline events. Rows are generated
in chunks and bulk-loaded (COPY on PostgreSQL, executemany on SQLite) into a schema made by the real Alembic
migrations; secondary indexes are dropped for the load and rebuilt after it, then ANALYZE runs (VACUUM ANALYZE
on PostgreSQL, what autovacuum does in steady state; --no-analyze shows the planner without statistics).

Measured in a fresh subprocess per database (so peak RSS is the digest's, not the generator's):
- the city roll-up and one town's digest for 2026-W47 (`bot.digest.build_digest`), `--runs` times each:
  median and p99 (nearest rank);
- rendering (Telegram text + XLSX, and the PNG chart) of the city digest;
- peak memory: ru_maxrss of the measuring process and tracemalloc's peak of Python allocations;
- baselines in the same process: a `SELECT 1` round trip (the floor), and the naive way — fetching the
  current period's answer rows into Python and averaging there — against which the SQL GROUP BY is compared.
Targets: city ≤ 5 s, town ≤ 0.5 s, peak memory ≤ 300 MB on each database.

Then every query the city and the town digest run is shown with its plan (EXPLAIN QUERY PLAN on SQLite,
EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL), so the indexes used can be read off.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("CADREBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432").rstrip("/")
WEEK = "2026-W47"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Asia/Shanghai, after W47
TOWNS, VILLAGES_PER_TOWN = 100, 20
RESPONSES, CHECKS, RED_CARDS = 1_000_000, 200_000, 20_000
ASPECTS = ("service", "vulnerable", "culture", "stability", "environment", "democracy", "social_work", "overall")
VERDICTS = ("duty", "assist", "restricted", "certificate_refused", "unlisted", "unclear")
ITEMS = ("A1", "A3", "A7", "B2", "B6", "B11", "C2", "C9", "P3", "P10", None)
DEPARTMENTS = tuple(f"部门{i:02d}" for i in range(40))
COMMENTS = ("环境卫生比以前好多了", "张阿姨家门口路灯坏了，电话13812345678", "停车太难了", "社工很热心", "希望多组织活动")
CHUNK = 50_000
TARGETS = {"city": 5.0, "town": 0.5, "memory_mb": 300.0}


# ---------------------------------------------------------------------------------------------- generation


def _ts(moment: datetime, dialect: str) -> Any:
    """A timestamp as UTCDateTime stores it: naive UTC text on SQLite, aware datetime on PostgreSQL."""
    if dialect == "sqlite":
        return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def _periods(count: int) -> list[tuple[int, str, date, date]]:
    """Monthly periods ending with 2026-11, oldest first: (id, code, first day, last day)."""
    result = []
    year, month = 2026, 11
    for _ in range(count):
        first = date(year, month, 1)
        last = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        result.append((0, f"{year}-{month:02d}", first, last))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    result.reverse()
    return [(i + 1, code, first, last) for i, (_, code, first, last) in enumerate(result)]


def generate(scale: float, periods: int, dialect: str, seed: int = 2026) -> Iterator[tuple[str, tuple[str, ...], list[tuple]]]:
    """(table, columns, rows) chunks of the synthetic city."""
    rng = random.Random(seed)
    yield "towns", ("id", "code", "name"), [(t, f"T{t:03d}", f"第{t}镇") for t in range(1, TOWNS + 1)]
    villages = [
        (v, f"T{t:03d}V{k:02d}", f"第{t}镇第{k}村", t)
        for t in range(1, TOWNS + 1)
        for k in range(1, VILLAGES_PER_TOWN + 1)
        for v in [(t - 1) * VILLAGES_PER_TOWN + k]
    ]
    yield "villages", ("id", "code", "name", "town_id"), villages
    n_villages = len(villages)
    period_rows = _periods(periods)
    yield "survey_periods", ("id", "code", "starts_on", "ends_on"), period_rows

    # survey responses and their answers, in chunks
    n_responses = int(RESPONSES * scale)
    response_cols = ("id", "respondent_key", "village_id", "period_id", "day", "comment")
    answer_cols = ("response_id", "aspect_code", "score", "village_id", "period_id")
    rid = 0
    while rid < n_responses:
        responses, answers = [], []
        for _ in range(min(CHUNK, n_responses - rid)):
            rid += 1
            pid, _, first, last = period_rows[rng.randrange(len(period_rows))]
            village = rng.randrange(1, n_villages + 1)
            day = first + timedelta(days=rng.randrange((last - first).days + 1))
            comment = rng.choice(COMMENTS) if rng.random() < 0.2 else None
            responses.append((rid, f"{rid:064x}", village, pid, day, comment))
            for aspect in ASPECTS:
                if rng.random() >= 0.15:
                    answers.append((rid, aspect, rng.randint(1, 5), village, pid))
        yield "survey_responses", response_cols, responses
        yield "survey_answers", answer_cols, answers

    # checks over the 52 weeks up to the end of W47
    end = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    span = 52 * 7 * 86400
    check_cols = ("id", "text", "verdict", "top_item_id", "village_id", "member_id", "created_at", "feedback")
    n_checks = int(CHECKS * scale)
    cid = 0
    while cid < n_checks:
        rows = []
        for _ in range(min(CHUNK, n_checks - cid)):
            cid += 1
            at = end - timedelta(seconds=rng.random() * span)
            village = rng.randrange(1, n_villages + 1) if rng.random() < 0.95 else None
            rows.append((cid, f"任务 {cid}", rng.choice(VERDICTS), rng.choice(ITEMS), village, None,
                         _ts(at, dialect), rng.choice((None, None, None, 1, -1))))
        yield "check_log", check_cols, rows

    # red cards over 2026 (the evaluation year) with their timeline
    card_cols = ("id", "village_id", "department", "item_id", "task_text", "evidence", "period", "count", "status",
                 "created_by", "created_at", "updated_at")
    event_cols = ("id", "red_card_id", "actor_member_id", "action", "at", "note")
    year_start = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    year_span = (end - year_start).total_seconds()
    cards, events, eid = [], [], 0
    seen: set[tuple] = set()
    card_id = 0
    while card_id < int(RED_CARDS * scale):
        village = rng.randrange(1, n_villages + 1)
        department = DEPARTMENTS[min(int(rng.expovariate(0.15)), len(DEPARTMENTS) - 1)]
        item = rng.choice(("P3", "P10", "C2", "C9", ""))
        if (village, department, item) in seen:
            continue
        seen.add((village, department, item))
        card_id += 1
        created = year_start + timedelta(seconds=rng.random() * year_span)
        reports = [created] + sorted(created + timedelta(seconds=rng.random() * (end - created).total_seconds())
                                     for _ in range(int(rng.expovariate(1.5))))
        status = rng.choices(("candidate", "confirmed", "withdrawn", "included"), (60, 25, 10, 5))[0]
        for i, at in enumerate(reports):
            eid += 1
            events.append((eid, card_id, None, "created" if i == 0 else "reported_again", _ts(at, dialect), None))
        if status != "candidate":
            decided = reports[-1] + timedelta(seconds=rng.random() * max(1.0, (end - reports[-1]).total_seconds()))
            for action in (("confirmed", "included") if status == "included" else (status,)):
                eid += 1
                events.append((eid, card_id, None, action, _ts(decided, dialect), None))
        cards.append((card_id, village, department, item, "摊派任务", "[]", "2026", len(reports), status, None,
                      _ts(created, dialect), _ts(reports[-1], dialect)))
    yield "red_cards", card_cols, cards
    yield "red_card_events", event_cols, events


# ---------------------------------------------------------------------------------------------- loading

LOAD_ORDER = ("towns", "villages", "survey_periods", "survey_responses", "survey_answers", "check_log",
              "red_cards", "red_card_events")


def _secondary_indexes(engine) -> list[tuple[str, str, list[str], bool]]:
    from sqlalchemy import inspect

    inspector = inspect(engine)
    found = []
    for table in LOAD_ORDER:
        for index in inspector.get_indexes(table):
            if index.get("duplicates_constraint"):  # PostgreSQL: the index of a UNIQUE constraint stays
                continue
            if index.get("name") and not index["name"].startswith("sqlite_autoindex"):
                found.append((index["name"], table, list(index["column_names"]), bool(index.get("unique"))))
    return found


def load(url: str, scale: float, periods: int, analyze: bool = True) -> dict[str, Any]:
    """Create the schema with the real migrations, bulk-load the city, rebuild indexes, ANALYZE."""
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        return _load(engine, scale, periods, analyze)
    finally:
        engine.dispose()


def _load(engine, scale: float, periods: int, analyze: bool) -> dict[str, Any]:
    from sqlalchemy import text

    from storage.migrate import upgrade

    dialect = engine.dialect.name
    upgrade(engine)
    indexes = _secondary_indexes(engine)
    started = time.perf_counter()
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for name, *_ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA foreign_keys=OFF")
        for table, columns, rows in generate(scale, periods, dialect):
            counts[table] = counts.get(table, 0) + len(rows)
            if dialect == "sqlite":
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                   [tuple(str(v) if isinstance(v, date) else v for v in row) for row in rows])
            else:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        for name, table, columns, unique in indexes:
            cols = ", ".join(f'"{c}"' for c in columns)
            conn.execute(text(f'CREATE {"UNIQUE " if unique else ""}INDEX "{name}" ON {table} ({cols})'))
    if analyze:
        # PostgreSQL: what autovacuum does to a table in steady state (statistics, and the visibility map that
        # index-only scans need). SQLite: statistics for the planner (PRAGMA optimize in production).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
    indexed = time.perf_counter() - started
    return {"rows": counts, "load_s": round(loaded, 1), "index_and_analyze_s": round(indexed, 1)}


# ---------------------------------------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))]


def _stats(values: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(values), "p99_s": percentile(values, 0.99), "runs": len(values),
            "min_s": min(values), "max_s": max(values)}


def measure(url: str, runs: int, town: str) -> dict[str, Any]:
    """Runs in its own process: time the digests, the rendering and the baselines; report peak memory."""
    from sqlalchemy import func, select, text

    from bot.digest import Week, build_digest, render_xlsx, resolve_scope
    from bot.digest.chart import render_png
    from bot.digest.text import render_messages
    from storage.db import Database
    from storage.models import SurveyAnswer, SurveyPeriod

    db = Database(url)
    week = Week.parse(WEEK)
    result: dict[str, Any] = {}

    def timed(fn, n):
        values = []
        for _ in range(n):
            started = time.perf_counter()
            fn()
            values.append(time.perf_counter() - started)
        return values

    with db.session() as session:
        city, one_town = resolve_scope(session, None), resolve_scope(session, town)
        build_digest(session, one_town, week, now=NOW)  # warm the connection and caches once
        result["floor_select_1"] = _stats(timed(lambda: session.execute(text("SELECT 1")).scalar(), 50))
        result["town"] = _stats(timed(lambda: build_digest(session, one_town, week, now=NOW), runs * 3))
        result["city"] = _stats(timed(lambda: build_digest(session, city, week, now=NOW), runs))
        digest = build_digest(session, city, week, now=NOW)
        result["city_render_text_xlsx"] = _stats(timed(lambda: (render_messages(digest, attachments=True), render_xlsx(digest)), 3))
        result["city_render_png"] = _stats(timed(lambda: render_png(digest), 3))
        result["city_villages"] = len(digest.satisfaction.villages)
        result["city_responses_in_period"] = digest.satisfaction.responses
        result["city_answers_in_period"] = sum(a.current.n for a in digest.satisfaction.aspects)

        # the measuring process's high-water mark so far: the digests built and rendered (not the baselines below)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

        # peak Python allocations of one city digest, built and rendered (tracemalloc slows Python down, so it
        # is on only here, not while timing)
        tracemalloc.start()
        heavy = build_digest(session, city, week, now=NOW)
        render_messages(heavy, attachments=True)
        render_xlsx(heavy)
        result["city_digest_tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        del heavy

        # baseline: the naive way, rows into Python, for the heaviest part (the period's satisfaction by village)
        period_id = session.scalar(select(SurveyPeriod.id).where(SurveyPeriod.code == digest.satisfaction.period))

        def naive() -> dict:
            sums: dict = {}
            for village_id, aspect, score in session.execute(
                select(SurveyAnswer.village_id, SurveyAnswer.aspect_code, SurveyAnswer.score).where(SurveyAnswer.period_id == period_id)
            ):
                entry = sums.setdefault((village_id, aspect), [0, 0])
                entry[0] += score
                entry[1] += 1
            return sums

        def grouped() -> list:
            return session.execute(
                select(SurveyAnswer.village_id, SurveyAnswer.aspect_code, func.count(), func.sum(SurveyAnswer.score))
                .where(SurveyAnswer.period_id == period_id)
                .group_by(SurveyAnswer.village_id, SurveyAnswer.aspect_code)
            ).all()

        tracemalloc.stop()
        result["baseline_naive_python_aggregation"] = _stats(timed(naive, 3))
        result["sql_group_by_same_figures"] = _stats(timed(grouped, 3))
        for name, fn in (("baseline_naive_python_peak_mb", naive), ("sql_group_by_peak_mb", grouped)):
            tracemalloc.start()
            fn()
            result[name] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        assert len(naive()) == len(grouped())
    db.dispose()
    result["peak_rss_with_baselines_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def explain(url: str, town: str) -> list[tuple[str, str]]:
    """(SQL, plan) for every statement the city and the town digest run."""
    from sqlalchemy import event

    from bot.digest import Week, build_digest, resolve_scope
    from storage.db import Database

    db = Database(url)
    captured: list[tuple[str, Any, str]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "survey_periods" not in statement.split("FROM", 1)[-1][:40]:
            captured.append((statement, parameters, label))

    event.listen(db.engine, "before_cursor_execute", capture)
    with db.session() as session:
        label = "city"
        build_digest(session, resolve_scope(session, None), Week.parse(WEEK), now=NOW)
        label = f"town {town}"
        build_digest(session, resolve_scope(session, town), Week.parse(WEEK), now=NOW)
    event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        for statement, parameters, scope in captured:
            if "FROM villages JOIN towns" in statement or statement.startswith("SELECT towns.") or "FROM towns" in statement[:200]:
                continue
            cursor = raw.cursor()
            if db.dialect == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = "\n".join(f"  {'  ' * 0}{row[-1]}" for row in cursor.fetchall())
            else:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
                plan = "\n".join("  " + row[0] for row in cursor.fetchall())
            plans.append((f"[{scope}] " + " ".join(statement.split()), plan))
    db.dispose()
    return plans


# ---------------------------------------------------------------------------------------------- driver


def _pg_admin():
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_SERVER + "/postgres")
    dsn = f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    if url.password:
        dsn += f" password={url.password}"
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = None
    if kind == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="digest-bench-")
        url = f"sqlite:///{tmp.name}/city.db"
    else:
        name = f"cadrebot_bench_{uuid.uuid4().hex[:10]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    try:
        print(f"\n=== {kind}: generating and loading (scale {args.scale}, {args.periods} survey periods) ...", flush=True)
        report = {"db": kind, "load": load(url, args.scale, args.periods, analyze=not args.no_analyze)}
        print(f"    rows: {report['load']['rows']}", flush=True)
        print(f"    load {report['load']['load_s']} s, indexes{'' if args.no_analyze else ' + (VACUUM) ANALYZE'} "
              f"{report['load']['index_and_analyze_s']} s", flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--measure", url, "--runs", str(args.runs), "--town", args.town],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"measuring failed:\n{proc.stderr}")
        report["measure"] = json.loads(proc.stdout.strip().splitlines()[-1])
        if kind == "sqlite":
            report["db_size_mb"] = round(os.path.getsize(f"{tmp.name}/city.db") / 2**20)
        _print_measure(kind, report["measure"])
        if not args.no_explain:
            print(f"\n--- {kind}: query plans of the digest's queries", flush=True)
            for statement, plan in explain(url, args.town):
                print(f"\n{statement}\n{plan}")
        return report
    finally:
        if tmp is not None:
            tmp.cleanup()
        else:
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _print_measure(kind: str, m: dict[str, Any]) -> None:
    def line(label: str, s: dict[str, float], target: float | None = None) -> str:
        verdict = "" if target is None else ("  OK" if s["p99_s"] <= target else f"  OVER TARGET {target} s")
        return f"    {label:<34} median {s['median_s'] * 1000:9.1f} ms   p99 {s['p99_s'] * 1000:9.1f} ms   ({s['runs']} runs){verdict}"

    print(f"\n--- {kind}: results (city: {m['city_villages']} villages, {m['city_responses_in_period']} responses / "
          f"{m['city_answers_in_period']} answers in the current period)")
    print(line("floor: SELECT 1", m["floor_select_1"]))
    print(line("city digest (build)", m["city"], TARGETS["city"]))
    print(line("town digest (build)", m["town"], TARGETS["town"]))
    print(line("city: render text + XLSX", m["city_render_text_xlsx"]))
    print(line("city: render PNG", m["city_render_png"]))
    print(line("baseline: rows into Python", m["baseline_naive_python_aggregation"]))
    print(line("same figures by SQL GROUP BY", m["sql_group_by_same_figures"]))
    print(f"    baseline Python peak {m['baseline_naive_python_peak_mb']:.0f} MB"
          f" vs GROUP BY {m['sql_group_by_peak_mb']:.1f} MB (tracemalloc)")
    ok = "OK" if m["peak_rss_mb"] <= TARGETS["memory_mb"] else f"OVER TARGET {TARGETS['memory_mb']} MB"
    print(f"    peak memory of the measuring process: RSS {m['peak_rss_mb']:.0f} MB ({ok}; "
          f"{m['peak_rss_with_baselines_mb']:.0f} MB after the naive baseline); "
          f"Python allocations of one city digest built and rendered: {m['city_digest_tracemalloc_peak_mb']:.0f} MB",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the row counts (default 1.0)")
    parser.add_argument("--periods", type=int, default=12, help="monthly survey periods the responses spread over")
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of the city digest (town: 3x as many)")
    parser.add_argument("--town", default="T050", help="the town whose digest is timed")
    parser.add_argument("--no-explain", action="store_true", help="skip the query plans")
    parser.add_argument("--no-analyze", action="store_true", help="no ANALYZE / VACUUM after loading (planner without statistics)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs, args.town)))
        return 0
    reports = [run_one(kind.strip(), args) for kind in args.db.split(",") if kind.strip()]
    failed = [
        f"{r['db']}: {what}"
        for r in reports
        for what, ok in (
            ("city", r["measure"]["city"]["p99_s"] <= TARGETS["city"]),
            ("town", r["measure"]["town"]["p99_s"] <= TARGETS["town"]),
            ("memory", r["measure"]["peak_rss_mb"] <= TARGETS["memory_mb"]),
        )
        if not ok
    ]
    if args.json:
        Path(args.json).write_text(json.dumps(reports, ensure_ascii=False, indent=2), encoding="utf-8")
    print("\nTargets (p99): city ≤ 5 s, town ≤ 0.5 s, peak RSS ≤ 300 MB: " + ("all met" if not failed else "MISSED " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
