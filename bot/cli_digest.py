"""`cadrebot digest`: the weekly digest without Telegram, in the same content as the bot sends.

    cadrebot digest --week 上周 --town DEMO --format text
    cadrebot digest --week 2026-W47 --format xlsx --out 周报.xlsx        # no --town: the city roll-up
    cadrebot digest --week 11月18日 --format csv --out 周报.zip          # one CSV per table, zipped
    cadrebot digest --table villages --out 村社区.csv                    # one table's CSV
    cadrebot digest --format md                                          # the current week so far
    cadrebot digest --status [--week 上周] [--town DEMO]                 # the weekly send, per recipient

Binary output (xlsx, png, the csv zip) is refused on a terminal (exit 2) but written to a pipe or a redirect. For a
digest with nothing to draw, --format png writes nothing, says so on stderr and exits 1 (see --help).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_parser import ChineseHelpFormatter
from texts import digest as T

if TYPE_CHECKING:  # imported when a command runs, not when `cadrebot` builds its parser
    from bot.digest import Digest
    from bot.digest.delivery import WeekState
    from bot.settings import Settings

FORMATS = ("text", "md", "xlsx", "csv", "png")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, ChineseHelpFormatter):
    """Chinese help that keeps the epilog's lines (examples, exit codes) as written."""


def clock() -> datetime:
    """The current time (UTC). Tests replace this to look at a fixed moment."""
    from storage.models import utcnow

    return utcnow()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("digest", help=T.CLI_HELP, description=T.CLI_DESCRIPTION, epilog=T.CLI_EPILOG,
                                   formatter_class=_HelpFormatter)
    parser.add_argument("--week", default=None, help=T.CLI_WEEK_HELP)
    parser.add_argument("--town", default=None, metavar="CODE", help=T.CLI_TOWN_HELP)
    parser.add_argument("--format", default=None, choices=FORMATS, help=T.CLI_FORMAT_HELP)
    parser.add_argument("--table", default=None, choices=tuple(T.TABLE_LABELS), metavar="NAME",
                        help=T.CLI_TABLE_HELP + "；".join(f"{key} {label}" for key, label in T.TABLE_LABELS.items()))
    parser.add_argument("--out", default=None, metavar="FILE", help=T.CLI_OUT_HELP)
    parser.add_argument("--status", action="store_true", help=T.CLI_STATUS_HELP)
    parser.set_defaults(func=run_digest)


def item_titles(settings: Settings) -> dict[str, str]:
    """Item id -> title from the knowledge base files (no matcher is built); {} if they cannot be read."""
    try:
        from knowledge.loader import read_knowledge

        raw = read_knowledge(Path(settings.knowledge_dir) if settings.knowledge_dir else None,
                             settings.profile, settings.agreement or None, with_corpus=False)
    except Exception:  # noqa: BLE001 - titles are a nicety; ids alone still identify the items
        return {}
    return {item_id: item.title for item_id, item in raw.items.items()}


def is_binary(fmt: str, table: str | None) -> bool:
    """xlsx, png and the zip of CSVs; text, Markdown and one table's CSV are text."""
    return fmt in ("xlsx", "png") or (fmt == "csv" and table is None)


