"""The labelled corpus the model learns from: its size and spread, and `kb validate` over it."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from knowledge.loader import bundled_data_dir, read_knowledge, validate


@pytest.fixture(scope="module")
def corpus():
    raw = read_knowledge()
    assert raw.problems == []
    return raw.corpus, raw.items


def test_the_lists_can_be_read_without_the_corpus(corpus):
    """Item titles for the digest need the lists, not the 4,892 records the model learns from."""
    _, items = corpus
    raw = read_knowledge(with_corpus=False)
    assert raw.problems == [] and raw.corpus == []
    assert {i: item.title for i, item in raw.items.items()} == {i: item.title for i, item in items.items()}


def test_every_item_has_forty_records(corpus):
    records, items = corpus
    per_item = Counter(i for r in records for i in set(r.ids))
    thin = {i: per_item[i] for i in items if per_item[i] < 40}
    assert not thin, thin


def test_the_corpus_covers_every_kind_of_request(corpus):
    records, _ = corpus
    kinds = Counter(r.category for r in records)
    assert kinds["unlisted"] >= 400 and kinds["chitchat"] >= 300 and kinds["adversarial"] >= 300
    assert kinds["mixed"] >= 200 and kinds["long"] >= 200
    long_texts = [r.text for r in records if r.category == "long"]
    assert sum(len(t) >= 100 for t in long_texts) >= 200


def test_dialect_spans_five_families(corpus):
    records, _ = corpus
    families = Counter(r.dialect for r in records if r.dialect != "none")
    assert sum(families.values()) >= 300
    assert len([f for f, n in families.items() if n >= 30]) >= 5


def test_eight_independent_writers_each_keep_their_name(corpus):
    records, _ = corpus
    writers = Counter(r.writer for r in records)
    assert len(writers) >= 8 and min(writers.values()) >= 400
    files = {p.stem for p in (bundled_data_dir() / "corpus").glob("*.yaml")}
    assert set(writers) == files


def test_validate_names_the_file_and_line_of_a_bad_record(tmp_path: Path):
    data = tmp_path / "data"
    shutil.copytree(bundled_data_dir(), data)
    bad = data / "corpus" / "w_bad.yaml"
    bad.write_text("writer: w_bad\nrecords:\n  - {text: 街道让我们收钱, verdict: assist, ids: [C10], category: item}\n"
                   "  - {text: 你好, verdict: chitchat, ids: [B1], category: chitchat}\n"
                   "  - {text: 派出所要证明, verdict: certificate_refused, ids: [P99], category: item}\n", encoding="utf-8")
    problems = [str(p) for p in validate(data)]
    assert any(p.startswith("corpus/w_bad.yaml:3:") and "B 开头" in p for p in problems), problems
    assert any(p.startswith("corpus/w_bad.yaml:4:") and "不带事项编号" in p for p in problems), problems
    assert any(p.startswith("corpus/w_bad.yaml:5:") and "P99" in p for p in problems), problems
