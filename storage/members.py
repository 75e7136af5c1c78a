"""Members (cadres, bureau staff, admins) and their single-use, expiring invite codes.

Redeeming is atomic: `UPDATE invites SET used_at=… WHERE code=… AND used_at IS NULL AND expires_at > now`
and only the caller whose UPDATE hit the row gets the membership; everyone else gets `InviteRejected`.

Guessing is throttled per Telegram user in the database (invite_attempts, so it holds across restarts and
workers): after MAX_WRONG_CODES wrong codes within WRONG_CODE_WINDOW, no code is tried for LOCKOUT
(InviteFailure.LOCKED, with `retry_at`). A right code clears the count.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage._sql import upsert_insert
from storage.audit import log_action
from storage.errors import InvalidInput, InviteFailure, InviteRejected
from storage.models import (
    INVITE_CODE_MAX,
    ROLE_ADMIN,
    ROLE_BUREAU,
    ROLE_CADRE,
    ROLE_DEPARTMENT,
    ROLES,
    Invite,
    InviteAttempts,
    Member,
    utcnow,
)
from storage.places import require_town, require_village

# No 0/O, 1/I/L: easy to read out and type. 31^8 ≈ 8.5e11 codes.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_CODE_LENGTH = 8
DEFAULT_INVITE_TTL = timedelta(days=7)
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(minutes=10)
LOCKOUT = timedelta(minutes=15)
SURVEY_START_PREFIX = "s_"  # t.me/<bot>?start=s_<villagecode>; invite codes never contain '_'


def generate_invite_code(length: int = INVITE_CODE_LENGTH) -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(length))


def normalize_invite_code(text: str) -> str:
    """What the user typed or the deep link carried: upper-cased, spaces and dashes removed."""
    return "".join(ch for ch in (text or "").strip().upper() if ch not in " -\t")


def issue_invite(
    session: Session,
    *,
    role: str,
    village_code: str | None = None,
    town_code: str | None = None,
    department: str | None = None,
    ttl: timedelta = DEFAULT_INVITE_TTL,
    now: datetime | None = None,
    actor: str | Member | int | None = "cli",
) -> Invite:
    """Create an invite: role 'cadre' needs village_code, 'bureau' needs town_code, 'department' needs town_code and
    the department's canonical name (the caller resolves aliases), 'admin' none of them.

    Raises InvalidInput (bad role / missing place) or NotFound (unknown place).
    """
    if role not in ROLES:
        raise InvalidInput(f"角色无效: {role!r}（可选 {', '.join(ROLES)}）")
    village = town = None
    department = (department or "").strip()
    if department and role != ROLE_DEPARTMENT:
        raise InvalidInput("只有部门人员的邀请码需要 --department")
    if role == ROLE_CADRE:
        if not village_code or town_code:
            raise InvalidInput("村/社区干部的邀请码需要 --village，且不能同时指定 --town")
        village = require_village(session, village_code)
    elif role == ROLE_BUREAU:
        if not town_code or village_code:
            raise InvalidInput("民政局（镇街）人员的邀请码需要 --town，且不能同时指定 --village")
        town = require_town(session, town_code)
    elif role == ROLE_DEPARTMENT:
        if not town_code or village_code or not department or len(department) > 100:
            raise InvalidInput("部门人员的邀请码需要 --town 和 --department（部门名称），且不能指定 --village")
        town = require_town(session, town_code)
    elif village_code or town_code:
        raise InvalidInput("管理员邀请码不绑定地点")
    if ttl <= timedelta(0):
        raise InvalidInput("有效期必须大于 0")
    now = now or utcnow()
    code = generate_invite_code()
    while session.scalar(select(Invite.id).where(Invite.code == code)) is not None:
        code = generate_invite_code()
    invite = Invite(code=code, role=role, village=village, town=town, department=department, created_at=now,
                    expires_at=now + ttl)
    session.add(invite)
    session.flush()
    log_action(
        session,
        actor,
        "issue_invite",
        {
            "role": role,
            "village": village.code if village else None,
            "town": town.code if town else None,
            "department": department or None,
            "expires_at": invite.expires_at.isoformat(),
        },
        now=now,
    )
    return invite


def redeem_invite(
    session: Session,
    code: str,
    *,
    telegram_user_id: int,
    display_name: str = "",
    now: datetime | None = None,
) -> Member:
    """Consume the invite and bind the Telegram user to its role and place (creating or re-binding the member).

    Raises InviteRejected(reason) with reason InviteFailure.UNKNOWN, USED or EXPIRED, or LOCKED (too many wrong
    codes lately; the code is not even tried). Only one of several concurrent redeemers of one code succeeds.
    A wrong code is counted in this transaction before InviteRejected is raised: the caller commits also then,
    or the throttle never sees it.
    """
    now = now or utcnow()
    code = normalize_invite_code(code)
    attempts = _attempts_locked(session, telegram_user_id, now)
    if attempts.locked_until is not None and attempts.locked_until > now:
        raise InviteRejected(InviteFailure.LOCKED, retry_at=attempts.locked_until)
    if not code or len(code) > INVITE_CODE_MAX:
        raise _wrong_code(attempts, InviteFailure.UNKNOWN, now)
    consumed = session.execute(
        update(Invite)
        .where(Invite.code == code, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now)
        .returning(Invite.id, Invite.role, Invite.village_id, Invite.town_id, Invite.department)
        .execution_options(synchronize_session=False)
    ).first()
    if consumed is None:
        raise _wrong_code(attempts, _why_refused(session, code, now), now)
    session.delete(attempts)
    display_name = (display_name or "").strip()[:200]
    member_id = session.execute(
        upsert_insert(session, Member)
        .values(
            telegram_user_id=telegram_user_id,
            role=consumed.role,
            village_id=consumed.village_id,
            town_id=consumed.town_id,
            department=consumed.department,
            display_name=display_name,
            created_at=now,
        )
        .on_conflict_do_update(
            index_elements=[Member.telegram_user_id],
            set_={
                "role": consumed.role,
                "village_id": consumed.village_id,
                "town_id": consumed.town_id,
                "department": consumed.department,
                "display_name": display_name,
            },
        )
        .returning(Member.id)
    ).scalar_one()
    session.execute(
        update(Invite)
        .where(Invite.id == consumed.id)
        .values(used_by=member_id)
        .execution_options(synchronize_session=False)
    )
    log_action(
        session,
        member_id,
        "redeem_invite",
        {"invite_id": consumed.id, "role": consumed.role, "village_id": consumed.village_id, "town_id": consumed.town_id},
        now=now,
    )
    member = session.get(Member, member_id, populate_existing=True)
    assert member is not None
    return member


def _attempts_locked(session: Session, telegram_user_id: int, now: datetime) -> InviteAttempts:
    """The user's attempts row, created if missing and locked for this transaction (FOR UPDATE on PostgreSQL; on
    SQLite the INSERT already holds the write lock), so that concurrent wrong codes are all counted."""
    session.execute(
        upsert_insert(session, InviteAttempts)
        .values(telegram_user_id=telegram_user_id, failures=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["telegram_user_id"])
    )
    attempts = session.scalar(
        select(InviteAttempts).where(InviteAttempts.telegram_user_id == telegram_user_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    return cast(InviteAttempts, attempts)


def _wrong_code(attempts: InviteAttempts, reason: InviteFailure, now: datetime) -> InviteRejected:
    """Count a wrong code (a new window once the last one is over); the one that reaches MAX_WRONG_CODES starts
    the lock-out (then `retry_at` is set). The user is still told why this code was refused."""
    if attempts.window_started_at <= now - WRONG_CODE_WINDOW or attempts.locked_until is not None:
        attempts.failures, attempts.window_started_at, attempts.locked_until = 0, now, None
    attempts.failures += 1
    if attempts.failures >= MAX_WRONG_CODES:
        attempts.locked_until = now + LOCKOUT
    return InviteRejected(reason, retry_at=attempts.locked_until)


def wrong_code_lockout(session: Session, telegram_user_id: int, *, now: datetime | None = None) -> datetime | None:
    """Until when this user may not try an invite code (UTC), or None."""
    locked_until = session.scalar(
        select(InviteAttempts.locked_until).where(InviteAttempts.telegram_user_id == telegram_user_id)
    )
    return locked_until if locked_until is not None and locked_until > (now or utcnow()) else None


def _why_refused(session: Session, code: str, now: datetime) -> InviteFailure:
    invite = session.scalar(select(Invite).where(Invite.code == code))
    if invite is None:
        return InviteFailure.UNKNOWN
    if invite.used_at is not None:
        return InviteFailure.USED
    return InviteFailure.EXPIRED


def get_invite(session: Session, code: str) -> Invite | None:
    return session.scalar(select(Invite).where(Invite.code == normalize_invite_code(code)))


def get_member(session: Session, telegram_user_id: int) -> Member | None:
    """The member with this Telegram user ID (village and town loaded), or None for a non-member."""
    return session.scalar(select(Member).where(Member.telegram_user_id == telegram_user_id))


def get_member_by_id(session: Session, member_id: int) -> Member | None:
    return session.get(Member, member_id)


def list_members(
    session: Session, *, role: str | None = None, village_id: int | None = None, town_id: int | None = None
) -> list[Member]:
    query = select(Member).order_by(Member.id)
    if role is not None:
        query = query.where(Member.role == role)
    if village_id is not None:
        query = query.where(Member.village_id == village_id)
    if town_id is not None:
        query = query.where(Member.town_id == town_id)
    return list(session.scalars(query))


def remove_member(session: Session, telegram_user_id: int, *, actor: str | Member | int | None = "cli") -> bool:
    """Delete a membership (the person becomes an ordinary user). False if there was none."""
    member = get_member(session, telegram_user_id)
    if member is None:
        return False
    log_action(session, actor, "remove_member", {"member_id": member.id, "role": member.role})
    session.delete(member)
    session.flush()
    return True


def _bot(bot_username: str) -> str:
    return (bot_username or "").strip().lstrip("@")


def invite_link(bot_username: str, code: str) -> str:
    """https://t.me/<bot>?start=<code>"""
    return f"https://t.me/{_bot(bot_username)}?start={code}"


def survey_link(bot_username: str, village_code: str) -> str:
    """https://t.me/<bot>?start=s_<villagecode>"""
    return f"https://t.me/{_bot(bot_username)}?start={SURVEY_START_PREFIX}{village_code}"


__all__ = [
    "DEFAULT_INVITE_TTL",
    "INVITE_ALPHABET",
    "INVITE_CODE_LENGTH",
    "LOCKOUT",
    "MAX_WRONG_CODES",
    "WRONG_CODE_WINDOW",
    "InviteFailure",
    "InviteRejected",
    "ROLE_ADMIN",
    "ROLE_BUREAU",
    "ROLE_CADRE",
    "SURVEY_START_PREFIX",
    "generate_invite_code",
    "get_invite",
    "get_member",
    "get_member_by_id",
    "invite_link",
    "issue_invite",
    "list_members",
    "normalize_invite_code",
    "redeem_invite",
    "remove_member",
    "survey_link",
    "wrong_code_lockout",
]
