"""Quality floor on the development set; the held-out set is reported by bench/accuracy.py."""

from __future__ import annotations

from pathlib import Path

from knowledge import KnowledgeBase
from knowledge.evaluation import Prediction, evaluate, load_cases

DATA = Path(__file__).resolve().parent.parent / "data"


def _predict(kb: KnowledgeBase):
    def predict(text: str) -> Prediction:
        result = kb.check(text)
        return Prediction(result.verdict, tuple(m.id for m in result.matches))
    return predict


def test_development_set_meets_the_targets(kb: KnowledgeBase):
    report = evaluate("dev", _predict(kb), load_cases(DATA / "devset.yaml"))
    mistakes = "\n".join(f"{c.verdict}/{','.join(c.ids)} → {p.verdict}/{','.join(p.ids)}: {c.text}" for c, p in report.errors)
    assert report.false_permits == 0, mistakes
    assert report.verdict_accuracy >= 0.95, mistakes
    assert report.top1_rate >= 0.90, mistakes


def test_the_reference_phrasings_are_all_in_the_development_set():
    cases = load_cases(DATA / "devset.yaml")
    assert len([c for c in cases if c.source.startswith("ref5-")]) == 52


def test_held_out_sets_keep_a_floor(kb: KnowledgeBase):
    """Generalisation guard: sets written apart from the matcher (see bench/accuracy.py for the figures)."""
    for name in ("heldout_local.yaml", "heldout_fresh.yaml"):
        report = evaluate(name, _predict(kb), load_cases(DATA / name))
        assert report.verdict_accuracy >= 0.85, report.row()
        assert report.false_permit_rate <= 0.03, report.row()
