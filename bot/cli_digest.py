"""`cadrebot digest`: the weekly digest without Telegram, in the same content as the bot sends.

    cadrebot digest --week 2026-W47 --town DEMO --format text
    cadrebot digest --week 2026-W47 --format xlsx --out 周报.xlsx        # no --town: the city roll-up
    cadrebot digest --format md                                          # the current week so far
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from texts import digest as T

FORMATS = ("text", "md", "xlsx", "csv", "png")
BINARY = {"xlsx", "png"}


def clock():  # noqa: ANN201
    """The current time (UTC). Tests replace this to look at a fixed moment."""
    from storage.models import utcnow

    return utcnow()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("digest", help=T.CLI_HELP)
    parser.add_argument("--week", default=None, help=T.CLI_WEEK_HELP)
    parser.add_argument("--town", default=None, metavar="CODE", help=T.CLI_TOWN_HELP)
    parser.add_argument("--format", default="text", choices=FORMATS, help=T.CLI_FORMAT_HELP)
    parser.add_argument("--out", default=None, metavar="FILE", help=T.CLI_OUT_HELP)
    parser.set_defaults(func=run_digest)


def item_titles(settings) -> dict[str, str]:  # noqa: ANN001 (bot.settings.Settings)
    """Item id -> title from the knowledge base files (no matcher is built); {} if they cannot be read."""
    try:
        from knowledge.loader import read_knowledge

        raw = read_knowledge(Path(settings.knowledge_dir) if settings.knowledge_dir else None,
                             settings.profile, settings.agreement or None)
    except Exception:  # noqa: BLE001 - titles are a nicety; ids alone still identify the items
        return {}
    return {item_id: item.title for item_id, item in raw.items.items()}


def render(digest, fmt: str) -> bytes:  # noqa: ANN001 (bot.digest.Digest)
    from bot.digest import render_csv, render_markdown, render_png, render_text, render_xlsx

    if fmt == "text":
        return render_text(digest).encode("utf-8")
    if fmt == "md":
        return render_markdown(digest).encode("utf-8")
    if fmt == "csv":
        return render_csv(digest)
    if fmt == "xlsx":
        return render_xlsx(digest)
    return render_png(digest)


def run_digest(args: argparse.Namespace, settings=None) -> int:  # noqa: ANN001
    from bot.digest import Week, build_digest, resolve_scope
    from bot.digest.fonts import FontMissing
    from bot.settings import Settings
    from storage.db import Database
    from storage.errors import DatabaseUnavailable, NotFound

    settings = settings or Settings()
    tz = settings.timezone or "Asia/Shanghai"
    now = clock()
    try:
        week = Week.parse(args.week, tz) if args.week else Week.containing(now, tz)
    except ValueError:
        print(T.CLI_BAD_WEEK.format(text=args.week), file=sys.stderr)
        return 2
    out = None if args.out in (None, "-") else Path(args.out)
    if out is None and args.format in BINARY and sys.stdout.isatty():
        print(T.CLI_NEED_OUT.format(format=args.format), file=sys.stderr)
        return 2

    db = Database(settings)
    try:
        with db.session() as session:
            scope = resolve_scope(session, args.town)
            digest = build_digest(session, scope, week, now=now, item_titles=item_titles(settings))
    except NotFound:
        print(T.CLI_NO_TOWN.format(code=args.town), file=sys.stderr)
        return 1
    except DatabaseUnavailable as error:
        print(T.CLI_DB_DOWN.format(error=error), file=sys.stderr)
        return 1
    finally:
        db.dispose()
    try:
        data = render(digest, args.format)
    except FontMissing as error:
        print(T.CLI_NO_FONT.format(error=error), file=sys.stderr)
        return 1
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        print(T.CLI_WROTE.format(path=out, size=len(data)), file=sys.stderr)
    return 0
