"""Accuracy of the task check, measured where it counts: on writers the model never learned from.

    python bench/accuracy.py                         # the labelled sets in tests/data, beside two baselines
    python bench/accuracy.py --leave-one-writer-out  # train on all writers but one, test on that one, for each
    python bench/accuracy.py --leave-one-writer-out --sweep --ablate
    python bench/accuracy.py --set tests/data/heldout_final.yaml --errors

--sweep prints false permits against coverage as the permit threshold moves, and marks the chosen point.
--ablate switches each named verdict rule off in turn and prints what that costs.
Baselines: rapidfuzz alone over the item texts, and BM25 (rank-bm25) over jieba tokens of the item texts;
each baseline's verdict is the list of its best item, or `unclear` below its own score floor.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import jieba
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import KnowledgeBase, load_knowledge_base
from knowledge.evaluation import Case, Prediction, Report, evaluate, load_cases
from knowledge.model import VERDICT_OF_LIST, Verdict
from knowledge.normalize import normalize
from knowledge.verdict import Rule, Thresholds, decide

DATA = ROOT / "tests/data"
DEFAULT_SETS = ["devset.yaml", "heldout_local.yaml", "heldout_fresh.yaml", "heldout_final.yaml"]
SWEEP = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)


def baselines(kb: KnowledgeBase):
    items = list(kb.items.values())
    corpus = [f"{i.title} {i.text}" for i in items]

    def fuzzy(text: str) -> Prediction:
        found = process.extract(normalize(text), corpus, scorer=fuzz.partial_token_set_ratio, limit=3)
        if not found:
            return Prediction("unclear", ())
        return Prediction(VERDICT_OF_LIST[items[found[0][2]].list], tuple(items[i].id for _, _, i in found))

    tokenizer = jieba.Tokenizer()
    bm25 = BM25Okapi([tokenizer.lcut(normalize(doc)) for doc in corpus])

    def bm25_baseline(text: str) -> Prediction:
        scores = bm25.get_scores(tokenizer.lcut(normalize(text)))
        order = sorted(range(len(items)), key=lambda i: scores[i], reverse=True)[:3]
        if scores[order[0]] <= 0:
            return Prediction("unclear", ())
        return Prediction(VERDICT_OF_LIST[items[order[0]].list], tuple(items[i].id for i in order))

    return [("baseline rapidfuzz", fuzzy), ("baseline bm25 (jieba)", bm25_baseline)]


def ours(kb: KnowledgeBase):
    def predict(text: str) -> Prediction:
        result = kb.check(text)
        return Prediction(result.verdict, tuple(m.id for m in result.matches))
    return predict


def print_errors(report: Report) -> None:
    for case, prediction in report.errors:
        print(f"  want {case.verdict:<19} {','.join(case.ids):<10} got {prediction.verdict:<19} "
              f"{','.join(prediction.ids):<12} {case.text}")


def labelled_sets(kb: KnowledgeBase, paths: list[Path], show_errors: bool) -> None:
    others = baselines(kb)
    for path in paths:
        if not path.exists():
            print(f"\n== {path.name}: not present")
            continue
        cases = load_cases(path)
        print(f"\n== {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({len(cases)} cases)")
        reports = [evaluate("cadrebot", ours(kb), cases)] + [evaluate(name, fn, cases) for name, fn in others]
        for report in reports:
            print(report.row())
        if show_errors:
            print_errors(reports[0])


@dataclasses.dataclass
class Scored:
    case: Case
    scored: object  # (Scores, Reading) or None


def _predict(scored: Scored, kb: KnowledgeBase, thresholds: Thresholds, disabled: frozenset[Rule]) -> Prediction:
    if scored.scored is None:
        return Prediction(Verdict.UNCLEAR, ())
    scores, reading = scored.scored
    decision = decide(scores, reading, kb.items, thresholds, disabled)
    return Prediction(decision.verdict, tuple(c.item.id for c in decision.matches))


def _report(name: str, rows: list[Scored], kb: KnowledgeBase, thresholds: Thresholds,
            disabled: frozenset[Rule] = frozenset()) -> Report:
    by_text = {r.case.text: r for r in rows}
    return evaluate(name, lambda text: _predict(by_text[text], kb, thresholds, disabled), [r.case for r in rows])


def leave_one_writer_out(kb: KnowledgeBase, sweep: bool, ablate: bool, show_errors: bool) -> None:
    corpus = kb.raw.corpus
    writers = sorted({r.writer for r in corpus})
    print(f"leave one writer out: {len(corpus)} records by {len(writers)} writers; each fold trains on the others")
    folds: dict[str, list[Scored]] = {}
    for writer in writers:
        started = time.perf_counter()
        fold_kb = kb.retrained([r for r in corpus if r.writer != writer])
        trained = time.perf_counter() - started
        folds[writer] = [Scored(Case(r.text, r.verdict, r.ids, r.writer), fold_kb.score(r.text))
                         for r in corpus if r.writer == writer]
        report = _report(writer, folds[writer], kb, kb.thresholds)
        print(report.row().split(" p50")[0] + f"  (trained in {trained:.1f} s)")
        if show_errors:
            print_errors(report)
    pooled = [row for rows in folds.values() for row in rows]

    def summary(label: str, thresholds: Thresholds, disabled: frozenset[Rule] = frozenset()) -> str:
        per_writer = [_report(w, rows, kb, thresholds, disabled) for w, rows in folds.items()]
        whole = _report("all", pooled, kb, thresholds, disabled)
        worst = min(per_writer, key=lambda r: r.verdict_accuracy)
        mean = statistics.mean(r.verdict_accuracy for r in per_writer)
        return (f"{label:<36} verdict mean {mean:.3f} worst {worst.verdict_accuracy:.3f} ({worst.name})  pooled: "
                + whole.row().split("verdict=", 1)[1].split(" p50")[0])

    print("\n" + summary("chosen thresholds", kb.thresholds))
    print(f"{'':<36} baselines on the same records:")
    cases = [r.case for r in pooled]
    for name, fn in baselines(kb):
        print(f"{'':<36} " + evaluate(name, fn, cases).row().split(" p50")[0])
    if sweep:
        print("\nfalse permits against coverage as the permit threshold moves (coverage: share answered, not unclear)")
        for value in SWEEP:
            thresholds = dataclasses.replace(kb.thresholds, permit=value)
            answered = sum(_predict(r, kb, thresholds, frozenset()).verdict != Verdict.UNCLEAR for r in pooled)
            mark = "  <- chosen" if abs(value - kb.thresholds.permit) < 1e-9 else ""
            print(summary(f"permit >= {value:.2f} coverage {answered / len(pooled):.3f}", thresholds) + mark)
    if ablate:
        print("\neach rule switched off in turn")
        for rule in Rule:
            print(summary(f"without {rule.value}", kb.thresholds, frozenset({rule})))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", type=Path, help="labelled YAML file(s)")
    parser.add_argument("--errors", action="store_true", help="list the project's mistakes")
    parser.add_argument("--leave-one-writer-out", action="store_true", help="train without each writer, test on it")
    parser.add_argument("--sweep", action="store_true", help="false permits against coverage by threshold")
    parser.add_argument("--ablate", action="store_true", help="what each verdict rule is worth")
    args = parser.parse_args()

    kb = load_knowledge_base()
    if args.leave_one_writer_out:
        leave_one_writer_out(kb, args.sweep, args.ablate, args.errors)
    else:
        labelled_sets(kb, args.set or [DATA / name for name in DEFAULT_SETS], args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
