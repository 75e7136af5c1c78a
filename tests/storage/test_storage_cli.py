"""The admin and db commands, run through bot.cli.main as a user would type them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from storage.errors import InviteRejected
from storage.members import redeem_invite
from storage.migrate import head_revision
from storage.models import Invite, Town, Village

LINK_RE = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_]+)")


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A fresh data directory in tmp_path (SQLite default), run from another working directory."""
    data = tmp_path / "data"
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("CADREBOT_DATA_DIR", str(data))
    monkeypatch.setenv("CADREBOT_BOT_USERNAME", "demo_cadre_bot")
    return data


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def links(out: str) -> list[tuple[str, str]]:
    return LINK_RE.findall(out)


def test_db_upgrade_creates_the_sqlite_database_in_the_data_dir(cli_env, capsys):
    code, out, err = run(capsys, "admin", "add-town", "T1", "一镇")
    assert code == 1 and "cadrebot db upgrade" in err
    assert run(capsys, "db", "current")[0] == 1
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and head_revision() in out
    assert (cli_env / "cadrebot.db").is_file()
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and out.strip() == f"当前版本: {head_revision()}；最新"
    assert run(capsys, "db", "upgrade")[0] == 0  # idempotent


def test_places_invites_and_survey_links(cli_env, capsys):
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "admin", "add-town", "t1", "一镇")[0] == 0
    code, _, err = run(capsys, "admin", "add-town", "T1", "又一镇")
    assert code == 1 and "已存在" in err
    code, out, _ = run(capsys, "admin", "add-village", "V1", "一村", "--town", "T1")
    assert code == 0 and "V1 一村" in out
    code, _, err = run(capsys, "admin", "add-village", "V2", "二村", "--town", "NOPE")
    assert code == 1 and "找不到" in err

    code, out, _ = run(capsys, "admin", "invite", "--village", "V1", "--role", "cadre")
    assert code == 0
    ((bot, invite_code),) = links(out)
    assert bot == "demo_cadre_bot" and f"邀请码: {invite_code}" in out and f"/register {invite_code}" in out

    code, out, _ = run(capsys, "admin", "invite", "--town", "T1", "--role", "bureau", "--days", "2")
    assert code == 0
    ((_, bureau_code),) = links(out)

    code, _, err = run(capsys, "admin", "invite", "--town", "T1", "--role", "cadre")
    assert code == 1 and "--village" in err

    code, out, _ = run(capsys, "admin", "survey-link", "--village", "v1")
    assert code == 0 and links(out) == [("demo_cadre_bot", "s_V1")]
    assert run(capsys, "admin", "survey-link", "--village", "NOPE")[0] == 1

    db = Database(f"sqlite:///{cli_env / 'cadrebot.db'}")
    try:
        with db.session() as s:
            assert redeem_invite(s, invite_code, telegram_user_id=11).village.code == "V1"
            assert redeem_invite(s, bureau_code, telegram_user_id=12).town.code == "T1"
        with db.session() as s, pytest.raises(InviteRejected):
            redeem_invite(s, invite_code, telegram_user_id=13)
    finally:
        db.dispose()


def test_import_places_from_yaml_and_csv(cli_env, capsys, tmp_path):
    assert run(capsys, "db", "upgrade")[0] == 0
    yaml_file = tmp_path / "places.yaml"
    yaml_file.write_text("towns:\n  - code: A\n    name: 甲镇\n    villages:\n      - {code: A1, name: 甲一村}\n", encoding="utf-8")
    csv_file = tmp_path / "places.csv"
    csv_file.write_text("town_code,town_name,village_code,village_name\nB,乙镇,B1,乙一村\nB,乙镇,B2,乙二村\n", encoding="utf-8")
    code, out, _ = run(capsys, "admin", "import-places", str(yaml_file))
    assert code == 0 and "新增 1" in out
    assert run(capsys, "admin", "import-places", str(csv_file))[0] == 0
    assert run(capsys, "admin", "import-places", str(csv_file))[0] == 0  # again: no duplicates
    code, _, err = run(capsys, "admin", "import-places", str(tmp_path / "none.yaml"))
    assert code == 1 and "不存在" in err
    code, out, _ = run(capsys, "admin", "list-places")
    assert code == 0 and "A1\t甲一村" in out and "B2\t乙二村" in out


def test_seed_demo_is_idempotent_and_prints_working_invites(db_url, cli_env, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)  # both SQLite and PostgreSQL; seed-demo migrates by itself
    code, out, _ = run(capsys, "admin", "seed-demo")
    assert code == 0, out
    assert "示范镇" in out and "东风村" in out
    first_links = links(out)
    code, out, _ = run(capsys, "admin", "seed-demo")
    assert code == 0
    second_links = links(out)
    assert len(first_links) == len(second_links) == 3
    (_, cadre_code), (_, bureau_code), (_, survey) = second_links
    assert survey == "s_DEMO01"

    db = Database(db_url)
    try:
        with db.session() as s:
            assert s.query(Town).filter_by(code="DEMO").one().name == "示范镇"
            assert s.query(Village).count() == 3
            assert s.query(Invite).count() == 4
            assert redeem_invite(s, cadre_code, telegram_user_id=1).role == "cadre"
            bureau = redeem_invite(s, bureau_code, telegram_user_id=2)
            assert (bureau.role, bureau.town.code) == ("bureau", "DEMO")
    finally:
        db.dispose()


def test_demo_places_file_ships_with_the_storage_package():
    import storage

    demo = Path(storage.__file__).parent / "demo_places.yaml"
    assert demo.is_file()


