"""`cadrebot admin …`: places, invites, survey links, the demo town and the year-end review.

Exit codes: 0 done, 1 refused or failed (unknown place, database not ready …), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from texts import console as C

INVITE_DAYS = (1, 365)  # how long an invite code may be valid, in days
DEMO_FILE = Path(__file__).resolve().parent.parent / "storage" / "demo_places.yaml"  # storage/demo_places.yaml
DEMO_TOWN = "DEMO"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("admin", help=C.HELP_ADMIN, description=C.HELP_ADMIN)
    sub = parser.add_subparsers(dest="admin_command", metavar="ACTION", title=C.ARG_COMMANDS)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text)

    p = command("add-town", C.HELP_ADD_TOWN)
    p.add_argument("code", metavar="CODE", help=C.HELP_TOWN_CODE)
    p.add_argument("name", metavar="NAME", help=C.HELP_PLACE_NAME)
    p.set_defaults(func=_guard(_add_town))

    p = command("add-village", C.HELP_ADD_VILLAGE)
    p.add_argument("code", metavar="CODE", help=C.HELP_VILLAGE_CODE)
    p.add_argument("name", metavar="NAME", help=C.HELP_PLACE_NAME)
    p.add_argument("--town", required=True, metavar="CODE", help=C.HELP_ADD_VILLAGE_TOWN)
    p.set_defaults(func=_guard(_add_village))

    p = command("import-places", C.HELP_IMPORT_PLACES)
    p.add_argument("file", type=Path, metavar="FILE", help=C.HELP_IMPORT_FILE)
    p.set_defaults(func=_guard(_import_places))

    p = command("list-places", C.HELP_LIST_PLACES)
    p.set_defaults(func=_guard(_list_places))

    p = command("invite", C.HELP_INVITE)
    place = p.add_mutually_exclusive_group()
    place.add_argument("--village", metavar="CODE", help=C.HELP_INVITE_VILLAGE)
    place.add_argument("--town", metavar="CODE", help=C.HELP_INVITE_TOWN)
    p.add_argument("--role", required=True, choices=sorted(C.ROLE_LABELS), help=C.HELP_INVITE_ROLE)
    p.add_argument("--department", metavar="NAME", help=C.HELP_INVITE_DEPARTMENT)
    p.add_argument("--days", type=int, default=7, metavar="DAYS", help=C.HELP_INVITE_DAYS)
    p.set_defaults(func=_guard(_invite, check=_check_invite))

    p = command("survey-link", C.HELP_SURVEY_LINK)
    p.add_argument("--village", required=True, metavar="CODE", help=C.HELP_VILLAGE_CODE)
    p.set_defaults(func=_guard(_survey_link))

    p = command("erase-survey-keys", C.HELP_ERASE_SURVEY_KEYS)
    p.set_defaults(func=_guard(_erase_survey_keys))

    p = command("seed-demo", C.HELP_SEED_DEMO)
    p.set_defaults(func=_guard(_seed_demo, migrate=True))

    p = command("year-end", C.HELP_YEAR_END)
    p.add_argument("--town", required=True, metavar="CODE", help=C.HELP_TOWN_CODE)
    p.add_argument("--period", metavar="YEAR", help=C.HELP_YEAR_END_PERIOD)
    p.set_defaults(func=_guard(_year_end, check=_check_year_end))

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _guard(handler: Callable, *, migrate: bool = False,
           check: Callable[[argparse.Namespace], str | None] | None = None) -> Callable[[argparse.Namespace], int]:
    """Check the arguments (`check` returns what is wrong: exit code 2), open the database, run the command in one
    transaction, and turn domain errors into messages."""

    def run(args: argparse.Namespace) -> int:
        problem = check(args) if check is not None else None
        if problem:
            print(problem, file=sys.stderr)
            return 2
        from storage.db import Database, redacted_url, translate_errors
        from storage.errors import (
            AlreadyExists,
            DatabaseUnavailable,
            InvalidInput,
            NotFound,
            StorageError,
        )
        from storage.migrate import current_revision, head_revision, upgrade

        settings = args.settings
        try:
            with translate_errors():
                if migrate:
                    upgrade(settings.database_url)
                elif current_revision(settings.database_url) != head_revision():
                    print(C.ADMIN_DB_NOT_READY.format(url=redacted_url(settings.database_url)), file=sys.stderr)
                    return 1
            db = Database(settings.database_url)
            try:
                with db.session() as session:
                    return int(handler(args, session, settings) or 0)
            finally:
                db.dispose()
        except NotFound as error:
            label = C.PLACE_LABELS.get(error.kind, error.kind)
            print(C.ADMIN_NOT_FOUND.format(label=label, key=error.key), file=sys.stderr)
        except AlreadyExists as error:
            label = C.PLACE_LABELS.get(error.kind, error.kind)
            print(C.ADMIN_EXISTS.format(label=label, key=error.key), file=sys.stderr)
        except InvalidInput as error:
            print(C.ADMIN_INVALID.format(error=error), file=sys.stderr)
        except DatabaseUnavailable as error:
            print(C.ADMIN_DB_DOWN.format(error=error), file=sys.stderr)
        except StorageError as error:
            print(C.ADMIN_FAILED.format(error=error), file=sys.stderr)
        return 1

    return run


run_in_transaction = _guard  # the other command modules' name for it


def _add_town(args, session, settings) -> int:
    from storage.places import add_town

    town = add_town(session, args.code, args.name)
    print(C.TOWN_ADDED.format(code=town.code, name=town.name))
    return 0


def _add_village(args, session, settings) -> int:
    from storage.places import add_village

    village = add_village(session, args.code, args.name, args.town)
    print(C.VILLAGE_ADDED.format(code=village.code, name=village.name, town_code=village.town.code,
                                 town_name=village.town.name))
    return 0


def _import_places(args, session, settings) -> int:
    from storage.places import import_places

    report = import_places(session, args.file)
    print(C.PLACES_IMPORTED.format(file=args.file, summary=_summary(report)))
    return 0


def _list_places(args, session, settings) -> int:
    from storage.places import list_towns

    towns = list_towns(session)
    if not towns:
        print(C.NO_PLACES)
    for town in towns:
        print(C.PLACE_TOWN_LINE.format(code=town.code, name=town.name))
        for village in town.villages:
            print(C.PLACE_VILLAGE_LINE.format(code=village.code, name=village.name))
    return 0


def _summary(report) -> str:
    return C.IMPORT_SUMMARY.format(towns_created=report.towns_created, towns_updated=report.towns_updated,
                                   villages_created=report.villages_created,
                                   villages_updated=report.villages_updated, unchanged=report.unchanged)


def _print_invite(invite, settings) -> None:
    from storage.members import invite_link
    from storage.timeutil import local_now

    place = invite.village or invite.town
    where = C.INVITE_PLACE.format(code=place.code, name=place.name) if place is not None else ""
    if invite.department:
        where += C.INVITE_DEPARTMENT.format(department=invite.department)
    expires = local_now(invite.expires_at, settings.timezone).strftime("%Y-%m-%d %H:%M")
    print(C.INVITE_CODE.format(code=invite.code))
    print(C.INVITE_LINK.format(link=invite_link(settings.bot_username, invite.code)))
    print(C.INVITE_TERMS.format(role=C.ROLE_LABELS[invite.role], place=where, expires=expires, tz=settings.timezone))
    print(C.INVITE_REGISTER.format(code=invite.code))


def _check_invite(args) -> str | None:
    low, high = INVITE_DAYS
    if not low <= args.days <= high:
        return C.INVITE_DAYS_RANGE.format(low=low, high=high, days=args.days)
    return None


def _invite(args, session, settings) -> int:
    from storage.members import issue_invite

    department = None
    if args.department:  # the canonical name, so that '人社所' and '人社局' are one department
        from knowledge.loader import read_knowledge
        from knowledge.vocabulary import DepartmentIndex

        raw = read_knowledge(settings.knowledge_dir or None, settings.profile, None, with_corpus=False)
        department = DepartmentIndex(raw.departments).canonical(args.department)
    invite = issue_invite(
        session, role=args.role, village_code=args.village, town_code=args.town, department=department,
        ttl=timedelta(days=args.days),
    )
    _print_invite(invite, settings)
    return 0


def _survey_link(args, session, settings) -> int:
    from storage.members import survey_link
    from storage.places import require_village

    village = require_village(session, args.village)
    print(survey_link(settings.bot_username, village.code))
    print(C.SURVEY_LINK_NOTE.format(code=village.code, name=village.name))
    return 0


def _erase_survey_keys(args, session, settings) -> int:
    from storage.surveys import erase_closed_keys

    erased = erase_closed_keys(session, tz=settings.timezone)
    print(C.SURVEY_KEYS_ERASED.format(keys=erased.keys, drafts=erased.drafts))
    return 0


def _seed_demo(args, session, settings) -> int:
    from storage.members import issue_invite, survey_link
    from storage.places import import_places, list_villages

    report = import_places(session, DEMO_FILE)
    villages = list_villages(session, DEMO_TOWN)
    print(C.DEMO_READY.format(town=DEMO_TOWN, n=len(villages), summary=_summary(report)))
    for village in villages:
        print(C.PLACE_VILLAGE_LINE.format(code=village.code, name=village.name))
    print()
    print(C.DEMO_CADRE.format(village=villages[0].name))
    _print_invite(issue_invite(session, role="cadre", village_code=villages[0].code), settings)
    print()
    print(C.DEMO_BUREAU)
    _print_invite(issue_invite(session, role="bureau", town_code=DEMO_TOWN), settings)
    print()
    print(C.DEMO_SURVEY.format(village=villages[0].name, link=survey_link(settings.bot_username, villages[0].code)))
    return 0


def _check_year_end(args) -> str | None:
    from storage.redcards import PERIOD_RE

    if args.period is not None and not PERIOD_RE.match(args.period.strip()):
        return C.YEAR_END_BAD_PERIOD.format(period=args.period)
    return None


def _year_end(args, session, settings) -> int:
    """Include the town's confirmed red cards of the period in the year-end review; a summary per department."""
    from storage.audit import CLI_ACTOR
    from storage.redcards import evaluation_period, include_year_end

    period = (args.period or "").strip() or evaluation_period(tz=settings.timezone)
    result = include_year_end(session, args.town, period, CLI_ACTOR)
    names = {"town": result.town.name, "code": result.town.code, "period": result.period}
    if not result.included:
        print(C.YEAR_END_NOTHING.format(**names))
    else:
        print(C.YEAR_END_DONE.format(n=len(result.included), **names))
        per_department: dict[str, list[int]] = {}
        for card in result.included:
            cards_times = per_department.setdefault(card.department_key or card.department, [0, 0])
            cards_times[0] += 1
            cards_times[1] += card.count
        for department, (cards, times) in sorted(per_department.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0])):
            print(C.YEAR_END_DEPARTMENT.format(department=department, cards=cards, times=times))
    if result.unconfirmed:
        print(C.YEAR_END_UNCONFIRMED.format(n=result.unconfirmed))
    return 0
