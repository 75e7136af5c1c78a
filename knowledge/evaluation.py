"""Scores a classifier on labelled phrasings: verdict accuracy, top-1/top-3, false permits and refusals."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ALLOWED = frozenset({"duty", "assist"})
FORBIDDEN = frozenset({"restricted", "certificate_refused", "unlisted"})


@dataclass(frozen=True)
class Case:
    text: str
    verdict: str
    ids: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class Prediction:
    verdict: str
    ids: tuple[str, ...]  # best first


@dataclass
class Report:
    name: str
    n: int = 0
    verdict_correct: int = 0
    with_ids: int = 0
    top1: int = 0
    top3: int = 0
    forbidden_cases: int = 0
    false_permits: int = 0
    allowed_cases: int = 0
    false_refusals: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[tuple[Case, Prediction]] = field(default_factory=list)

    @property
    def verdict_accuracy(self) -> float:
        return self.verdict_correct / self.n if self.n else 0.0

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.with_ids if self.with_ids else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.with_ids if self.with_ids else 0.0

    @property
    def false_permit_rate(self) -> float:
        return self.false_permits / self.forbidden_cases if self.forbidden_cases else 0.0

    @property
    def false_refusal_rate(self) -> float:
        return self.false_refusals / self.allowed_cases if self.allowed_cases else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    def row(self) -> str:
        return (f"{self.name:<26} n={self.n:<4} verdict={self.verdict_accuracy:.3f} top1={self.top1_rate:.3f} "
                f"top3={self.top3_rate:.3f} false_permit={self.false_permit_rate:.3f} ({self.false_permits}) "
                f"false_refuse={self.false_refusal_rate:.3f} ({self.false_refusals}) "
                f"p50={statistics.median(self.latencies_ms or [0]):.2f}ms p99={self.percentile(0.99):.2f}ms")


def load_cases(path: str | Path) -> list[Case]:
    records = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [Case(str(r["text"]), str(r["verdict"]), tuple(r.get("ids") or ()), str(r.get("source", ""))) for r in records]


def evaluate(name: str, predict: Callable[[str], Prediction], cases: list[Case]) -> Report:
    report = Report(name)
    for case in cases:
        started = time.perf_counter()
        prediction = predict(case.text)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.n += 1
        correct = prediction.verdict == case.verdict
        report.verdict_correct += correct
        if case.ids:
            report.with_ids += 1
            report.top1 += bool(prediction.ids) and prediction.ids[0] in case.ids
            report.top3 += any(i in case.ids for i in prediction.ids[:3])
        if case.verdict in FORBIDDEN:
            report.forbidden_cases += 1
            report.false_permits += prediction.verdict in ALLOWED
        if case.verdict in ALLOWED:
            report.allowed_cases += 1
            report.false_refusals += prediction.verdict in FORBIDDEN
        if not correct or (case.ids and (not prediction.ids or prediction.ids[0] not in case.ids)):
            report.errors.append((case, prediction))
    return report
