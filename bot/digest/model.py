"""The digest as plain data: what `bot.digest.queries.build_digest` returns and every renderer reads.

Nothing here touches the database or Telegram. Averages are exact ratios of integer sums (`Score`), so a renderer
can show them rounded while tests compare them with SQL AVG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.digest.weeks import Week
from storage.surveys import MIN_RESPONSES

# A village (or a whole scope) with fewer responses than this shows 样本不足 instead of averages; so does any
# average over fewer answers than this (residents may skip an aspect, so a village with enough responses can
# still have only three answers for one aspect).
TOP_ITEMS = 5
GAP_SAMPLES = 5
COMMENTS = 5
LOWEST_VILLAGES = 5


@dataclass(frozen=True)
class Scope:
    """A town ('town:<CODE>') or the whole city ('city')."""

    kind: str  # 'town' | 'city'
    name: str
    town_id: int | None = None
    town_code: str | None = None

    @property
    def key(self) -> str:
        return f"town:{self.town_code}" if self.kind == "town" else "city"

    @property
    def is_city(self) -> bool:
        return self.kind == "city"


@dataclass(frozen=True)
class Score:
    """An average as sum/count; `value` is None when there is nothing to average."""

    total: int = 0
    n: int = 0

    @property
    def value(self) -> float | None:
        return self.total / self.n if self.n else None

    def rounded(self, digits: int = 2) -> float | None:
        value = self.value
        return None if value is None else round(value, digits)

    def __add__(self, other: Score) -> Score:
        return Score(self.total + other.total, self.n + other.n)

    @property
    def too_few(self) -> bool:
        """Some answers, but fewer than MIN_RESPONSES: the average must not be shown (样本不足)."""
        return 0 < self.n < MIN_RESPONSES

    @property
    def showable(self) -> bool:
        """Enough answers for the average to be shown."""
        return self.n >= MIN_RESPONSES


# ---------------------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class ItemCount:
    item_id: str
    title: str
    count: int


@dataclass(frozen=True)
class GapSample:
    """A check that left the cadre unsure (verdict 'unclear') or got 👎; text already anonymised."""

    text: str
    verdict: str
    feedback: int | None
    village: str
    day: date


@dataclass
class CheckSection:
    total: int = 0
    previous_total: int = 0
    by_verdict: dict[str, int] = field(default_factory=dict)
    previous_by_verdict: dict[str, int] = field(default_factory=dict)
    top_items: list[ItemCount] = field(default_factory=list)
    unclear: int = 0
    thumbs_down: int = 0
    thumbs_up: int = 0
    gaps: list[GapSample] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- red cards


@dataclass(frozen=True)
class DepartmentWeek:
    """Red-card reports ('created' or 'reported_again' events) of one department this week."""

    department: str
    reports: int
    items: int  # distinct items (清单外 counts as one)
    villages: int  # distinct villages
    item_ids: tuple[str, ...] = ()  # by reports, then id
    village_names: tuple[str, ...] = ()  # by reports, then name


@dataclass(frozen=True)
class RedCardRow:
    """This week's reports of one (department, item, village)."""

    department: str
    item_id: str
    item_title: str
    village: str
    town: str
    reports: int
    status: str


@dataclass(frozen=True)
class DepartmentCards:
    """Red cards of one department that are new this week (first reported) or were confirmed this week, and have
    not been withdrawn since: what the chart draws. A card both new and confirmed this week counts as confirmed."""

    department: str
    new: int
    confirmed: int

    @property
    def total(self) -> int:
        return self.new + self.confirmed


@dataclass(frozen=True)
class DepartmentYear:
    department: str
    reports: int
    cards: int
    villages: int


@dataclass
class RedCardSection:
    reports: int = 0
    by_department: list[DepartmentWeek] = field(default_factory=list)
    rows: list[RedCardRow] = field(default_factory=list)
    new: int = 0
    confirmed: int = 0
    withdrawn: int = 0
    year: int = 0
    ytd: list[DepartmentYear] = field(default_factory=list)
    charted: list[DepartmentCards] = field(default_factory=list)  # by total, then department; none withdrawn


# ---------------------------------------------------------------------------------------------- satisfaction


