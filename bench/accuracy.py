"""Accuracy and latency of the task check against two baselines, in one run.

    python bench/accuracy.py [--errors] [--set tests/data/devset.yaml ...]

Baselines: rapidfuzz alone over the item texts, and BM25 (rank-bm25) over jieba tokens of the item texts.
Each baseline's verdict is the list of its best item, or `unclear` below its own score floor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jieba
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import load_knowledge_base  # noqa: E402
from knowledge.evaluation import Prediction, evaluate, load_cases  # noqa: E402
from knowledge.model import VERDICT_OF_LIST  # noqa: E402
from knowledge.normalize import normalize  # noqa: E402

DEFAULT_SETS = [ROOT / "tests/data/devset.yaml", ROOT / "tests/data/heldout_local.yaml"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", action="append", type=Path, help="labelled YAML file(s)")
    parser.add_argument("--errors", action="store_true", help="list the project's mistakes")
    args = parser.parse_args()

    kb = load_knowledge_base()
    items = list(kb.items.values())
    corpus = [f"{i.title} {i.text}" for i in items]

    def ours(text: str) -> Prediction:
        result = kb.check(text)
        return Prediction(result.verdict, tuple(m.id for m in result.matches))

    def fuzzy(text: str) -> Prediction:
        found = process.extract(normalize(text), corpus, scorer=fuzz.partial_token_set_ratio, limit=3)
        if not found:
            return Prediction("unclear", ())
        ids = tuple(items[i].id for _, _, i in found)
        return Prediction(VERDICT_OF_LIST[items[found[0][2]].list], ids)

    tokenizer = jieba.Tokenizer()
    bm25 = BM25Okapi([tokenizer.lcut(normalize(doc)) for doc in corpus])
    print("baselines index each item's title and text; the project's matcher uses the whole knowledge base")

    def bm25_baseline(text: str) -> Prediction:
        scores = bm25.get_scores(tokenizer.lcut(normalize(text)))
        order = sorted(range(len(items)), key=lambda i: scores[i], reverse=True)[:3]
        if scores[order[0]] <= 0:
            return Prediction("unclear", ())
        return Prediction(VERDICT_OF_LIST[items[order[0]].list], tuple(items[i].id for i in order))

    for path in args.set or DEFAULT_SETS:
        cases = load_cases(path)
        print(f"\n== {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({len(cases)} cases)")
        reports = [evaluate("cadrebot matcher", ours, cases), evaluate("baseline rapidfuzz", fuzzy, cases),
                   evaluate("baseline bm25 (jieba)", bm25_baseline, cases)]
        for report in reports:
            print(report.row())
        if args.errors:
            for case, prediction in reports[0].errors:
                print(f"  want {case.verdict:<19} {','.join(case.ids):<10} got {prediction.verdict:<19} "
                      f"{','.join(prediction.ids):<12} {case.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
