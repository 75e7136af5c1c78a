"""Every verdict rule, pinned by a labelled case that the check gets wrong without it.

Each case is answered twice, with the rule and with it switched off by name; the rule earns its place only
where the first answer is the label and the second is not. (bench/accuracy.py --ablate measures each rule
over the whole corpus, leaving each writer out in turn.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, load_knowledge_base
from knowledge.loader import bundled_data_dir
from knowledge.verdict import Rule

PINNED = [
    # Padding numbers is on no list, however assisting the survey it rides on is.
    (Rule.OUT_ROLE_BLOCKS_PERMIT, "民政办让我们协助排查困难户，另外让把数字凑够30户报上去", "unlisted"),
    # Collecting money from every household, added to a publicity task.
    (Rule.OUT_ROLE_BLOCKS_PERMIT, "镇里让我们宣传防诈骗，另外每户代收20元宣传资料费", "unlisted"),
    # A vague request: the model leans to "assisting work", but not surely enough for a "在协议内".
    (Rule.PERMIT_NEEDS_CONFIDENCE, "镇上让我们帮个忙", "unclear"),
    (Rule.PERMIT_NEEDS_CONFIDENCE, "有个事想问问", "unclear"),
]


@pytest.mark.parametrize("rule, text, label", PINNED, ids=[f"{r.value}-{i}" for i, (r, _, _) in enumerate(PINNED)])
def test_the_rule_decides_its_case(kb: KnowledgeBase, rule: Rule, text: str, label: str):
    with_rule = kb.decide(text)
    without = kb.decide(text, disabled=frozenset({rule}))
    assert with_rule is not None and without is not None
    assert with_rule.verdict == label and rule in with_rule.fired
    assert without.verdict != label


def test_every_rule_is_pinned():
    pinned = {rule for rule, _, _ in PINNED} | {Rule.AGREEMENT_SWITCHES_ITEM_OFF}
    assert pinned == set(Rule)


def test_an_item_the_town_did_not_sign_is_unlisted_only_by_its_rule(tmp_path: Path):
    data = tmp_path / "kb"
    shutil.copytree(bundled_data_dir(), data)
    (data / "agreements" / "strict.yaml").write_text(
        "town: STRICT\nname: 严格镇协议书\nprofile: taicang\nperiod: 2026-01-01..2026-12-31\nitems:\n"
        "  B15: {enabled: false}\n", encoding="utf-8")
    kb = load_knowledge_base(data, agreement="strict", cache_dir=tmp_path / "cache")
    text = "统计局搞经济普查，让社区配合入户登记"
    with_rule = kb.decide(text)
    assert with_rule is not None and with_rule.verdict == "unlisted"
    assert with_rule.not_in_agreement is not None and with_rule.not_in_agreement.id == "B15"
    without = kb.decide(text, disabled=frozenset({Rule.AGREEMENT_SWITCHES_ITEM_OFF}))
    assert without is not None and without.verdict == "assist"
