"""Residents' satisfaction surveys: periods, anonymous respondent keys, drafts and responses.

Anonymity by construction: the respondent key is HMAC-SHA256(secret, telegram user id | village code |
period code); nothing in the survey tables holds a Telegram ID; a response keeps only its day (local date).
UNIQUE(respondent_key) in the database means one response per person, village and period.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.errors import AlreadyResponded, InvalidInput
from storage.models import SurveyAnswer, SurveyDraft, SurveyPeriod, SurveyResponse, utcnow
from storage.timeutil import DEFAULT_TZ, local_date

GRANULARITIES = ("monthly", "quarterly")
COMMENT_MAX = 1000
DRAFT_STAGES = ("aspects", "comment", "confirm")
DRAFT_MAX_AGE = timedelta(days=7)


# ---------------------------------------------------------------------------------------------- aspects


@dataclass(frozen=True)
class Aspect:
    code: str
    label: str


# The eight aspects of the founding documents.
DEFAULT_ASPECTS: tuple[Aspect, ...] = (
    Aspect("service", "社区为民服务"),
    Aspect("vulnerable", "关心弱势群体"),
    Aspect("culture", "社区文体教育"),
    Aspect("stability", "社区稳定工作"),
    Aspect("environment", "社区环境卫生"),
    Aspect("democracy", "社区民主自治"),
    Aspect("social_work", "社工工作绩效"),
    Aspect("overall", "社区综合评价"),
)



def configured_aspects(spec: str | None = None) -> tuple[Aspect, ...]:
    """The aspect set: `spec` or the env var CADREBOT_SURVEY_ASPECTS, else DEFAULT_ASPECTS.

    Spec: comma-separated entries, each a default code ('service') or 'code:标签' for a new aspect.
    """
    spec = os.environ.get("CADREBOT_SURVEY_ASPECTS", "") if spec is None else spec
    if not spec.strip():
        return DEFAULT_ASPECTS
    known = {a.code: a for a in DEFAULT_ASPECTS}
    result: list[Aspect] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        code, _, label = part.partition(":")
        code, label = code.strip(), label.strip()
        if not code or len(code) > 32:
            raise InvalidInput(f"bad aspect code: {part!r}")
        if not label:
            if code not in known:
                raise InvalidInput(f"unknown aspect {code!r}: give it a label, e.g. {code}:标签")
            label = known[code].label
        if any(a.code == code for a in result):
            raise InvalidInput(f"aspect {code!r} given twice")
        result.append(Aspect(code, label))
    return tuple(result) or DEFAULT_ASPECTS


# ---------------------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class PeriodSpec:
    code: str  # '2026-11' (monthly) or '2026-Q4' (quarterly)
    starts_on: date
    ends_on: date  # inclusive

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def period_spec(
    moment: datetime | date | None = None, granularity: str = "monthly", tz: str = DEFAULT_TZ
) -> PeriodSpec:
    """The period containing `moment` (default now), in local time: periods turn at local midnight."""
    if granularity not in GRANULARITIES:
        raise InvalidInput(f"survey period must be one of {GRANULARITIES}, not {granularity!r}")
    day = local_date(moment or utcnow(), tz)
    if granularity == "monthly":
        first = day.replace(day=1)
        last = day.replace(day=monthrange(day.year, day.month)[1])
        return PeriodSpec(f"{day.year}-{day.month:02d}", first, last)
    quarter = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * quarter - 2, 1)
    end_month = 3 * quarter
    last = date(day.year, end_month, monthrange(day.year, end_month)[1])
    return PeriodSpec(f"{day.year}-Q{quarter}", first, last)


def granularity_of(code: str) -> str:
    return "quarterly" if "-Q" in code else "monthly"


def previous_period_spec(spec: PeriodSpec) -> PeriodSpec:
    """The period just before `spec`, of the same granularity."""
    return period_spec(spec.starts_on - timedelta(days=1), granularity_of(spec.code))


def ensure_period(session: Session, spec: PeriodSpec) -> SurveyPeriod:
    """Get or create the period row (race-safe)."""
    session.execute(
        upsert_insert(session, SurveyPeriod)
        .values(code=spec.code, starts_on=spec.starts_on, ends_on=spec.ends_on)
        .on_conflict_do_nothing(index_elements=["code"])
    )
    period = session.scalar(select(SurveyPeriod).where(SurveyPeriod.code == spec.code))
    assert period is not None
    return period


def current_period(
    session: Session,
    settings: Any = None,
    *,
    now: datetime | None = None,
    granularity: str | None = None,
    tz: str | None = None,
) -> SurveyPeriod:
    """The period row for `now` (default: the current time), created if needed.

    Granularity and time zone come from the arguments, else from `settings` (survey_period, timezone),
    else monthly / Asia/Shanghai.
    """
    granularity = granularity or getattr(settings, "survey_period", None) or "monthly"
    tz = tz or getattr(settings, "timezone", None) or DEFAULT_TZ
    return ensure_period(session, period_spec(now or utcnow(), granularity, tz))


def get_period(session: Session, code: str) -> SurveyPeriod | None:
    return session.scalar(select(SurveyPeriod).where(SurveyPeriod.code == code))


# ---------------------------------------------------------------------------------------------- keys


def respondent_key(secret: str, telegram_user_id: int, village_code: str, period_code: str) -> str:
    """HMAC-SHA256(secret, '<user id>|<village code>|<period code>') as 64 hex chars."""
    if not secret:
        raise InvalidInput("survey secret is empty")
    message = f"{int(telegram_user_id)}|{village_code}|{period_code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def owner_key(secret: str, telegram_user_id: int) -> str:
    """HMAC-SHA256(secret, 'draft|<user id>'): finds a person's survey in progress without storing their ID."""
    if not secret:
        raise InvalidInput("survey secret is empty")
    return hmac.new(secret.encode(), f"draft|{int(telegram_user_id)}".encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------- drafts


def save_draft(
    session: Session,
    *,
    respondent_key: str,
    owner_key: str,
    village_id: int,
    period_id: int,
    stage: str = "aspects",
    step: int = 0,
    answers: Mapping[str, int | None] | None = None,
    comment: str | None = None,
    replace_existing: bool = False,
    now: datetime | None = None,
) -> SurveyDraft:
    """Create or overwrite the person's survey in progress (a person has at most one: any other draft of
    the same owner_key, e.g. for another village, is dropped)."""
    if stage not in DRAFT_STAGES:
        raise InvalidInput(f"stage must be one of {DRAFT_STAGES}")
    now = now or utcnow()
    session.execute(
        delete(SurveyDraft)
        .where(SurveyDraft.owner_key == owner_key, SurveyDraft.respondent_key != respondent_key)
        .execution_options(synchronize_session=False)
    )
    values = {
        "owner_key": owner_key,
        "village_id": village_id,
        "period_id": period_id,
        "stage": stage,
        "step": int(step),
        "answers": dict(answers or {}),
        "comment": _comment(comment),
        "replace_existing": bool(replace_existing),
        "updated_at": now,
    }
    session.execute(
        upsert_insert(session, SurveyDraft)
        .values(respondent_key=respondent_key, **values)
        .on_conflict_do_update(index_elements=["respondent_key"], set_=values)
    )
    draft = session.get(SurveyDraft, respondent_key, populate_existing=True)
    assert draft is not None
    return draft


def load_draft(
    session: Session,
    *,
    respondent_key: str | None = None,
    owner_key: str | None = None,
    max_age: timedelta | None = DRAFT_MAX_AGE,
    now: datetime | None = None,
) -> SurveyDraft | None:
    """The draft by respondent key or by owner key; None if absent or older than `max_age`."""
    if respondent_key is None and owner_key is None:
        raise InvalidInput("give respondent_key or owner_key")
    query = select(SurveyDraft)
    if respondent_key is not None:
        query = query.where(SurveyDraft.respondent_key == respondent_key)
    if owner_key is not None:
        query = query.where(SurveyDraft.owner_key == owner_key)
    draft = session.scalar(query)
    if draft is not None and max_age is not None and draft.updated_at < (now or utcnow()) - max_age:
        return None
    return draft


def delete_draft(session: Session, *, respondent_key: str | None = None, owner_key: str | None = None) -> bool:
    """Drop the draft (on cancel). True if there was one."""
    if respondent_key is None and owner_key is None:
        raise InvalidInput("give respondent_key or owner_key")
    query = delete(SurveyDraft)
    if respondent_key is not None:
        query = query.where(SurveyDraft.respondent_key == respondent_key)
    if owner_key is not None:
        query = query.where(SurveyDraft.owner_key == owner_key)
    result = session.execute(query.execution_options(synchronize_session="fetch"))
    return bool(result.rowcount)


def purge_stale_drafts(session: Session, *, older_than: timedelta = DRAFT_MAX_AGE, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - older_than
    result = session.execute(
        delete(SurveyDraft).where(SurveyDraft.updated_at < cutoff).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# ---------------------------------------------------------------------------------------------- responses


def has_responded(session: Session, respondent_key: str) -> bool:
    return session.scalar(select(SurveyResponse.id).where(SurveyResponse.respondent_key == respondent_key)) is not None


def get_response(session: Session, respondent_key: str) -> SurveyResponse | None:
    return session.scalar(select(SurveyResponse).where(SurveyResponse.respondent_key == respondent_key))


def submit_response(
    session: Session,
    *,
    respondent_key: str,
    village_id: int,
    period_id: int,
    answers: Mapping[str, int | None],
    comment: str | None = None,
    replace: bool = False,
    day: date | None = None,
    aspects: Iterable[Aspect] | None = None,
    tz: str = DEFAULT_TZ,
) -> SurveyResponse:
    """Store a response (scores 1-5 per aspect code; None or absent = skipped) and drop the draft.

    A second response with the same key raises AlreadyResponded unless replace=True, which overwrites
    the earlier answers and comment. `day` defaults to today's local date. InvalidInput for an unknown aspect,
    a score outside 1-5 or a response with no score and no comment.
    """
    allowed = {a.code for a in (aspects if aspects is not None else configured_aspects())}
    scores: dict[str, int] = {}
    for code, score in answers.items():
        if score is None:
            continue
        if code not in allowed:
            raise InvalidInput(f"unknown aspect: {code!r}")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidInput(f"score of {code!r} must be 1-5, not {score!r}")
        scores[code] = score
    comment = _comment(comment)
    if not scores and not comment:
        raise InvalidInput("至少回答一项或留下意见")
    day = day or local_date(utcnow(), tz)
    response_id = session.execute(
        upsert_insert(session, SurveyResponse)
        .values(respondent_key=respondent_key, village_id=village_id, period_id=period_id, day=day, comment=comment)
        .on_conflict_do_nothing(index_elements=["respondent_key"])
        .returning(SurveyResponse.id)
    ).scalar()
    if response_id is None:
        if not replace:
            raise AlreadyResponded("本期已经评价过")
        response_id = session.execute(
            update(SurveyResponse)
            .where(SurveyResponse.respondent_key == respondent_key)
            .values(day=day, comment=comment, village_id=village_id, period_id=period_id)
            .returning(SurveyResponse.id)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        session.execute(
            delete(SurveyAnswer)
            .where(SurveyAnswer.response_id == response_id)
            .execution_options(synchronize_session=False)
        )
    if scores:
        session.execute(
            SurveyAnswer.__table__.insert(),
            [
                {"response_id": response_id, "aspect_code": code, "score": score, "village_id": village_id, "period_id": period_id}
                for code, score in scores.items()
            ],
        )
    session.execute(
        delete(SurveyDraft)
        .where(SurveyDraft.respondent_key == respondent_key)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    response = session.get(SurveyResponse, response_id, populate_existing=True)
    assert response is not None
    return response


def _comment(comment: str | None) -> str | None:
    text = (comment or "").strip()
    return text[:COMMENT_MAX] or None


__all__ = [
    "Aspect",
    "COMMENT_MAX",
    "DEFAULT_ASPECTS",
    "DRAFT_MAX_AGE",
    "DRAFT_STAGES",
    "GRANULARITIES",
    "PeriodSpec",
    "configured_aspects",
    "current_period",
    "delete_draft",
    "ensure_period",
    "get_period",
    "get_response",
    "granularity_of",
    "has_responded",
    "load_draft",
    "owner_key",
    "period_spec",
    "previous_period_spec",
    "purge_stale_drafts",
    "respondent_key",
    "save_draft",
    "submit_response",
]
