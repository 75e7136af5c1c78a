"""The deployer's configuration: every variable checked once at start, a wrong one explained in one Chinese line.

Through the real command (`.venv/bin/cadrebot check 你好` with one variable set wrong) and through Settings itself;
plus the layering rules that keep the configuration in one place: knowledge/ and storage/ never import bot/,
handlers/ or flows/, and nothing but bot/settings.py reads the environment.
"""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.settings import DEFAULT_SECRET, Settings, SettingsError, SurveyGranularity

ROOT = Path(__file__).resolve().parents[2]
CADREBOT = Path(sys.executable).parent / "cadrebot"  # the console script installed beside this interpreter
TOKEN = "987654:SETTINGS-token-never-shown"
SECRET = "settings-secret-never-shown"
PASSWORD = "pw-never-shown"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No configuration from the developer's shell; the data directory in tmp_path."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "CADREBOT_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CADREBOT_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def cadrebot(tmp_path: Path, *argv: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CADREBOT_", "DATABASE_URL"))}
    env.update(CADREBOT_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT), **variables)
    return subprocess.run([str(CADREBOT), *argv], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)


# ---------------------------------------------------------------------------------------------- the real CLI

# variable, wrong value, what the line must say it accepts, the value as the line quotes it: one per variable
WRONG_VALUES = [
    ("CADREBOT_CHECKS_PER_MINUTE", "abc", "应为正整数", "abc"),
    ("CADREBOT_DIGEST_WEEKDAY", "7", "0 到 6", "7"),
    ("CADREBOT_DIGEST_TIME", "25:00", "HH:MM", "25:00"),
    ("CADREBOT_SURVEY_PERIOD", "weekly", "monthly（每月）或 quarterly（每季度）", "weekly"),
    ("CADREBOT_TZ", "Asia/Beijing", "Asia/Shanghai", "Asia/Beijing"),
    ("DATABASE_URL", f"mysql://root:{PASSWORD}@localhost/cadrebot", "只支持 SQLite 和 PostgreSQL",
     "mysql://root:***@localhost/cadrebot"),
    ("CADREBOT_PROFILE", "suzhou", "已有的清单方案名：taicang", "suzhou"),
    ("CADREBOT_AGREEMENT", "strict", "已有的协议书名称：demo", "strict"),
    ("CADREBOT_KNOWLEDGE_DIR", "/nonexistent/kb", "已有的知识库目录", "/nonexistent/kb"),
    ("CADREBOT_SURVEY_ASPECTS", "service,parking", "新方面写成 代码:名称", "service,parking"),
    ("CADREBOT_CJK_FONT", "/nonexistent/font.ttc", "字体文件", "/nonexistent/font.ttc"),
    ("TELEGRAM_API_BASE_URL", "127.0.0.1:8081", "http:// 或 https://", "127.0.0.1:8081"),
    ("CADREBOT_BOT_USERNAME", "my bot", "机器人用户名", "my bot"),
]


@pytest.mark.parametrize(("variable", "value", "accepts", "quoted"), WRONG_VALUES,
                         ids=[f"{v}={x}" for v, x, _, _ in WRONG_VALUES])
def test_a_wrong_value_stops_the_command_with_one_chinese_line(tmp_path, variable, value, accepts, quoted):
    result = cadrebot(tmp_path, "check", "你好", **{variable: value})
    assert result.returncode == 2
    assert result.stdout == ""  # the check did not run
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"配置错误：{variable} 应为")
    assert accepts in lines[0]
    assert lines[0].endswith(f'收到 "{quoted}"')
    assert "Traceback" not in result.stderr and PASSWORD not in result.stderr


def test_two_wrong_values_give_a_line_each(tmp_path):
    result = cadrebot(tmp_path, "db", "current", CADREBOT_TZ="Mars/Olympus", CADREBOT_CHECKS_PER_MINUTE="-5")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        '配置错误：CADREBOT_TZ 应为存在的时区名，如 Asia/Shanghai，收到 "Mars/Olympus"',
        '配置错误：CADREBOT_CHECKS_PER_MINUTE 应为正整数，收到 "-5"',
    ]


