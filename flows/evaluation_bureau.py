"""The bureau's side of the two-way evaluation (双向评估), without Telegram: open a round, follow it, get the
dossier and the departments' scoring form, import a filled form, record fee payments, remind, close.

    view = overview(session, basis, user_id)                      # OpenView | NoOpenRound | Refused
    opened = open_new_round(session, basis, user_id, ["2026H2", "2027-01-15"], today)
    files = dossier_for(session, basis, user_id, round_id)         # Dossier (render_dossier makes the files)
    form = score_form_for(session, basis, user_id, round_id)       # FormFile | Refused
    result = import_score_form(session, basis, user_id, data)      # Imported | FormRejected | Refused
    paid = record_payment(session, basis, user_id, ["DEMO01", "B5", "4000"], today)
    batches = take_due_reminders(session, basis)                   # who to remind now (marked as sent)

The actor is a Telegram user id; only the bureau of a town (its own town) and admins (any town; by default the
agreement's town, the only one with agreed items to evaluate) get anything but Refused. Buttons carry the round
id only: every press looks the round and the member up again, so a closed round or a member who lost the role
gets a refusal, never a change. Nothing here commits (Services.run_db does, or rolls back on an exception).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from flows.evaluation import scoring
from flows.evaluation.basis import EvaluationBasis
from flows.evaluation.dossier import build_dossier
from flows.evaluation.dossier_model import Dossier, fen_of_yuan
from flows.evaluation.dossier_pdf import dossier_pdf
from flows.evaluation.dossier_xlsx import dossier_xlsx
from flows.evaluation.progress import RoundProgress, round_progress, town_villages
from flows.evaluation.score_form import RowError, ScoreForm
from knowledge.evaluation_terms import AgreementTerms
from storage import evaluation as ev
from storage.errors import AlreadyExists, InvalidInput, NotFound
from storage.members import get_member, issue_invite
from storage.models import ROLE_ADMIN, ROLE_BUREAU, ROLE_DEPARTMENT, EvaluationRound, Member, RoundStatus, Town, Village
from storage.places import get_town, normalize_code

MANAGER_ROLES = (ROLE_BUREAU, ROLE_ADMIN)
_FULL_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")


class Refusal(StrEnum):
    NOT_BUREAU = "not_bureau"  # not the bureau of this town, nor an admin
    NEEDS_TOWN = "needs_town"  # an admin must name the town
    UNKNOWN_TOWN = "unknown_town"  # detail: the code given
    NO_AGREEMENT = "no_agreement"  # detail: the town's name
    ROUND_GONE = "round_gone"  # a button of a round closed or deleted since
    NO_ROUND = "no_round"  # detail: the town's name
    ALREADY_OPEN = "already_open"  # detail: the round's label
    OPEN_USAGE = "open_usage"
    BAD_DATE = "bad_date"  # detail: the text
    PAY_USAGE = "pay_usage"
    UNKNOWN_VILLAGE = "unknown_village"  # detail: the text
    UNKNOWN_ITEM = "unknown_item"  # detail: the text
    BAD_AMOUNT = "bad_amount"  # detail: the text
    INVITE_USAGE = "invite_usage"
    NOT_AGREED_DEPARTMENT = "not_agreed_department"  # detail: the department as typed; town_name: the agreed ones
    INVALID = "invalid"  # detail: storage's own (Chinese) message


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    detail: str = ""
    town_name: str = ""


@dataclass(frozen=True)
class Manager:
    member: Member
    town: Town
    is_admin: bool


# ---------------------------------------------------------------------------------------------- who may


def is_manager_user(session: Session, user_id: int) -> bool:
    """A bureau member or an admin (cheap: one indexed look-up), e.g. whether a document is a scoring form."""
    member = get_member(session, user_id)
    return member is not None and member.role in MANAGER_ROLES


def _manager(session: Session, basis: EvaluationBasis, user_id: int, town_code: str | None = None,
             *, admin_needs_town: bool = False) -> Manager | Refused:
    member = get_member(session, user_id)
    if member is None or member.role not in MANAGER_ROLES:
        return Refused(Refusal.NOT_BUREAU)
    wanted = _code(town_code) if town_code else ""
    if member.role == ROLE_BUREAU:
        town = member.town
        if town is None or (wanted and wanted != town.code):
            return Refused(Refusal.NOT_BUREAU)
        return Manager(member, town, is_admin=False)
    if not wanted and admin_needs_town:
        return Refused(Refusal.NEEDS_TOWN)
    code = wanted or basis.terms.town_code
    if not code:
        return Refused(Refusal.NEEDS_TOWN)
    town = get_town(session, code)
    if town is None:
        return Refused(Refusal.UNKNOWN_TOWN, detail=code)
    return Manager(member, town, is_admin=True)


def _code(text: str) -> str:
    try:
        return normalize_code(text)
    except InvalidInput:  # not a code at all: no town has it
        return text.strip()[:30]


def _terms(basis: EvaluationBasis, town: Town) -> AgreementTerms | Refused:
    try:
        return basis.require_town(town.code)
    except NotFound:
        return Refused(Refusal.NO_AGREEMENT, detail=town.name, town_name=town.name)


@dataclass(frozen=True)
class _Pressed:
    manager: Manager
    rnd: EvaluationRound
    terms: AgreementTerms


def _pressed(session: Session, basis: EvaluationBasis, user_id: int, round_id: int, *,
             must_be_open: bool) -> _Pressed | Refused:
    """The round a button belongs to, if this user still manages its town (and it is still open, if needed)."""
    rnd = session.get(EvaluationRound, round_id)
    if rnd is None:
        return Refused(Refusal.ROUND_GONE)
    manager = _manager(session, basis, user_id, rnd.town.code)
    if isinstance(manager, Refused):
        return manager
    if must_be_open and rnd.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_GONE)
    terms = _terms(basis, rnd.town)
    if isinstance(terms, Refused):
        return terms
    return _Pressed(manager, rnd, terms)


# ---------------------------------------------------------------------------------------------- status


@dataclass(frozen=True)
class RoundInfo:
    round_id: int
    code: str
    label: str
    deadline: date
    status: RoundStatus


@dataclass(frozen=True)
class OpenView:
    """The open round and how far everyone got."""

    town_code: str
    town_name: str
    round: RoundInfo
    villages_done: int
    villages_total: int
    departments_done: int
    departments_total: int
    unfinished_villages: tuple[str, ...]
    unfinished_departments: tuple[str, ...]


@dataclass(frozen=True)
class NoOpenRound:
    town_code: str
    town_name: str
    latest: RoundInfo | None
    is_admin: bool


def _info(rnd: EvaluationRound) -> RoundInfo:
    return RoundInfo(rnd.id, rnd.code, ev.round_label(rnd), rnd.deadline, RoundStatus(rnd.status))


def overview(session: Session, basis: EvaluationBasis, user_id: int,
             town_code: str | None = None) -> OpenView | NoOpenRound | Refused:
    manager = _manager(session, basis, user_id, town_code)
    if isinstance(manager, Refused):
        return manager
    town = manager.town
    rnd = ev.current_round(session, town.id)
    if rnd is None:
        latest = ev.latest_round(session, town.id)
        return NoOpenRound(town.code, town.name, _info(latest) if latest is not None else None, manager.is_admin)
    terms = _terms(basis, town)
    if isinstance(terms, Refused):
        return terms
    progress = round_progress(session, rnd, terms, basis.scheme, tz=basis.tz)
    villages = [s for _, s in progress.villages]
    return OpenView(
        town.code, town.name, _info(rnd),
        villages_done=sum(1 for s in villages if s.finished), villages_total=len(villages),
        departments_done=sum(1 for s in progress.departments if s.finished),
        departments_total=len(progress.departments),
        unfinished_villages=tuple(v.name for v in progress.unfinished_villages),
        unfinished_departments=tuple(progress.unfinished_departments))


# ---------------------------------------------------------------------------------------------- opening


def parse_deadline(text: str, today: date) -> date | None:
    """'2027-01-15', '2027/1/15', '2027年1月15日'; '1月15日' is the next 15 January (today counts)."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    try:
        if match := _FULL_DATE.match(raw):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _MONTH_DAY.match(raw):
            month, day = int(match.group(1)), int(match.group(2))
            this_year = date(today.year, month, day) if (month, day) != (2, 29) else None
            if this_year is not None and this_year >= today:
                return this_year
            year = today.year + 1
            while (month, day) == (2, 29) and not _leap(year):
                year += 1
            return date(year, month, day)
    except ValueError:  # 2月30日, 13月1日
        return None
    return None


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@dataclass(frozen=True)
class Opened:
    town_name: str
    round: RoundInfo


