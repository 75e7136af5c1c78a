"""Guessing invite codes, as a user sees it: five wrong codes lock the account out for a while, with the time
to try again; after that, the right code still registers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from storage.models import InviteAttempts, utcnow
from storage.timeutil import local_now
from tests.bot.conftest import CADRE_ID


async def test_five_wrong_codes_lock_out_registration_until_a_given_time(bot, invite, session_factory):
    cadre = bot.chat(CADRE_ID, "王书记")
    code = invite("cadre", "V1")
    for _ in range(4):
        await cadre.send_command("register", "ZZZZZZZZ")
        assert "邀请码不存在" in cadre.last_message.text and "再试" not in cadre.last_message.text
    before = utcnow()
    await cadre.send_command("register", "ZZZZZZZZ")
    fifth = cadre.last_message.text
    assert "邀请码不存在" in fifth and "输错次数太多" in fifth
    expected = {local_now(before + timedelta(minutes=15) + timedelta(seconds=s)).strftime("%H:%M") for s in (0, 60)}
    assert any(f"请于 {at} 之后再试" in fifth for at in expected), fifth

    await cadre.send_command("register", code)  # locked: not even the right code is tried
    assert "输错次数太多" in cadre.last_message.text and "注册成功" not in cadre.last_message.text
    await cadre.send_command("help")
    assert "/register" in cadre.last_message.text  # still a guest

    with session_factory() as s:  # the fifteen minutes are over
        s.execute(update(InviteAttempts).values(locked_until=utcnow() - timedelta(seconds=1)))
        s.commit()
    await cadre.send_command("register", code)
    assert "注册成功" in cadre.last_message.text and "东湖村" in cadre.last_message.text
