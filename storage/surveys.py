"""Residents' satisfaction surveys: periods, anonymous respondent keys, drafts (surveys in progress) and responses.

Anonymity by construction: the respondent key is a slow keyed hash (scrypt, salted with an HMAC of the secret) of
telegram user id | village code | period code; nothing in the survey tables holds a Telegram ID; a response keeps
only its day (local date). A survey in progress is a pending step (pending_actions) found by the owner key, derived
the same slow way. UNIQUE(respondent_key) means one response per person, village and period while the period is
open; once it has closed, `erase_closed_keys` sets its keys to NULL (and drops its drafts), so nothing links an
answer to a person any more, even for someone holding the database and the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from calendar import monthrange
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from storage import pending
from storage._sql import affected_rows, upsert_insert
from storage.errors import AlreadyResponded, InvalidInput
from storage.models import PendingAction, SurveyAnswer, SurveyPeriod, SurveyResponse, utcnow
from storage.timeutil import DEFAULT_TZ, local_date

GRANULARITIES = ("monthly", "quarterly")
COMMENT_MAX = 1000
DRAFT_STAGES = ("aspects", "comment", "confirm")
DRAFT_MAX_AGE = timedelta(days=7)  # a survey in progress untouched this long is dropped
DRAFT_KIND = "survey"  # storage.pending kind of a survey in progress


# ---------------------------------------------------------------------------------------------- aspects


@dataclass(frozen=True)
class Aspect:
    code: str
    label: str


# A village (or an aspect) with fewer responses shows no average anywhere (样本不足): with so few, a mean could
# tell who answered what. The digest and the evaluation dossier both follow it.
MIN_RESPONSES = 5

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
    """The aspect set of `spec` (Settings.survey_aspects, i.e. CADREBOT_SURVEY_ASPECTS), else DEFAULT_ASPECTS.

    Spec: comma-separated entries, each a default code ('service') or 'code:标签' for a new aspect.
    """
    if not spec or not spec.strip():
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


# scrypt, so that someone holding the database AND the secret still pays ~50 ms of one core per guessed Telegram
# ID (per village and period). Measured on the 2-core development machine: 48 ms per key, 16 MiB of memory
# (128 * r * n bytes). n=2**15 took 120 ms there, too slow for the first message of every new resident.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 2 * 128 * SCRYPT_R * SCRYPT_N  # twice what n and r need: hashlib refuses below the need
SCRYPT_DKLEN = 32  # 64 hex characters, as the key columns hold
KEY_CACHE_SIZE = 4096  # keys memoized per process; deterministic, so every worker computes the same ones


@lru_cache(maxsize=KEY_CACHE_SIZE)
def _slow_key(secret: str, purpose: str, message: str) -> str:
    """scrypt(message, salt=HMAC-SHA256(secret, purpose)) as hex: a wrong secret gives unrelated keys."""
    salt = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
    return hashlib.scrypt(message.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                          maxmem=SCRYPT_MAXMEM, dklen=SCRYPT_DKLEN).hex()


def respondent_key(secret: str, telegram_user_id: int, village_code: str, period_code: str) -> str:
    """scrypt('<user id>|<village code>|<period code>', salt=HMAC(secret, 'respondent')) as 64 hex chars."""
    if not secret:
        raise InvalidInput("survey secret is empty")
    return _slow_key(secret, "respondent", f"{int(telegram_user_id)}|{village_code}|{period_code}")


def owner_key(secret: str, telegram_user_id: int) -> str:
    """scrypt('draft|<user id>', salt=HMAC(secret, 'draft-owner')): finds a person's survey in progress without
    storing their ID. Slow as the respondent key: a draft may hold that key (replacing an answer)."""
    if not secret:
        raise InvalidInput("survey secret is empty")
    return _slow_key(secret, "draft-owner", f"draft|{int(telegram_user_id)}")


def choice_key(secret: str, nonce: str) -> bytes:
    """HMAC-SHA256(secret, 'choices|<draft nonce>'): keys the order of a draft's answer codes in its buttons."""
    if not secret:
        raise InvalidInput("survey secret is empty")
    return hmac.new(secret.encode(), f"choices|{nonce}".encode(), hashlib.sha256).digest()