def test_good_values_let_the_command_run(tmp_path):
    result = cadrebot(tmp_path, "kb", "validate", CADREBOT_CHECKS_PER_MINUTE=" 12 ", CADREBOT_DIGEST_TIME="8:05",
                      CADREBOT_TZ="Asia/Urumqi", CADREBOT_SURVEY_PERIOD="quarterly", CADREBOT_AGREEMENT="",
                      DATABASE_URL="postgresql://cadre@127.0.0.1:1/cadrebot")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout.startswith("知识库检查通过")


# Enough arguments for each command to get past its own parser; the settings are checked before it runs.
COMMAND_ARGS = {
    "check": ["check", "你好"],
    "chat": ["chat"],
    "kb": ["kb", "validate"],
    "db": ["db", "current"],
    "admin": ["admin", "list-places"],
    "run": ["run"],
    "worker": ["worker"],
    "digest": ["digest"],
    "evaluation": ["evaluation", "status", "--town", "DEMO", "--round", "2026H2"],
}


def test_every_command_checks_the_settings_first(clean_env, capsys):
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # argparse lists them nowhere public
    assert commands == set(COMMAND_ARGS), "a new command: add the arguments it needs to COMMAND_ARGS"
    clean_env.setenv("CADREBOT_DIGEST_WEEKDAY", "8")
    for command, argv in COMMAND_ARGS.items():
        assert main(argv) == 2, command
        out, err = capsys.readouterr()
        assert out == "", command
        assert err == '配置错误：CADREBOT_DIGEST_WEEKDAY 应为整数 0 到 6（0 = 周一，6 = 周日），收到 "8"\n', command


# ---------------------------------------------------------------------------------------------- Settings itself


# More wrong values of the same variables, checked in-process (the CLI path is the same as above).
MORE_WRONG_VALUES = [
    ("CADREBOT_CHECKS_PER_MINUTE", "0", "-5", "2.5"),
    ("CADREBOT_DIGEST_WEEKDAY", "-1", "周一", "monday"),
    ("CADREBOT_DIGEST_TIME", "早上八点", "08:60", "0830"),
    ("CADREBOT_TZ", "../../etc/passwd", "UTC+8"),
    ("DATABASE_URL", "cadrebot.db", "sqlite+aiosqlite:///x.db", f"oracle://scott:{PASSWORD}@db/orcl"),
    ("CADREBOT_SURVEY_ASPECTS", "service,service", "parking:停车,parking:停车", "parking"),
    ("CADREBOT_DATA_DIR", "/dev/null", "x" * 5000),  # not a directory; a name too long for the file system
    ("CADREBOT_KNOWLEDGE_DIR", "/dev/null", "x" * 5000),
    ("CADREBOT_CJK_FONT", str(ROOT), "x" * 5000),  # a directory is no font file
]


@pytest.mark.parametrize(("variable", "values"), [(v[0], v[1:]) for v in MORE_WRONG_VALUES],
                         ids=[v[0] for v in MORE_WRONG_VALUES])
def test_more_wrong_values_are_refused(clean_env, variable, values):
    for value in values:
        clean_env.setenv(variable, value)
        with pytest.raises(SettingsError) as wrong:
            Settings()
        [line] = str(wrong.value).splitlines()
        assert line.startswith(f"配置错误：{variable} 应为") and PASSWORD not in line, value


def test_a_long_or_multiline_value_is_quoted_short_on_one_line(clean_env):
    clean_env.setenv("CADREBOT_TZ", "Asia/\n" + "x" * 500)
    with pytest.raises(SettingsError) as wrong:
        Settings()
    [line] = str(wrong.value).splitlines()
    assert line.endswith('收到 "Asia/ ' + "x" * 73 + '…"')


