"""`cadrebot … --help` and argparse's error messages, read as a deployer sees them: in Chinese, every command."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.cli_parser import translate_message

ROOT = Path(__file__).resolve().parents[2]
CADREBOT = Path(sys.executable).with_name("cadrebot")  # the installed console script, .venv/bin/cadrebot
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
PROSE_WORD = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9_]*")  # not a file extension (.yaml)
# Names, not English prose: the programs and formats the help points at.
PROPER_NOUNS = {"cadrebot", "Telegram", "Alembic", "Excel", "https", "http", "zip", "README", "PostgreSQL", "SQLite"}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for name, sub in _subcommands(parser).items():
        yield from _commands(sub, (*path, name))


def _names(parser: argparse.ArgumentParser) -> set[str]:
    """Every word the parsers themselves define: command names, option strings, metavars, choices, defaults."""
    words: set[str] = set()
    for _, command in _commands(parser):
        words.update(WORD.findall(command.prog))
        for action in command._actions:
            for text in (*action.option_strings, action.dest, action.metavar or "", str(action.default or "")):
                words.update(WORD.findall(str(text)))
            for choice in action.choices or ():
                words.update(WORD.findall(str(choice)))
    return words


PARSER = build_parser()
ALLOWED = _names(PARSER) | PROPER_NOUNS
COMMANDS = [path for path, _ in _commands(PARSER)]


def english_words(text: str, typed: list[str] = ()) -> list[str]:
    """Words that are neither a name the parser defines, a proper noun, an upper-case code (JSON, ISO …), a file
    extension nor something the user typed."""
    allowed = ALLOWED | {word for arg in typed for word in WORD.findall(arg)}
    return [w for w in PROSE_WORD.findall(text) if w not in allowed and not w.isupper()]


def cadrebot(*args: str, columns: int = 100) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([str(CADREBOT), *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_the_installed_command_exists():
    assert CADREBOT.is_file(), "run the tests with .venv/bin/python (make test installs the cadrebot command)"


def test_every_command_is_covered():
    assert {" ".join(path) for path in COMMANDS} >= {
        "", "check", "chat", "kb", "kb validate", "db", "db upgrade", "db current", "run", "digest", "admin",
        "admin add-town", "admin add-village", "admin import-places", "admin list-places", "admin invite",
        "admin survey-link", "admin seed-demo", "admin year-end"}


def help_text(path: tuple[str, ...], capsys, monkeypatch) -> str:
    """What `cadrebot <path> --help` prints, in this process (the installed command is run below as well)."""
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("path", [(), ("admin", "invite")], ids=["cadrebot", "admin invite"])
def test_the_installed_command_prints_the_same_chinese_help(path, capsys, monkeypatch):
    result = cadrebot(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout == help_text(path, capsys, monkeypatch)
    assert result.stdout.startswith("用法：cadrebot") and english_words(result.stdout) == []


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "cadrebot")
def test_help_is_in_chinese(path, capsys, monkeypatch):
    text = help_text(path, capsys, monkeypatch)
    assert text.startswith("用法：cadrebot"), text
    assert "显示本帮助并退出" in text and "选项" in text
    assert english_words(text) == [], text
    for _, sub in _commands(PARSER):  # no help line left without an explanation
        if sub.prog == " ".join(("cadrebot", *path)):
            for action in sub._actions:
                if isinstance(action, argparse._SubParsersAction):
                    continue  # its commands are listed with their own help
                assert action.help, f"{sub.prog} {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize(("argv", "expected"), [
    (["admin", "invite"], "缺少必需的参数：--role"),
    (["admin", "invite", "--role", "mayor"], "参数 --role：无效的选择：'mayor'"),
    (["admin", "invite", "--role", "cadre", "--days", "seven"], "参数 --days：无效的整数：'seven'"),
    (["admin", "invite", "--village", "V1", "--town", "T1", "--role", "cadre"], "不能与参数 --village 同时使用"),
    (["nosuch"], "参数 COMMAND：无效的选择：'nosuch'"),
    (["check", "--nosuch"], "无法识别的参数：--nosuch"),
    (["run", "--port"], "参数 --port：需要一个值"),
    (["run", "--log-level", "loud"], "参数 --log-level：无效的选择：'LOUD'"),
    (["digest", "--format", "pdf"], "参数 --format：无效的选择：'pdf'"),
])
def test_a_mistyped_command_is_told_in_chinese(argv, expected):
    result = cadrebot(*argv)
    assert result.returncode == 2
    assert result.stdout == ""
    usage, error = result.stderr.rstrip("\n").rsplit("\n", 1)
    assert usage.startswith("用法：cadrebot")
    assert error.startswith("cadrebot") and "错误：" in error and expected in error, error
    assert english_words(result.stderr, typed=argv) == [], result.stderr


def test_a_message_argparse_does_not_write_is_left_alone():
    assert translate_message("输入有误: --days 应为 1 到 365") == "输入有误: --days 应为 1 到 365"
    assert translate_message("argument --x: expected 2 arguments") == "参数 --x：需要 2 个值"


def test_a_wrapped_usage_line_lines_up_under_the_first_one():
    usage = cadrebot("admin", "invite", "--help", columns=80).stdout.split("\n\n")[0].splitlines()
    assert len(usage) >= 2
    first_bracket = usage[0].index("[") + len("用法：")  # 用法： takes six columns for its three characters
    for line in usage[1:]:
        assert len(line) - len(line.lstrip()) == first_bracket
