"""The two-way evaluation's records (双向评估): rounds, the committee's red-card decisions and ratings, the
departments' scores and bonuses, fee payments, and who may touch which.

    rnd = open_round(session, "DEMO", "2026H2", deadline=date(2027, 1, 15), actor=CLI_ACTOR)
    decide_card(session, rnd, cadre, card_id, CardDecision.RAISED)
    rate_department(session, rnd, cadre, "人社局", "guidance", "good")
    score_item(session, rnd, staff, village_id, "B5", "人社局", 92.5)
    record_payment(session, rnd, CLI_ACTOR, "DEMO01", "B5", 400000, date(2027, 1, 20))

Who may do what (NotPermitted otherwise): a committee (a cadre) decides its own village's red cards and rates
departments for its own village; a department's staff score only their own department, in their own town (which
items are that department's is the agreement's business: flows.evaluation checks it before calling); the bureau of
the town (or an admin, or the CLI) opens, closes and reminds, and records payments. Nothing changes in a closed
round. Every change goes into the audit log. Nothing here commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.audit import CLI_ACTOR, actor_label, log_action
from storage.errors import AlreadyExists, InvalidInput, NotFound, NotPermitted
from storage.models import (
    ROLE_ADMIN,
    ROLE_BUREAU,
    ROLE_CADRE,
    ROLE_DEPARTMENT,
    CardChoice,
    EvaluationBonus,
    EvaluationCardDecision,
    EvaluationRating,
    EvaluationReminder,
    EvaluationRound,
    EvaluationScore,
    FeePayment,
    Member,
    RedCard,
    RedCardEvent,
    ReminderReason,
    RoundStatus,
    ScoreSource,
    Village,
    utcnow,
)
from storage.places import require_town
from storage.timeutil import DEFAULT_TZ, local_date, local_midnight_utc
from texts import evaluation as T

ROUND_RE = re.compile(r"^(\d{4})H([12])$")
COUNTED_STATUSES = ("confirmed", "included")  # the candidates a committee has confirmed
REMINDER_DAYS = {ReminderReason.THREE_DAYS: 3, ReminderReason.ONE_DAY: 1}
REMIND_AT_HOUR = 9  # local time of the scheduled reminders
REMIND_AGAIN_AFTER = timedelta(hours=1)  # the bureau's 🔔 reminds people at most once in this time
Actor = Member | str


def _replace(session: Session, model: type, key: dict[str, Any], values: dict[str, Any]) -> None:
    """The row of `key` (its primary key) with `values`, inserted or replacing the earlier answer (race-safe)."""
    session.execute(upsert_insert(session, model).values(**key, **values)
                    .on_conflict_do_update(index_elements=list(key), set_=values))


# ---------------------------------------------------------------------------------------------- rounds


@dataclass(frozen=True)
class RoundCode:
    year: int
    half: int  # 1: 年中 (January–June), 2: 年末 (July–December)

    @property
    def code(self) -> str:
        return f"{self.year}H{self.half}"

    @property
    def starts_on(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def ends_on(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def label(self) -> str:
        return T.ROUND_LABEL.format(year=self.year, half=T.HALF_LABEL[self.half])


def parse_round_code(text: str) -> RoundCode:
    """'2026H2' (also '2026h2', '2026年末', '2026年中') -> RoundCode; InvalidInput otherwise."""
    raw = (text or "").strip().upper().replace("年末", "H2").replace("年中", "H1").replace("年", "")
    match = ROUND_RE.match(raw)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidInput(T.BAD_ROUND.format(text=(text or "")[:20]))
    return RoundCode(int(match.group(1)), int(match.group(2)))


def round_label(rnd: EvaluationRound) -> str:
    return parse_round_code(rnd.code).label


def is_manager(actor: Actor, town_id: int) -> bool:
    """The CLI, an admin, or the bureau of the town."""
    if isinstance(actor, str):
        return actor == CLI_ACTOR
    return actor.role == ROLE_ADMIN or (actor.role == ROLE_BUREAU and actor.town_id == town_id)


def _require_manager(actor: Actor, town_id: int) -> None:
    if not is_manager(actor, town_id):
        raise NotPermitted(T.NOT_BUREAU)


def _require_open(rnd: EvaluationRound) -> None:
    if rnd.status != RoundStatus.OPEN:
        raise InvalidInput(T.ROUND_CLOSED.format(label=round_label(rnd)))


def open_round(session: Session, town_code: str, code: str, *, deadline: date, actor: Actor = CLI_ACTOR,
               now: datetime | None = None, tz: str = DEFAULT_TZ) -> EvaluationRound:
    """Open a town's round, with its reminders three days and one day before the deadline.

    AlreadyExists if the round was opened before; InvalidInput for a deadline before the half-year starts."""
    now = now or utcnow()
    town = require_town(session, town_code)
    _require_manager(actor, town.id)
    parsed = parse_round_code(code)
    if deadline < parsed.starts_on:
        raise InvalidInput(T.BAD_DEADLINE.format(deadline=deadline, starts=parsed.starts_on))
    if session.scalar(select(EvaluationRound.id).where(EvaluationRound.town_id == town.id,
                                                       EvaluationRound.code == parsed.code)) is not None:
        raise AlreadyExists("evaluation round", f"{town.code} {parsed.code}")
    if deadline < local_date(now, tz):
        raise InvalidInput(T.DEADLINE_PASSED.format(deadline=deadline))
    # One round at a time: everyone's /evaluation goes to the open one, so a second would hide the first.
    still_open = current_round(session, town.id)
    if still_open is not None:
        raise InvalidInput(T.ANOTHER_OPEN.format(label=round_label(still_open)))
    rnd = EvaluationRound(town_id=town.id, code=parsed.code, starts_on=parsed.starts_on, ends_on=parsed.ends_on,
                          deadline=deadline, status=RoundStatus.OPEN, opened_at=now)
    session.add(rnd)
    session.flush()
    for reason, days in REMINDER_DAYS.items():
        due = local_midnight_utc(deadline - timedelta(days=days), tz) + timedelta(hours=REMIND_AT_HOUR)
        if due > now:
            session.add(EvaluationReminder(round_id=rnd.id, reason=reason, due_at=due))
    log_action(session, actor, "evaluation_open",
               {"town": town.code, "round": parsed.code, "deadline": deadline.isoformat()}, now=now)
    return rnd


def get_round(session: Session, town_code: str, code: str) -> EvaluationRound:
    """NotFound for an unknown town or a round never opened; InvalidInput for a malformed code."""
    town = require_town(session, town_code)
    parsed = parse_round_code(code)
    rnd = session.scalar(select(EvaluationRound).where(EvaluationRound.town_id == town.id,
                                                       EvaluationRound.code == parsed.code))
    if rnd is None:
        raise NotFound("evaluation round", f"{town.code} {parsed.code}")
    return rnd


def current_round(session: Session, town_id: int) -> EvaluationRound | None:
    """The town's open round (the latest, should several be open), else None."""
    return session.scalar(select(EvaluationRound).where(EvaluationRound.town_id == town_id,
                                                        EvaluationRound.status == RoundStatus.OPEN)
                          .order_by(EvaluationRound.code.desc()).limit(1))