def test_defaults_without_any_variable(clean_env, tmp_path):
    settings = Settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'cadrebot.db'}"
    assert (settings.profile, settings.agreement, settings.timezone) == ("taicang", "demo", "Asia/Shanghai")
    assert (settings.digest_weekday, settings.digest_time, settings.checks_per_minute) == (0, "08:30", 30)
    assert settings.survey_period is SurveyGranularity.MONTHLY
    assert settings.bot_token.get_secret_value() == "" and settings.secret.get_secret_value() == DEFAULT_SECRET
    assert settings.cache_dir == tmp_path / "data" / "cache"


def test_field_names_in_code_and_variable_names_in_the_environment(clean_env, tmp_path):
    clean_env.setenv("CADREBOT_TZ", "Asia/Urumqi")
    clean_env.setenv("DATA_DIR", "/somewhere/else")  # not a documented name: ignored
    clean_env.setenv("timezone", "Europe/Paris")
    settings = Settings(data_dir=tmp_path / "mine", database_url="sqlite:///x.db", checks_per_minute=5)
    assert (settings.data_dir, settings.database_url, settings.checks_per_minute) == (tmp_path / "mine", "sqlite:///x.db", 5)
    assert settings.timezone == "Asia/Urumqi"


def test_a_blank_variable_means_its_default_but_a_blank_agreement_means_none(clean_env):
    for name in ("CADREBOT_TZ", "CADREBOT_CHECKS_PER_MINUTE", "CADREBOT_PROFILE", "CADREBOT_DIGEST_TIME"):
        clean_env.setenv(name, "  ")
    clean_env.setenv("CADREBOT_AGREEMENT", "")
    settings = Settings()
    assert (settings.timezone, settings.checks_per_minute, settings.profile) == ("Asia/Shanghai", 30, "taicang")
    assert settings.digest_time == "08:30" and settings.agreement == ""


def test_values_are_tidied_once(clean_env):
    clean_env.setenv("CADREBOT_DIGEST_TIME", "7:05")
    clean_env.setenv("CADREBOT_BOT_USERNAME", "@village_helper_bot")
    clean_env.setenv("CADREBOT_SURVEY_PERIOD", "quarterly")
    settings = Settings()
    assert settings.digest_time == "07:05" and settings.bot_username == "village_helper_bot"
    assert settings.survey_period == "quarterly"  # a StrEnum: storage compares it with plain strings


def test_postgresql_urls_are_accepted_in_every_spelling(clean_env):
    for url in ("postgres://u@h/db", "postgresql://u@h:5432/db", "postgresql+psycopg://u@h/db", "sqlite://"):
        assert Settings(database_url=url).database_url == url
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings(database_url="postgresql+psycopg2://u@h/db")  # a driver that is not installed


def test_a_knowledge_directory_of_ones_own_has_its_own_profiles_and_agreements(clean_env, tmp_path):
    kb = tmp_path / "kb"
    (kb / "profiles" / "kunshan").mkdir(parents=True)
    (kb / "agreements").mkdir()
    (kb / "agreements" / "zhoushi.yaml").write_text("{}\n", encoding="utf-8")
    clean_env.setenv("CADREBOT_KNOWLEDGE_DIR", str(kb))
    with pytest.raises(SettingsError) as wrong:
        Settings()  # the defaults taicang / demo are not in this directory
    assert [str(p) for p in wrong.value.problems] == [
        '配置错误：CADREBOT_PROFILE 应为已有的清单方案名：kunshan，收到 "taicang"',
        '配置错误：CADREBOT_AGREEMENT 应为已有的协议书名称：zhoushi；或设为空，按方案全部协助事项，收到 "demo"',
    ]
    settings = Settings(profile="kunshan", agreement="zhoushi")
    assert (settings.knowledge_dir, settings.profile, settings.agreement) == (str(kb), "kunshan", "zhoushi")


