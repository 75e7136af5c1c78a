"""ISO weeks in local time (Asia/Shanghai by default): a week runs Monday 00:00 to the next Monday 00:00 local,
and is queried as the half-open UTC interval [start_utc, end_utc).

    week = Week.parse("2026-W47")           # ValueError on a bad or impossible week
    week = parse_week("上周", now=now)       # what a person types: 本周, 上周, 上上周, 11月18日, 11.18, 2026-W47 …
    week = Week.containing(now)             # the local week of a moment
    week.start_utc, week.end_utc            # bounds for SQL
    week.previous(), week.next()
    last_complete_week(now, weekday=0, at=time(8, 30))   # the week the scheduled send delivers
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from storage.timeutil import DEFAULT_TZ, local_midnight_utc, local_now, parse_iso_week, zone


@dataclass(frozen=True, order=True)
class Week:
    """One ISO week in a time zone."""

    monday: date
    tz: str = DEFAULT_TZ

    @classmethod
    def parse(cls, text: str, tz: str = DEFAULT_TZ) -> Week:
        """'2026-W47' (case-insensitive, spaces ignored); ValueError for anything else or a week that does not exist."""
        year, number = parse_iso_week(text)
        return cls(date.fromisocalendar(year, number, 1), tz)

    @classmethod
    def containing(cls, moment: datetime | date | None = None, tz: str = DEFAULT_TZ) -> Week:
        """The week of `moment`'s local day (default: now). Naive datetimes are UTC."""
        if isinstance(moment, date) and not isinstance(moment, datetime):
            day = moment
        else:
            day = local_now(moment, tz).date()
        return cls(day - timedelta(days=day.weekday()), tz)

    @property
    def iso(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def next_monday(self) -> date:
        return self.monday + timedelta(days=7)

    @property
    def start_utc(self) -> datetime:
        return local_midnight_utc(self.monday, self.tz)

    @property
    def end_utc(self) -> datetime:
        return local_midnight_utc(self.next_monday, self.tz)

    @property
    def year_start_utc(self) -> datetime:
        """Local midnight of 1 January of the year the week ends in (the evaluation year of its red cards)."""
        return local_midnight_utc(date(self.sunday.year, 1, 1), self.tz)

    def previous(self) -> Week:
        return Week(self.monday - timedelta(days=7), self.tz)

    def next(self) -> Week:
        return Week(self.monday + timedelta(days=7), self.tz)

    def contains(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return self.start_utc <= moment < self.end_utc

    def __str__(self) -> str:
        return self.iso


def send_time_of(week: Week, weekday: int = 0, at: time = time(8, 30)) -> datetime:
    """When the scheduled send for `week` happens: the first `weekday` (0 = Monday) at `at` local time after the
    week has ended, in UTC."""
    day = week.next_monday + timedelta(days=weekday % 7)
    local = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone(week.tz))
    return local.astimezone(UTC)


def last_complete_week(
    now: datetime | None = None, *, weekday: int = 0, at: time = time(8, 30), tz: str = DEFAULT_TZ
) -> Week:
    """The most recent week whose scheduled send time has passed at `now`."""
    now = local_now(now, tz)
    week = Week.containing(now, tz).previous()
    while send_time_of(week, weekday, at) > now:
        week = week.previous()
    return week


# ---------------------------------------------------------------------------------------------- what people type


class WeekProblem(StrEnum):
    UNREADABLE = "unreadable"  # not a form we know: the reply lists the forms
    NO_SUCH_WEEK = "no_such_week"  # 2026-W54, 2025-W53, 2026-W00
    NO_SUCH_DATE = "no_such_date"  # 2026-02-30, 13月1日


class BadWeek(ValueError):
    """A week the user asked for that cannot be read or does not exist; `problem` says which."""

    def __init__(self, problem: WeekProblem, text: str, *, year: int | None = None, number: int | None = None,
                 month: int | None = None, day: int | None = None) -> None:
        super().__init__(f"{problem}: {text!r}")
        self.problem = problem
        self.text = text
        self.year, self.number, self.month, self.day = year, number, month, day


# 本周 / 这周 / 上个星期 / 上上礼拜 … -> how many weeks before the current one (下周: -1, refused as not yet begun).
RELATIVE_WEEKS: dict[str, int] = {
    prefix + unit: back
    for back, prefixes in ((0, "本 这 这个 这一"), (1, "上 上个 上一"), (2, "上上 上上个"), (-1, "下 下个 下一"))
    for prefix in prefixes.split()
    for unit in ("周", "星期", "礼拜")
}

_SPACES = re.compile(r"\s+")
_ISO = re.compile(r"(\d{4})-?W(\d{1,2})")  # 2026-W47, 2026W47, 2026-W7
_ISO_CHINESE = re.compile(r"(\d{4})年?第(\d{1,2})周")  # 2026年第47周
_FULL_DATE = re.compile(r"(\d{4})(?:[-/.]|年)(\d{1,2})(?:[-/.]|月)(\d{1,2})(?:日|号)?")
_WEEK_OF_YEAR = re.compile(r"W(\d{1,2})|第(\d{1,2})周")  # W47, 第47周: this year's
_MONTH_DAY = re.compile(r"(\d{1,2})(?:[-/.]|月)(\d{1,2})(?:日|号)?")


def weeks_in_year(year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last."""
    return date(year, 12, 28).isocalendar()[1]


def parse_week(text: str, *, now: datetime | None = None, tz: str = DEFAULT_TZ) -> Week:
    """The week a person means by `text`, seen at `now` (default: the current time):

    本周 / 这周, 上周, 上上周, 下周 (relative to `now`'s local week); a date in the week (2026-11-18, 2026/11/18,
    2026年11月18日, 11月18日, 11月18号, 11.18, 11-18); an ISO week (2026-W47, 2026w47, 2026年第47周, and W47 or
    第47周 of this year). Without a year, this year's date or week is meant, or last year's when this year's has
    not begun yet ("12月28日" asked in January).

    BadWeek(UNREADABLE) for anything else; BadWeek(NO_SUCH_WEEK / NO_SUCH_DATE) for a week or a date that does not
    exist (2026-W54, 2026-02-30), so that the reply can say so instead of repeating the format.
    """
    raw = (text or "").strip()
    value = _SPACES.sub("", raw.translate(_FULLWIDTH)).upper()
    current = Week.containing(now, tz)
    this_year = local_now(now, tz).year
    if value in RELATIVE_WEEKS:
        return Week(current.monday - timedelta(days=7 * RELATIVE_WEEKS[value]), tz)
    if match := _ISO.fullmatch(value) or _ISO_CHINESE.fullmatch(value):
        return _iso_week(raw, int(match.group(1)), int(match.group(2)), tz)
    if match := _WEEK_OF_YEAR.fullmatch(value):
        number = int(match.group(1) or match.group(2))
        week = _iso_week(raw, this_year, number, tz)
        return week if week <= current else _iso_week(raw, this_year - 1, number, tz)
    if match := _FULL_DATE.fullmatch(value):
        year, month, day = (int(g) for g in match.groups())
        return Week.containing(_date(raw, year, month, day), tz)
    if match := _MONTH_DAY.fullmatch(value):
        month, day = int(match.group(1)), int(match.group(2))
        week = Week.containing(_date(raw, this_year, month, day), tz)
        return week if week <= current else Week.containing(_date(raw, this_year - 1, month, day), tz)
    raise BadWeek(WeekProblem.UNREADABLE, raw)


def _iso_week(raw: str, year: int, number: int, tz: str) -> Week:
    if not 1 <= number <= weeks_in_year(year):
        raise BadWeek(WeekProblem.NO_SUCH_WEEK, raw, year=year, number=number)
    return Week(date.fromisocalendar(year, number, 1), tz)


def _date(raw: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise BadWeek(WeekProblem.NO_SUCH_DATE, raw, year=year, month=month, day=day) from None


# Full-width digits and letters, "-", "/", "." -> ASCII (people type them on Chinese keyboards).
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF0D, 0xFF0E, 0xFF0F)}
_FULLWIDTH[0x3000] = 0x20


def weeks_between(first: Week, last: Week) -> list[Week]:
    """first, first.next(), … last (empty if first > last)."""
    weeks: list[Week] = []
    week = first
    while week <= last:
        weeks.append(week)
        week = week.next()
    return weeks


def parse_time(text: str) -> time:
    """'08:30' -> time(8, 30); ValueError otherwise."""
    hours, _, minutes = (text or "").strip().partition(":")
    return time(int(hours), int(minutes or 0))


__all__ = [
    "BadWeek",
    "Week",
    "WeekProblem",
    "last_complete_week",
    "parse_time",
    "parse_week",
    "send_time_of",
    "weeks_between",
    "weeks_in_year",
]