def latest_round(session: Session, town_id: int) -> EvaluationRound | None:
    """The town's newest round, open or closed."""
    return session.scalar(select(EvaluationRound).where(EvaluationRound.town_id == town_id)
                          .order_by(EvaluationRound.code.desc()).limit(1))


def close_round(session: Session, rnd: EvaluationRound, actor: Actor = CLI_ACTOR, *,
                now: datetime | None = None) -> EvaluationRound:
    now = now or utcnow()
    _require_manager(actor, rnd.town_id)
    _require_open(rnd)
    rnd.status = RoundStatus.CLOSED
    rnd.closed_at = now
    session.execute(delete(EvaluationReminder).where(EvaluationReminder.round_id == rnd.id,
                                                     EvaluationReminder.sent_at.is_(None)))
    log_action(session, actor, "evaluation_close", {"round_id": rnd.id, "round": rnd.code}, now=now)
    session.flush()
    return rnd


def ask_reminder(session: Session, rnd: EvaluationRound, actor: Actor = CLI_ACTOR, *,
                 now: datetime | None = None) -> EvaluationReminder:
    """A reminder the running bot sends at once to everyone who has not finished. Asked again while one waits to
    go out, or within REMIND_AGAIN_AFTER of the last, it is that one: pressing 🔔 five times reminds people once."""
    now = now or utcnow()
    _require_manager(actor, rnd.town_id)
    _require_open(rnd)
    recent = session.scalar(
        select(EvaluationReminder).where(
            EvaluationReminder.round_id == rnd.id, EvaluationReminder.reason == ReminderReason.ASKED,
            EvaluationReminder.sent_at.is_(None) | (EvaluationReminder.sent_at > now - REMIND_AGAIN_AFTER))
        .order_by(EvaluationReminder.id.desc()).limit(1))
    if recent is not None:
        return recent
    reminder = EvaluationReminder(round_id=rnd.id, reason=ReminderReason.ASKED, due_at=now)
    session.add(reminder)
    log_action(session, actor, "evaluation_remind", {"round_id": rnd.id, "round": rnd.code}, now=now)
    session.flush()
    return reminder


