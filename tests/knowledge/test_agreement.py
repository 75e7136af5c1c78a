"""The town agreement layer: a B item the town did not sign is not in the agreement."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import KnowledgeBaseError, load_knowledge_base
from knowledge.loader import bundled_data_dir


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "kb"
    shutil.copytree(bundled_data_dir(), data)
    return data


def _write_agreement(data: Path, body: str) -> None:
    (data / "agreements" / "strict.yaml").write_text(
        "town: STRICT\nname: 严格镇协议书\nprofile: taicang\nperiod: 2026-01-01..2026-12-31\nitems:\n" + body,
        encoding="utf-8",
    )


def test_an_item_switched_off_is_not_in_the_agreement(data_dir: Path, tmp_path: Path):
    _write_agreement(data_dir, "  B15: {enabled: false}\n  B4: {enabled: true, fee: 3000元, department: 武装部}\n")
    kb = load_knowledge_base(data_dir, agreement="strict", cache_dir=tmp_path / "cache")

    census = kb.check("统计局搞经济普查，让社区配合入户登记")
    assert census.verdict == "unlisted" and census.in_agreement is False
    assert "不在本镇协议内" in census.reply and "B15" in census.reply

    conscription = kb.check("武装部让摸一下今年适龄青年名单，做征兵宣传")
    assert conscription.verdict == "assist"
    assert "3000元" in conscription.reply


def test_the_bundled_demo_agreement_signs_every_assisting_item():
    kb = load_knowledge_base(agreement="demo")
    assert all(item.enabled for item in kb.items.values() if item.list == "assist")


def test_an_agreement_naming_a_restricted_item_is_rejected(data_dir: Path, tmp_path: Path):
    _write_agreement(data_dir, "  C20: {enabled: true}\n")
    with pytest.raises(KnowledgeBaseError) as error:
        load_knowledge_base(data_dir, agreement="strict", cache_dir=tmp_path / "cache")
    assert any("strict.yaml" in p.file and "C20" in p.message for p in error.value.problems)


def test_editing_a_list_is_seen_without_clearing_any_cache(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    before = load_knowledge_base(data_dir, cache_dir=cache)
    assert before.check("村里想办一场打鸟比赛").matches[0].id != "A1"
    path = data_dir / "profiles/taicang/duties.yaml"
    text = path.read_text(encoding="utf-8").replace("keywords: [", "keywords: [打鸟比赛, 打鸟, ", 1)
    path.write_text(text.replace("phrasings:\n", "phrasings:\n      - 村里想办一场打鸟比赛\n      - 打鸟比赛我们自己搞\n", 1),
                    encoding="utf-8")
    after = load_knowledge_base(data_dir, cache_dir=cache)  # the list changed, so the model learns again
    assert after.check("村里想办一场打鸟比赛").matches[0].id == "A1"