def new_nonce() -> str:
    """A fresh random draft nonce (the buttons of another draft mean other scores)."""
    return secrets.token_hex(8)


# ---------------------------------------------------------------------------------------------- drafts
# A survey in progress is a pending step (storage.pending, kind DRAFT_KIND) found by the owner key alone: no
# member_id, no chat_id. Every save pushes its expiry DRAFT_MAX_AGE further; the one purge of expired pending
# steps deletes abandoned drafts, so partial answers and their times are not kept for ever.


@dataclass(frozen=True)
class SurveyDraft:
    """A survey in progress, as saved: which response it will become and where the resident is."""

    respondent_key: str
    owner_key: str
    village_id: int
    period_id: int
    stage: str = "aspects"
    step: int = 0
    answers: Mapping[str, int | None] = field(default_factory=dict)
    comment: str | None = None
    replace_existing: bool = False
    nonce: str = ""  # random per draft: keys the answer codes of its buttons ("" only in drafts of old versions)
    prompt_message_id: int | None = None  # the comment prompt on screen (its 跳过 button goes once a comment arrives)


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
    nonce: str = "",
    prompt_message_id: int | None = None,
    now: datetime | None = None,
) -> SurveyDraft:
    """Create or overwrite the person's survey in progress (a person has at most one: a draft of the same
    owner_key for another village or period is replaced)."""
    if stage not in DRAFT_STAGES:
        raise InvalidInput(f"stage must be one of {DRAFT_STAGES}")
    draft = SurveyDraft(
        respondent_key=respondent_key,
        owner_key=owner_key,
        village_id=int(village_id),
        period_id=int(period_id),
        stage=stage,
        step=int(step),
        answers=dict(answers or {}),
        comment=_comment(comment),
        replace_existing=bool(replace_existing),
        nonce=str(nonce or ""),
        prompt_message_id=int(prompt_message_id) if prompt_message_id is not None else None,
    )
    payload = {
        "respondent_key": draft.respondent_key,
        "village_id": draft.village_id,
        "period_id": draft.period_id,
        "stage": draft.stage,
        "step": draft.step,
        "answers": dict(draft.answers),
        "comment": draft.comment,
        "replace_existing": draft.replace_existing,
        "nonce": draft.nonce,
        "prompt_message_id": draft.prompt_message_id,
    }
    pending.save_owned(session, kind=DRAFT_KIND, owner_key=owner_key, payload=payload, ttl=DRAFT_MAX_AGE, now=now)
    return draft


def any_draft(session: Session, *, now: datetime | None = None) -> bool:
    """Whether anybody has a survey in progress: when nobody has (most of the time), a message is not a survey
    answer, and its sender's slow owner key need not be derived at all."""
    return pending.any_unexpired(session, kind=DRAFT_KIND, now=now)


