"""`cadrebot db …`: database schema management (Alembic, configured in code)."""

from __future__ import annotations

import argparse
import sys

from texts import console as C


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help=C.HELP_DB, description=C.HELP_DB)
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", title=C.ARG_COMMANDS)

    upgrade = sub.add_parser("upgrade", help=C.HELP_DB_UPGRADE, description=C.HELP_DB_UPGRADE)
    upgrade.add_argument("revision", nargs="?", default="head", help=C.HELP_DB_REVISION)
    upgrade.set_defaults(func=_upgrade)

    current = sub.add_parser("current", help=C.HELP_DB_CURRENT, description=C.HELP_DB_CURRENT)
    current.set_defaults(func=_current)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _upgrade(args: argparse.Namespace) -> int:
    from storage.db import redacted_url, translate_errors
    from storage.errors import DatabaseUnavailable
    from storage.migrate import current_revision, upgrade

    settings = args.settings
    try:
        with translate_errors():
            upgrade(settings.database_url, args.revision)
            revision = current_revision(settings.database_url)
    except DatabaseUnavailable as error:
        print(C.DB_UNREACHABLE.format(url=redacted_url(settings.database_url), error=error), file=sys.stderr)
        return 1
    print(C.DB_UPGRADED.format(revision=revision, url=redacted_url(settings.database_url)))
    return 0


def _current(args: argparse.Namespace) -> int:
    from storage.db import translate_errors
    from storage.errors import DatabaseUnavailable
    from storage.migrate import current_revision, head_revision

    try:
        with translate_errors():
            revision = current_revision(args.settings.database_url)
    except DatabaseUnavailable as error:
        print(C.DB_UNREACHABLE_SHORT.format(error=error), file=sys.stderr)
        return 1
    head = head_revision()
    state = C.DB_LATEST if revision == head else C.DB_NEEDS_UPGRADE.format(head=head)
    print(C.DB_CURRENT.format(revision=revision or C.DB_NO_TABLES, state=state))
    return 0 if revision == head else 1