def open_new_round(session: Session, basis: EvaluationBasis, user_id: int, args: list[str], today: date, *,
                   now: datetime | None = None) -> Opened | Refused:
    """`open [TOWN] ROUND DEADLINE`: the town is the bureau's own; an admin must name it."""
    if len(args) == 3:
        town_code, round_text, deadline_text = args
    elif len(args) == 2:
        town_code, (round_text, deadline_text) = None, args
    else:
        member = get_member(session, user_id)
        if member is None or member.role not in MANAGER_ROLES:
            return Refused(Refusal.NOT_BUREAU)
        return Refused(Refusal.OPEN_USAGE, detail=member.role)
    manager = _manager(session, basis, user_id, town_code, admin_needs_town=True)
    if isinstance(manager, Refused):
        return manager
    terms = _terms(basis, manager.town)
    if isinstance(terms, Refused):
        return terms
    deadline = parse_deadline(deadline_text, today)
    if deadline is None:
        return Refused(Refusal.BAD_DATE, detail=deadline_text[:30])
    try:
        code = ev.parse_round_code(round_text)
        rnd = ev.open_round(session, manager.town.code, code.code, deadline=deadline, actor=manager.member,
                            now=now, tz=basis.tz)
    except AlreadyExists:
        return Refused(Refusal.ALREADY_OPEN, detail=code.label)
    except InvalidInput as exc:
        return Refused(Refusal.INVALID, detail=str(exc))
    return Opened(manager.town.name, _info(rnd))


