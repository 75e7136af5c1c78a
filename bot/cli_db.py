"""`cadrebot db …`: database schema management (Alembic, configured in code)."""

from __future__ import annotations

import argparse
import sys

from texts import console as C


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="数据库：建表与升级 (Alembic)")
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION")

    upgrade = sub.add_parser("upgrade", help="把数据库升级到最新结构（首次使用时会建表）")
    upgrade.add_argument("revision", nargs="?", default="head", help="目标版本，默认 head")
    upgrade.set_defaults(func=_upgrade)

    current = sub.add_parser("current", help="显示数据库当前的结构版本")
    current.set_defaults(func=_current)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _upgrade(args: argparse.Namespace) -> int:
    from bot.settings import Settings
    from storage.db import redacted_url, translate_errors
    from storage.errors import DatabaseUnavailable
    from storage.migrate import current_revision, upgrade

    settings = Settings()
    try:
        with translate_errors():
            upgrade(settings, args.revision)
            revision = current_revision(settings)
    except DatabaseUnavailable as error:
        print(C.DB_UNREACHABLE.format(url=redacted_url(settings.database_url), error=error), file=sys.stderr)
        return 1
    print(C.DB_UPGRADED.format(revision=revision, url=redacted_url(settings.database_url)))
    return 0


def _current(args: argparse.Namespace) -> int:
    from bot.settings import Settings
    from storage.db import translate_errors
    from storage.errors import DatabaseUnavailable
    from storage.migrate import current_revision, head_revision

    settings = Settings()
    try:
        with translate_errors():
            revision = current_revision(settings)
    except DatabaseUnavailable as error:
        print(C.DB_UNREACHABLE_SHORT.format(error=error), file=sys.stderr)
        return 1
    head = head_revision()
    state = C.DB_LATEST if revision == head else C.DB_NEEDS_UPGRADE.format(head=head)
    print(C.DB_CURRENT.format(revision=revision or C.DB_NO_TABLES, state=state))
    return 0 if revision == head else 1
