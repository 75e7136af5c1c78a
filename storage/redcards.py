"""Red-card candidates (红牌候选): record-or-increment, listing, status changes with permission checks, timeline.

Status: candidate -> confirmed | withdrawn; confirmed -> withdrawn | included (year-end review: a bureau member or
admin per card, or `include_year_end` for all of a town's confirmed cards of a year, e.g. from the command line);
withdrawn -> the status it had, by `restore_red_card` (the cadre's 撤销 within a day of 撤回).
One row per (village, department, item, period); the same again increments `count` (race-safe on both
databases: INSERT … ON CONFLICT DO NOTHING, then UPDATE count = count + 1). The department is kept as the cadre
chose or typed it; `department_key` (the canonical name) only groups cards of one department.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.audit import CLI_ACTOR, log_action
from storage.errors import InvalidInput, InvalidTransition, NotFound, NotPermitted
from storage.models import (
    NO_ITEM,
    ROLE_ADMIN,
    ROLE_BUREAU,
    ROLE_CADRE,
    Member,
    RedCard,
    RedCardEvent,
    RedCardReport,
    Town,
    Village,
    utcnow,
)
from storage.places import require_town
from storage.timeutil import DEFAULT_TZ, local_date

DEFAULT_PAGE_SIZE = 5
PERIOD_RE = re.compile(r"^\d{4}$")
DEPARTMENT_MAX = 100
TASK_TEXT_MAX = 2000
ACTIVE_STATUSES = ("candidate", "confirmed", "included")

# wanted status -> statuses it may come from
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "confirmed": ("candidate",),
    "withdrawn": ("candidate", "confirmed"),
    "included": ("confirmed",),
}


def evaluation_period(now: datetime | None = None, tz: str = DEFAULT_TZ) -> str:
    """The evaluation year of the 双向评估 for a moment, in local time: '2026'."""
    return str(local_date(now or utcnow(), tz).year)


@dataclass(frozen=True)
class RecordResult:
    card: RedCard
    created: bool  # False: an existing candidate was counted again (or, with already_reported, not at all)
    already_reported: bool = False  # the check was reported before: `card` is that report's card, not counted


def record_red_card(
    session: Session,
    *,
    village_id: int,
    department: str,
    task_text: str,
    department_key: str | None = None,
    item_id: str | None = None,
    evidence: Iterable[str] = (),
    member_id: int | None = None,
    check_id: int | None = None,
    period: str | None = None,
    now: datetime | None = None,
    tz: str = DEFAULT_TZ,
) -> RecordResult:
    """Save a red-card candidate, or count it again on the existing row of the same village, department,
    item (None/'' for an unlisted task) and period (default: the current evaluation year).

    `department_key`: the canonical name to group by (default: the department itself).
    Adds a timeline event 'created' or 'reported_again' (note = the new task text). Evidence words are merged.

    `check_id`: the check the card is reported from. A check raises one report at most: if it was reported before
    (or is being reported by a concurrent press), nothing is counted and the result is `already_reported`, with
    the card it was reported as.
    """
    department = (department or "").strip()
    if not department or len(department) > DEPARTMENT_MAX:
        raise InvalidInput("请填写部门名称（不超过 100 字）")
    department_key = (department_key or "").strip()[:DEPARTMENT_MAX] or department
    now = now or utcnow()
    period = period or evaluation_period(now, tz)
    item = (item_id or NO_ITEM).strip()
    task_text = (task_text or "").strip()[:TASK_TEXT_MAX]
    words = _unique(evidence)
    if check_id is not None and not _claim_check(session, check_id, now):
        earlier = reported_card(session, check_id)
        if earlier is None:
            raise InvalidInput("这条查询已记过红牌候选")
        return RecordResult(card=earlier, created=False, already_reported=True)
    key = (
        RedCard.village_id == village_id,
        RedCard.department == department,
        RedCard.item_id == item,
        RedCard.period == period,
    )
    card_id = session.execute(
        upsert_insert(session, RedCard)
        .values(
            village_id=village_id,
            department=department,
            department_key=department_key,
            item_id=item,
            task_text=task_text,
            evidence=words,
            period=period,
            count=1,
            status="candidate",
            created_by=member_id,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["village_id", "department", "item_id", "period"])
        .returning(RedCard.id)
    ).scalar()
    created = card_id is not None
    if not created:
        # The row exists (committed by whoever inserted it); this UPDATE also locks it until we commit.
        card_id = session.execute(
            update(RedCard)
            .where(*key)
            .values(count=RedCard.count + 1, updated_at=now)
            .returning(RedCard.id)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    session.add(
        RedCardEvent(
            red_card_id=card_id,
            actor_member_id=member_id,
            action="created" if created else "reported_again",
            at=now,
            note=None if created else task_text or None,
        )
    )
    session.flush()
    card = session.get(RedCard, card_id, populate_existing=True)
    assert card is not None
    if check_id is not None:
        session.execute(
            update(RedCardReport).where(RedCardReport.check_id == check_id).values(red_card_id=card_id)
            .execution_options(synchronize_session=False)
        )
    if not created and words:
        merged = _unique([*(card.evidence or []), *words])
        if merged != list(card.evidence or []):
            card.evidence = merged
            session.flush()
    return RecordResult(card=card, created=created)


def _claim_check(session: Session, check_id: int, now: datetime) -> bool:
    """Claim the check for one report: the primary key lets one INSERT through; on PostgreSQL a concurrent
    claimer waits for the first transaction and then finds the row. False if it was claimed already."""
    claimed = session.execute(
        upsert_insert(session, RedCardReport)
        .values(check_id=check_id, at=now)
        .on_conflict_do_nothing(index_elements=["check_id"])
        .returning(RedCardReport.check_id)
    ).scalar()
    return claimed is not None


def reported_card(session: Session, check_id: int) -> RedCard | None:
    """The red card this check was reported as, or None."""
    return session.scalar(
        select(RedCard).join(RedCardReport, RedCardReport.red_card_id == RedCard.id)
        .where(RedCardReport.check_id == check_id)
    )


def _unique(words: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for word in words:
        word = str(word).strip()
        if word and word not in seen:
            seen.append(word)
    return seen


@dataclass(frozen=True)
class RedCardPage:
    items: list[RedCard]
    total: int
    page: int  # 0-based
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return (self.page + 1) * self.page_size < self.total


def list_red_cards(
    session: Session,
    village_id: int,
    *,
    page: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
    statuses: Iterable[str] | None = None,
) -> RedCardPage:
    """A village's candidates, newest first (by created_at, then id), one page (0-based)."""
    return _page(session, RedCard.village_id == village_id, page, page_size, statuses)