def render(digest: Digest, fmt: str, table: str | None = None, font_file: str | None = None) -> bytes:
    from bot.digest import render_csv_table, render_csv_zip, render_markdown, render_png, render_text, render_xlsx

    if fmt == "text":
        return render_text(digest).encode("utf-8")
    if fmt == "md":
        return render_markdown(digest).encode("utf-8")
    if fmt == "csv":
        return render_csv_table(digest, table) if table else render_csv_zip(digest)
    if fmt == "xlsx":
        return render_xlsx(digest)
    return render_png(digest, font_file)


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def status_lines(weeks: list[WeekState], tz: str) -> list[str]:
    """The status listing: a line per (scope, week), then one per recipient."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    lines: list[str] = []
    for week in weeks:
        lines.append(T.CLI_STATUS_WEEK.format(week=week.iso_week, scope=week.scope_name, done=week.done,
                                              total=len(week.recipients), open="" if week.finished else T.CLI_STATUS_OPEN))
        for r in week.recipients:
            lines.append(T.CLI_STATUS_LINE.format(
                recipient=T.CLI_STATUS_RECIPIENT.format(name=r.name, user_id=r.chat_id) if r.name else r.chat_id,
                status=T.DELIVERY_STATUS_LABELS[r.status],
                parts="、".join(T.PART_LABELS[p] for p in r.received) or T.CLI_STATUS_NOTHING,
                attempts=r.attempts,
                next=T.CLI_STATUS_NEXT.format(at=f"{r.next_attempt_at.astimezone(zone):%m-%d %H:%M}")
                if r.next_attempt_at else "",
                error=T.CLI_STATUS_ERROR.format(error=r.last_error) if r.last_error else "",
            ))
    return lines


def run_status(args: argparse.Namespace, settings: Settings, week_iso: str | None) -> int:
    """`cadrebot digest --status`: the weekly send per recipient (all scopes unless --town)."""
    from bot.digest import resolve_scope
    from bot.digest.delivery import delivery_status
    from storage.db import Database
    from storage.errors import DatabaseUnavailable, NotFound

    db = Database(settings.database_url)
    try:
        with db.session() as session:
            scope_key = resolve_scope(session, args.town).key if args.town else None
            weeks = delivery_status(session, scope_key=scope_key, iso_week=week_iso)
    except NotFound:
        return _fail(T.CLI_NO_TOWN.format(code=args.town), EXIT_FAILED)
    except DatabaseUnavailable as error:
        return _fail(T.CLI_DB_DOWN.format(error=error), EXIT_FAILED)
    finally:
        db.dispose()
    print("\n".join(status_lines(weeks, settings.timezone or "Asia/Shanghai")) if weeks else T.CLI_STATUS_NONE)
    return EXIT_OK


def run_digest(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from bot.digest import build_digest, empty_line, resolve_scope
    from bot.digest.fonts import FontMissing
    from bot.digest.text import bad_week_text
    from bot.digest.weeks import BadWeek, Week, parse_week
    from storage.db import Database
    from storage.errors import DatabaseUnavailable, NotFound
    from storage.surveys import configured_aspects

    settings = settings or args.settings
    tz = settings.timezone or "Asia/Shanghai"
    now = clock()
    fmt = args.format or ("csv" if args.table else "text")
    if args.table and fmt != "csv":
        return _fail(T.CLI_TABLE_NEEDS_CSV.format(format=fmt), EXIT_USAGE)
    try:
        week = parse_week(args.week, now=now, tz=tz) if args.week else Week.containing(now, tz)
    except BadWeek as error:
        return _fail(bad_week_text(error, T.CLI_BAD_WEEK), EXIT_USAGE)
    if week.start_utc > now:
        return _fail(T.FUTURE_WEEK.format(week=week.iso), EXIT_USAGE)
    if getattr(args, "status", False):
        return run_status(args, settings, week.iso if args.week else None)
    out = None if args.out in (None, "-") else Path(args.out)
    if out is None and is_binary(fmt, args.table) and sys.stdout.isatty():
        what, ext = T.CLI_BINARY_KINDS[fmt]
        return _fail(T.CLI_NEED_OUT.format(what=what, ext=ext), EXIT_USAGE)

    db = Database(settings.database_url)
    try:
        with db.session() as session:
            scope = resolve_scope(session, args.town)
            digest = build_digest(session, scope, week, now=now, item_titles=item_titles(settings),
                                  aspects=configured_aspects(settings.survey_aspects))
    except NotFound:
        return _fail(T.CLI_NO_TOWN.format(code=args.town), EXIT_FAILED)
    except DatabaseUnavailable as error:
        return _fail(T.CLI_DB_DOWN.format(error=error), EXIT_FAILED)
    finally:
        db.dispose()
    if fmt == "png" and not digest.has_chart:  # a blank picture helps nobody: say why there is none
        if digest.is_empty:
            return _fail(T.CLI_NO_CHART_EMPTY.format(line=empty_line(digest)), EXIT_FAILED)
        return _fail(T.CLI_NO_CHART.format(scope=digest.scope.name, week=week.iso), EXIT_FAILED)
    try:
        data = render(digest, fmt, args.table, settings.cjk_font)
    except FontMissing as error:
        return _fail(T.CLI_NO_FONT.format(error=error), EXIT_FAILED)
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        print(T.CLI_WROTE.format(path=out, size=len(data)), file=sys.stderr)
    return EXIT_OK
