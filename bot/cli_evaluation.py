"""`cadrebot evaluation …`: the two-way evaluation (双向评估) of a town's round, for the bureau.

    cadrebot evaluation open   --town DEMO --round 2026H2 --deadline 2027-01-15
    cadrebot evaluation status --town DEMO --round 2026H2
    cadrebot evaluation remind --town DEMO --round 2026H2          # the running bot sends it to whoever is behind
    cadrebot evaluation form   --town DEMO --round 2026H2 --out 评分表.xlsx
    cadrebot evaluation import 评分表.xlsx --town DEMO --round 2026H2   # all rows or none; errors as sheet:row
    cadrebot evaluation pay    --town DEMO --round 2026H2 --village DEMO01 --item B5 --amount 4000 [--date 2027-01-20]
    cadrebot evaluation fees   --town DEMO --round 2026H2
    cadrebot evaluation close  --town DEMO --round 2026H2
    cadrebot evaluation report --town DEMO --round 2026H2 --format pdf --out 档案.pdf   # xlsx | pdf | text

Exit codes: 0 done, 1 refused or failed (unknown town or round, rows with errors …), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from bot.cli_admin import run_in_transaction
from texts import evaluation_cli as C

REPORT_FORMATS = ("text", "xlsx", "pdf")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluation", help=C.HELP, description=C.HELP)
    sub = parser.add_subparsers(dest="evaluation_command", metavar="ACTION", title=C.ARG_COMMANDS)

    def command(name: str, help_text: str, *, file: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if file:
            p.add_argument("file", type=Path, metavar="FILE", help=C.HELP_IMPORT_FILE)
        p.add_argument("--town", required=True, metavar="CODE", help=C.HELP_TOWN)
        p.add_argument("--round", required=True, metavar="ROUND", help=C.HELP_ROUND)
        return p

    p = command("open", C.HELP_OPEN)
    p.add_argument("--deadline", required=True, type=_day, metavar="YYYY-MM-DD", help=C.HELP_DEADLINE)
    p.set_defaults(func=run_in_transaction(_open))
    command("status", C.HELP_STATUS).set_defaults(func=run_in_transaction(_status))
    command("remind", C.HELP_REMIND).set_defaults(func=run_in_transaction(_remind))
    command("close", C.HELP_CLOSE).set_defaults(func=run_in_transaction(_close))
    p = command("form", C.HELP_FORM)
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help=C.HELP_OUT)
    p.set_defaults(func=run_in_transaction(_form))
    command("import", C.HELP_IMPORT, file=True).set_defaults(func=run_in_transaction(_import))
    p = command("pay", C.HELP_PAY)
    p.add_argument("--village", required=True, metavar="CODE", help=C.HELP_VILLAGE)
    p.add_argument("--item", required=True, metavar="ID", help=C.HELP_ITEM)
    p.add_argument("--amount", required=True, metavar="YUAN", help=C.HELP_AMOUNT)
    p.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help=C.HELP_PAID_ON)
    p.add_argument("--note", default="", metavar="TEXT", help=C.HELP_NOTE)
    p.set_defaults(func=run_in_transaction(_pay))
    command("fees", C.HELP_FEES).set_defaults(func=run_in_transaction(_fees))
    p = command("report", C.HELP_REPORT)
    p.add_argument("--format", choices=REPORT_FORMATS, default="text", help=C.HELP_FORMAT)
    p.add_argument("--out", type=Path, metavar="FILE", help=C.HELP_OUT)
    p.set_defaults(func=run_in_transaction(_report, check=_check_report))
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(C.BAD_DATE.format(text=text)) from error


def _check_report(args: argparse.Namespace) -> str | None:
    if args.format != "text" and args.out is None:
        return C.REPORT_NEEDS_OUT.format(format=args.format)
    return None


def _basis(settings):
    from flows.evaluation.basis import EvaluationBasis

    return EvaluationBasis.from_settings(settings)


def _round(session, args):
    from storage.evaluation import get_round

    return get_round(session, args.town, args.round)


def _open(args, session, settings) -> int:
    from storage.evaluation import open_round, round_label

    basis = _basis(settings)
    basis.require_town(args.town.strip().upper())
    rnd = open_round(session, args.town, args.round, deadline=args.deadline, tz=settings.timezone)
    print(C.OPENED.format(town=rnd.town.name, label=round_label(rnd), starts=rnd.starts_on, ends=rnd.ends_on,
                          deadline=rnd.deadline))
    return 0


def _status(args, session, settings) -> int:
    from flows.evaluation.progress import round_progress
    from storage.evaluation import round_label

    basis = _basis(settings)
    rnd = _round(session, args)
    progress = round_progress(session, rnd, basis.require_town(rnd.town.code), basis.scheme, tz=settings.timezone)
    print(C.STATUS_HEAD.format(town=rnd.town.name, label=round_label(rnd), status=C.STATUS[rnd.status],
                               deadline=rnd.deadline))
    print(C.STATUS_VILLAGES)
    for village, standing in progress.villages:
        print(C.STATUS_LINE.format(name=f"{village.code} {village.name}", done=standing.done, total=standing.total,
                                   mark=C.DONE if standing.finished else C.NOT_DONE))
    print(C.STATUS_DEPARTMENTS)
    for standing in progress.departments:
        print(C.STATUS_LINE.format(name=standing.name, done=standing.done, total=standing.total,
                                   mark=C.DONE if standing.finished else C.NOT_DONE))
    return 0


def _remind(args, session, settings) -> int:
    from storage.evaluation import ask_reminder

    rnd = _round(session, args)
    ask_reminder(session, rnd)
    print(C.REMINDER_ASKED.format(town=rnd.town.name, code=rnd.code))
    return 0


def _close(args, session, settings) -> int:
    from storage.evaluation import close_round, round_label

    rnd = close_round(session, _round(session, args))
    print(C.CLOSED.format(town=rnd.town.name, label=round_label(rnd)))
    return 0


def _form(args, session, settings) -> int:
    from flows.evaluation.score_form import write_score_form
    from flows.evaluation.scoring import score_form_for

    form = score_form_for(session, _round(session, args), _basis(settings))
    args.out.write_bytes(write_score_form(form))
    print(C.FORM_WRITTEN.format(path=args.out, departments=len(form.departments)))
    return 0


def _import(args, session, settings) -> int:
    from flows.evaluation.scoring import import_score_form
    from storage.audit import CLI_ACTOR

    try:
        data = args.file.read_bytes()
    except OSError as error:
        print(C.CANNOT_READ.format(path=args.file, error=error.strerror or error), file=sys.stderr)
        return 1
    outcome = import_score_form(session, _round(session, args), CLI_ACTOR, data, _basis(settings))
    if not outcome.saved:
        print(C.IMPORT_REFUSED.format(n=len(outcome.errors)), file=sys.stderr)
        for error in outcome.errors:
            print(f"  {error}", file=sys.stderr)
        session.rollback()
        return 1
    print(C.IMPORTED.format(scores=outcome.scores, bonuses=outcome.bonuses))
    return 0


def _pay(args, session, settings) -> int:
    from flows.evaluation.dossier_model import fen_of_yuan, yuan
    from storage.evaluation import record_payment
    from storage.timeutil import local_date

    basis = _basis(settings)
    rnd = _round(session, args)
    terms = basis.require_town(rnd.town.code)
    item_id = args.item.strip().upper()
    if terms.item(item_id) is None:
        print(C.NOT_AGREED.format(item=item_id), file=sys.stderr)
        return 1
    fen = fen_of_yuan(args.amount)
    if fen is None:
        print(C.BAD_AMOUNT.format(text=args.amount), file=sys.stderr)
        return 2
    payment = record_payment(session, rnd, "cli", args.village, item_id, fen,
                             args.date or local_date(tz=settings.timezone), note=args.note,
                             most_fen=terms.round_fen(terms.item(item_id)))
    print(C.PAID.format(village=args.village.strip().upper(), item=item_id, amount=yuan(fen), day=payment.paid_on))
    return 0


def _fees(args, session, settings) -> int:
    from flows.evaluation.dossier import build_dossier
    from flows.evaluation.dossier_model import outstanding, yuan

    basis = _basis(settings)
    rnd = _round(session, args)
    d = build_dossier(session, rnd, basis.require_town(rnd.town.code), basis.scheme, basis.survey_aspects,
                      item_titles=basis.item_titles, tz=settings.timezone)
    print(C.FEES_HEAD.format(town=d.town_name, label=d.round_label))
    for village in d.villages:
        print(C.FEES_VILLAGE.format(name=village.name, due=yuan(village.due_fen), paid=yuan(village.paid_fen),
                                    outstanding=outstanding(village.outstanding_fen)))
        for line in village.fees:
            if line.paid_fen or (line.due_fen or 0):
                print(C.FEES_LINE.format(item=line.item_id, title=line.item_title, due=yuan(line.due_fen),
                                         paid=yuan(line.paid_fen), outstanding=outstanding(line.outstanding_fen)))
    return 0


def _report(args, session, settings) -> int:
    from flows.evaluation.dossier import build_dossier
    from flows.evaluation.dossier_model import yuan

    basis = _basis(settings)
    rnd = _round(session, args)
    d = build_dossier(session, rnd, basis.require_town(rnd.town.code), basis.scheme, basis.survey_aspects,
                      item_titles=basis.item_titles, tz=settings.timezone)
    if args.format == "xlsx":
        from flows.evaluation.dossier_xlsx import dossier_xlsx

        args.out.write_bytes(dossier_xlsx(d))
    elif args.format == "pdf":
        from bot.digest.fonts import FontMissing, find_cjk_font
        from flows.evaluation.dossier_pdf import dossier_pdf

        try:
            font = find_cjk_font(settings.cjk_font)
        except FontMissing as error:
            print(C.NO_FONT.format(error=error), file=sys.stderr)
            return 1
        args.out.write_bytes(dossier_pdf(d, Path(font.path), font.index))
    else:
        lines = [C.REPORT_HEAD.format(town=d.town_name, label=d.round_label, starts=d.starts_on, ends=d.ends_on)]
        for v in d.villages:
            score = C.NO_SCORE if v.total_score is None else f"{v.total_score:.2f}"
            lines.append(C.REPORT_VILLAGE.format(name=v.name, score=score, cards=len(v.raised_cards),
                                                 n=v.satisfaction_n, due=yuan(v.due_fen), paid=yuan(v.paid_fen)))
        for dept in d.departments:
            if dept.red_cards:
                lines.append(C.REPORT_DEPARTMENT.format(name=dept.name, cards=len(dept.red_cards)))
        lines.extend(d.notes)
        text = "\n".join(lines) + "\n"
        if args.out is None:
            sys.stdout.write(text)
            return 0
        args.out.write_text(text, encoding="utf-8")
    print(C.REPORT_WRITTEN.format(path=args.out), file=sys.stderr)
    return 0


__all__ = ["register"]