@dataclass(frozen=True)
class AspectScore:
    code: str
    label: str
    current: Score
    previous: Score
    suppressed: bool = False  # the scope has fewer than MIN_RESPONSES responses

    @property
    def hidden(self) -> bool:
        """样本不足 this period: the scope has too few responses, or this aspect too few answers."""
        return self.suppressed or not self.current.showable

    @property
    def previous_hidden(self) -> bool:
        """样本不足 in the previous period (its Score is empty when the scope had too few responses then)."""
        return not self.previous.showable

    @property
    def change(self) -> float | None:
        """The change against the previous period, only when both averages may be shown (else the change and one
        average would give away the other)."""
        if self.hidden or self.previous_hidden:
            return None
        return round(self.current.rounded() - self.previous.rounded(), 2)


@dataclass(frozen=True)
class VillageRow:
    village_id: int
    code: str
    name: str
    town: str
    checks: int = 0
    red_card_reports: int = 0
    responses: int = 0
    previous_responses: int = 0
    overall: Score = Score()
    previous_overall: Score = Score()
    aspects: dict[str, Score] = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return self.responses < MIN_RESPONSES

    @property
    def previous_suppressed(self) -> bool:
        return self.previous_responses < MIN_RESPONSES

    @property
    def overall_hidden(self) -> bool:
        """No 综合均分 for this village: too few responses, or too few answers in all."""
        return self.suppressed or not self.overall.showable

    def aspect_hidden(self, code: str) -> bool:
        """样本不足 for one aspect: the village has too few responses, or this aspect too few answers."""
        return self.suppressed or not self.aspects.get(code, Score()).showable

    @property
    def aspects_hidden(self) -> list[str]:
        """Aspects answered, but by fewer than MIN_RESPONSES residents, in a village that has enough responses."""
        if self.suppressed:
            return []
        return [code for code, score in self.aspects.items() if score.too_few]


@dataclass(frozen=True)
class Comment:
    text: str  # anonymised and shortened
    village: str
    day: date


@dataclass
class SatisfactionSection:
    period: str | None = None
    previous_period: str | None = None
    responses: int = 0
    previous_responses: int = 0
    responses_this_week: int = 0
    overall: Score = Score()
    previous_overall: Score = Score()
    aspects: list[AspectScore] = field(default_factory=list)
    villages: list[VillageRow] = field(default_factory=list)  # every village of the scope, by code
    comments: list[Comment] = field(default_factory=list)

    @property
    def suppressed(self) -> bool:
        return self.responses < MIN_RESPONSES

    @property
    def villages_with_responses(self) -> int:
        return sum(1 for v in self.villages if v.responses)

    @property
    def villages_suppressed(self) -> int:
        """Villages that have responses, but fewer than MIN_RESPONSES."""
        return sum(1 for v in self.villages if 0 < v.responses < MIN_RESPONSES)

    @property
    def charted_aspects(self) -> list[AspectScore]:
        """Aspects whose average may be drawn (answered, and not 样本不足)."""
        if self.suppressed:
            return []
        return [a for a in self.aspects if a.current.n and not a.hidden]

    @property
    def lowest(self) -> list[VillageRow]:
        """The LOWEST_VILLAGES villages with the lowest overall average, among those not suppressed."""
        ranked = [v for v in self.villages if not v.overall_hidden]
        ranked.sort(key=lambda v: (v.overall.value, v.code))
        return ranked[:LOWEST_VILLAGES]


# ---------------------------------------------------------------------------------------------- digest


@dataclass
class Digest:
    scope: Scope
    week: Week
    generated_at: datetime
    checks: CheckSection
    red_cards: RedCardSection
    satisfaction: SatisfactionSection
    partial: bool = False  # the week has not ended yet (/digest for the current week)

    @property
    def is_empty(self) -> bool:
        """Nothing happened this week: no check, no red-card event, no survey response."""
        return (
            self.checks.total == 0
            and self.red_cards.reports == 0
            and self.red_cards.new + self.red_cards.confirmed + self.red_cards.withdrawn == 0
            and self.satisfaction.responses_this_week == 0
        )

    @property
    def has_chart(self) -> bool:
        """The chart would draw at least one bar: a satisfaction average that may be shown, or a new or confirmed
        red card. Without one it would be a blank picture, so none is sent or written."""
        return bool(self.satisfaction.charted_aspects) or any(d.total for d in self.red_cards.charted)


__all__ = [
    "AspectScore",
    "COMMENTS",
    "CheckSection",
    "Comment",
    "DepartmentCards",
    "DepartmentWeek",
    "DepartmentYear",
    "Digest",
    "GAP_SAMPLES",
    "GapSample",
    "ItemCount",
    "LOWEST_VILLAGES",
    "MIN_RESPONSES",
    "RedCardRow",
    "RedCardSection",
    "SatisfactionSection",
    "Score",
    "Scope",
    "TOP_ITEMS",
    "VillageRow",
]