# ---------------------------------------------------------------------------------------------- the dossier


@dataclass(frozen=True)
class DossierFiles:
    xlsx: bytes
    pdf: bytes | None  # None: no CJK font on this server


def dossier_for(session: Session, basis: EvaluationBasis, user_id: int, round_id: int, *,
                now: datetime | None = None) -> Dossier | Refused:
    """The round's dossier (open or closed: the final one is wanted after closing)."""
    pressed = _pressed(session, basis, user_id, round_id, must_be_open=False)
    if isinstance(pressed, Refused):
        return pressed
    return build_dossier(session, pressed.rnd, pressed.terms, basis.scheme, basis.survey_aspects,
                         item_titles=basis.item_titles, tz=basis.tz, now=now)


def render_dossier(dossier: Dossier, font: tuple[Path, int] | None) -> DossierFiles:
    """The XLSX and, given a CJK font (its file and the face's index in a collection), the PDF. CPU work: run it in
    a thread."""
    if font is None:
        return DossierFiles(dossier_xlsx(dossier), None)
    return DossierFiles(dossier_xlsx(dossier), dossier_pdf(dossier, font[0], font[1]))


# ---------------------------------------------------------------------------------------------- the scoring form


@dataclass(frozen=True)
class FormFile:
    town_name: str
    round: RoundInfo
    form: ScoreForm

    @property
    def empty(self) -> bool:
        return not any(d.lines for d in self.form.departments)


