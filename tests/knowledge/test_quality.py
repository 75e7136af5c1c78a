"""Quality floors. None of these sets is trained on: the model learns from knowledge/data/corpus/ alone.

The figures that count are bench/accuracy.py --leave-one-writer-out (each corpus writer held out in turn)
and the final held-out writer, measured once (tests/data/heldout_final.yaml); these floors only keep them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.evaluation import Prediction, evaluate, load_cases

DATA = Path(__file__).resolve().parent.parent / "data"


def _predict(kb: KnowledgeBase):
    def predict(text: str) -> Prediction:
        result = kb.check(text)
        return Prediction(result.verdict, tuple(m.id for m in result.matches))
    return predict


def _report(kb: KnowledgeBase, name: str):
    report = evaluate(name, _predict(kb), load_cases(DATA / name))
    mistakes = "\n".join(f"{c.verdict}/{','.join(c.ids)} → {p.verdict}/{','.join(p.ids)}: {c.text}" for c, p in report.errors)
    return report, mistakes


def test_development_set_meets_the_targets(kb: KnowledgeBase):
    report, mistakes = _report(kb, "devset.yaml")
    assert report.false_permits == 0, mistakes
    assert report.verdict_accuracy >= 0.97, mistakes
    assert report.top1_rate >= 0.95, mistakes


def test_the_reference_phrasings_are_all_in_the_development_set():
    cases = load_cases(DATA / "devset.yaml")
    assert len([c for c in cases if c.source.startswith("ref5-")]) == 52


def test_the_final_held_out_writer_keeps_its_measured_level(kb: KnowledgeBase):
    """Measured once at 0.962 verdict, 0.957 top-1, no false permit; nothing was tuned after."""
    report, mistakes = _report(kb, "heldout_final.yaml")
    assert report.n >= 200
    assert report.false_permit_rate <= 0.015, mistakes
    assert report.verdict_accuracy >= 0.94, mistakes
    assert report.top1_rate >= 0.93 and report.top3_rate >= 0.97, mistakes


@pytest.mark.parametrize("name", ["heldout_local.yaml", "heldout_fresh.yaml"])
def test_earlier_held_out_sets_keep_a_floor(kb: KnowledgeBase, name: str):
    report, mistakes = _report(kb, name)
    assert report.verdict_accuracy >= 0.93, mistakes
    assert report.false_permit_rate <= 0.015, mistakes