def due_reminders(session: Session, now: datetime | None = None) -> list[EvaluationReminder]:
    """Reminders due and not sent yet, of open rounds, locked for this transaction: another process asking at the
    same moment skips them (PostgreSQL's SKIP LOCKED), and once this one marks them sent nobody sees them again."""
    now = now or utcnow()
    return list(session.scalars(
        select(EvaluationReminder).join(EvaluationRound, EvaluationRound.id == EvaluationReminder.round_id)
        .where(EvaluationReminder.sent_at.is_(None), EvaluationReminder.due_at <= now,
               EvaluationRound.status == RoundStatus.OPEN)
        .order_by(EvaluationReminder.due_at, EvaluationReminder.id)
        .with_for_update(of=EvaluationReminder, skip_locked=True)
    ))


def mark_reminder_sent(session: Session, reminder: EvaluationReminder, recipients: int, *,
                       now: datetime | None = None) -> None:
    reminder.sent_at = now or utcnow()
    reminder.recipients = recipients
    session.flush()


# ---------------------------------------------------------------------------------------------- the committee's side


@dataclass(frozen=True)
class RoundCard:
    """A confirmed red-card candidate as reported in the round's half-year, with the committee's decision."""

    card: RedCard
    reports: int  # reports in the half-year
    first_seen: datetime
    last_seen: datetime
    evidence: tuple[str, ...]  # the tasks as the cadre sent them, oldest first
    decision: CardChoice | None  # None while undecided


def _round_bounds(rnd: EvaluationRound, tz: str) -> tuple[datetime, datetime]:
    return local_midnight_utc(rnd.starts_on, tz), local_midnight_utc(rnd.ends_on + timedelta(days=1), tz)