def test_the_token_the_secret_and_the_password_never_show(clean_env, caplog):
    clean_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    clean_env.setenv("CADREBOT_SECRET", SECRET)
    clean_env.setenv("DATABASE_URL", f"postgresql://cadre:{PASSWORD}@db.example/cadrebot")
    settings = Settings()
    with caplog.at_level(logging.INFO):
        logging.getLogger("cadrebot.test").info("starting with %s / %r", settings, settings)
        logging.getLogger("cadrebot.test").info("token %s, secret %s", settings.bot_token, settings.secret)
    shown = [repr(settings), str(settings), settings.model_dump_json(), caplog.text]
    for text in shown:
        assert TOKEN not in text and SECRET not in text and PASSWORD not in text
    assert "cadre:***@db.example" in repr(settings)
    assert settings.bot_token.get_secret_value() == TOKEN and settings.secret.get_secret_value() == SECRET


def test_settings_are_frozen_and_a_changed_copy_is_checked_again(clean_env):
    settings = Settings()
    with pytest.raises(ValueError):
        settings.timezone = "Europe/Paris"  # type: ignore[misc]
    later = settings.replace(digest_weekday=4, digest_time="17:45", bot_token=TOKEN)
    assert (later.digest_weekday, later.digest_time, later.bot_token.get_secret_value()) == (4, "17:45", TOKEN)
    assert later.database_url == settings.database_url and settings.digest_weekday == 0
    with pytest.raises(SettingsError, match="CADREBOT_DIGEST_WEEKDAY"):
        settings.replace(digest_weekday=9)
    with pytest.raises(TypeError, match="databse_url"):
        Settings(databse_url="sqlite:///x.db")  # a typo in code is no configuration problem: it fails loudly


# ---------------------------------------------------------------------------------------------- layering

PACKAGES = ("bot", "flows", "handlers", "knowledge", "storage", "texts")
# package -> packages it must never import (common rules: the dependencies point inwards)
FORBIDDEN_IMPORTS = {
    "knowledge": {"bot", "handlers", "flows"},
    "storage": {"bot", "handlers", "flows"},
    "flows": {"bot", "handlers", "telegram"},
}
READS_THE_ENVIRONMENT = Path("bot/settings.py")  # the one module allowed to


def modules() -> list[tuple[Path, ast.Module]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found.append((path.relative_to(ROOT), ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return found


def imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):  # walk, not body: imports inside functions count too
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            names |= {arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return names


def environment_reads(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "putenv"):
            lines.append(node.lineno)  # os.environ, os.getenv(...)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in ("environ", "getenv", "environb") for alias in node.names):
                lines.append(node.lineno)  # from os import environ
    return lines


def test_inner_packages_never_import_the_outer_ones():
    broken = []
    for path, tree in modules():
        forbidden = FORBIDDEN_IMPORTS.get(path.parts[0], set())
        broken += [f"{path} imports {name}" for name in sorted(imported(tree)) if name.split(".")[0] in forbidden]
    assert broken == []


def test_importing_knowledge_and_storage_loads_nothing_of_the_bot():
    # The AST test misses imports made by a dependency on our behalf; a fresh interpreter does not.
    code = (
        "import importlib, pkgutil, sys, knowledge, storage\n"
        "for package in (knowledge, storage):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if '.migrations' not in info.name:  # Alembic scripts run only inside Alembic\n"
        "            importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bot', 'handlers', 'flows', 'telegram')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_only_the_settings_module_reads_the_environment():
    readers = [f"{path}:{line}" for path, tree in modules() if path != READS_THE_ENVIRONMENT
               for line in environment_reads(tree)]
    assert readers == []


def test_the_layering_checks_do_catch_what_they_forbid():
    tree = ast.parse("import os\nfrom bot.settings import Settings\n"
                     "def f():\n    import handlers.check\n    return os.environ.get('X'), os.getenv('Y')\n")
    assert imported(tree) >= {"bot.settings", "handlers.check"}
    assert environment_reads(tree) == [5, 5]
    assert environment_reads(ast.parse("from os import environ\n")) == [1]
