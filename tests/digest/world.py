"""The digest tests' small city, written through the real storage services, and helpers for independent SQL.

    populate(session, villages, members)   checks, red cards and survey responses around 2026-W47
    sql(session, query, **params)          raw SQL (never the digest's own queries); datetimes are bound in the
                                           form each database stores them, so the counts are independent of
                                           bot.digest
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from storage.checklog import log_check
from storage.members import issue_invite, redeem_invite
from storage.places import add_town, add_village
from storage.redcards import confirm_red_card, record_red_card, withdraw_red_card
from storage.surveys import ensure_period, period_spec, submit_response

SH = ZoneInfo("Asia/Shanghai")
WEEK = "2026-W47"  # Monday 2026-11-16 to Sunday 2026-11-22, Asia/Shanghai
# When the tests look at W47: Tuesday of the following week, 10:00 local.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=SH).astimezone(UTC)

BUREAU_T1 = 8_100_000_001
BUREAU_T2 = 8_100_000_002
ADMIN_ID = 8_100_000_009
CADRE_BASE = 8_200_000_000  # + village number
STRANGER_ID = 8_300_000_001

TOWNS = {"T1": "示范镇", "T2": "清河街道"}
VILLAGES = {
    "V1": ("东湖村", "T1"),
    "V2": ("西山村", "T1"),
    "V3": ("南塘村", "T1"),
    "V4": ("北岭社区", "T1"),
    "V5": ("河东社区", "T2"),
    "V6": ("河西社区", "T2"),
}
VERDICTS = ("duty", "assist", "restricted", "certificate_refused", "unlisted", "unclear")
ITEMS = ("A1", "A3", "B6", "C2", "P10", None)
DEPARTMENTS = ("区民政局", "区卫健委", "街道城管科", "区人社局", "派出所")
RC_ITEMS = ("P10", "C2", "", "P3")
CHECK_TEXTS = (
    "街道让我们收医保的钱还要排名",
    "王大爷让社区开居住证明，电话13912345678",
    "派出所让社区开亲属关系证明",
    "要求村里填报幸福路88号3栋201室的人口信息",
    "13800001111",  # nothing left after masking: never shown
    "城管让村里去拆违，身份证320582199001011234也要登记",
)
COMMENTS = (
    "环境卫生比以前好多了",
    "张阿姨家门口路灯坏了，电话13812345678，希望尽快修",
    "我叫李建国，住幸福路88号3栋201室，希望多组织活动",
    "社工很热心",
    "停车太难了",
    None,
    None,
)
# Responses per village in the current period (2026-11) and the previous one (2026-10).
RESPONSES_NOW = {"V1": 12, "V2": 3, "V3": 7, "V4": 5, "V5": 9, "V6": 0}
RESPONSES_BEFORE = {"V1": 8, "V2": 4, "V3": 6, "V4": 2, "V5": 5, "V6": 1}
ASPECTS = ("service", "vulnerable", "culture", "stability", "environment", "democracy", "social_work", "overall")


def local(y: int, m: int, d: int, hh: int = 12, mm: int = 0, ss: int = 0) -> datetime:
    """A local Asia/Shanghai wall time as an aware UTC datetime."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH).astimezone(UTC)


@dataclass
class DigestWorld:
    towns: dict[str, int]
    villages: dict[str, int]
    members: dict[str, Any]
    now: datetime = NOW
    extra: dict[str, Any] = field(default_factory=dict)


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def add_places(session) -> tuple[dict[str, int], dict[str, int]]:
    towns = {code: add_town(session, code, name).id for code, name in TOWNS.items()}
    villages = {code: add_village(session, code, name, town).id for code, (name, town) in VILLAGES.items()}
    return towns, villages


def add_members(session) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for code in VILLAGES:
        invite = issue_invite(session, role="cadre", village_code=code)
        members[code] = redeem_invite(session, invite.code, telegram_user_id=CADRE_BASE + int(code[1:]))
    for name, user_id, spec in (
        ("bureau1", BUREAU_T1, dict(role="bureau", town_code="T1")),
        ("bureau2", BUREAU_T2, dict(role="bureau", town_code="T2")),
        ("admin", ADMIN_ID, dict(role="admin")),
    ):
        invite = issue_invite(session, **spec)
        members[name] = redeem_invite(session, invite.code, telegram_user_id=user_id, display_name=name)
    return members


