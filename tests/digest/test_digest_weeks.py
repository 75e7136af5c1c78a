"""ISO weeks in Asia/Shanghai: Monday 00:00 to Monday 00:00 local, and the week boundary in the database: a
check at Sunday 23:59 belongs to its week, one at Monday 00:00 to the next — on SQLite and PostgreSQL. Weeks as
people write them (上周, 11月18日, 2026-W47), and the ones that do not exist (2026-W54, 2026-02-30)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.digest import Week, build_digest, last_complete_week, resolve_scope
from bot.digest.delivery import first_due_week
from bot.digest.weeks import BadWeek, WeekProblem, parse_week, send_time_of, weeks_in_year
from storage.checklog import log_check
from storage.redcards import record_red_card
from storage.surveys import ensure_period, period_spec, submit_response
from tests.digest.world import SH, add_places, local


def test_week_bounds_are_local_midnights_in_utc():
    week = Week.parse("2026-W47")
    assert week.monday == date(2026, 11, 16) and week.sunday == date(2026, 11, 22)
    # Asia/Shanghai is UTC+8 all year: Monday 00:00 local is Sunday 16:00 UTC
    assert week.start_utc == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
    assert week.end_utc == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert week.previous().iso == "2026-W46" and week.next().iso == "2026-W48"


@pytest.mark.parametrize(
    "moment, expected",
    [
        (datetime(2026, 11, 22, 23, 59, 59, tzinfo=SH), "2026-W47"),  # Sunday 23:59:59 local
        (datetime(2026, 11, 23, 0, 0, 0, tzinfo=SH), "2026-W48"),  # Monday 00:00 local
        # the same instants in UTC: Sunday 15:59:59 and 16:00 — a UTC calendar would get both wrong
        (datetime(2026, 11, 22, 15, 59, 59, tzinfo=UTC), "2026-W47"),
        (datetime(2026, 11, 22, 16, 0, 0, tzinfo=UTC), "2026-W48"),
        (datetime(2026, 11, 22, 16, 0, 0), "2026-W48"),  # naive means UTC
        (datetime(2025, 12, 29, 0, 0, tzinfo=SH), "2026-W01"),  # ISO year starts on a December Monday
        (datetime(2027, 1, 3, 23, 59, tzinfo=SH), "2026-W53"),  # 2026 has 53 ISO weeks
    ],
)
def test_week_containing(moment, expected):
    week = Week.containing(moment)
    assert week.iso == expected
    assert week.contains(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@pytest.mark.parametrize("text", ["2026-w47", " 2026-W47 "])
def test_week_parse_is_forgiving_about_case_and_spaces(text):
    assert Week.parse(text).iso == "2026-W47"


@pytest.mark.parametrize("text", ["2026W47", "2026-47", "W47", "2026-W00", "2025-W53", "2026-W54", "abc", "", "2026-W4"])
def test_bad_weeks_are_refused(text):
    with pytest.raises(ValueError):
        Week.parse(text)


# What a bureau member types after /digest (or --week), seen on Tuesday 2026-11-24 (W48) in Asia/Shanghai.
TUESDAY_W48 = datetime(2026, 11, 24, 10, 0, tzinfo=SH)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("本周", "2026-W48"), ("这周", "2026-W48"), ("这个星期", "2026-W48"),
        ("上周", "2026-W47"), ("上个星期", "2026-W47"), ("上一周", "2026-W47"), ("上礼拜", "2026-W47"),
        ("上上周", "2026-W46"), ("下周", "2026-W49"),
        ("2026-11-18", "2026-W47"), ("2026/11/18", "2026-W47"), ("2026.11.18", "2026-W47"),
        ("2026年11月18日", "2026-W47"), ("11月18日", "2026-W47"), ("11月18号", "2026-W47"), ("11.18", "2026-W47"),
        ("11-18", "2026-W47"), ("１１月１８日", "2026-W47"), ("11月22日", "2026-W47"), ("11月23日", "2026-W48"),
        ("2026-W47", "2026-W47"), ("2026w47", "2026-W47"), (" 2026 - W 47 ", "2026-W47"), ("2026-W7", "2026-W07"),
        ("2026年第47周", "2026-W47"), ("第47周", "2026-W47"), ("W47", "2026-W47"),
        # without a year, a day or week that has not come yet this year is last year's
        ("12月28日", "2025-W52"), ("第50周", "2025-W50"),
        # a day at the turn of the year belongs to its ISO week: 2027-01-01 is in 2026-W53
        ("2027-01-01", "2026-W53"), ("2025-12-29", "2026-W01"),
    ],
)
def test_weeks_as_people_write_them(text, expected):
    assert parse_week(text, now=TUESDAY_W48).iso == expected


def test_relative_weeks_follow_the_local_calendar():
    # Monday 00:30 in Shanghai is still Sunday in UTC: 本周 is the local week
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=SH)
    assert parse_week("本周", now=monday).iso == "2026-W48"
    assert parse_week("上周", now=monday).iso == "2026-W47"


@pytest.mark.parametrize(
    "text, problem, fields",
    [
        ("2026-W54", WeekProblem.NO_SUCH_WEEK, {"year": 2026, "number": 54}),
        ("2025-W53", WeekProblem.NO_SUCH_WEEK, {"year": 2025, "number": 53}),  # 2025 has 52 weeks
        ("2026-W00", WeekProblem.NO_SUCH_WEEK, {"year": 2026, "number": 0}),
        ("2026-02-30", WeekProblem.NO_SUCH_DATE, {"year": 2026, "month": 2, "day": 30}),
        ("2月29日", WeekProblem.NO_SUCH_DATE, {"year": 2026, "month": 2, "day": 29}),  # 2026 is no leap year
        ("13月1日", WeekProblem.NO_SUCH_DATE, {"month": 13}),
        ("下下周", WeekProblem.UNREADABLE, {}),
        ("47", WeekProblem.UNREADABLE, {}),
        ("abc", WeekProblem.UNREADABLE, {}),
        ("2026-47", WeekProblem.UNREADABLE, {}),
    ],
)
def test_weeks_that_cannot_be_used_say_why(text, problem, fields):
    with pytest.raises(BadWeek) as caught:
        parse_week(text, now=TUESDAY_W48)
    assert caught.value.problem is problem
    for name, value in fields.items():
        assert getattr(caught.value, name) == value


@pytest.mark.parametrize("year, weeks", [(2020, 53), (2024, 52), (2025, 52), (2026, 53), (2027, 52)])
def test_weeks_in_year(year, weeks):
    assert weeks_in_year(year) == weeks


def test_year_start_is_january_first_local_of_the_weeks_year():
    assert Week.parse("2026-W47").year_start_utc == datetime(2026, 1, 1, tzinfo=SH).astimezone(UTC)
    # W01 of 2026 starts on 2025-12-29 but ends in 2026: its red cards are 2026's
    assert Week.parse("2026-W01").year_start_utc == datetime(2026, 1, 1, tzinfo=SH).astimezone(UTC)


def test_last_complete_week_turns_at_the_send_time():
    before = datetime(2026, 11, 23, 8, 29, tzinfo=SH)
    at = datetime(2026, 11, 23, 8, 30, tzinfo=SH)
    assert last_complete_week(before, weekday=0, at=time(8, 30)).iso == "2026-W46"
    assert last_complete_week(at, weekday=0, at=time(8, 30)).iso == "2026-W47"
    # sent on Fridays at 17:00 instead: W47 goes out on Friday 2026-11-27
    assert last_complete_week(datetime(2026, 11, 27, 16, 59, tzinfo=SH), weekday=4, at=time(17, 0)).iso == "2026-W46"
    assert last_complete_week(datetime(2026, 11, 27, 17, 0, tzinfo=SH), weekday=4, at=time(17, 0)).iso == "2026-W47"
    assert send_time_of(Week.parse("2026-W47")) == datetime(2026, 11, 23, 8, 30, tzinfo=SH)


def test_first_due_week_follows_the_subscription():
    # subscribed on Wednesday of W47: W47 is due (its send is the Monday after)
    assert first_due_week(local(2026, 11, 18), weekday=0, at=time(8, 30), tz="Asia/Shanghai").iso == "2026-W47"
    # subscribed on Monday 07:00 of W48, before the 08:30 send: W47 is still due
    assert first_due_week(local(2026, 11, 23, 7), weekday=0, at=time(8, 30), tz="Asia/Shanghai").iso == "2026-W47"
    # subscribed on Monday 09:00 of W48: W47 went out without them; W48 is the first
    assert first_due_week(local(2026, 11, 23, 9), weekday=0, at=time(8, 30), tz="Asia/Shanghai").iso == "2026-W48"


def test_checks_at_sunday_2359_and_monday_0000_fall_in_the_right_week(session):
    _, villages = add_places(session)
    for at, verdict in (
        (local(2026, 11, 15, 23, 59, 0), "duty"),  # Sunday 23:59 local: W46
        (local(2026, 11, 16, 0, 0, 0), "assist"),  # Monday 00:00 local: W47
        (local(2026, 11, 22, 23, 59, 0), "restricted"),  # Sunday 23:59: still W47
        (local(2026, 11, 22, 23, 59, 59), "unclear"),  # Sunday 23:59:59: still W47
        (local(2026, 11, 23, 0, 0, 0), "unlisted"),  # Monday 00:00: W48
    ):
        log_check(session, text="边界", verdict=verdict, village_id=villages["V1"], now=at)
    for at, department in (
        (local(2026, 11, 22, 23, 59, 0), "区民政局"),  # Sunday 23:59: W47
        (local(2026, 11, 23, 0, 0, 0), "区卫健委"),  # Monday 00:00: W48
    ):
        record_red_card(session, village_id=villages["V1"], department=department, task_text="摊派", now=at)
    period = ensure_period(session, period_spec(date(2026, 11, 1)))
    for i, day in enumerate((date(2026, 11, 15), date(2026, 11, 16), date(2026, 11, 22), date(2026, 11, 23))):
        submit_response(session, respondent_key=f"{i:064d}", village_id=villages["V1"], period_id=period.id,
                        answers={"overall": 4}, day=day)
    session.flush()
    scope = resolve_scope(session, "T1")
    now = local(2026, 11, 30)
    w46 = build_digest(session, scope, Week.parse("2026-W46"), now=now)
    w47 = build_digest(session, scope, Week.parse("2026-W47"), now=now)
    w48 = build_digest(session, scope, Week.parse("2026-W48"), now=now)
    assert w46.checks.by_verdict == {"duty": 1}
    assert w47.checks.by_verdict == {"assist": 1, "restricted": 1, "unclear": 1}
    assert w47.checks.previous_by_verdict == {"duty": 1}
    assert w48.checks.by_verdict == {"unlisted": 1}
    assert (w46.checks.total, w47.checks.total, w48.checks.total) == (1, 3, 1)
    assert [d.department for d in w47.red_cards.by_department] == ["区民政局"]
    assert [d.department for d in w48.red_cards.by_department] == ["区卫健委"]
    # survey responses carry only the local day: Monday 16th and Sunday 22nd are W47
    assert (w46.satisfaction.responses_this_week, w47.satisfaction.responses_this_week,
            w48.satisfaction.responses_this_week) == (1, 2, 1)