def round_cards(session: Session, rnd: EvaluationRound, village_id: int | None = None, *,
                tz: str = DEFAULT_TZ) -> list[RoundCard]:
    """The town's (or one village's) confirmed candidates reported during the round's half-year."""
    start, end = _round_bounds(rnd, tz)
    where = [RedCard.status.in_(COUNTED_STATUSES), RedCardEvent.action.in_(("created", "reported_again")),
             RedCardEvent.at >= start, RedCardEvent.at < end]
    if village_id is not None:
        where.append(RedCard.village_id == village_id)
    else:
        where.append(RedCard.village_id.in_(select(Village.id).where(Village.town_id == rnd.town_id)))
    rows = session.execute(
        select(RedCard, RedCardEvent.action, RedCardEvent.at, RedCardEvent.note)
        .join(RedCardEvent, RedCardEvent.red_card_id == RedCard.id).where(*where)
        .order_by(RedCard.id, RedCardEvent.at, RedCardEvent.id)
    ).all()
    decisions = dict(session.execute(select(EvaluationCardDecision.red_card_id, EvaluationCardDecision.decision)
                                     .where(EvaluationCardDecision.round_id == rnd.id)).all())
    grouped: dict[int, list] = {}
    for card, action, at, note in rows:
        grouped.setdefault(card.id, []).append((card, action, at, note))
    result = []
    for card_id, events in grouped.items():
        card = events[0][0]
        evidence = [card.task_text if action == "created" else (note or card.task_text) for _, action, _, note in events]
        result.append(RoundCard(card=card, reports=len(events), first_seen=events[0][2], last_seen=events[-1][2],
                                evidence=tuple(evidence),
                                decision=CardChoice(decisions[card_id]) if card_id in decisions else None))
    return result


def _require_committee(actor: Actor, village_id: int) -> Member:
    if isinstance(actor, str) or actor.role != ROLE_CADRE or actor.village_id != village_id:
        raise NotPermitted(T.NOT_COMMITTEE)
    return actor


def decide_card(session: Session, rnd: EvaluationRound, actor: Actor, red_card_id: int, decision: CardChoice, *,
                now: datetime | None = None, tz: str = DEFAULT_TZ) -> RoundCard:
    """Raise a confirmed candidate as a formal red card, or drop it (a later decision replaces an earlier one)."""
    now = now or utcnow()
    _require_open(rnd)
    decision = CardChoice(decision)
    card = session.get(RedCard, red_card_id)
    if card is None:
        raise NotFound("red card", red_card_id)
    member = _require_committee(actor, card.village_id)
    found = next((c for c in round_cards(session, rnd, card.village_id, tz=tz) if c.card.id == red_card_id), None)
    if found is None:
        raise NotFound("red card in round", red_card_id)
    _replace(session, EvaluationCardDecision, {"round_id": rnd.id, "red_card_id": red_card_id},
             {"decision": decision, "member_id": member.id, "at": now})
    log_action(session, member, "evaluation_card", {"round_id": rnd.id, "red_card_id": red_card_id,
                                                    "department": card.department_key or card.department,
                                                    "decision": decision}, now=now)
    return RoundCard(found.card, found.reports, found.first_seen, found.last_seen, found.evidence, decision)


def rate_department(session: Session, rnd: EvaluationRound, actor: Actor, department: str, aspect_code: str,
                    grade_code: str, *, village_id: int | None = None, now: datetime | None = None) -> None:
    """The committee's grade of a department on one aspect (codes validated by the caller's scheme)."""
    now = now or utcnow()
    _require_open(rnd)
    village = village_id if village_id is not None else (actor.village_id if isinstance(actor, Member) else None)
    if village is None:
        raise NotPermitted(T.NOT_COMMITTEE)
    member = _require_committee(actor, village)
    department = (department or "").strip()
    if not department or not aspect_code or not grade_code:
        raise InvalidInput(T.BAD_CHOICE)
    _replace(session, EvaluationRating,
             {"round_id": rnd.id, "village_id": village, "department": department, "aspect_code": aspect_code},
             {"grade_code": grade_code, "member_id": member.id, "at": now})
    log_action(session, member, "evaluation_rating", {"round_id": rnd.id, "village_id": village,
                                                      "department": department, "aspect": aspect_code,
                                                      "grade": grade_code}, now=now)