def score_form_for(session: Session, basis: EvaluationBasis, user_id: int, round_id: int) -> FormFile | Refused:
    pressed = _pressed(session, basis, user_id, round_id, must_be_open=True)
    if isinstance(pressed, Refused):
        return pressed
    return FormFile(pressed.rnd.town.name, _info(pressed.rnd), scoring.score_form_for(session, pressed.rnd, basis))


@dataclass(frozen=True)
class Imported:
    round: RoundInfo
    scores: int
    bonuses: int


@dataclass(frozen=True)
class FormRejected:
    errors: tuple[RowError, ...]


def import_score_form(session: Session, basis: EvaluationBasis, user_id: int,
                      data: bytes) -> Imported | FormRejected | Refused:
    """A filled form for the town's open round (flows.evaluation.scoring): all of it, or (any row wrong) nothing. A
    storage refusal while saving (the form's own checks should catch it first) propagates: nothing is saved."""
    manager = _manager(session, basis, user_id)
    if isinstance(manager, Refused):
        return manager
    rnd = ev.current_round(session, manager.town.id)
    if rnd is None:
        return Refused(Refusal.NO_ROUND, detail=manager.town.name, town_name=manager.town.name)
    terms = _terms(basis, manager.town)
    if isinstance(terms, Refused):
        return terms
    outcome = scoring.import_score_form(session, rnd, manager.member, data, basis)
    if not outcome.saved:
        return FormRejected(outcome.errors)
    return Imported(_info(rnd), outcome.scores, outcome.bonuses)


# ---------------------------------------------------------------------------------------------- reminders


@dataclass(frozen=True)
class Target:
    """Someone who has not finished, and how many questions or scores they have left."""

    telegram_user_id: int
    left: int


def reminder_targets(session: Session, rnd: EvaluationRound, progress: RoundProgress) -> list[Target]:
    """The cadres of unfinished villages and the staff of unfinished departments (each person once)."""
    targets: dict[int, Target] = {}
    for village, standing in progress.villages:
        if not standing.finished:
            for member in ev.committee_members(session, [village.id]):
                targets.setdefault(member.telegram_user_id, Target(member.telegram_user_id,
                                                                   standing.total - standing.done))
    for standing in progress.departments:
        if not standing.finished:
            for member in ev.department_members(session, rnd.town_id, [standing.name]):
                targets.setdefault(member.telegram_user_id, Target(member.telegram_user_id,
                                                                   standing.total - standing.done))
    return list(targets.values())


@dataclass(frozen=True)
class Reminded:
    people: int
    villages: int
    departments: int


def ask_reminder(session: Session, basis: EvaluationBasis, user_id: int, round_id: int, *,
                 now: datetime | None = None) -> Reminded | Refused:
    """Ask the reminder job to remind everyone unfinished now (nothing is asked when there is nobody)."""
    pressed = _pressed(session, basis, user_id, round_id, must_be_open=True)
    if isinstance(pressed, Refused):
        return pressed
    progress = round_progress(session, pressed.rnd, pressed.terms, basis.scheme, tz=basis.tz)
    people = len(reminder_targets(session, pressed.rnd, progress))
    if people:
        ev.ask_reminder(session, pressed.rnd, pressed.manager.member, now=now)
    return Reminded(people, len(progress.unfinished_villages), len(progress.unfinished_departments))


@dataclass(frozen=True)
class ReminderBatch:
    round: RoundInfo
    targets: tuple[Target, ...]


