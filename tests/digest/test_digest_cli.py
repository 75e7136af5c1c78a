"""`cadrebot digest --week 2026-W47 [--town CODE] --format text|md|xlsx|csv|png --out FILE` gives the same content
as the bot, without Telegram."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot import cli_digest
from bot.cli import main
from bot.settings import Settings
from bot.digest import Week, build_digest, render_text, resolve_scope
from texts import digest as T
from tests.digest.world import NOW, WEEK, local


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
        assert data.startswith(b"\xef\xbb\xbf") and "【概览】" in data.decode("utf-8-sig")
    else:
        assert data.decode("utf-8").startswith(f"# 政社互动周报 · {T.CITY_NAME}")


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--week", "2026W47"], 2, T.CLI_BAD_WEEK.format(text="2026W47")),
        (["--week", WEEK, "--town", "NOPE"], 1, T.CLI_NO_TOWN.format(code="NOPE")),
    ],
)
def test_bad_arguments_are_explained(cli_env, capsys, args, code, message):
    assert main(["digest", *args]) == code
    assert message in capsys.readouterr().err
