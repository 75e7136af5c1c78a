"""Invites are single-use and expire; a bad code gets a clear reason; only one of two racing redeemers wins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.errors import InvalidInput, InviteFailure, InviteRejected, NotFound
from storage.members import (
    INVITE_ALPHABET,
    get_member,
    invite_link,
    issue_invite,
    redeem_invite,
    survey_link,
    wrong_code_lockout,
)
from storage.models import AuditLog, Invite, Member, utcnow
from storage.places import add_town, add_village


@pytest.fixture
def places(session):
    add_town(session, "T1", "一镇")
    add_village(session, "V1", "一村", "T1")
    add_village(session, "V2", "二村", "T1")
    session.commit()


def test_invite_code_is_short_and_unambiguous(session, places):
    codes = {issue_invite(session, role="cadre", village_code="V1").code for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == 8
        assert set(code) <= set(INVITE_ALPHABET)
        assert not set(code) & set("01OIL_")


def test_cadre_redeems_an_invite_and_is_bound_to_the_village(session, places):
    invite = issue_invite(session, role="cadre", village_code="V1")
    session.commit()
    member = redeem_invite(session, invite.code, telegram_user_id=123456789, display_name="王书记")
    session.commit()
    assert member.role == "cadre"
    assert member.village.code == "V1"
    assert member.town_id is None
    assert member.effective_town_id == member.village.town_id
    assert member.display_name == "王书记"
    assert member.created_at.tzinfo is not None
    found = get_member(session, 123456789)
    assert found is not None and found.id == member.id
    used = session.get(Invite, invite.id)
    session.refresh(used)
    assert used.used_at is not None and used.used_by == member.id
    assert session.query(AuditLog).filter_by(action="redeem_invite").count() == 1


def test_an_invite_works_only_once(session, places):
    invite = issue_invite(session, role="cadre", village_code="V1")
    redeem_invite(session, invite.code, telegram_user_id=1)
    session.commit()
    with pytest.raises(InviteRejected) as caught:
        redeem_invite(session, invite.code, telegram_user_id=2)
    assert caught.value.reason is InviteFailure.USED
    assert caught.value.reason is InviteFailure.USED
    session.rollback()
    assert get_member(session, 2) is None


def test_an_invite_expires_after_seven_days(session, places):
    start = utcnow()
    invite = issue_invite(session, role="cadre", village_code="V1", now=start)
    assert invite.expires_at == start + timedelta(days=7)
    session.commit()
    with pytest.raises(InviteRejected) as caught:
        redeem_invite(session, invite.code, telegram_user_id=1, now=start + timedelta(days=7, seconds=1))
    assert caught.value.reason is InviteFailure.EXPIRED
    session.rollback()
    member = redeem_invite(session, invite.code, telegram_user_id=1, now=start + timedelta(days=6, hours=23))
    assert member.role == "cadre"


def test_unknown_and_malformed_codes_are_refused_as_unknown(session, places):
    codes = ("ZZZZZZZZ", "", "   ", "x" * 100, "s_V1", "; DROP TABLE invites")
    for user_id, code in enumerate(codes, start=1):  # one account each: six wrong codes from one would lock it out
        with pytest.raises(InviteRejected) as caught:
            redeem_invite(session, code, telegram_user_id=user_id)
        assert caught.value.reason is InviteFailure.UNKNOWN


def test_codes_are_accepted_in_lower_case_and_with_spaces(session, places):
    invite = issue_invite(session, role="cadre", village_code="V1")
    typed = " " + invite.code[:4].lower() + " " + invite.code[4:].lower() + " "
    assert redeem_invite(session, typed, telegram_user_id=1).village.code == "V1"


def test_bureau_invite_binds_to_the_town_and_rebinds_an_existing_member(session, places):
    cadre = redeem_invite(session, issue_invite(session, role="cadre", village_code="V1").code, telegram_user_id=7)
    bureau = redeem_invite(session, issue_invite(session, role="bureau", town_code="T1").code, telegram_user_id=7)
    session.commit()
    assert bureau.id == cadre.id
    assert (bureau.role, bureau.village_id, bureau.town.code) == ("bureau", None, "T1")
    assert session.query(Member).count() == 1


def test_invite_needs_the_right_place_for_the_role(session, places):
    with pytest.raises(InvalidInput):
        issue_invite(session, role="cadre", town_code="T1")
    with pytest.raises(InvalidInput):
        issue_invite(session, role="bureau", village_code="V1")
    with pytest.raises(InvalidInput):
        issue_invite(session, role="resident", village_code="V1")
    with pytest.raises(NotFound):
        issue_invite(session, role="cadre", village_code="NOPE")
    assert issue_invite(session, role="admin").village is None


def test_two_concurrent_redeems_of_one_code_only_one_wins(session, places, overlap):
    invite = issue_invite(session, role="cadre", village_code="V1")
    session.commit()
    first, second = overlap(
        lambda s: redeem_invite(s, invite.code, telegram_user_id=101).id,
        lambda s: redeem_invite(s, invite.code, telegram_user_id=202).id,
    )
    assert first[1] is None and first[0] is not None
    assert isinstance(second[1], InviteRejected) and second[1].reason is InviteFailure.USED
    session.expire_all()
    assert get_member(session, 101) is not None
    assert get_member(session, 202) is None


def test_many_concurrent_redeems_of_one_code_only_one_wins(session, places, stampede):
    code = issue_invite(session, role="cadre", village_code="V2").code
    session.commit()
    counter = iter(range(1000, 2000))
    outcomes = stampede(lambda s: redeem_invite(s, code, telegram_user_id=next(counter)).id, n=8)
    winners = [o for o in outcomes if o.error is None]
    assert len(winners) == 1
    assert all(isinstance(o.error, InviteRejected) for o in outcomes if o.error is not None)
    session.expire_all()
    assert session.query(Member).count() == 1


def test_deep_links():
    assert invite_link("@demo_bot", "ABCD2345") == "https://t.me/demo_bot?start=ABCD2345"
    assert survey_link("demo_bot", "DEMO01") == "https://t.me/demo_bot?start=s_DEMO01"


# ---------------------------------------------------------------------------------------------- guessing codes


def _wrong(session, user_id, now, code="ZZZZZZZZ"):
    """One wrong code, committed as the bot commits it; the reason the user is given."""
    try:
        redeem_invite(session, code, telegram_user_id=user_id, now=now)
    except InviteRejected as rejected:
        session.commit()
        return rejected
    raise AssertionError("a wrong code was accepted")


def test_five_wrong_codes_lock_the_account_out_for_fifteen_minutes(session, places):
    start = utcnow()
    invite = issue_invite(session, role="cadre", village_code="V1", now=start)
    session.commit()
    for minute in range(4):
        refused = _wrong(session, 7, start + timedelta(minutes=minute))
        assert refused.reason is InviteFailure.UNKNOWN and refused.retry_at is None
    fifth = _wrong(session, 7, start + timedelta(minutes=4))
    assert fifth.reason is InviteFailure.UNKNOWN and fifth.retry_at == start + timedelta(minutes=19)
    # locked: even the right code is not tried, and the invite stays unused
    locked = _wrong(session, 7, start + timedelta(minutes=18), code=invite.code)
    assert locked.reason is InviteFailure.LOCKED and locked.retry_at == start + timedelta(minutes=19)
    assert wrong_code_lockout(session, 7, now=start + timedelta(minutes=18)) == start + timedelta(minutes=19)
    session.expire_all()
    assert session.get(Invite, invite.id).used_at is None
    # another account is not affected by this one's guesses
    assert wrong_code_lockout(session, 8, now=start + timedelta(minutes=18)) is None
    # after the lock-out the right code works
    member = redeem_invite(session, invite.code, telegram_user_id=7, now=start + timedelta(minutes=19, seconds=1))
    session.commit()
    assert member.role == "cadre"


def test_wrong_codes_spread_over_more_than_ten_minutes_do_not_lock_out(session, places):
    start = utcnow()
    for minute in (0, 3, 6, 9, 11, 13, 15, 17):  # never 5 within ten minutes of the first of a window
        refused = _wrong(session, 7, start + timedelta(minutes=minute))
        assert refused.reason is InviteFailure.UNKNOWN and refused.retry_at is None
    assert wrong_code_lockout(session, 7, now=start + timedelta(minutes=17)) is None


def test_a_right_code_clears_the_count_of_wrong_ones(session, places):
    start = utcnow()
    invite = issue_invite(session, role="cadre", village_code="V1", now=start)
    session.commit()
    for minute in range(4):
        _wrong(session, 7, start + timedelta(minutes=minute))
    redeem_invite(session, invite.code, telegram_user_id=7, now=start + timedelta(minutes=4))
    session.commit()
    assert _wrong(session, 7, start + timedelta(minutes=5)).retry_at is None