def take_due_reminders(session: Session, basis: EvaluationBasis, *,
                       now: datetime | None = None) -> list[ReminderBatch]:
    """The reminders due now with their recipients, marked as sent at once: a reminder goes out at most once
    (a failed send is not retried every minute; the next reminder or the bureau's button reaches them)."""
    batches = []
    for reminder in ev.due_reminders(session, now):
        rnd = session.get(EvaluationRound, reminder.round_id)
        assert rnd is not None  # due_reminders joins the round
        terms = _terms(basis, rnd.town)
        targets: list[Target] = []
        if not isinstance(terms, Refused):
            targets = reminder_targets(session, rnd, round_progress(session, rnd, terms, basis.scheme, tz=basis.tz))
        ev.mark_reminder_sent(session, reminder, len(targets), now=now)
        batches.append(ReminderBatch(_info(rnd), tuple(targets)))
    return batches


# ---------------------------------------------------------------------------------------------- fees


@dataclass(frozen=True)
class LedgerLine:
    name: str
    due_fen: int
    paid_fen: int
    outstanding_fen: int


@dataclass(frozen=True)
class Ledger:
    town_name: str
    round: RoundInfo
    lines: tuple[LedgerLine, ...]

    def total(self) -> LedgerLine:
        return LedgerLine("", sum(x.due_fen for x in self.lines), sum(x.paid_fen for x in self.lines),
                          sum(x.outstanding_fen for x in self.lines))


def fee_ledger(session: Session, basis: EvaluationBasis, user_id: int, round_id: int, *,
               now: datetime | None = None) -> Ledger | Refused:
    """Per village: due (after the scores), paid, outstanding, as the dossier counts them."""
    dossier = dossier_for(session, basis, user_id, round_id, now=now)
    if isinstance(dossier, Refused):
        return dossier
    rnd = session.get(EvaluationRound, round_id)
    assert rnd is not None
    return Ledger(dossier.town_name, _info(rnd), tuple(
        LedgerLine(v.name, v.due_fen, v.paid_fen, v.outstanding_fen) for v in dossier.villages))


@dataclass(frozen=True)
class Paid:
    village_name: str
    item_id: str
    item_title: str
    amount_fen: int
    round: RoundInfo
    due_fen: int | None  # None: the agreement fixes no amount for the item
    paid_fen: int
    outstanding_fen: int | None


def _village(session: Session, town: Town, text: str) -> Village | None:
    wanted = text.strip()
    for village in town_villages(session, town.id):
        if village.code == wanted.upper() or village.name == wanted:
            return village
    return None


def record_payment(session: Session, basis: EvaluationBasis, user_id: int, args: list[str], today: date, *,
                   now: datetime | None = None) -> Paid | Refused:
    """`pay VILLAGE ITEM AMOUNT [NOTE…]` for the town's latest round (money often arrives after it closed)."""
    if len(args) < 3:
        member = get_member(session, user_id)
        if member is None or member.role not in MANAGER_ROLES:
            return Refused(Refusal.NOT_BUREAU)
        return Refused(Refusal.PAY_USAGE)
    village_text, item_text, amount_text, *note = args
    manager = _manager(session, basis, user_id)
    if isinstance(manager, Refused):
        return manager
    town = manager.town
    rnd = ev.latest_round(session, town.id)
    if rnd is None:
        return Refused(Refusal.NO_ROUND, detail=town.name, town_name=town.name)
    terms = _terms(basis, town)
    if isinstance(terms, Refused):
        return terms
    village = _village(session, town, village_text)
    if village is None:
        return Refused(Refusal.UNKNOWN_VILLAGE, detail=village_text[:30], town_name=town.name)
    item = terms.item(unicodedata.normalize("NFKC", item_text).strip().upper())
    if item is None:
        return Refused(Refusal.UNKNOWN_ITEM, detail=item_text[:30])
    amount = fen_of_yuan(amount_text)
    if amount is None:
        return Refused(Refusal.BAD_AMOUNT, detail=amount_text[:30])
    try:
        ev.record_payment(session, rnd, manager.member, village.code, item.item_id, amount, today,
                          note=" ".join(note), most_fen=terms.round_fen(item), now=now)
    except InvalidInput as exc:  # more than the item's agreed fee
        return Refused(Refusal.INVALID, detail=str(exc))
    scored = ev.scores(session, rnd, village_id=village.id)
    score = next((s.score for s in scored if s.item_id == item.item_id), None)
    due = terms.due_fen(item, score)
    paid = sum(p.amount_fen for p in ev.payments(session, rnd, village.id) if p.item_id == item.item_id)
    return Paid(village.name, item.item_id, item.title, amount, _info(rnd), due, paid,
                None if due is None else due - paid)


