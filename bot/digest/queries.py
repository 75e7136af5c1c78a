"""Build the weekly digest of a town or of the whole city with SQL aggregation.

    scope = resolve_scope(session, "DEMO")          # or resolve_scope(session, None) for the city roll-up
    digest = build_digest(session, scope, Week.parse("2026-W47"), item_titles={"A1": "…"})

Every figure comes from a GROUP BY in the database; Python only adds up the integer partial sums the database
returns (per village and aspect, ≤ villages × aspects rows) and never walks raw rows. The queries and the indexes
they use (see bench/digest_scale.py for EXPLAIN output):

    checks       check_log        ix_check_log_created_at (city) / ix_check_log_village_id_created_at (town)
    red cards    red_card_events  ix_red_card_events_at, joined to red_cards by primary key
    satisfaction survey_answers   ix_survey_answers_period_village_aspect (covering: period, village, aspect, score)
                 survey_responses ix_survey_responses_period_id (city) / ix_survey_responses_village_id_period_id (town)

A town scope filters with `village_id IN (SELECT id FROM villages WHERE town_id = :town)`; the city scope takes
every village (checks of unregistered users, which have no village, belong to no town and are left out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from bot.digest.anonymize import DEFAULT_LIMIT, anonymize, is_informative
from bot.digest.model import (
    COMMENTS,
    GAP_SAMPLES,
    MIN_RESPONSES,
    TOP_ITEMS,
    AspectScore,
    CheckSection,
    Comment,
    DepartmentCards,
    DepartmentWeek,
    DepartmentYear,
    Digest,
    GapSample,
    ItemCount,
    RedCardRow,
    RedCardSection,
    SatisfactionSection,
    Scope,
    Score,
    VillageRow,
)
from bot.digest.weeks import Week
from knowledge.model import Verdict
from storage.errors import NotFound
from storage.models import (
    CheckLog,
    RedCard,
    RedCardEvent,
    SurveyAnswer,
    SurveyPeriod,
    SurveyResponse,
    Town,
    Village,
    utcnow,
)
from storage.places import get_town
from storage.timeutil import local_date
from texts import digest as T

REPORT_ACTIONS = ("created", "reported_again")
# How many candidate rows to read for samples, so that enough remain after dropping empty ones.
SAMPLE_OVERFETCH = 4
DETAIL_NAMES = 3  # item ids / village names listed per department


def resolve_scope(session: Session, town_code: str | None) -> Scope:
    """The scope of a town code, or the city roll-up for None/'' / 'city'. NotFound for an unknown town."""
    if not town_code or town_code.strip().lower() == "city":
        return Scope("city", T.CITY_NAME)
    town = get_town(session, town_code)
    if town is None:
        raise NotFound("town", town_code)
    return Scope("town", town.name, town.id, town.code)


def scope_of_town(town: Town) -> Scope:
    return Scope("town", town.name, town.id, town.code)


def _in_scope(column: Any, scope: Scope) -> Any:
    """A condition on a village_id column: the town's villages, or any village for the city."""
    if scope.is_city:
        return column.is_not(None)
    return column.in_(select(Village.id).where(Village.town_id == scope.town_id).scalar_subquery())


def build_digest(
    session: Session,
    scope: Scope,
    week: Week,
    *,
    now: datetime | None = None,
    item_titles: Mapping[str, str] | None = None,
    aspects: Sequence[Any] | None = None,
    comment_limit: int = DEFAULT_LIMIT,
) -> Digest:
    """The digest of `scope` for `week` as seen at `now` (default: the current time).

    item_titles: item id -> title (from the knowledge base) for readable item names.
    aspects: the survey's aspect set (objects with .code and .label; default: storage.surveys.configured_aspects()).
    """
    now = now or utcnow()
    titles = dict(item_titles or {})
    villages = _villages(session, scope)
    names = {v["id"]: v["name"] for v in villages}
    checks, village_checks = _checks(session, scope, week, titles, names, comment_limit)
    red_cards, village_reports = _red_cards(session, scope, week, titles, villages)
    satisfaction = _satisfaction(session, scope, week, now, villages, village_checks, village_reports, aspects, comment_limit)
    return Digest(
        scope=scope,
        week=week,
        generated_at=now,
        checks=checks,
        red_cards=red_cards,
        satisfaction=satisfaction,
        partial=now < week.end_utc,
    )


