"""`cadrebot run` as a real process: polling and webhook against a Bot API over HTTP, and the console fallback."""

from __future__ import annotations

import logging
import os
import signal
import stat
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from bot.cli_run import webhook_secret
from bot.settings import DEFAULT_SECRET, Settings, with_persistent_secret
from tests.bot.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
CADREBOT = [sys.executable, "-m", "bot.cli"]
TOKEN = "424242:CLI-run-SECRET-token"
FORBIDDEN = "街道让我们收医保的钱还要排名"


def env_for(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CADREBOT_", "DATABASE_URL"))}
    env.update(CADREBOT_DATA_DIR=str(tmp_path / "data"), DATABASE_URL=db_url, PYTHONPATH=str(ROOT), **extra)
    return env


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_without_a_token_opens_the_console_chat(tmp_path, sqlite_url):
    result = subprocess.run([*CADREBOT, "run"], input=FORBIDDEN + "\n", capture_output=True, text=True, timeout=60,
                            cwd=ROOT, env=env_for(tmp_path, sqlite_url))
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "本地对话" in lines[0]
    assert lines[1].startswith("⛔")


def test_run_polls_answers_and_keeps_the_token_out_of_the_logs(tmp_path, db_url, engine):
    with FakeBotApi() as api:
        process = subprocess.Popen([*CADREBOT, "run", "--poll-interval", "0.05"], cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=env_for(tmp_path, db_url, TELEGRAM_BOT_TOKEN=TOKEN,
                                               TELEGRAM_API_BASE_URL=api.url))
        try:
            api.push_message(777, FORBIDDEN)
            [answer] = api.wait_for(lambda: api.sent(777), timeout=60)
            assert answer.text.startswith("⛔") and "记为红牌候选" in answer.button_labels
            assert [c["command"] for c in api.transport.commands][:2] == ["start", "help"]
        finally:
            output = stop(process)
    assert api.tokens_seen == {TOKEN}
    assert "轮询模式" in output
    assert "CLI-run-SECRET" not in output, output
    # CADREBOT_SECRET was not set: a random secret was generated for the survey keys, announced but not shown.
    secret_file = tmp_path / "data" / "secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert secret != DEFAULT_SECRET and secret not in output
    assert output.count("generated a random secret") == 1


def test_run_serves_a_webhook_with_a_secret(tmp_path, db_url, engine):
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg-hook"
    with FakeBotApi() as api:
        process = subprocess.Popen([*CADREBOT, "run", "--webhook", url, "--port", str(port)], cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=env_for(tmp_path, db_url, TELEGRAM_BOT_TOKEN=TOKEN,
                                               TELEGRAM_API_BASE_URL=api.url))
        try:
            registered = api.wait_for(lambda: api.webhook, timeout=60)
            assert registered["url"] == url
            generated = (tmp_path / "data" / "secret").read_text().strip()  # CADREBOT_SECRET is not set
            secret = webhook_secret(Settings(bot_token=TOKEN, secret=generated))
            assert secret != webhook_secret(Settings(bot_token=TOKEN, secret=DEFAULT_SECRET))
            assert registered["secret_token"] == secret
            update = api.push_message(888, FORBIDDEN)
            forged = httpx.post(url, json=update, timeout=10)
            assert forged.status_code == 403
            accepted = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=10)
            assert accepted.status_code == 200
            [answer] = api.wait_for(lambda: api.sent(888), timeout=30)
            assert answer.text.startswith("⛔")
        finally:
            output = stop(process)
    assert "webhook" in output and "CLI-run-SECRET" not in output


def test_run_refuses_a_bad_webhook_url(tmp_path, sqlite_url):
    result = subprocess.run([*CADREBOT, "run", "--webhook", "ftp://x"], capture_output=True, text=True, timeout=60,
                            cwd=ROOT, env=env_for(tmp_path, sqlite_url, TELEGRAM_BOT_TOKEN=TOKEN))
    assert result.returncode != 0
    assert "https://" in result.stderr or "cadrebot db upgrade" in result.stderr


def test_run_says_what_to_do_when_the_database_is_not_ready(tmp_path, sqlite_url):
    result = subprocess.run([*CADREBOT, "run"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env=env_for(tmp_path, sqlite_url, TELEGRAM_BOT_TOKEN=TOKEN))
    assert result.returncode == 1
    assert "cadrebot db upgrade" in result.stderr and "Traceback" not in result.stderr


def test_run_explains_an_unreachable_server(tmp_path, sqlite_url):
    from storage.migrate import upgrade

    upgrade(sqlite_url)
    result = subprocess.run([*CADREBOT, "run"], capture_output=True, text=True, timeout=90, cwd=ROOT,
                            env=env_for(tmp_path, sqlite_url, TELEGRAM_BOT_TOKEN=TOKEN,
                                        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}"))
    assert result.returncode == 1
    assert "无法连接 Telegram 服务器" in result.stderr and "CLI-run-SECRET" not in result.stderr + result.stdout


# ---------------------------------------------------------------------------------------------- the secret


def test_an_unset_secret_is_generated_once_and_kept(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("CADREBOT_SECRET", raising=False)
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url="sqlite:///x.db", bot_token=TOKEN)
    assert settings.secret == DEFAULT_SECRET
    with caplog.at_level(logging.INFO):
        first = with_persistent_secret(settings)
        second = with_persistent_secret(Settings(data_dir=data, database_url="sqlite:///x.db", bot_token=TOKEN))
    assert first.secret != DEFAULT_SECRET and len(first.secret) >= 32
    assert second.secret == first.secret  # a later start uses the same secret: survey keys stay the same
    assert (first.data_dir, first.database_url, first.bot_token) == (data, "sqlite:///x.db", TOKEN)
    assert settings.secret == DEFAULT_SECRET  # frozen: a new Settings, not a changed one
    secret_file = data / "secret"
    assert secret_file.read_text().strip() == first.secret
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    said = [r.getMessage() for r in caplog.records if "secret" in r.getMessage()]
    assert len(said) == 1 and str(secret_file) in said[0] and first.secret not in said[0]
    # Another data directory (another deployment) gets its own secret.
    assert with_persistent_secret(Settings(data_dir=tmp_path / "other")).secret != first.secret


def test_an_explicit_secret_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("CADREBOT_SECRET", "set-by-the-deployer")
    settings = Settings(data_dir=tmp_path)
    assert with_persistent_secret(settings).secret == "set-by-the-deployer"
    assert not (tmp_path / "secret").exists()
    (tmp_path / "secret").write_text("from-an-earlier-run\n")
    assert with_persistent_secret(Settings(data_dir=tmp_path)).secret == "set-by-the-deployer"
    monkeypatch.delenv("CADREBOT_SECRET")
    assert with_persistent_secret(Settings(data_dir=tmp_path)).secret == "from-an-earlier-run"
