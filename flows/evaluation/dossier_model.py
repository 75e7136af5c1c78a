"""What a round's dossier says, as plain data: flows.evaluation.dossier fills it, the XLSX and PDF writers render it.

Money is in fen (分, int) so that every figure adds up exactly; `yuan(fen)` formats it. A score is 百分制
(0–100, float); None means nobody scored it. Satisfaction follows the digest's rule: an aspect or a village
with fewer than MIN_RESPONSES responses shows no mean (`mean is None`, `suppressed`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from texts import evaluation as T


class CardDecision(StrEnum):
    """What the committee did with a confirmed red-card candidate in the round."""

    RAISED = "raised"  # shown as a formal red card (亮红牌)
    DROPPED = "dropped"  # not pursued
    UNDECIDED = "undecided"  # the committee has not decided yet


def yuan(fen: int | None) -> str:
    """'12,345.50' for 1234550 fen; '—' for None (no fixed fee)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{part:02d}"


def outstanding(fen: int | None) -> str:
    """What is still to pay, for people: '800.00'; paid beyond what is due (an advance before the score) is no
    negative debt but '0.00（多付 3,000.00）'."""
    if fen is not None and fen < 0:
        return T.OVERPAID.format(amount=yuan(-fen))
    return yuan(fen)


def fen_of_yuan(text: str) -> int | None:
    """'4000', '4,000.5', '４０００元' -> fen; None unless a positive amount with at most 2 decimals."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip().removesuffix("元").replace(",", "").strip()
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", cleaned):
        return None
    whole, _, part = cleaned.partition(".")
    fen = int(whole) * 100 + int((part + "00")[:2])
    return fen or None


@dataclass(frozen=True)
class ItemScore:
    """One agreed item a department scored for one village."""

    item_id: str  # 'B5'
    item_title: str
    department: str  # canonical department name ('人社局')
    weight: int  # from the agreement file
    score: float | None  # 0–100; None: not scored


@dataclass(frozen=True)
class Bonus:
    """Extra points a department gave a village for outstanding work, with its reason."""

    department: str
    points: float
    reason: str


@dataclass(frozen=True)
class Rating:
    """How one village's committee graded one department: aspect label -> grade label (None: not graded)."""

    village_name: str
    department: str
    grades: tuple[tuple[str, str | None], ...]  # ((aspect label, grade label or None), ...) in the scheme's order


@dataclass(frozen=True)
class RedCardLine:
    """A confirmed red-card candidate of the round's period and the committee's decision on it."""

    village_name: str
    department: str  # canonical name
    item_id: str  # '' for an unlisted task
    item_title: str  # '' for an unlisted task
    count: int  # how many times it was reported
    first_seen: date
    last_seen: date
    evidence: tuple[str, ...]  # the tasks as the cadre sent them
    decision: CardDecision


@dataclass(frozen=True)
class SatisfactionLine:
    aspect: str  # label ('办事效率')
    n: int  # answers
    mean: float | None  # 1–5; None when n < MIN_RESPONSES (or the village as a whole is suppressed)


@dataclass(frozen=True)
class FeeLine:
    """One agreed item's fee for one village in the round: agreed, due after the score, paid, outstanding."""

    village_name: str
    item_id: str
    item_title: str
    department: str
    agreed_fen: int | None  # the round's share of the agreed fee; None when the agreement fixes no amount
    score: float | None
    due_fen: int | None  # by the agreement's payment rule; None when there is no fixed amount
    paid_fen: int
    outstanding_fen: int | None  # due - paid (negative: overpaid); None without a fixed amount


@dataclass(frozen=True)
class VillageSection:
    code: str
    name: str
    item_scores: tuple[ItemScore, ...]
    weighted_score: float | None  # Σ weight·score / Σ weight over scored items; None if none scored
    bonuses: tuple[Bonus, ...]
    bonus_total: float
    total_score: float | None  # weighted_score + bonus_total
    ratings: tuple[Rating, ...]  # this committee's ratings of the departments
    red_cards: tuple[RedCardLine, ...]  # every confirmed candidate of the period, with its decision
    satisfaction_n: int  # responses in the survey periods overlapping the round
    satisfaction_suppressed: bool  # satisfaction_n < MIN_RESPONSES
    satisfaction: tuple[SatisfactionLine, ...]
    fees: tuple[FeeLine, ...]
    due_fen: int  # sums over fees with a fixed amount
    paid_fen: int  # all payments recorded for the village in the round
    outstanding_fen: int

    @property
    def raised_cards(self) -> tuple[RedCardLine, ...]:
        return tuple(c for c in self.red_cards if c.decision is CardDecision.RAISED)


@dataclass(frozen=True)
class DepartmentSection:
    name: str  # canonical name
    red_cards: tuple[RedCardLine, ...]  # raised against it, across villages
    ratings: tuple[Rating, ...]  # received from the committees
    grade_counts: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]  # ((aspect, ((grade, count), ...)), ...)
    fees: tuple[FeeLine, ...]  # the agreed items it commissioned, per village
    due_fen: int
    paid_fen: int
    outstanding_fen: int


@dataclass(frozen=True)
class Dossier:
    town_code: str
    town_name: str
    round_code: str  # '2026H2'
    round_label: str  # '2026年年末评估'
    starts_on: date
    ends_on: date
    deadline: date
    closed: bool
    generated_at: datetime
    agreement_name: str
    villages: tuple[VillageSection, ...]
    departments: tuple[DepartmentSection, ...]
    notes: tuple[str, ...] = field(default=())  # e.g. villages that did not finish