def _villages(session: Session, scope: Scope) -> list[dict[str, Any]]:
    query = (
        select(Village.id, Village.code, Village.name, Town.name.label("town"))
        .join(Town, Town.id == Village.town_id)
        .order_by(Village.code)
    )
    if not scope.is_city:
        query = query.where(Village.town_id == scope.town_id)
    return [dict(row._mapping) for row in session.execute(query)]


def _title(titles: Mapping[str, str], item_id: str) -> str:
    if not item_id:
        return T.UNLISTED_ITEM
    return titles.get(item_id, "")


# ---------------------------------------------------------------------------------------------- checks


def _checks(
    session: Session,
    scope: Scope,
    week: Week,
    titles: Mapping[str, str],
    names: Mapping[int, str],
    comment_limit: int,
) -> tuple[CheckSection, dict[int, int]]:
    section = CheckSection()
    previous = week.previous()
    in_scope = _in_scope(CheckLog.village_id, scope)
    this_week = and_(CheckLog.created_at >= week.start_utc, CheckLog.created_at < week.end_utc)

    # Two weeks in one pass: verdict x feedback counts, split by week.
    current = case((CheckLog.created_at >= week.start_utc, 1), else_=0).label("current")
    rows = session.execute(
        select(current, CheckLog.verdict, CheckLog.feedback, func.count().label("n"))
        .where(CheckLog.created_at >= previous.start_utc, CheckLog.created_at < week.end_utc, in_scope)
        .group_by(current, CheckLog.verdict, CheckLog.feedback)
    ).all()
    for is_current, verdict, feedback, n in rows:
        if is_current:
            section.total += n
            section.by_verdict[verdict] = section.by_verdict.get(verdict, 0) + n
            if feedback == -1:
                section.thumbs_down += n
            elif feedback == 1:
                section.thumbs_up += n
        else:
            section.previous_total += n
            section.previous_by_verdict[verdict] = section.previous_by_verdict.get(verdict, 0) + n
    section.unclear = section.by_verdict.get(Verdict.UNCLEAR, 0)

    count = func.count().label("n")
    section.top_items = [
        ItemCount(item_id, _title(titles, item_id), n)
        for item_id, n in session.execute(
            select(CheckLog.top_item_id, count)
            .where(this_week, in_scope, CheckLog.top_item_id.is_not(None), CheckLog.top_item_id != "")
            .group_by(CheckLog.top_item_id)
            .order_by(count.desc(), CheckLog.top_item_id)
            .limit(TOP_ITEMS)
        )
    ]

    gaps = session.execute(
        select(CheckLog.text, CheckLog.verdict, CheckLog.feedback, CheckLog.village_id, CheckLog.created_at)
        .where(this_week, in_scope, or_(CheckLog.verdict == Verdict.UNCLEAR, CheckLog.feedback == -1))
        .order_by(CheckLog.created_at.desc(), CheckLog.id.desc())
        .limit(GAP_SAMPLES * SAMPLE_OVERFETCH)
    ).all()
    for text, verdict, feedback, village_id, created_at in gaps:
        clean = anonymize(text, comment_limit)
        if not is_informative(clean):
            continue
        section.gaps.append(
            GapSample(clean, verdict, feedback, names.get(village_id, ""), local_date(created_at, week.tz))
        )
        if len(section.gaps) == GAP_SAMPLES:
            break

    per_village = dict(
        session.execute(
            select(CheckLog.village_id, func.count()).where(this_week, in_scope).group_by(CheckLog.village_id)
        ).all()
    )
    return section, per_village


# ---------------------------------------------------------------------------------------------- red cards