def list_town_red_cards(
    session: Session,
    town_id: int,
    *,
    page: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
    statuses: Iterable[str] | None = None,
) -> RedCardPage:
    """All candidates of a town's villages (bureau view), newest first."""
    in_town = RedCard.village_id.in_(select(Village.id).where(Village.town_id == town_id))
    return _page(session, in_town, page, page_size, statuses)


def _page(session: Session, where, page: int, page_size: int, statuses: Iterable[str] | None) -> RedCardPage:
    page_size = max(1, min(int(page_size), 50))
    conditions = [where]
    if statuses is not None:
        conditions.append(RedCard.status.in_(list(statuses)))
    total = session.scalar(select(func.count()).select_from(RedCard).where(*conditions)) or 0
    last = max(0, -(-total // page_size) - 1)
    page = max(0, min(int(page), last))
    items = session.scalars(
        select(RedCard)
        .where(*conditions)
        .order_by(RedCard.created_at.desc(), RedCard.id.desc())
        .offset(page * page_size)
        .limit(page_size)
    ).all()
    return RedCardPage(items=list(items), total=total, page=page, page_size=page_size)


def get_red_card(session: Session, card_id: int) -> RedCard | None:
    return session.get(RedCard, card_id)


def can_view(member: Member | None, card: RedCard) -> bool:
    """Cadres see their own village's cards, bureau members their own town's, admins all; others none."""
    if member is None:
        return False
    if member.role == ROLE_ADMIN:
        return True
    if member.role == ROLE_CADRE:
        return member.village_id == card.village_id
    if member.role == ROLE_BUREAU:
        return member.town_id == card.village.town_id
    return False


def can_decide(member: Member | None, card: RedCard) -> bool:
    """Only a cadre of the card's village may confirm or withdraw it."""
    return member is not None and member.role == ROLE_CADRE and member.village_id == card.village_id


def can_include(member: Member | None, card: RedCard) -> bool:
    """A bureau member of the card's town, or an admin, may include it in the year-end review."""
    if member is None:
        return False
    return member.role == ROLE_ADMIN or (member.role == ROLE_BUREAU and member.town_id == card.village.town_id)


def confirm_red_card(
    session: Session, card_id: int, actor: Member, *, note: str | None = None, now: datetime | None = None
) -> RedCard:
    """candidate -> confirmed. NotFound, NotPermitted (not a cadre of that village), InvalidTransition."""
    return _transition(session, card_id, actor, "confirmed", can_decide, note, now)


def withdraw_red_card(
    session: Session, card_id: int, actor: Member, *, note: str | None = None, now: datetime | None = None
) -> RedCard:
    """candidate | confirmed -> withdrawn. NotFound, NotPermitted (not a cadre of that village), InvalidTransition."""
    return _transition(session, card_id, actor, "withdrawn", can_decide, note, now)


RESTORABLE = ("candidate", "confirmed")


def restore_red_card(
    session: Session, card_id: int, actor: Member, back_to: str, *, now: datetime | None = None
) -> RedCard:
    """withdrawn -> `back_to` ('candidate' or 'confirmed', the status it had): a withdrawal undone by a cadre of the
    card's village. NotFound, NotPermitted, InvalidTransition (no longer withdrawn); event 'restored'."""
    if back_to not in RESTORABLE:
        raise InvalidInput(f"cannot restore a red card to {back_to!r}")
    return _transition(session, card_id, actor, back_to, can_decide, back_to, now,
                       from_states=("withdrawn",), action="restored")


def include_red_card(
    session: Session, card_id: int, actor: Member | str, *, note: str | None = None, now: datetime | None = None
) -> RedCard:
    """confirmed -> included (year-end review). `actor`: a bureau member of the card's town or an admin, or the
    command line (storage.audit.CLI_ACTOR, i.e. whoever runs `cadrebot admin` on the server). The timeline gets
    an 'included' event (no member for the command line) and the audit log an 'include_red_card' entry."""
    allowed: Callable[[Any, RedCard], bool]
    if isinstance(actor, Member):
        allowed = can_include
    elif actor == CLI_ACTOR:
        allowed = _anyone
    else:
        raise NotPermitted("您无权更改这条红牌候选")
    card = _transition(session, card_id, actor, "included", allowed, note, now)
    log_action(session, actor, "include_red_card",
               {"red_card_id": card.id, "village": card.village.code, "department": card.department,
                "item_id": card.item_id, "period": card.period}, now=now)
    return card


def _anyone(actor: object, card: RedCard) -> bool:
    return True


def _transition(session, card_id, actor, wanted, allowed, note, now, *, from_states=None, action=None) -> RedCard:
    """`wanted` from one of `from_states` (default TRANSITIONS[wanted]); the event is `action` (default `wanted`)."""
    card = session.get(RedCard, card_id)
    if card is None:
        raise NotFound("red_card", card_id)
    if not allowed(actor, card):
        raise NotPermitted("您无权更改这条红牌候选")
    now = now or utcnow()
    changed = session.execute(
        update(RedCard)
        .where(RedCard.id == card_id, RedCard.status.in_(from_states or TRANSITIONS[wanted]))
        .values(status=wanted, updated_at=now)
        .returning(RedCard.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    session.refresh(card)
    if changed is None:
        raise InvalidTransition(card.status, wanted)
    actor_id = actor.id if isinstance(actor, Member) else None
    session.add(RedCardEvent(red_card_id=card_id, actor_member_id=actor_id, action=action or wanted, at=now, note=note))
    session.flush()
    return card


@dataclass(frozen=True)
class YearEndResult:
    """What `include_year_end` did: the cards now included, and how many are still waiting for their cadre."""

    town: Town
    period: str
    included: list[RedCard]
    unconfirmed: int


def include_year_end(
    session: Session, town_code: str, period: str, actor: Member | str = CLI_ACTOR, *, note: str | None = None,
    now: datetime | None = None,
) -> YearEndResult:
    """Include every confirmed red card of the town's villages in `period` ('2026') in the year-end review.

    Cards still 'candidate' stay as they are (their cadre has not confirmed them) and are counted in
    `unconfirmed`. NotFound for an unknown town, InvalidInput for a malformed period, NotPermitted for a member who
    may not include this town's cards. Running it again includes nothing more. Audit log: one
    'include_red_card' entry per card and one 'include_year_end' entry for the run.
    """
    period = (period or "").strip()
    if not PERIOD_RE.match(period):
        raise InvalidInput("评估年度应为四位年份，例如 2026")
    town = require_town(session, town_code)
    if isinstance(actor, Member) and not (
        actor.role == ROLE_ADMIN or (actor.role == ROLE_BUREAU and actor.town_id == town.id)
    ):
        raise NotPermitted("您无权更改这个镇(街道)的红牌候选")
    in_town = RedCard.village_id.in_(select(Village.id).where(Village.town_id == town.id))
    confirmed = session.scalars(
        select(RedCard.id).where(in_town, RedCard.period == period, RedCard.status == "confirmed").order_by(RedCard.id)
    ).all()
    now = now or utcnow()
    included: list[RedCard] = []
    for card_id in confirmed:
        try:
            included.append(include_red_card(session, card_id, actor, note=note, now=now))
        except InvalidTransition:  # withdrawn by its cadre a moment ago
            continue
    unconfirmed = session.scalar(
        select(func.count()).select_from(RedCard).where(in_town, RedCard.period == period,
                                                        RedCard.status == "candidate")
    ) or 0
    log_action(session, actor, "include_year_end",
               {"town": town.code, "period": period, "included": len(included), "unconfirmed": unconfirmed},
               now=now)
    return YearEndResult(town=town, period=period, included=included, unconfirmed=unconfirmed)


def timeline(session: Session, card_id: int) -> list[RedCardEvent]:
    """The card's events, oldest first."""
    return list(
        session.scalars(
            select(RedCardEvent).where(RedCardEvent.red_card_id == card_id).order_by(RedCardEvent.at, RedCardEvent.id)
        )
    )


__all__ = [
    "ACTIVE_STATUSES",
    "RESTORABLE",
    "DEFAULT_PAGE_SIZE",
    "RecordResult",
    "RedCardPage",
    "TRANSITIONS",
    "YearEndResult",
    "can_decide",
    "can_include",
    "can_view",
    "confirm_red_card",
    "evaluation_period",
    "get_red_card",
    "include_red_card",
    "include_year_end",
    "list_red_cards",
    "list_town_red_cards",
    "record_red_card",
    "reported_card",
    "restore_red_card",
    "timeline",
    "withdraw_red_card",
]
