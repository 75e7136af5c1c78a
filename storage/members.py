"""Members (cadres, bureau staff, admins) and their single-use, expiring invite codes.

Redeeming is atomic: `UPDATE invites SET used_at=… WHERE code=… AND used_at IS NULL AND expires_at > now`
and only the caller whose UPDATE hit the row gets the membership; everyone else gets `InviteRejected`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

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
    ROLES,
    Invite,
    Member,
    utcnow,
)
from storage.places import require_town, require_village

# No 0/O, 1/I/L: easy to read out and type. 31^8 ≈ 8.5e11 codes.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_CODE_LENGTH = 8
DEFAULT_INVITE_TTL = timedelta(days=7)
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
    ttl: timedelta = DEFAULT_INVITE_TTL,
    now: datetime | None = None,
    actor: str | Member | int | None = "cli",
) -> Invite:
    """Create an invite: role 'cadre' needs village_code, 'bureau' needs town_code, 'admin' neither.

    Raises InvalidInput (bad role / missing place) or NotFound (unknown place).
    """
    if role not in ROLES:
        raise InvalidInput(f"角色无效: {role!r}（可选 {', '.join(ROLES)}）")
    village = town = None
    if role == ROLE_CADRE:
        if not village_code or town_code:
            raise InvalidInput("村/社区干部的邀请码需要 --village，且不能同时指定 --town")
        village = require_village(session, village_code)
    elif role == ROLE_BUREAU:
        if not town_code or village_code:
            raise InvalidInput("民政局（镇街）人员的邀请码需要 --town，且不能同时指定 --village")
        town = require_town(session, town_code)
    elif village_code or town_code:
        raise InvalidInput("管理员邀请码不绑定地点")
    if ttl <= timedelta(0):
        raise InvalidInput("有效期必须大于 0")
    now = now or utcnow()
    code = generate_invite_code()
    while session.scalar(select(Invite.id).where(Invite.code == code)) is not None:
        code = generate_invite_code()
    invite = Invite(code=code, role=role, village=village, town=town, created_at=now, expires_at=now + ttl)
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

    Raises InviteRejected(reason) with reason InviteFailure.UNKNOWN, USED or EXPIRED. Only one of several
    concurrent redeemers of one code succeeds. The caller commits (or rolls back on error).
    """
    code = normalize_invite_code(code)
    if not code or len(code) > INVITE_CODE_MAX:
        raise InviteRejected(InviteFailure.UNKNOWN)
    now = now or utcnow()
    consumed = session.execute(
        update(Invite)
        .where(Invite.code == code, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now)
        .returning(Invite.id, Invite.role, Invite.village_id, Invite.town_id)
        .execution_options(synchronize_session=False)
    ).first()
    if consumed is None:
        raise InviteRejected(_why_refused(session, code, now))
    display_name = (display_name or "").strip()[:200]
    member_id = session.execute(
        upsert_insert(session, Member)
        .values(
            telegram_user_id=telegram_user_id,
            role=consumed.role,
            village_id=consumed.village_id,
            town_id=consumed.town_id,
            display_name=display_name,
            created_at=now,
        )
        .on_conflict_do_update(
            index_elements=[Member.telegram_user_id],
            set_={
                "role": consumed.role,
                "village_id": consumed.village_id,
                "town_id": consumed.town_id,
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
]