def _red_cards(
    session: Session, scope: Scope, week: Week, titles: Mapping[str, str], villages: list[dict[str, Any]]
) -> tuple[RedCardSection, dict[int, int]]:
    section = RedCardSection(year=week.sunday.year)
    in_scope = _in_scope(RedCard.village_id, scope)
    in_week = and_(RedCardEvent.at >= week.start_utc, RedCardEvent.at < week.end_utc)
    reports = RedCardEvent.action.in_(REPORT_ACTIONS)
    events = select().select_from(RedCardEvent).join(RedCard, RedCard.id == RedCardEvent.red_card_id)

    n = func.count().label("n")
    by_department = session.execute(
        events.add_columns(
            RedCard.department_key,
            n,
            func.count(func.distinct(RedCard.item_id)),
            func.count(func.distinct(RedCard.village_id)),
        )
        .where(in_week, reports, in_scope)
        .group_by(RedCard.department_key)
        .order_by(n.desc(), RedCard.department_key)
    ).all()

    by_place = {v["id"]: v for v in villages}
    detail = session.execute(
        events.add_columns(RedCard.department_key, RedCard.item_id, RedCard.village_id, RedCard.status, n)
        .where(in_week, reports, in_scope)
        .group_by(RedCard.department_key, RedCard.item_id, RedCard.village_id, RedCard.status)
        .order_by(RedCard.department_key, n.desc(), RedCard.item_id, RedCard.village_id)
    ).all()
    section.rows = [
        RedCardRow(
            department=department,
            item_id=item_id,
            item_title=_title(titles, item_id),
            village=by_place.get(village_id, {}).get("name", ""),
            town=by_place.get(village_id, {}).get("town", ""),
            reports=count,
            status=status,
        )
        for department, item_id, village_id, status, count in detail
    ]
    # Names for the text view: per department the items and villages with the most reports (from the rows above,
    # already grouped by the database).
    item_reports: dict[str, dict[str, int]] = {}
    village_reports_by_dep: dict[str, dict[str, int]] = {}
    for row in section.rows:
        items = item_reports.setdefault(row.department, {})
        items[row.item_id or T.UNLISTED_ITEM] = items.get(row.item_id or T.UNLISTED_ITEM, 0) + row.reports
        places = village_reports_by_dep.setdefault(row.department, {})
        places[row.village] = places.get(row.village, 0) + row.reports
    for department, count, items, places in by_department:
        section.by_department.append(
            DepartmentWeek(
                department=department,
                reports=count,
                items=items,
                villages=places,
                item_ids=_ranked(item_reports.get(department, {})),
                village_names=_ranked(village_reports_by_dep.get(department, {})),
            )
        )
        section.reports += count

    for action, count in session.execute(
        events.add_columns(RedCardEvent.action, func.count(func.distinct(RedCardEvent.red_card_id)))
        .where(in_week, RedCardEvent.action.in_(("created", "confirmed", "withdrawn")), in_scope)
        .group_by(RedCardEvent.action)
    ):
        if action == "created":
            section.new = count
        elif action == "confirmed":
            section.confirmed = count
        elif action == "withdrawn":
            section.withdrawn = count

    section.ytd = [
        DepartmentYear(department, count, cards, places)
        for department, count, cards, places in session.execute(
            events.add_columns(
                RedCard.department_key,
                n,
                func.count(func.distinct(RedCard.id)),
                func.count(func.distinct(RedCard.village_id)),
            )
            .where(
                RedCardEvent.at >= week.year_start_utc,
                RedCardEvent.at < week.end_utc,
                reports,
                RedCard.status != "withdrawn",
                in_scope,
            )
            .group_by(RedCard.department_key)
            .order_by(n.desc(), RedCard.department_key)
        )
    ]

    section.charted = _charted_cards(session, scope, week)

    per_village = dict(
        session.execute(
            events.add_columns(RedCard.village_id, func.count())
            .where(in_week, reports, in_scope)
            .group_by(RedCard.village_id)
        ).all()
    )
    return section, per_village


