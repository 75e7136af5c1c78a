"""The command line as a deployer or a script uses it: check, check --json --batch, chat, kb validate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


from knowledge.loader import bundled_data_dir

CADREBOT = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]


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


def test_chat_reads_piped_lines_and_exits_at_end_of_input(tmp_path: Path):
    out = run(["chat"], stdin="统计局搞经济普查，让社区配合入户登记\n谢谢\n".encode(), tmp=tmp_path)
    assert out.returncode == 0
    text = out.stdout.decode()
    assert "B15" in text and "政社互动助手" in text


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
    line = next(l for l in text.splitlines() if "B99" in l)
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
    lines = [l for l in out.stdout.decode().splitlines() if "「一票否决」" in l]
    assert any("profiles/taicang/assist.yaml:" in l for l in lines)
    assert any("profiles/taicang/restricted.yaml:" in l for l in lines)


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
    line = next(l for l in out.stdout.decode().splitlines() if "A3" in l)
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
