"""`cadrebot run` as a real process: polling and webhook against a Bot API over HTTP, and the console fallback."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bot.cli_run import webhook_secret
from bot.settings import DEFAULT_SECRET, Settings, with_persistent_secret
from tests.bot.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
CADREBOT = [str(Path(sys.executable).with_name("cadrebot"))]  # the installed command, .venv/bin/cadrebot
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


class RefusingBotApi:
    """A Bot API that answers every call as Telegram answers a revoked or mistyped token: 401 Unauthorized."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RefusingBotApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_failing(tmp_path: Path, sqlite_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`cadrebot run` against a database that is ready, with a secret set (no notice about generating one)."""
    from storage.migrate import upgrade

    upgrade(sqlite_url)
    return subprocess.run([*CADREBOT, "run", *args], capture_output=True, text=True, timeout=90, cwd=ROOT,
                          env=env_for(tmp_path, sqlite_url, TELEGRAM_BOT_TOKEN=TOKEN, CADREBOT_SECRET="s" * 32,
                                      **env))


def test_an_unreachable_server_is_explained_in_two_lines_without_a_traceback(tmp_path, sqlite_url):
    server = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = start_failing(tmp_path, sqlite_url, TELEGRAM_API_BASE_URL=server)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"无法连接 Telegram 服务器 {server}（NetworkError），请检查网络或 TELEGRAM_API_BASE_URL。",
        "加上 --log-level DEBUG 再运行，可以看到完整的出错信息。",
    ]
    assert result.stdout == ""  # it never said it had started


def test_with_debug_logging_the_traceback_is_there_but_not_the_token(tmp_path, sqlite_url):
    server = f"http://127.0.0.1:{free_port()}"
    result = start_failing(tmp_path, sqlite_url, "--log-level", "debug", TELEGRAM_API_BASE_URL=server)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ConnectError" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("无法连接 Telegram 服务器")
    assert "CLI-run-SECRET" not in result.stderr + result.stdout


def test_a_refused_token_is_explained_in_two_lines(tmp_path, sqlite_url):
    with RefusingBotApi() as api:
        result = start_failing(tmp_path, sqlite_url, TELEGRAM_API_BASE_URL=api.url)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Telegram 拒绝了这个令牌（TELEGRAM_BOT_TOKEN），请向 @BotFather 核对后重试。",
        "加上 --log-level DEBUG 再运行，可以看到完整的出错信息。",
    ]
    assert result.stdout == ""


def test_a_webhook_port_already_taken_is_explained(tmp_path, sqlite_url):
    with FakeBotApi() as api, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start_failing(tmp_path, sqlite_url, "--webhook", f"http://127.0.0.1:{port}/tg-hook",
                               "--port", str(port), TELEGRAM_API_BASE_URL=api.url)
    assert result.returncode == 1
    explanation, hint = result.stderr.splitlines()[-2:]
    assert explanation == (f"无法在 127.0.0.1:{port} 上监听 webhook（端口已被占用），请换一个 --port，"
                           "或先停止占用这个端口的程序。")
    assert hint == "加上 --log-level DEBUG 再运行，可以看到完整的出错信息。"
    assert "Traceback" not in result.stderr and "已启动" not in result.stdout


def test_a_telegram_error_in_the_log_is_one_line_but_a_bug_keeps_its_traceback():
    from telegram.error import NetworkError

    from bot.cli_run import ExpectedTelegramErrorsInOneLine

    def logged(error: Exception, message: str) -> logging.LogRecord | None:
        try:
            raise error
        except Exception:  # noqa: BLE001
            record = logging.LogRecord("telegram.ext.Updater", logging.ERROR, __file__, 1, message, None,
                                       sys.exc_info())
        return record if ExpectedTelegramErrorsInOneLine().filter(record) else None

    blip = logged(NetworkError("httpx.ReadError: connection reset"), "Exception happened while polling for updates.")
    assert logging.Formatter().format(blip) == (
        "Exception happened while polling for updates. (NetworkError: httpx.ReadError: connection reset)")
    # PTB's own report that start-up failed is left to `cadrebot run`'s explanation.
    assert logged(NetworkError("x"), "Network Retry Loop (Bootstrap Initialize Application): Failed run number 0 "
                                     "of 0. Aborting.") is None
    bug = logged(KeyError("oops"), "Error in a handler")
    assert "Traceback" in logging.Formatter().format(bug)


# ---------------------------------------------------------------------------------------------- the secret


def test_an_unset_secret_is_generated_once_and_kept(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("CADREBOT_SECRET", raising=False)
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url="sqlite:///x.db", bot_token=TOKEN)
    assert settings.secret.get_secret_value() == DEFAULT_SECRET
    with caplog.at_level(logging.INFO):
        first = with_persistent_secret(settings)
        second = with_persistent_secret(Settings(data_dir=data, database_url="sqlite:///x.db", bot_token=TOKEN))
    generated = first.secret.get_secret_value()
    assert generated != DEFAULT_SECRET and len(generated) >= 32
    assert second.secret == first.secret  # a later start uses the same secret: survey keys stay the same
    assert (first.data_dir, first.database_url, first.bot_token.get_secret_value()) == (data, "sqlite:///x.db", TOKEN)
    assert settings.secret.get_secret_value() == DEFAULT_SECRET  # frozen: a new Settings, not a changed one
    secret_file = data / "secret"
    assert secret_file.read_text().strip() == generated
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    said = [r.getMessage() for r in caplog.records if "secret" in r.getMessage()]
    assert len(said) == 1 and str(secret_file) in said[0] and generated not in said[0]
    # Another data directory (another deployment) gets its own secret.
    assert with_persistent_secret(Settings(data_dir=tmp_path / "other")).secret != first.secret


def test_an_explicit_secret_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("CADREBOT_SECRET", "set-by-the-deployer")
    settings = Settings(data_dir=tmp_path)
    assert with_persistent_secret(settings).secret.get_secret_value() == "set-by-the-deployer"
    assert not (tmp_path / "secret").exists()
    (tmp_path / "secret").write_text("from-an-earlier-run\n")
    assert with_persistent_secret(Settings(data_dir=tmp_path)).secret.get_secret_value() == "set-by-the-deployer"
    monkeypatch.delenv("CADREBOT_SECRET")
    assert with_persistent_secret(Settings(data_dir=tmp_path)).secret.get_secret_value() == "from-an-earlier-run"