def load_draft(session: Session, *, owner_key: str, now: datetime | None = None) -> SurveyDraft | None:
    """The person's survey in progress; None if there is none, it expired, or its row is unreadable."""
    action = pending.get_owned(session, kind=DRAFT_KIND, owner_key=owner_key, now=now)
    if action is None:
        return None
    data = action.payload if isinstance(action.payload, dict) else {}
    try:
        return SurveyDraft(
            respondent_key=str(data["respondent_key"]),
            owner_key=owner_key,
            village_id=int(data["village_id"]),
            period_id=int(data["period_id"]),
            stage=str(data.get("stage") or "aspects"),
            step=int(data.get("step") or 0),
            answers=dict(data.get("answers") or {}),
            comment=data.get("comment") if isinstance(data.get("comment"), str) else None,
            replace_existing=bool(data.get("replace_existing")),
            nonce=str(data.get("nonce") or ""),
            prompt_message_id=int(data["prompt_message_id"]) if data.get("prompt_message_id") is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        return None  # damaged: as good as no draft (the next save overwrites it)


def delete_draft(session: Session, *, owner_key: str) -> bool:
    """Drop the person's survey in progress (on cancel). True if there was one."""
    return pending.delete_owned(session, kind=DRAFT_KIND, owner_key=owner_key)


def draft_owners(session: Session, *, now: datetime | None = None) -> set[str]:
    """The owner keys of every survey in progress."""
    return pending.owners_of(session, kind=DRAFT_KIND, now=now)


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
    owner_key: str | None = None,
) -> SurveyResponse:
    """Store a response (scores 1-5 per aspect code; None or absent = skipped) and drop the survey in progress
    of `owner_key` (if given) in the same transaction.

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
            cast(Table, SurveyAnswer.__table__).insert(),
            [
                {"response_id": response_id, "aspect_code": code, "score": score, "village_id": village_id, "period_id": period_id}
                for code, score in scores.items()
            ],
        )
    if owner_key is not None:
        delete_draft(session, owner_key=owner_key)
    session.flush()
    response = session.get(SurveyResponse, response_id, populate_existing=True)
    assert response is not None
    return response


# ---------------------------------------------------------------------------------------------- erasure


@dataclass(frozen=True)
class Erased:
    """What `erase_closed_keys` removed: respondent keys set to NULL, surveys in progress dropped."""

    keys: int
    drafts: int


def erase_closed_keys(session: Session, *, today: date | None = None, tz: str = DEFAULT_TZ) -> Erased:
    """Unlink the responses of every closed period (its last day before `today`, local) from their respondents:
    their respondent keys become NULL (NULLs never collide, so UNIQUE still holds for the open periods) and
    that period's drafts (owner key, respondent key, partial answers) are deleted. Scores, comments and days stay,
    so counts and averages are unchanged. Idempotent: run daily and from the CLI."""
    today = today or local_date(utcnow(), tz)
    closed = set(session.scalars(select(SurveyPeriod.id).where(SurveyPeriod.ends_on < today)))
    if not closed:
        return Erased(0, 0)
    keys = affected_rows(session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.period_id.in_(closed), SurveyResponse.respondent_key.is_not(None))
        .values(respondent_key=None)
        .execution_options(synchronize_session=False)
    ))
    stale = [
        row.id
        for row in session.execute(select(PendingAction.id, PendingAction.payload).where(PendingAction.kind == DRAFT_KIND))
        if _draft_period(row.payload) in closed or _draft_period(row.payload) is None
    ]
    if stale:  # a draft of a closed period can no longer be submitted: nothing of it is kept
        session.execute(delete(PendingAction).where(PendingAction.id.in_(stale))
                        .execution_options(synchronize_session=False))
    session.flush()
    return Erased(int(keys), len(stale))


def _draft_period(payload: Any) -> int | None:
    try:
        return int(payload["period_id"])
    except (KeyError, TypeError, ValueError):
        return None  # damaged: load_draft treats it as no draft, so it goes too


def _comment(comment: str | None) -> str | None:
    text = (comment or "").strip()
    return text[:COMMENT_MAX] or None


__all__ = [
    "MIN_RESPONSES",
    "Aspect",
    "COMMENT_MAX",
    "DEFAULT_ASPECTS",
    "DRAFT_KIND",
    "DRAFT_MAX_AGE",
    "DRAFT_STAGES",
    "Erased",
    "GRANULARITIES",
    "KEY_CACHE_SIZE",
    "SCRYPT_MAXMEM",
    "SCRYPT_N",
    "SCRYPT_P",
    "SCRYPT_R",
    "PeriodSpec",
    "SurveyDraft",
    "choice_key",
    "configured_aspects",
    "current_period",
    "delete_draft",
    "draft_owners",
    "ensure_period",
    "erase_closed_keys",
    "get_period",
    "get_response",
    "granularity_of",
    "has_responded",
    "load_draft",
    "new_nonce",
    "owner_key",
    "period_spec",
    "previous_period_spec",
    "respondent_key",
    "save_draft",
    "submit_response",
]