def _charted_cards(session: Session, scope: Scope, week: Week) -> list[DepartmentCards]:
    """Per department, the cards created or confirmed this week that are not withdrawn now (a card reported and
    withdrawn by mistake is no candidate at all), each card counted once: as confirmed if it was confirmed this
    week, else as new."""
    confirmed_flag = func.max(case((RedCardEvent.action == "confirmed", 1), else_=0)).label("confirmed")
    per_card = (
        select(RedCard.department_key.label("department"), confirmed_flag)
        .select_from(RedCardEvent)
        .join(RedCard, RedCard.id == RedCardEvent.red_card_id)
        .where(
            RedCardEvent.at >= week.start_utc,
            RedCardEvent.at < week.end_utc,
            RedCardEvent.action.in_(("created", "confirmed")),
            RedCard.status != "withdrawn",
            _in_scope(RedCard.village_id, scope),
        )
        .group_by(RedCard.id, RedCard.department_key)
        .subquery()
    )
    confirmed = func.sum(per_card.c.confirmed)
    total = func.count()
    rows = session.execute(
        select(per_card.c.department, total - confirmed, confirmed)
        .group_by(per_card.c.department)
        .order_by(total.desc(), per_card.c.department)
    ).all()
    return [DepartmentCards(department, int(new), int(done)) for department, new, done in rows]


def _ranked(counts: Mapping[str, int]) -> tuple[str, ...]:
    return tuple(name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# ---------------------------------------------------------------------------------------------- satisfaction


def _periods(session: Session, reference: date) -> tuple[SurveyPeriod | None, SurveyPeriod | None]:
    current = session.scalar(
        select(SurveyPeriod).where(SurveyPeriod.starts_on <= reference).order_by(SurveyPeriod.starts_on.desc()).limit(1)
    )
    if current is None:
        return None, None
    previous = session.scalar(
        select(SurveyPeriod)
        .where(SurveyPeriod.starts_on < current.starts_on)
        .order_by(SurveyPeriod.starts_on.desc())
        .limit(1)
    )
    return current, previous


def _aspect_list(aspects: Sequence[Any] | None) -> list[tuple[str, str]]:
    if aspects is None:
        from storage.surveys import configured_aspects

        aspects = configured_aspects()
    return [(a.code, a.label) for a in aspects]


def _satisfaction(
    session: Session,
    scope: Scope,
    week: Week,
    now: datetime,
    villages: list[dict[str, Any]],
    village_checks: Mapping[int, int],
    village_reports: Mapping[int, int],
    aspects: Sequence[Any] | None,
    comment_limit: int,
) -> SatisfactionSection:
    section = SatisfactionSection()
    reference = min(week.sunday, local_date(now, week.tz))
    current, previous = _periods(session, reference)
    period_ids = [p.id for p in (current, previous) if p is not None]

    responses: dict[tuple[int, int], int] = {}
    answers: dict[tuple[int, int], dict[str, Score]] = {}
    if period_ids:
        section.period = current.code if current else None
        section.previous_period = previous.code if previous else None
        in_scope = _in_scope(SurveyResponse.village_id, scope)
        for period_id, village_id, count in session.execute(
            select(SurveyResponse.period_id, SurveyResponse.village_id, func.count())
            .where(SurveyResponse.period_id.in_(period_ids), in_scope)
            .group_by(SurveyResponse.period_id, SurveyResponse.village_id)
        ):
            responses[(period_id, village_id)] = count
        for period_id, village_id, aspect, count, total in session.execute(
            select(
                SurveyAnswer.period_id,
                SurveyAnswer.village_id,
                SurveyAnswer.aspect_code,
                func.count(),
                func.sum(SurveyAnswer.score),
            )
            .where(SurveyAnswer.period_id.in_(period_ids), _in_scope(SurveyAnswer.village_id, scope))
            .group_by(SurveyAnswer.period_id, SurveyAnswer.village_id, SurveyAnswer.aspect_code)
        ):
            answers.setdefault((period_id, village_id), {})[aspect] = Score(int(total), count)

        # The periods the week overlaps, looked up first: with a literal IN list the planner narrows by period
        # through an index instead of scanning every response.
        overlapping = list(
            session.scalars(
                select(SurveyPeriod.id).where(SurveyPeriod.starts_on <= week.sunday, SurveyPeriod.ends_on >= week.monday)
            )
        )
        section.responses_this_week = session.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(
                SurveyResponse.period_id.in_(overlapping),
                SurveyResponse.day >= week.monday,
                SurveyResponse.day <= week.sunday,
                in_scope,
            )
        ) or 0

    cur_id = current.id if current else None
    prev_id = previous.id if previous else None
    # Roll the (village, aspect) partial sums up to the scope: integer sums, one pass over the grouped rows.
    totals: dict[tuple[int | None, str], list[int]] = {}
    for (period_id, _), scores in answers.items():
        for code, score in scores.items():
            entry = totals.setdefault((period_id, code), [0, 0])
            entry[0] += score.total
            entry[1] += score.n
    aspect_totals = {code: Score(t, n) for (pid, code), (t, n) in totals.items() if pid == cur_id}
    previous_totals = {code: Score(t, n) for (pid, code), (t, n) in totals.items() if pid == prev_id}
    rows: list[VillageRow] = []
    empty: dict[str, Score] = {}
    for village in villages:
        vid = village["id"]
        scores = answers.get((cur_id, vid), empty)
        previous_scores = answers.get((prev_id, vid), empty)
        rows.append(
            VillageRow(
                village_id=vid,
                code=village["code"],
                name=village["name"],
                town=village["town"],
                checks=village_checks.get(vid, 0),
                red_card_reports=village_reports.get(vid, 0),
                responses=responses.get((cur_id, vid), 0),
                previous_responses=responses.get((prev_id, vid), 0),
                overall=_sum(scores),
                previous_overall=_sum(previous_scores),
                aspects=dict(scores),
            )
        )
    section.villages = rows
    section.responses = sum(r.responses for r in rows)
    section.previous_responses = sum(r.previous_responses for r in rows)
    section.overall = _sum(aspect_totals)
    section.previous_overall = _sum(previous_totals)

    known = _aspect_list(aspects)
    codes = [code for code, _ in known] + sorted(set(aspect_totals) - {code for code, _ in known})
    labels = dict(known)
    section.aspects = [
        AspectScore(
            code=code,
            label=labels.get(code, code),
            current=aspect_totals.get(code, Score()),
            previous=previous_totals.get(code, Score()) if section.previous_responses >= MIN_RESPONSES else Score(),
            suppressed=section.suppressed,
        )
        for code in codes
    ]
    if current is not None:
        section.comments = _comments(session, scope, current.id, reference, {v["id"]: v["name"] for v in villages}, comment_limit)
    return section


