"""Files that hold members' names, residents' answers and the survey key are the owner's alone: the SQLite
database (and its -wal/-shm), the outbox spilled at shutdown and the secret are 0600, a data directory we create
is 0700; the secret may live outside the data directory (CADREBOT_SECRET_FILE)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.outbox import Outbox
from bot.settings import Settings, SettingsError, with_persistent_secret

ROOT = Path(__file__).resolve().parents[2]
CADREBOT = Path(sys.executable).parent / "cadrebot"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """A deployer's usual umask 022, under which files come out world-readable unless we say otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_fresh_db_upgrade_leaves_a_private_data_directory_and_database(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CADREBOT_", "DATABASE_URL"))}
    env.update(CADREBOT_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    result = subprocess.run(f"umask 022 && exec {CADREBOT} db upgrade", shell=True, capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700
    database = data / "cadrebot.db"
    assert mode(database) == 0o600
    # SQLite's side files, which hold recent writes, take the database file's mode.
    import sqlite3

    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE probe (x)")
    sides = [p for p in data.iterdir() if p.name.startswith("cadrebot.db-")]
    assert sides and all(mode(p) == 0o600 for p in sides), [(p.name, oct(mode(p))) for p in sides]
    connection.close()


def test_unsaved_checks_kept_on_disk_are_private(tmp_path, open_umask):
    outbox = Outbox(path=tmp_path / "data" / "outbox.jsonl")
    assert outbox.put("check_log", {"text": "帮忙张贴通知", "verdict": "assist"})
    assert mode(tmp_path / "data" / "outbox.jsonl") == 0o600
    assert mode(tmp_path / "data") == 0o700


def test_the_secret_can_live_outside_the_data_directory(tmp_path, monkeypatch, open_umask):
    monkeypatch.delenv("CADREBOT_SECRET", raising=False)
    keys = tmp_path / "keys" / "cadrebot.secret"
    monkeypatch.setenv("CADREBOT_SECRET_FILE", str(keys))
    first = with_persistent_secret(Settings(data_dir=tmp_path / "data"))
    assert keys.read_text().strip() == first.secret.get_secret_value()
    assert mode(keys) == 0o600 and mode(keys.parent) == 0o700
    assert not (tmp_path / "data" / "secret").exists()
    # The next start, with a fresh data directory (a restored backup without the key), keeps the same secret.
    again = with_persistent_secret(Settings(data_dir=tmp_path / "restored"))
    assert again.secret == first.secret


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_an_unusable_secret_file_is_one_chinese_line(tmp_path, monkeypatch, where):
    (tmp_path / "plain").write_text("x")
    path = tmp_path if where == "a directory" else tmp_path / "plain" / "secret"
    monkeypatch.setenv("CADREBOT_SECRET_FILE", str(path))
    with pytest.raises(SettingsError) as wrong:
        Settings(data_dir=tmp_path / "data")
    [line] = str(wrong.value).splitlines()
    shown = line.split("收到 ", 1)[1].strip('"').rstrip("…")  # a long value is shown cut short
    assert line.startswith("配置错误：CADREBOT_SECRET_FILE 应为密钥文件路径") and str(path).startswith(shown)
