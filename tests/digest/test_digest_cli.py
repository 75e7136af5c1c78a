"""`cadrebot digest --week 上周|11月18日|2026-W47 [--town CODE] --format text|md|xlsx|csv|png [--table NAME] --out FILE`
gives the same content as the bot, without Telegram; binary output never lands on a terminal."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot import cli_digest
from bot.cli import main
from bot.digest import Week, build_digest, render_text, resolve_scope
from bot.digest.tables import TABLE_KEYS
from bot.settings import Settings
from tests.digest.test_digest_exports import read_csv, read_csv_zip
from tests.digest.world import NOW, WEEK, local
from texts import digest as T


@pytest.fixture
def cli_env(shared_world, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", shared_world.url)
    monkeypatch.setenv("CADREBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli_digest, "clock", lambda: NOW)
    return shared_world


def test_text_to_stdout_is_the_bots_text(cli_env, ro_session, capsys):
    assert main(["digest", "--week", WEEK, "--town", "T1", "--format", "text"]) == 0
    out = capsys.readouterr().out
    titles = cli_digest.item_titles(Settings())
    expected = build_digest(ro_session, resolve_scope(ro_session, "T1"), Week.parse(WEEK), now=NOW, item_titles=titles)
    assert out == render_text(expected)
    assert "A1 宣传宪法法律和国家政策" in out  # item titles from the knowledge base


def test_without_a_week_it_is_the_current_week_so_far(cli_env, capsys, monkeypatch):
    monkeypatch.setattr(cli_digest, "clock", lambda: local(2026, 11, 19, 10, 5))
    assert main(["digest", "--town", "T2"]) == 0
    assert "2026-W47（11月16日—11月22日）（本周截至 11月19日 10:05）" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["xlsx", "png", "csv", "md"])
def test_files_for_the_city(cli_env, tmp_path, fmt):
    out = tmp_path / f"digest.{fmt}"
    assert main(["digest", "--week", WEEK, "--format", fmt, "--out", str(out)]) == 0
    data = out.read_bytes()
    if fmt == "xlsx":
        workbook = load_workbook(io.BytesIO(data))
        assert workbook.sheetnames == list(T.SHEETS)
        assert workbook["概览"]["B3"].value == T.CITY_NAME
    elif fmt == "png":
        assert Image.open(io.BytesIO(data)).size == (1200, 1500)
    elif fmt == "csv":
        files = read_csv_zip(data)
        assert list(files) == [f"{key}.csv" for key in TABLE_KEYS]
        header, rows = files["overview.csv"]
        assert header == T.OVERVIEW_HEADER and (T.OV_SCOPE, T.CITY_NAME, "") in rows
    else:
        assert data.decode("utf-8").startswith(f"# 政社互动周报 · {T.CITY_NAME}")


def test_one_table_as_csv(cli_env, tmp_path, capsys):
    out = tmp_path / "村社区.csv"
    assert main(["digest", "--week", WEEK, "--town", "T1", "--table", "villages", "--out", str(out)]) == 0
    header, rows = read_csv(out.read_bytes())
    assert header[:2] == ("村社区代码", "村社区")
    assert [row[1] for row in rows] == ["东湖村", "西山村", "南塘村", "北岭社区"]
    # one table's CSV is text: it may go to the terminal
    assert main(["digest", "--week", WEEK, "--town", "T1", "--table", "villages"]) == 0
    assert capsys.readouterr().out.lstrip("\ufeff").startswith("村社区代码,村社区,")


@pytest.mark.parametrize("asked", ["上周", "2026-W47", "2026w47", "11月18日", "2026-11-18", "11.18", "2026年第47周"])
def test_the_week_can_be_written_as_people_write_it(cli_env, capsys, asked):
    assert main(["digest", "--week", asked, "--town", "T1"]) == 0
    assert "2026-W47（11月16日—11月22日）" in capsys.readouterr().out.splitlines()[1]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--week", "下下周"], 2, T.CLI_BAD_WEEK.format(text="下下周")),
        (["--week", "2026-W54"], 2, "2026年没有第54周：2026年只有 53 周"),
        (["--week", "2025-W53"], 2, "2025年没有第53周：2025年只有 52 周"),
        (["--week", "2026-02-30"], 2, "2026年没有2月30日这一天"),
        (["--week", "2026-W50"], 2, T.FUTURE_WEEK.format(week="2026-W50")),
        (["--week", WEEK, "--town", "NOPE"], 1, T.CLI_NO_TOWN.format(code="NOPE")),
        (["--week", WEEK, "--format", "xlsx", "--table", "villages"], 2, T.CLI_TABLE_NEEDS_CSV.format(format="xlsx")),
    ],
)
def test_bad_arguments_are_explained(cli_env, capsys, args, code, message):
    assert main(["digest", *args]) == code
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("fmt, what, ext", [("xlsx", "Excel 报表", "xlsx"), ("png", "图表", "png"), ("csv", "CSV 压缩包", "zip")])
def test_binary_output_is_refused_on_a_terminal(cli_env, capsys, monkeypatch, fmt, what, ext):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["digest", "--week", WEEK, "--format", fmt]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == T.CLI_NEED_OUT.format(what=what, ext=ext)
    assert f"--out 周报.{ext}" in captured.err


def test_a_real_terminal_gets_a_chinese_line_and_no_binary(cli_env, tmp_path):
    """In a real pseudo-terminal, as a deployer would type it: one line, exit 2, no bytes of a zip file."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "DATABASE_URL": cli_env.url, "CADREBOT_DATA_DIR": str(tmp_path)}
    process = subprocess.run(
        # a week long past, whatever the machine's clock says (the subprocess has no fixed clock)
        [sys.executable, "-m", "bot.cli", "digest", "--week", "2025-W10", "--format", "xlsx"],
        stdout=terminal, stderr=subprocess.PIPE, env=env, timeout=120, cwd=Path(cli_digest.__file__).parents[1],
    )
    os.close(terminal)
    shown = b""
    while select.select([controller], [], [], 0.2)[0]:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.returncode == 2
    assert process.stderr.decode().strip() == T.CLI_NEED_OUT.format(what="Excel 报表", ext="xlsx")
    assert shown == b""