@pytest.mark.parametrize("days", ["0", "-3", "366", "99999999"])
def test_invite_days_out_of_range_is_refused_clearly(cli_env, capsys, days):
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "admin", "add-town", "T1", "一镇")[0] == 0
    assert run(capsys, "admin", "add-village", "V1", "一村", "--town", "T1")[0] == 0
    code, out, err = run(capsys, "admin", "invite", "--village", "V1", "--role", "cadre", "--days", days)
    assert code == 2 and out == ""
    assert err.strip() == f"输入有误: --days 是邀请码的有效天数，应为 1 到 365 之间的整数，您输入的是 {days}"
    db = Database(f"sqlite:///{cli_env / 'cadrebot.db'}")
    try:
        with db.session() as s:
            assert s.query(Invite).count() == 0
    finally:
        db.dispose()
    code, out, _ = run(capsys, "admin", "invite", "--village", "V1", "--role", "cadre", "--days", "365")
    assert code == 0 and len(links(out)) == 1


def test_year_end_includes_a_towns_confirmed_red_cards(db_url, cli_env, capsys, monkeypatch):
    from storage.members import issue_invite
    from storage.models import AuditLog, RedCard
    from storage.redcards import (
        confirm_red_card,
        evaluation_period,
        record_red_card,
        timeline,
        withdraw_red_card,
    )

    monkeypatch.setenv("DATABASE_URL", db_url)
    assert run(capsys, "db", "upgrade")[0] == 0
    for argv in (("add-town", "T1", "一镇"), ("add-town", "T2", "二镇"), ("add-village", "V1", "一村", "--town", "T1"),
                 ("add-village", "V2", "二村", "--town", "T1"), ("add-village", "V3", "三村", "--town", "T2")):
        assert run(capsys, "admin", *argv)[0] == 0
    db = Database(db_url)
    try:
        with db.session() as s:
            cadres = {}
            for i, village in enumerate(("V1", "V2", "V3"), 1):
                code = issue_invite(s, role="cadre", village_code=village).code
                cadres[village] = redeem_invite(s, code, telegram_user_id=100 + i)

            def card(village, department, item, period="2025", times=1, status="confirmed"):
                for _ in range(times):
                    made = record_red_card(s, village_id=cadres[village].village_id, department=department,
                                           task_text=f"{department}的任务", item_id=item, period=period,
                                           member_id=cadres[village].id).card
                if status in ("confirmed", "withdrawn"):
                    confirm_red_card(s, made.id, cadres[village])
                if status == "withdrawn":
                    withdraw_red_card(s, made.id, cadres[village])
                return made.id

            included = [card("V1", "街道办事处", "C20", times=3), card("V2", "街道办事处", "C5"),
                        card("V2", "县人社局", "P1", times=2)]
            left = [card("V1", "县医保局", "C20", status="candidate"),     # not confirmed by its cadre
                    card("V1", "县民政局", "C21", status="withdrawn"),
                    card("V1", "街道办事处", "C20", period="2024"),         # another year
                    card("V3", "街道办事处", "C20")]                        # another town
        code, out, err = run(capsys, "admin", "year-end", "--town", "t1", "--period", "2025")
        assert code == 0, err
        assert out.splitlines() == [
            "已将 一镇（T1）2025 年度 3 条已确认的红牌候选纳入年终评估，按部门：",
            "  街道办事处：2 条，累计 4 次",
            "  县人社局：1 条，累计 2 次",
            "另有 1 条红牌候选尚待村(社区)干部确认，没有纳入。",
        ]
        with db.session() as s:
            status = {c.id: c.status for c in s.query(RedCard)}
            assert [status[i] for i in included] == ["included"] * 3
            assert [status[i] for i in left] == ["candidate", "withdrawn", "confirmed", "confirmed"]
            last = timeline(s, included[0])[-1]
            assert (last.action, last.actor_member_id) == ("included", None)
            audit = s.query(AuditLog).filter(AuditLog.action.in_(["include_red_card", "include_year_end"])).all()
            assert {a.actor for a in audit} == {"cli"}
            assert sorted(a.detail["red_card_id"] for a in audit if a.action == "include_red_card") == sorted(included)
            [run_entry] = [a for a in audit if a.action == "include_year_end"]
            assert run_entry.detail == {"town": "T1", "period": "2025", "included": 3, "unconfirmed": 1}
        # Again: nothing more to include.
        code, out, _ = run(capsys, "admin", "year-end", "--town", "T1", "--period", "2025")
        assert code == 0 and out.splitlines()[0] == "一镇（T1）2025 年度没有已确认、待纳入的红牌候选，没有更改。"
    finally:
        db.dispose()
    code, out, _ = run(capsys, "admin", "year-end", "--town", "T2")  # default: this evaluation year
    assert code == 0 and f"二镇（T2）{evaluation_period()} 年度没有" in out
    code, _, err = run(capsys, "admin", "year-end", "--town", "NOPE", "--period", "2025")
    assert code == 1 and "找不到镇/街道: NOPE" in err
    code, _, err = run(capsys, "admin", "year-end", "--town", "T1", "--period", "25")
    assert code == 2 and "--period" in err and "四位年份" in err


def test_every_command_is_there_and_a_missing_one_fails_loudly(monkeypatch, capsys):
    import bot.cli

    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    for command in ("chat", "check", "kb", "db", "admin", "run", "digest"):
        assert command in shown
    monkeypatch.setattr(bot.cli, "COMMAND_MODULES", (*bot.cli.COMMAND_MODULES, "bot.cli_nowhere"))
    with pytest.raises(ModuleNotFoundError, match="bot.cli_nowhere"):
        main(["--help"])
