"""Every figure of the digest equals an independent SQL count over the fixture data, for a town and for the
city roll-up, on SQLite and PostgreSQL; and the text a bureau member reads shows those same figures."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text as sql_text

from bot.digest import MIN_RESPONSES, Week, anonymize, build_digest, render_text, resolve_scope
from bot.digest.anonymize import is_informative
from tests.digest.world import NOW, WEEK, sql, sql_one, town_filter
from texts import digest as T

SCOPES = ["T1", "T2", None]


def _town_id(world, code):
    return world.towns[code] if code else None


@pytest.fixture
def digest_world(shared_world):
    return shared_world.world


@pytest.fixture
def session(ro_session):
    return ro_session


@pytest.fixture
def digests(session):
    return {code: build_digest(session, resolve_scope(session, code), Week.parse(WEEK), now=NOW) for code in SCOPES}


@pytest.mark.parametrize("code", SCOPES, ids=["T1", "T2", "city"])
def test_check_figures_equal_sql_counts(digest_world, session, digests, code):
    d = digests[code]
    week = Week.parse(WEEK)
    where = town_filter("c", _town_id(digest_world, code))
    for bounds, total, by_verdict in (
        ((week.start_utc, week.end_utc), d.checks.total, d.checks.by_verdict),
        ((week.previous().start_utc, week.previous().end_utc), d.checks.previous_total, d.checks.previous_by_verdict),
    ):
        rows = sql(
            session,
            f"SELECT verdict, COUNT(*) FROM check_log c WHERE created_at >= :s AND created_at < :e {where} GROUP BY verdict",
            s=bounds[0],
            e=bounds[1],
        )
        assert by_verdict == dict(rows)
        assert total == sum(n for _, n in rows) > 0
    counts = dict(
        sql(
            session,
            "SELECT CASE WHEN feedback = -1 THEN 'down' WHEN feedback = 1 THEN 'up' ELSE 'none' END, COUNT(*) "
            f"FROM check_log c WHERE created_at >= :s AND created_at < :e {where} GROUP BY 1",
            s=week.start_utc,
            e=week.end_utc,
        )
    )
    assert d.checks.thumbs_down == counts.get("down", 0)
    assert d.checks.thumbs_up == counts.get("up", 0)
    assert d.checks.unclear == d.checks.by_verdict.get("unclear", 0)
    top = sql(
        session,
        f"SELECT top_item_id, COUNT(*) FROM check_log c WHERE created_at >= :s AND created_at < :e {where} "
        "AND top_item_id IS NOT NULL GROUP BY top_item_id ORDER BY COUNT(*) DESC, top_item_id LIMIT 5",
        s=week.start_utc,
        e=week.end_utc,
    )
    assert [(i.item_id, i.count) for i in d.checks.top_items] == top

    text = render_text(d)
    assert T.CHECKS_TOTAL.format(
        total=d.checks.total, previous=d.checks.previous_total, change=_change(d.checks.total, d.checks.previous_total)
    ) in text
    for verdict, n in d.checks.by_verdict.items():
        label = T.VERDICT_LABELS[verdict]
        assert f"{label} {n}（上周 {d.checks.previous_by_verdict.get(verdict, 0)}）" in text


def _change(now: int, before: int) -> str:
    return T.CHANGE_UP.format(n=now - before) if now > before else T.CHANGE_DOWN.format(n=before - now) if now < before else T.CHANGE_SAME


def test_checks_of_unregistered_users_are_in_no_town(digest_world, session, digests):
    """Checks without a village belong to no town: the city is exactly the sum of its towns."""
    assert digests[None].checks.total == digests["T1"].checks.total + digests["T2"].checks.total
    week = Week.parse(WEEK)
    unregistered = sql_one(
        session,
        "SELECT COUNT(*) FROM check_log WHERE village_id IS NULL AND created_at >= :s AND created_at < :e",
        s=week.start_utc,
        e=week.end_utc,
    )
    assert unregistered > 0  # the fixture has some, and they are not counted


@pytest.mark.parametrize("code", SCOPES, ids=["T1", "T2", "city"])
def test_red_card_figures_equal_sql_counts(digest_world, session, digests, code):
    d = digests[code].red_cards
    week = Week.parse(WEEK)
    where = town_filter("r", _town_id(digest_world, code))
    rows = sql(
        session,
        "SELECT r.department, COUNT(*), COUNT(DISTINCT r.item_id), COUNT(DISTINCT r.village_id) "
        "FROM red_card_events e JOIN red_cards r ON r.id = e.red_card_id "
        f"WHERE e.at >= :s AND e.at < :e AND e.action IN ('created', 'reported_again') {where} "
        "GROUP BY r.department",
        s=week.start_utc,
        e=week.end_utc,
    )
    assert {(x.department, x.reports, x.items, x.villages) for x in d.by_department} == set(rows)
    assert [x.reports for x in d.by_department] == sorted((x.reports for x in d.by_department), reverse=True)
    assert d.reports == sum(r[1] for r in rows) > 0
    assert sum(row.reports for row in d.rows) == d.reports

    actions = dict(
        sql(
            session,
            "SELECT e.action, COUNT(DISTINCT e.red_card_id) FROM red_card_events e JOIN red_cards r ON r.id = e.red_card_id "
            f"WHERE e.at >= :s AND e.at < :e {where} GROUP BY e.action",
            s=week.start_utc,
            e=week.end_utc,
        )
    )
    assert (d.new, d.confirmed, d.withdrawn) == (actions.get("created", 0), actions.get("confirmed", 0), actions.get("withdrawn", 0))
    assert d.confirmed > 0 and d.withdrawn > 0

    ytd = sql(
        session,
        "SELECT r.department, COUNT(*), COUNT(DISTINCT r.id) FROM red_card_events e JOIN red_cards r ON r.id = e.red_card_id "
        f"WHERE e.at >= :y AND e.at < :e AND e.action IN ('created', 'reported_again') AND r.status <> 'withdrawn' {where} "
        "GROUP BY r.department",
        y=week.year_start_utc,
        e=week.end_utc,
    )
    assert {(x.department, x.reports, x.cards) for x in d.ytd} == set(ytd)
    # the reports of December 2025 are not in 2026's ranking
    all_time = sql_one(
        session,
        "SELECT COUNT(*) FROM red_card_events e JOIN red_cards r ON r.id = e.red_card_id "
        f"WHERE e.at < :e AND e.action IN ('created', 'reported_again') AND r.status <> 'withdrawn' {where}",
        e=week.end_utc,
    )
    if code is None:
        assert sum(x.reports for x in d.ytd) < all_time

    text = render_text(digests[code])
    for i, x in enumerate(d.by_department, 1):
        assert T.DEPARTMENT_LINE.format(rank=i, department=x.department, reports=x.reports, items=x.items, villages=x.villages) in text
    assert T.RED_CARDS_FLOW.format(new=d.new, confirmed=d.confirmed, withdrawn=d.withdrawn) in text


@pytest.mark.parametrize("code", SCOPES, ids=["T1", "T2", "city"])
def test_satisfaction_figures_equal_sql_counts(digest_world, session, digests, code):
    s = digests[code].satisfaction
    where = town_filter("r", _town_id(digest_world, code))
    assert (s.period, s.previous_period) == ("2026-11", "2026-10")
    for period, aspects_of in (("2026-11", lambda a: a.current), ("2026-10", lambda a: a.previous)):
        rows = sql(
            session,
            "SELECT a.aspect_code, COUNT(*), AVG(a.score * 1.0) FROM survey_answers a "
            "JOIN survey_responses r ON r.id = a.response_id JOIN survey_periods p ON p.id = r.period_id "
            f"WHERE p.code = :p {where} GROUP BY a.aspect_code",
            p=period,
        )
        expected = {aspect: (n, round(float(avg), 2)) for aspect, n, avg in rows}
        got = {a.code: (aspects_of(a).n, aspects_of(a).rounded()) for a in s.aspects if aspects_of(a).n}
        assert got == expected
    responses = dict(
        sql(
            session,
            "SELECT p.code, COUNT(*) FROM survey_responses r JOIN survey_periods p ON p.id = r.period_id "
            f"WHERE 1 = 1 {where} GROUP BY p.code",
        )
    )
    assert (s.responses, s.previous_responses) == (responses.get("2026-11", 0), responses.get("2026-10", 0))
    assert s.responses_this_week == sql_one(
        session,
        f"SELECT COUNT(*) FROM survey_responses r WHERE r.day >= :a AND r.day <= :b {where}",
        a=date(2026, 11, 16),
        b=date(2026, 11, 22),
    )

    per_village = {
        vid: (n, avg)
        for vid, n, avg in sql(
            session,
            "SELECT r.village_id, COUNT(DISTINCT r.id), AVG(a.score * 1.0) FROM survey_responses r "
            "JOIN survey_periods p ON p.id = r.period_id LEFT JOIN survey_answers a ON a.response_id = r.id "
            f"WHERE p.code = '2026-11' {where} GROUP BY r.village_id",
        )
    }
    for v in s.villages:
        n, avg = per_village.get(v.village_id, (0, None))
        assert v.responses == n
        assert v.overall.rounded() == (None if avg is None else round(float(avg), 2))
        assert v.suppressed == (n < MIN_RESPONSES)

    text = render_text(digests[code])
    assert T.PERIOD_LINE.format(period="2026-11", responses=s.responses, previous=s.previous_responses, week=s.responses_this_week) in text
    for a in s.aspects:
        if a.current.n >= MIN_RESPONSES:
            assert f"{a.label} {a.current.rounded():.2f}（n={a.current.n}，" in text
        elif a.current.n:  # answered by too few residents: 样本不足, never the average
            assert T.ASPECT_LINE_INSUFFICIENT.format(label=a.label, n=a.current.n) in text
            assert f"{a.label} {a.current.rounded():.2f}" not in text
    ranked = sorted(
        ((round(float(avg), 2), vid) for vid, (n, avg) in per_village.items() if n >= MIN_RESPONSES and avg is not None)
    )
    assert [v.overall.rounded() for v in s.lowest] == [avg for avg, _ in ranked[:5]]


def test_suppressed_village_shows_no_score_anywhere(digest_world, session, digests):
    """西山村 has fewer than 5 responses: 样本不足 in the text, no average, and none of its comments."""
    d = digests["T1"]
    v2 = next(v for v in d.satisfaction.villages if v.code == "V2")
    n = sql_one(session, "SELECT COUNT(*) FROM survey_responses r JOIN survey_periods p ON p.id = r.period_id "
                         "WHERE p.code = '2026-11' AND r.village_id = :v", v=digest_world.villages["V2"])
    assert v2.responses == n and 0 < n < MIN_RESPONSES
    text = render_text(d)
    assert T.VILLAGE_LINE_SUPPRESSED.format(village="西山村", responses=n) in text
    satisfaction = text.split(T.SECTION_SATISFACTION, 1)[1]
    assert [line for line in satisfaction.splitlines() if "西山村" in line] == [
        T.VILLAGE_LINE_SUPPRESSED.format(village="西山村", responses=n)
    ]
    assert all(c.village != "西山村" for c in d.satisfaction.comments)
    assert "秘密" not in text
    assert v2 not in d.satisfaction.lowest


@pytest.mark.parametrize("code", SCOPES, ids=["T1", "T2", "city"])
def test_comments_are_recent_anonymised_and_from_large_enough_villages(digest_world, session, digests, code):
    s = digests[code].satisfaction
    where = town_filter("r", _town_id(digest_world, code))
    rows = sql(
        session,
        "SELECT r.comment, v.name, r.day FROM survey_responses r JOIN villages v ON v.id = r.village_id "
        "JOIN survey_periods p ON p.id = r.period_id "
        f"WHERE p.code = '2026-11' AND r.day <= :last AND r.comment IS NOT NULL AND r.comment <> '' {where} "
        "AND r.village_id IN (SELECT village_id FROM survey_responses x JOIN survey_periods q ON q.id = x.period_id "
        "WHERE q.code = '2026-11' GROUP BY village_id HAVING COUNT(*) >= 5) "
        "ORDER BY r.day DESC, r.id DESC LIMIT 5",
        last=date(2026, 11, 22),
    )
    assert [(c.text, c.village, c.day) for c in s.comments] == [
        (anonymize(text), name, day if isinstance(day, date) else date.fromisoformat(day)) for text, name, day in rows
    ]
    for c in s.comments:
        assert "138" not in c.text and "幸福路88号" not in c.text and "李建国" not in c.text and "张阿姨" not in c.text


def test_gap_samples_are_anonymised_and_never_empty(digest_world, session, digests):
    for d in digests.values():
        assert 0 < len(d.checks.gaps) <= 5
        for gap in d.checks.gaps:
            assert gap.verdict == "unclear" or gap.feedback == -1
            assert "139" not in gap.text and "3205" not in gap.text and "王大爷" not in gap.text
            assert is_informative(gap.text)  # never only markers (13800001111 alone is never shown)


def test_city_is_the_sum_of_its_towns(digests):
    city, t1, t2 = digests[None], digests["T1"], digests["T2"]
    assert city.red_cards.reports == t1.red_cards.reports + t2.red_cards.reports
    assert city.satisfaction.responses == t1.satisfaction.responses + t2.satisfaction.responses
    assert len(city.satisfaction.villages) == len(t1.satisfaction.villages) + len(t2.satisfaction.villages)
    for a in city.satisfaction.aspects:
        t1a = next(x for x in t1.satisfaction.aspects if x.code == a.code)
        t2a = next(x for x in t2.satisfaction.aspects if x.code == a.code)
        assert a.current == t1a.current + t2a.current


def test_cards_typed_differently_for_one_department_are_counted_together(session_factory):
    """A cadre types "镇医保办", another picks "医保局": the digest and the chart count one department, while each
    card keeps the name as it was typed."""
    from storage.places import add_town, add_village
    from storage.redcards import record_red_card

    in_week = Week.parse(WEEK).start_utc  # the first moment of the digest's week

    with session_factory() as s:
        add_town(s, "T9", "九镇")
        east = add_village(s, "V91", "东村", "T9")
        west = add_village(s, "V92", "西村", "T9")
        record_red_card(s, village_id=east.id, department="镇医保办", department_key="医保局", item_id="C11",
                        task_text="让村里代收医保费", now=in_week)
        record_red_card(s, village_id=west.id, department="医保局", department_key="医保局", item_id="C11",
                        task_text="医保费你们收一下", now=in_week)
        s.commit()
        digest = build_digest(s, resolve_scope(s, "T9"), Week.parse(WEEK), now=NOW)
        typed = sorted(s.scalars(sql_text("SELECT department FROM red_cards")).all())
    assert [(d.department, d.reports) for d in digest.red_cards.by_department] == [("医保局", 2)]
    assert typed == ["医保局", "镇医保办"]
