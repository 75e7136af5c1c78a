"""Every command in the README's 命令行 section runs as written, in order, in a fresh directory, as a deployer
would paste it: after `. .venv/bin/activate`, with the README's own example files for import-places."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent  # the .venv the tests run in
SECTION = re.compile(r"^## 命令行\n(.*?)^### `cadrebot check --json`", re.S | re.M)
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def readme_blocks() -> list[tuple[str, str]]:
    section = SECTION.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert section, "README.md has no 命令行 section"
    return BLOCK.findall(section.group(1))


def commands() -> list[str]:
    lines = [line.strip() for kind, block in readme_blocks() if kind == "bash" for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.long
def test_every_readme_command_runs(tmp_path):
    blocks = dict((kind, text) for kind, text in readme_blocks() if kind in ("yaml", "csv"))
    (tmp_path / "places.yaml").write_text(blocks["yaml"], encoding="utf-8")
    (tmp_path / "places.csv").write_text(blocks["csv"], encoding="utf-8")
    (tmp_path / "tasks.txt").write_text("低保入户算吗\n街道让我们收医保的钱还要排名\n", encoding="utf-8")
    (tmp_path / ".venv").symlink_to(VENV)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "CADREBOT_", "DATABASE_URL", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/bin:/bin"  # cadrebot is found only through the activated virtualenv
    env["COLUMNS"] = "100"
    ran = []
    for command in [*commands(), "cadrebot admin import-places places.csv", "cadrebot admin list-places"]:
        script = command if command.startswith((". .venv", ".venv/")) else f". .venv/bin/activate && {command}"
        result = subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, timeout=120)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, f"{command}\n{result.stderr}"
        ran.append((command, result.stdout))
    assert len(ran) > 20
    places = ran[-1][1]  # both example files were imported
    assert "T01V02\t西门社区" in places and "T02\t浏河镇" in places and "DEMO01\t东风村" in places
    assert (tmp_path / "data" / "cadrebot.db").is_file()  # the data directory is ./data of where it ran
    assert (tmp_path / "周报.xlsx").stat().st_size > 0
