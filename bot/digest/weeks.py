"""ISO weeks in local time (Asia/Shanghai by default): a week runs Monday 00:00 to the next Monday 00:00 local,
and is queried as the half-open UTC interval [start_utc, end_utc).

    week = Week.parse("2026-W47")           # ValueError on a bad or impossible week
    week = Week.containing(now)             # the local week of a moment
    week.start_utc, week.end_utc            # bounds for SQL
    week.previous(), week.next()
    last_complete_week(now, weekday=0, at=time(8, 30))   # the week the scheduled send delivers
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

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
            moment = moment.replace(tzinfo=timezone.utc)
        return self.start_utc <= moment < self.end_utc

    def __str__(self) -> str:
        return self.iso


def send_time_of(week: Week, weekday: int = 0, at: time = time(8, 30)) -> datetime:
    """When the scheduled send for `week` happens: the first `weekday` (0 = Monday) at `at` local time after the
    week has ended, in UTC."""
    day = week.next_monday + timedelta(days=weekday % 7)
    local = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone(week.tz))
    return local.astimezone(timezone.utc)


def last_complete_week(
    now: datetime | None = None, *, weekday: int = 0, at: time = time(8, 30), tz: str = DEFAULT_TZ
) -> Week:
    """The most recent week whose scheduled send time has passed at `now`."""
    now = local_now(now, tz)
    week = Week.containing(now, tz).previous()
    while send_time_of(week, weekday, at) > now:
        week = week.previous()
    return week


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


__all__ = ["Week", "last_complete_week", "parse_time", "send_time_of", "weeks_between"]