@pytest.mark.parametrize("fmt, magic", [("xlsx", b"PK\x03\x04"), ("csv", b"PK\x03\x04"), ("png", b"\x89PNG")])
def test_binary_output_goes_to_a_pipe(cli_env, capsysbinary, fmt, magic):
    assert main(["digest", "--week", WEEK, "--format", fmt]) == 0
    data = capsysbinary.readouterr().out
    assert data.startswith(magic)
    if fmt == "csv":
        assert list(read_csv_zip(data)) == [f"{key}.csv" for key in TABLE_KEYS]


def test_an_empty_week_as_png_prints_the_short_text_and_writes_no_file(cli_env, tmp_path, capsys):
    out = tmp_path / "chart.png"
    assert main(["digest", "--week", "2026-W20", "--town", "T2", "--format", "png", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    line = T.EMPTY_WEEK.format(scope="清河街道", week="2026-W20", first="5月11日", last="5月17日")
    assert captured.err.strip() == T.CLI_NO_CHART_EMPTY.format(line=line)
    assert captured.out == "" and not out.exists()


def test_help_documents_the_formats_tables_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["digest", "--help"])
    text = capsys.readouterr().out
    assert "--table NAME" in text and "villages 各村社区" in text
    assert "退出码 1" in text and "上周" in text and "2026-W47" in text


def test_a_week_with_nothing_to_draw_as_png_says_so(empty_world, db_url, session, monkeypatch, tmp_path, capsys):
    from storage.checklog import log_check

    log_check(session, text="街道让我们收医保的钱", verdict="restricted", village_id=empty_world.villages["V1"],
              now=local(2026, 11, 18, 10))
    session.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CADREBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli_digest, "clock", lambda: NOW)
    out = tmp_path / "chart.png"
    assert main(["digest", "--week", WEEK, "--town", "T1", "--format", "png", "--out", str(out)]) == 1
    assert capsys.readouterr().err.strip() == T.CLI_NO_CHART.format(scope="示范镇", week=WEEK)
    assert not out.exists()
    # the same week as text is the digest, with its one check
    assert main(["digest", "--week", WEEK, "--town", "T1"]) == 0
    assert "本周 1 次" in capsys.readouterr().out


def test_status_lists_each_recipient_of_the_weekly_send(empty_world, db_url, monkeypatch, tmp_path, capsys):
    """One recipient got everything, the other only the text and waits for a retry: the week is not done."""
    from bot.digest import delivery
    from bot.digest.model import Scope
    from storage.db import Database
    from storage.digests import Attachment
    from tests.digest.world import ADMIN_ID, BUREAU_T1

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CADREBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli_digest, "clock", lambda: NOW)
    assert main(["digest", "--status"]) == 0
    assert capsys.readouterr().out.strip() == T.CLI_STATUS_NONE

    db = Database(db_url)
    try:
        scope = Scope("town", "示范镇", empty_world.towns["T1"], "T1")
        assert delivery.plan(db, delivery.DueSend(scope, Week.parse(WEEK), (BUREAU_T1, ADMIN_ID)), now=NOW)
        with db.session() as session:
            [batch] = delivery.due_batches(session, now=NOW)
        done, waiting = delivery.claim_batch(db, batch, now=NOW)
        for part in (dict(messages_sent=1, text_done=True), dict(attachment=Attachment.XLSX),
                     dict(attachment=Attachment.PNG)):
            assert delivery.record(db, done, now=NOW, **part)
        delivery.succeed(db, done, now=NOW)
        assert delivery.record(db, waiting, now=NOW, messages_sent=1, text_done=True)
        delivery.fail(db, waiting, "NetworkError: Bad Gateway", now=NOW)
    finally:
        db.dispose()

    assert main(["digest", "--status", "--week", WEEK]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-W47 示范镇：1/2 人已收齐（未完成）",
        f"  bureau1（{BUREAU_T1}）：已收齐；已收到：文字、Excel 报表、图表；尝试 1 次",
        f"  admin（{ADMIN_ID}）：等待重试；已收到：文字；尝试 1 次；下次尝试 11-24 10:01；最后错误：NetworkError: Bad Gateway",
    ]
    assert main(["digest", "--status", "--town", "T2"]) == 0
    assert capsys.readouterr().out.strip() == T.CLI_STATUS_NONE
    assert main(["digest", "--status", "--week", "2026-W46"]) == 0
    assert capsys.readouterr().out.strip() == T.CLI_STATUS_NONE