def ratings(session: Session, rnd: EvaluationRound, village_id: int | None = None) -> list[EvaluationRating]:
    where = [EvaluationRating.round_id == rnd.id]
    if village_id is not None:
        where.append(EvaluationRating.village_id == village_id)
    return list(session.scalars(select(EvaluationRating).where(*where)))


# ---------------------------------------------------------------------------------------------- the departments' side


def may_score(actor: Actor, town_id: int, department: str) -> bool:
    """Staff of that department in that town, or whoever manages the town (an import, a correction)."""
    if isinstance(actor, Member) and actor.role == ROLE_DEPARTMENT:
        return actor.town_id == town_id and actor.department == department
    return is_manager(actor, town_id)


def _village_in_town(session: Session, village_id: int, town_id: int) -> Village:
    village = session.get(Village, village_id)
    if village is None or village.town_id != town_id:
        raise NotFound("village", village_id)
    return village


def score_item(session: Session, rnd: EvaluationRound, actor: Actor, village_id: int, item_id: str,
               department: str, score: float, *, source: ScoreSource = ScoreSource.BOT,
               now: datetime | None = None) -> None:
    """A department's 百分制 score (0–100, one decimal) of a village on an agreed item it commissioned."""
    now = now or utcnow()
    _require_open(rnd)
    if not may_score(actor, rnd.town_id, department):
        raise NotPermitted(T.NOT_DEPARTMENT)
    _village_in_town(session, village_id, rnd.town_id)
    if not 0 <= score <= 100:
        raise InvalidInput(T.BAD_SCORE)
    score = round(float(score), 1)
    member_id = actor.id if isinstance(actor, Member) else None
    _replace(session, EvaluationScore, {"round_id": rnd.id, "village_id": village_id, "item_id": item_id},
             {"department": department, "score": score, "source": source, "member_id": member_id, "at": now})
    log_action(session, actor, "evaluation_score", {"round_id": rnd.id, "village_id": village_id, "item": item_id,
                                                    "department": department, "score": score,
                                                    "source": str(source)}, now=now)


def give_bonus(session: Session, rnd: EvaluationRound, actor: Actor, village_id: int, department: str,
               points: float, reason: str, *, bonus_max: float, source: ScoreSource = ScoreSource.BOT,
               now: datetime | None = None) -> None:
    """A department's bonus for a village (0 clears it); points above 0 need a reason."""
    now = now or utcnow()
    _require_open(rnd)
    if not may_score(actor, rnd.town_id, department):
        raise NotPermitted(T.NOT_DEPARTMENT)
    _village_in_town(session, village_id, rnd.town_id)
    reason = (reason or "").strip()[:500]
    if not 0 <= points <= bonus_max:
        raise InvalidInput(T.BAD_BONUS.format(most=f"{bonus_max:g}"))
    if points > 0 and not reason:
        raise InvalidInput(T.BONUS_NEEDS_REASON)
    points = round(float(points), 1)
    member_id = actor.id if isinstance(actor, Member) else None
    _replace(session, EvaluationBonus, {"round_id": rnd.id, "village_id": village_id, "department": department},
             {"points": points, "reason": reason, "source": source, "member_id": member_id, "at": now})
    log_action(session, actor, "evaluation_bonus", {"round_id": rnd.id, "village_id": village_id,
                                                    "department": department, "points": points, "reason": reason,
                                                    "source": str(source)}, now=now)


def scores(session: Session, rnd: EvaluationRound, *, department: str | None = None,
           village_id: int | None = None) -> list[EvaluationScore]:
    where = [EvaluationScore.round_id == rnd.id]
    if department is not None:
        where.append(EvaluationScore.department == department)
    if village_id is not None:
        where.append(EvaluationScore.village_id == village_id)
    return list(session.scalars(select(EvaluationScore).where(*where)))


