"""The command line as a deployer or a script uses it: check, check --json --batch, chat (piped, and typed at a
terminal), kb validate."""

from __future__ import annotations

import json
import os
import select
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from knowledge.loader import bundled_data_dir

CADREBOT = [str(Path(sys.executable).with_name("cadrebot"))]  # the installed command, .venv/bin/cadrebot
ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = "街道让我们收医保的钱还要排名"
PROMPT = "您> "
UP, LEFT, CTRL_D = "\x1b[A", "\x1b[D", "\x04"


def run(args: list[str], stdin: bytes = b"", env: dict | None = None, tmp: Path | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    if tmp is not None:
        environment["CADREBOT_DATA_DIR"] = str(tmp)
    return subprocess.run(CADREBOT + args, input=stdin, capture_output=True, cwd=ROOT, env=environment, timeout=60)


def test_check_prints_the_reply_a_cadre_sees(tmp_path: Path):
    out = run(["check", "派出所叫社区开个证明，证明张阿姨跟她儿子是母子关系"], tmp=tmp_path)
    assert out.returncode == 0
    text = out.stdout.decode()
    assert "不应出具" in text and "P1" in text
    assert out.stderr.decode() == ""  # no jieba chatter, no traceback


def test_check_without_a_task_says_how_to_use_it(tmp_path: Path):
    for args in (["check"], ["check", "  "]):
        out = run(args, stdin=b"", tmp=tmp_path)  # stdin at end of input, as from a script or /dev/null
        assert out.returncode == 2
        assert out.stdout == b""
        usage = out.stderr.decode()
        assert usage.startswith("用法：cadrebot check \"任务内容\"") and "--batch" in usage


def test_check_without_a_task_at_a_terminal_does_not_sit_waiting(tmp_path: Path):
    master, slave = os.openpty()
    try:
        result = subprocess.run(CADREBOT + ["check"], stdin=slave, capture_output=True, cwd=ROOT, timeout=60,
                                env={**os.environ, "CADREBOT_DATA_DIR": str(tmp_path)})
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("用法：cadrebot check")


def test_check_without_a_task_reads_piped_tasks_like_batch(tmp_path: Path):
    out = run(["check"], stdin="医院说死亡证明要社区开，真的假的\n低保入户算吗\n".encode(), tmp=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    first, second = out.stdout.decode().strip().split("\n\n")
    assert first.startswith("🚫") and second.startswith("🤝") and "B1" in second


def test_check_batch_of_nothing_is_an_empty_answer(tmp_path: Path):
    out = run(["check", "--batch", "--json"], stdin=b"", tmp=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (0, b"", b"")


def test_check_json(tmp_path: Path):
    out = run(["check", "--json", "武装部让摸一下今年适龄青年名单，做征兵宣传"], tmp=tmp_path)
    data = json.loads(out.stdout)
    assert data["verdict"] == "assist" and data["in_agreement"] is True and data["matches"][0]["id"] == "B4"


def test_batch_answers_every_line_in_order_even_bad_ones(tmp_path: Path):
    lines = ["低保入户算吗".encode(), b"", b"\xff\xfe broken", "医院说死亡证明要社区开，真的假的".encode(), "你好".encode()]
    out = run(["check", "--json", "--batch"], stdin=b"\n".join(lines) + b"\n", tmp=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    answers = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [a["verdict"] for a in answers] == ["assist", "unclear", "unclear", "certificate_refused", "chitchat"]
    assert "无法识别" in answers[2]["reply"]


def test_chat_answers_a_piped_line_that_is_not_utf8_and_carries_on(tmp_path: Path):
    out = run(["chat"], stdin=b"\xd6\xd0\xce\xc4\n" + "统计局搞经济普查，让社区配合入户登记\n".encode(), tmp=tmp_path)
    assert out.returncode == 0 and out.stderr == b""
    unreadable, answer = out.stdout.decode().strip().split("\n\n")
    assert unreadable == "这一行有无法识别的字符（不是 UTF-8 编码），请重新输入。"
    assert "B15" in answer


def test_chat_reads_piped_lines_and_exits_at_end_of_input(tmp_path: Path):
    out = run(["chat"], stdin="统计局搞经济普查，让社区配合入户登记\n谢谢\n".encode(), tmp=tmp_path)
    assert out.returncode == 0
    text = out.stdout.decode()
    assert "B15" in text and "政社互动助手" in text


def test_chat_says_a_bot_command_is_for_telegram_instead_of_checking_it(tmp_path: Path):
    out = run(["chat"], stdin=b"/register ABCD2345\n/evaluation\n", tmp=tmp_path)
    assert out.returncode == 0
    first, second = out.stdout.decode().strip().split("\n\n")
    assert "/register" in first and "Telegram" in first and "限制" not in first
    assert "/evaluation" in second


class Terminal:
    """`cadrebot chat` on a pseudo-terminal, as a user at a keyboard: what it types, and what the screen shows."""

    def __init__(self, tmp: Path, timeout: float = 90) -> None:
        self.timeout = timeout
        self.screen = b""
        self.master, slave = os.openpty()
        env = {**os.environ, "CADREBOT_DATA_DIR": str(tmp), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "TERM": "xterm", "INPUTRC": "/dev/null"}  # strict UTF-8 terminal; no personal key bindings
        self.process = subprocess.Popen(CADREBOT + ["chat"], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                                        env=env)
        os.close(slave)
        self.wait_for_prompt()

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the program has ended and closed the terminal
            return False
        self.screen += chunk
        return bool(chunk)

    def wait_for_prompt(self) -> str:
        """Everything shown since the last prompt, up to the next one."""
        deadline = time.monotonic() + self.timeout
        start = len(self.screen)
        while PROMPT.encode() not in self.screen[start:]:
            assert self._read(deadline), f"no prompt; the screen shows: {self.screen.decode(errors='replace')}"
        shown, _, _ = self.screen[start:].rpartition(PROMPT.encode())
        return shown.decode(errors="replace")

    def type(self, keys: str | bytes) -> None:
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)

    def answer_to(self, keys: str | bytes) -> str:
        """Type keys and Enter; what the console answered before its next prompt."""
        self.type(keys)
        self.type("\r")
        return self.wait_for_prompt()

    def exit_code(self) -> int:
        deadline = time.monotonic() + self.timeout
        while self._read(deadline):
            pass
        return self.process.wait(timeout=max(1.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


def test_console_edits_lines_with_arrow_keys_and_keeps_history(tmp_path: Path):
    terminal = Terminal(tmp_path)
    try:
        assert "⛔" in terminal.answer_to(FORBIDDEN)
        assert "⛔" in terminal.answer_to(UP)  # Up brings the task back; Enter asks again
        terminal.type("/qit" + LEFT + LEFT + "u\r")  # corrected to /quit with the cursor keys
        assert terminal.exit_code() == 0
        assert "^[[" not in terminal.screen.decode(errors="replace")
    finally:
        terminal.close()
    history = tmp_path / "console_history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert FORBIDDEN in history.read_text(encoding="utf-8")

    terminal = Terminal(tmp_path)  # a new session remembers the last one: /quit, and the task before it
    try:
        assert "⛔" in terminal.answer_to(UP + UP)
        terminal.type(CTRL_D)
        assert terminal.exit_code() == 0
    finally:
        terminal.close()


def test_console_answers_bytes_that_are_not_utf8_and_keeps_going(tmp_path: Path):
    terminal = Terminal(tmp_path)
    try:
        unreadable = "这一行有无法识别的字符（不是 UTF-8 编码），请重新输入。"
        shown = terminal.answer_to(b"\xff\xfe\xc3(")  # ends in the first byte of a two-byte character
        assert unreadable in shown and "Traceback" not in shown
        assert "⛔" in terminal.answer_to(FORBIDDEN)  # that byte is not stuck in front of the next line
        assert unreadable in terminal.answer_to(FORBIDDEN.encode("gbk"))  # a terminal set to GBK by mistake
        assert "⛔" in terminal.answer_to(FORBIDDEN)
        assert "⛔" in terminal.answer_to(UP)  # the history skipped the unreadable line
        terminal.type(CTRL_D)
        assert terminal.exit_code() == 0
    finally:
        terminal.close()
    assert b"\xff" not in (tmp_path / "console_history").read_bytes()


def test_kb_validate_passes_on_the_bundled_data(tmp_path: Path):
    out = run(["kb", "validate"], tmp=tmp_path)
    assert out.returncode == 0, out.stdout.decode()
    assert "检查通过" in out.stdout.decode()


def _broken_copy(tmp_path: Path, edit) -> Path:
    data = tmp_path / "kb"
    shutil.copytree(bundled_data_dir(), data)
    edit(data)
    return data


def test_kb_validate_names_file_and_line_of_an_unknown_id(tmp_path: Path):
    def edit(data: Path) -> None:
        path = data / "profiles/taicang/assist.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("id: B3\n", "id: B99\n", 1), encoding="utf-8")

    data = _broken_copy(tmp_path, edit)
    out = run(["kb", "validate", "--data-dir", str(data)], tmp=tmp_path)
    text = out.stdout.decode()
    assert out.returncode == 1
    line = next(found for found in text.splitlines() if "B99" in found)
    assert "profiles/taicang/assist.yaml:" in line and "未知的事项编号" in line
    line_number = int(line.split("assist.yaml:")[1].split(":")[0])
    assert "B99" in (data / "profiles/taicang/assist.yaml").read_text(encoding="utf-8").splitlines()[line_number - 1]


def test_kb_validate_reports_a_keyword_pointing_at_conflicting_lists(tmp_path: Path):
    def edit(data: Path) -> None:
        path = data / "profiles/taicang/assist.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("keywords: [", "keywords: [一票否决, ", 1), encoding="utf-8")

    data = _broken_copy(tmp_path, edit)
    out = run(["kb", "validate", "--data-dir", str(data)], tmp=tmp_path)
    assert out.returncode == 1
    lines = [line for line in out.stdout.decode().splitlines() if "「一票否决」" in line]
    assert any("profiles/taicang/assist.yaml:" in line for line in lines)
    assert any("profiles/taicang/restricted.yaml:" in line for line in lines)


def test_kb_validate_names_the_file_missing_an_item(tmp_path: Path):
    import yaml

    def edit(data: Path) -> None:
        path = data / "profiles/taicang/duties.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["items"] = [i for i in doc["items"] if i["id"] != "A3"]
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")

    data = _broken_copy(tmp_path, edit)
    out = run(["kb", "validate", "--data-dir", str(data)], tmp=tmp_path)
    assert out.returncode == 1
    line = next(found for found in out.stdout.decode().splitlines() if "A3" in found)
    assert "profiles/taicang/duties.yaml:1:" in line and "缺少事项" in line


def test_kb_validate_reports_a_missing_source(tmp_path: Path):
    import yaml

    def edit(data: Path) -> None:
        path = data / "national/certificates.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["items"][0]["sources"] = []
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")

    data = _broken_copy(tmp_path, edit)
    out = run(["kb", "validate", "--data-dir", str(data)], tmp=tmp_path)
    assert out.returncode == 1
    assert "P1 没有来源" in out.stdout.decode()