def _sum(scores: Mapping[str, Score]) -> Score:
    return Score(sum(s.total for s in scores.values()), sum(s.n for s in scores.values()))


def _comments(
    session: Session, scope: Scope, period_id: int, reference: date, names: Mapping[int, str], limit: int
) -> list[Comment]:
    """The most recent comments of the period up to `reference`, only from villages with enough responses (so no
    comment can be traced to one of a handful of respondents)."""
    enough = (
        select(SurveyResponse.village_id)
        .where(SurveyResponse.period_id == period_id, _in_scope(SurveyResponse.village_id, scope))
        .group_by(SurveyResponse.village_id)
        .having(func.count() >= MIN_RESPONSES)
    )
    rows = session.execute(
        select(SurveyResponse.comment, SurveyResponse.village_id, SurveyResponse.day)
        .where(
            SurveyResponse.period_id == period_id,
            SurveyResponse.day <= reference,
            SurveyResponse.comment.is_not(None),
            SurveyResponse.comment != literal(""),
            _in_scope(SurveyResponse.village_id, scope),  # lets a town's query start from its villages
            SurveyResponse.village_id.in_(enough.scalar_subquery()),
        )
        .order_by(SurveyResponse.day.desc(), SurveyResponse.id.desc())
        .limit(COMMENTS * SAMPLE_OVERFETCH)
    ).all()
    comments: list[Comment] = []
    for text, village_id, day in rows:
        clean = anonymize(text, limit)
        if is_informative(clean):
            comments.append(Comment(clean, names.get(village_id, ""), day))
        if len(comments) == COMMENTS:
            break
    return comments


__all__ = ["REPORT_ACTIONS", "build_digest", "resolve_scope", "scope_of_town"]