def populate(session, villages: dict[str, int], members: dict[str, Any], seed: int = 47) -> None:
    """Checks, red cards and survey responses from 2025-12 to 2026-11-30, dense around W46-W47."""
    rng = random.Random(seed)
    codes = list(villages)
    w45_start = local(2026, 11, 2, 0, 0)
    w48_end = local(2026, 11, 30, 0, 0)
    span = (w48_end - w45_start).total_seconds()

    # --- checks: random over W45..W48, plus exact boundary cases
    for i in range(400):
        village = rng.choice([*codes, None])
        at = w45_start + timedelta(seconds=rng.random() * span)
        log_check(
            session,
            text=rng.choice(CHECK_TEXTS) + f" #{i}",
            verdict=rng.choice(VERDICTS),
            top_item_id=rng.choice(ITEMS),
            village_id=villages[village] if village else None,
            member_id=members[village].id if village else None,
            now=at,
        )
        feedback = rng.choice((None, None, 1, -1))
        if feedback is not None:
            session.execute(
                text("UPDATE check_log SET feedback = :f WHERE id = (SELECT MAX(id) FROM check_log)"), {"f": feedback}
            )
    for at, verdict in (
        (local(2026, 11, 15, 23, 59, 59), "duty"),  # Sunday of W46
        (local(2026, 11, 16, 0, 0, 0), "assist"),  # Monday 00:00 of W47
        (local(2026, 11, 22, 23, 59, 0), "restricted"),  # Sunday 23:59 of W47
        (local(2026, 11, 23, 0, 0, 0), "unlisted"),  # Monday 00:00 of W48
    ):
        log_check(session, text="边界", verdict=verdict, top_item_id="A1", village_id=villages["V1"], now=at)

    # --- red cards: reports spread over 2025-12..2026-11 (YTD and the year boundary), busy in W46-W47
    cards: list[int] = []
    moments = [local(2025, 12, 10), local(2026, 3, 5), local(2026, 7, 20)]
    moments += [local(2026, 11, 9) + timedelta(hours=rng.randrange(0, 24 * 21)) for _ in range(70)]
    for at in sorted(moments):
        village = rng.choice(codes)
        result = record_red_card(
            session,
            village_id=villages[village],
            department=rng.choice(DEPARTMENTS),
            item_id=rng.choice(RC_ITEMS),
            task_text="摊派任务",
            member_id=members[village].id,
            now=at,
        )
        if result.created:
            cards.append(result.card.id)
    session.flush()
    # confirm / withdraw some in W47, a few withdrawn earlier
    rows = session.execute(text("SELECT id, village_id FROM red_cards ORDER BY id")).all()
    by_village = {vid: code for code, vid in villages.items()}
    for index, (card_id, village_id) in enumerate(rows):
        actor = members[by_village[village_id]]
        if index % 5 == 0:
            confirm_red_card(session, card_id, actor, now=local(2026, 11, 17, 9) + timedelta(minutes=index))
        elif index % 7 == 0:
            withdraw_red_card(session, card_id, actor, now=local(2026, 11, 18, 15) + timedelta(minutes=index))
        elif index % 11 == 0:
            withdraw_red_card(session, card_id, actor, now=local(2026, 11, 3, 15))

    # --- surveys: 2026-10 and 2026-11
    november = ensure_period(session, period_spec(date(2026, 11, 15)))
    october = ensure_period(session, period_spec(date(2026, 10, 15)))
    for period, counts, first, days in (
        (november, RESPONSES_NOW, date(2026, 11, 1), 30),
        (october, RESPONSES_BEFORE, date(2026, 10, 1), 31),
    ):
        for code, count in counts.items():
            for i in range(count):
                answers = {a: (None if rng.random() < 0.15 else rng.randint(1, 5)) for a in ASPECTS}
                if not any(answers.values()):
                    answers["overall"] = 3
                submit_response(
                    session,
                    respondent_key=_key(period.code, code, i),
                    village_id=villages[code],
                    period_id=period.id,
                    answers=answers,
                    comment=rng.choice(COMMENTS),
                    day=first + timedelta(days=rng.randrange(days)),
                )
    # V2 (3 + 1 responses: 样本不足) gets the newest comment of W47: it must never be shown
    submit_response(
        session,
        respondent_key=_key("v2-secret"),
        village_id=villages["V2"],
        period_id=november.id,
        answers={"overall": 1},
        comment="西山村的秘密意见",
        day=date(2026, 11, 22),
    )


# ---------------------------------------------------------------------------------------------- independent SQL


def bind_time(session, moment: datetime) -> Any:
    """A UTC instant in the form the database stores check/event timestamps (SQLite: naive UTC text)."""
    moment = moment.astimezone(UTC)
    if session.get_bind().dialect.name == "sqlite":
        return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def sql(session, query: str, **params: Any) -> list[tuple]:
    """Raw SQL; datetime parameters are bound as the database stores them."""
    bound = {k: bind_time(session, v) if isinstance(v, datetime) else v for k, v in params.items()}
    return [tuple(row) for row in session.execute(text(query), bound).all()]


def sql_one(session, query: str, **params: Any) -> Any:
    rows = sql(session, query, **params)
    return rows[0][0] if rows else None


def town_filter(alias: str, town_id: int | None) -> str:
    """' AND <alias>.village_id IN (…)' for a town, or the city's 'village_id IS NOT NULL'."""
    if town_id is None:
        return f" AND {alias}.village_id IS NOT NULL"
    return f" AND {alias}.village_id IN (SELECT id FROM villages WHERE town_id = {int(town_id)})"