def bonuses(session: Session, rnd: EvaluationRound, *, department: str | None = None,
            village_id: int | None = None) -> list[EvaluationBonus]:
    where = [EvaluationBonus.round_id == rnd.id]
    if department is not None:
        where.append(EvaluationBonus.department == department)
    if village_id is not None:
        where.append(EvaluationBonus.village_id == village_id)
    return list(session.scalars(select(EvaluationBonus).where(*where)))


# ---------------------------------------------------------------------------------------------- fees


def record_payment(session: Session, rnd: EvaluationRound, actor: Actor, village_code: str, item_id: str,
                   amount_fen: int, paid_on: date, *, note: str = "", most_fen: int | None = None,
                   now: datetime | None = None) -> FeePayment:
    """A payment of assistance fees to a village for an agreed item in the round (also after it closed: money
    often arrives later). `most_fen`: the item's agreed fee for the round; payments beyond it are refused (a
    typing slip of a few zeros), as InvalidInput naming what is left."""
    now = now or utcnow()
    _require_manager(actor, rnd.town_id)
    village = session.scalar(select(Village).where(Village.code == (village_code or "").strip().upper()))
    if village is None or village.town_id != rnd.town_id:
        raise NotFound("village", village_code)
    if amount_fen <= 0:
        raise InvalidInput(T.BAD_AMOUNT)
    if most_fen is not None:
        already = int(session.scalar(select(func.coalesce(func.sum(FeePayment.amount_fen), 0)).where(
            FeePayment.round_id == rnd.id, FeePayment.village_id == village.id, FeePayment.item_id == item_id)) or 0)
        if already + amount_fen > most_fen:
            raise InvalidInput(T.OVER_AGREED.format(agreed=_yuan(most_fen), left=_yuan(max(most_fen - already, 0))))
    payment = FeePayment(round_id=rnd.id, village_id=village.id, item_id=item_id, amount_fen=amount_fen,
                         paid_on=paid_on, note=(note or "").strip()[:500], recorded_by=actor_label(actor), at=now)
    session.add(payment)
    session.flush()
    log_action(session, actor, "fee_payment", {"round_id": rnd.id, "village": village.code, "item": item_id,
                                               "amount_fen": amount_fen, "paid_on": paid_on.isoformat(),
                                               "payment_id": payment.id}, now=now)
    return payment


def payments(session: Session, rnd: EvaluationRound, village_id: int | None = None) -> list[FeePayment]:
    where = [FeePayment.round_id == rnd.id]
    if village_id is not None:
        where.append(FeePayment.village_id == village_id)
    return list(session.scalars(select(FeePayment).where(*where).order_by(FeePayment.paid_on, FeePayment.id)))


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


# ---------------------------------------------------------------------------------------------- people to remind


def committee_members(session: Session, village_ids: list[int]) -> list[Member]:
    if not village_ids:
        return []
    return list(session.scalars(select(Member).where(Member.role == ROLE_CADRE, Member.village_id.in_(village_ids))
                                .order_by(Member.id)))


def department_members(session: Session, town_id: int, departments: list[str] | None = None) -> list[Member]:
    where = [Member.role == ROLE_DEPARTMENT, Member.town_id == town_id]
    if departments is not None:
        where.append(Member.department.in_(departments))
    return list(session.scalars(select(Member).where(*where).order_by(Member.id)))


def count_decisions(session: Session, rnd: EvaluationRound) -> int:
    return int(session.scalar(select(func.count()).select_from(EvaluationCardDecision)
                              .where(EvaluationCardDecision.round_id == rnd.id)) or 0)


__all__ = ["COUNTED_STATUSES", "Actor", "RoundCard", "RoundCode", "ask_reminder", "bonuses",
           "close_round", "committee_members", "count_decisions", "current_round", "decide_card",
           "department_members", "due_reminders", "get_round", "give_bonus", "is_manager", "latest_round",
           "mark_reminder_sent", "may_score", "open_round", "parse_round_code", "payments", "rate_department",
           "ratings", "record_payment", "round_cards", "round_label", "score_item", "scores"]
