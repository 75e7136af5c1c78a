"""Local-time helpers: the product's calendar is Asia/Shanghai (Settings.timezone), the database stores UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"
ISO_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


@lru_cache(maxsize=16)
def zone(tz: str = DEFAULT_TZ) -> ZoneInfo:
    return ZoneInfo(tz)


def local_now(now: datetime | None = None, tz: str = DEFAULT_TZ) -> datetime:
    """`now` (default: the current time; naive means UTC) in the local zone."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(tz))


def local_date(moment: datetime | date | None = None, tz: str = DEFAULT_TZ) -> date:
    """The local calendar day of a moment; a date is returned unchanged."""
    if isinstance(moment, date) and not isinstance(moment, datetime):
        return moment
    return local_now(moment, tz).date()


def local_midnight_utc(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """The UTC instant at which the local `day` begins."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def iso_week_of(moment: datetime | date | None = None, tz: str = DEFAULT_TZ) -> str:
    """'2026-W47' for the local day of `moment`."""
    year, week, _ = local_date(moment, tz).isocalendar()
    return f"{year}-W{week:02d}"


def parse_iso_week(text: str) -> tuple[int, int]:
    match = ISO_WEEK_RE.match((text or "").strip().upper())
    if not match:
        raise ValueError(f"not an ISO week like 2026-W47: {text!r}")
    year, week = int(match.group(1)), int(match.group(2))
    date.fromisocalendar(year, week, 1)  # raises ValueError for week 53 of a 52-week year
    return year, week


def week_bounds_utc(iso_week: str, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """[start, end) of an ISO week in UTC, the week running Monday 00:00 to Monday 00:00 local time."""
    year, week = parse_iso_week(iso_week)
    monday = date.fromisocalendar(year, week, 1)
    return local_midnight_utc(monday, tz), local_midnight_utc(monday + timedelta(days=7), tz)


__all__ = [
    "DEFAULT_TZ",
    "iso_week_of",
    "local_date",
    "local_midnight_utc",
    "local_now",
    "parse_iso_week",
    "week_bounds_utc",
    "zone",
]
