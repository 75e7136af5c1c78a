"""The learned model: trained the same way every time, from the corpus alone, and cached."""

from __future__ import annotations

import numpy as np

from knowledge import KnowledgeBase
from knowledge.learned import examples_from, train_task_model


def test_training_is_deterministic(kb: KnowledgeBase):
    # A slice of the corpus and of the items' own phrasings keeps the test quick (training dominates, and grows
    # with the rows); the full set trains the same way.
    examples = examples_from(kb.raw.corpus[::12], kb.items, kb.featurise)[::3]
    first = train_task_model(examples, kb.items)
    second = train_task_model(examples, kb.items)
    assert np.array_equal(first.weights, second.weights) and np.array_equal(first.bias, second.bias)


def test_probabilities_are_calibrated_enough_to_act_on(kb: KnowledgeBase):
    """A clear request is answered with high confidence; an empty-sounding one is not."""
    clear = kb.score("街道民政科让我们下礼拜把低保户都入户走一遍核收入")
    vague = kb.score("有个事想问问")
    assert clear is not None and vague is not None
    assert clear[0].best_verdict()[1] >= 0.8 and clear[0].items[0][0] == "B1"
    assert vague[0].best_verdict()[1] < 0.6


def test_a_fresh_data_directory_loads_the_trained_model_instead_of_training(kb: KnowledgeBase, tmp_path, monkeypatch):
    import knowledge

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although the corpus and the code did not change")

    monkeypatch.setattr(knowledge, "train_task_model", no_training)
    monkeypatch.setattr(knowledge, "_trained", {})
    again = knowledge.load_knowledge_base(cache_dir=tmp_path / "cache")
    assert again.check("低保入户算吗").matches[0].id == "B1"