# ---------------------------------------------------------------------------------------------- inviting departments


@dataclass(frozen=True)
class Invited:
    town_name: str
    department: str  # canonical name
    code: str
    expires_at: datetime


def invite_department(session: Session, basis: EvaluationBasis, canonical: Callable[[str], str], user_id: int,
                      args: list[str], *, now: datetime | None = None) -> Invited | Refused:
    """`invite [TOWN] DEPARTMENT`: a single-use invite for that department's staff in the town, which scores the
    villages on its agreed items. Only a department the town's agreement commissions (others have nothing to
    score); `canonical` folds the name people use (人社所) into the knowledge base's (人社局)."""
    if len(args) not in (1, 2):
        return Refused(Refusal.INVITE_USAGE)
    town_code, typed = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    manager = _manager(session, basis, user_id, town_code)
    if isinstance(manager, Refused):
        return manager
    terms = _terms(basis, manager.town)
    if isinstance(terms, Refused):
        return terms
    department = canonical(typed.strip()[:100])
    if department not in terms.departments():
        return Refused(Refusal.NOT_AGREED_DEPARTMENT, detail=typed.strip()[:30],
                       town_name="、".join(terms.departments()))
    invite = issue_invite(session, role=ROLE_DEPARTMENT, town_code=manager.town.code, department=department,
                          actor=manager.member, now=now)
    return Invited(manager.town.name, department, invite.code, invite.expires_at)


# ---------------------------------------------------------------------------------------------- closing


@dataclass(frozen=True)
class CloseAsked:
    round: RoundInfo


@dataclass(frozen=True)
class Closed:
    town_name: str
    round: RoundInfo


def ask_close(session: Session, basis: EvaluationBasis, user_id: int, round_id: int) -> CloseAsked | Refused:
    pressed = _pressed(session, basis, user_id, round_id, must_be_open=True)
    return pressed if isinstance(pressed, Refused) else CloseAsked(_info(pressed.rnd))


def close(session: Session, basis: EvaluationBasis, user_id: int, round_id: int, *,
          now: datetime | None = None) -> Closed | Refused:
    pressed = _pressed(session, basis, user_id, round_id, must_be_open=True)
    if isinstance(pressed, Refused):
        return pressed
    ev.close_round(session, pressed.rnd, pressed.manager.member, now=now)
    return Closed(pressed.rnd.town.name, _info(pressed.rnd))


def check_open(session: Session, basis: EvaluationBasis, user_id: int, round_id: int) -> RoundInfo | Refused:
    """Whether a button of this round may still be used by this user (the 取消 of the close question)."""
    pressed = _pressed(session, basis, user_id, round_id, must_be_open=True)
    return pressed if isinstance(pressed, Refused) else _info(pressed.rnd)


__all__ = ["CloseAsked", "Closed", "DossierFiles", "FormFile", "FormRejected", "Imported", "Ledger", "LedgerLine",
           "Manager", "NoOpenRound", "OpenView", "Opened", "Paid", "Refusal", "Refused", "Reminded",
           "ReminderBatch", "RoundInfo", "Target", "ask_close", "ask_reminder", "check_open",
           "close", "dossier_for", "fee_ledger", "import_score_form", "is_manager_user", "open_new_round",
           "invite_department", "Invited", "overview", "parse_deadline", "record_payment", "render_dossier", "reminder_targets",
           "score_form_for", "take_due_reminders"]
