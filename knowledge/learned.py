"""The model learned from the corpus: which item a request is about, and which verdict it deserves.

Two heads over the same features: one over items (plus "unlisted", "chitchat", "unclear" where no item
decides), one over verdicts. The verdict probability the rules read is the mean of the verdict head and the
item head summed per verdict, which is better calibrated than either alone (bench/accuracy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from knowledge.classifier import LinearModel, train
from knowledge.corpus import CorpusRecord
from knowledge.features import message_buckets, named_buckets
from knowledge.model import VERDICT_OF_LIST, Item
from knowledge.prepare import Prepared
from knowledge.reading import SECOND_DEMAND, Reading

NO_ITEM_PREFIX = "_"
RANKED_ITEMS = 24  # enough for the best three of every list
# Inverse L2 strength of each head, chosen leaving one writer out (bench/accuracy.py): 84 items want more
# smoothing than 7 verdicts, which gain from sharper weights.
ITEM_REGULARISATION = 50.0
VERDICT_REGULARISATION = 150.0


@dataclass(frozen=True)
class Scores:
    items: tuple[tuple[str, float], ...]  # list items only, most probable first
    verdicts: dict[str, float]

    def best_verdict(self) -> tuple[str, float]:
        verdict = max(self.verdicts, key=self.verdicts.__getitem__)
        return verdict, self.verdicts[verdict]

    def best_items(self, lists: Iterable[str], items: dict[str, Item], limit: int = 3) -> list[tuple[str, float]]:
        wanted = set(lists)
        found = []
        for item_id, p in self.items:
            if items[item_id].list in wanted:
                found.append((item_id, p))
                if len(found) == limit:
                    break
        return found


def features(prepared: Prepared, reading: Reading, reading_numbers: np.ndarray, keyword_items: set[str]) -> np.ndarray:
    """The bucket numbers of every feature of the message (repeats allowed: the model counts each once)."""
    text = prepared.text
    added = SECOND_DEMAND.search(text)
    parts = message_buckets(text, reading_numbers, added.end() if added else None)
    named = [f"w:{w}" for w in prepared.words if len(w) >= 2] + reading.features()
    named += [f"kw:{item_id}" for item_id in keyword_items]
    parts.append(named_buckets(named))
    return np.concatenate(parts)


class TaskModel:
    """Both heads fused into one weight matrix over their shared vocabulary: one look-up and one product a check."""

    def __init__(self, item_head: LinearModel, verdict_head: LinearModel, verdict_of: dict[str, str]):
        if not np.array_equal(item_head.buckets, verdict_head.buckets):
            raise ValueError("the two heads must be trained on the same rows")
        self.item_head, self.verdict_head, self.verdict_of = item_head, verdict_head, verdict_of
        self.idf = item_head.idf
        self.weights = np.hstack([item_head.weights, verdict_head.weights])
        self.bias = np.concatenate([item_head.bias, verdict_head.bias])
        self.split = len(item_head.classes)
        self.verdicts = verdict_head.classes
        # Summing the item head's probabilities per verdict is one product with this 0/1 matrix.
        self.pool = np.zeros((self.split, len(self.verdicts)), dtype=np.float32)
        for row, label in enumerate(item_head.classes):
            self.pool[row, self.verdicts.index(verdict_of[label])] = 1.0
        self.item_ids = tuple(c for c in item_head.classes if not c.startswith(NO_ITEM_PREFIX))
        self.item_columns = np.array([i for i, c in enumerate(item_head.classes) if not c.startswith(NO_ITEM_PREFIX)])

    def score(self, row: np.ndarray) -> Scores:
        index = self.item_head.rows_of(row)
        values = np.take(self.idf, index)
        norm = float(np.sqrt(values @ values)) or 1.0
        # np.take, not weights[index]: on this machine's paging it gathers the rows in half the time.
        z = (values / norm) @ np.take(self.weights, index, axis=0) + self.bias if len(index) else self.bias.copy()
        item_p = _softmax(z[:self.split])
        verdict_p = _softmax(z[self.split:])
        combined = (verdict_p + item_p @ self.pool) / 2
        listed = item_p[self.item_columns]
        order = np.argsort(-listed, kind="stable")[:RANKED_ITEMS].tolist()
        ids, probability = self.item_ids, listed.tolist()
        return Scores(tuple((ids[i], probability[i]) for i in order), dict(zip(self.verdicts, combined.tolist(), strict=True)))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass(frozen=True)
class Example:
    row: np.ndarray
    label: str  # the item head's class
    verdict: str


def examples_from(records: Iterable[CorpusRecord], items: dict[str, Item],
                  featurise: Callable[[str], np.ndarray]) -> list[Example]:
    """Training examples: the corpus, plus each item's own phrasings and keywords (the lists' own words)."""
    out = [Example(featurise(r.text), r.label, r.verdict) for r in records]
    for item in items.values():
        verdict = VERDICT_OF_LIST[item.list]
        for text in (*item.phrasings, *item.keywords):
            out.append(Example(featurise(text), item.id, verdict))
    return out


def train_task_model(examples: list[Example], items: dict[str, Item]) -> TaskModel:
    rows = [e.row for e in examples]
    verdict_of: dict[str, str] = {item_id: VERDICT_OF_LIST[item.list] for item_id, item in items.items()}
    verdict_of.update({e.label: e.verdict for e in examples if e.label.startswith(NO_ITEM_PREFIX)})
    return TaskModel(
        item_head=train(rows, [e.label for e in examples], regularisation=ITEM_REGULARISATION),
        verdict_head=train(rows, [e.verdict for e in examples], regularisation=VERDICT_REGULARISATION),
        verdict_of=verdict_of,
    )
