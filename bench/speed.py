"""Warm throughput and latency of the task check on one core, and cold start, each beside a baseline.

    python bench/speed.py [--rounds 5]

Warm: every phrasing of the development and held-out sets, `rounds` times, in one process (one core).
Baseline in the same run: rapidfuzz's extractOne over the item texts (the cheapest matcher worth the name).
Cold start: a fresh process until the knowledge base is loaded and the first answer printed, against a
bare interpreter start (`python -c pass`) in the same run; medians of several starts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from knowledge import load_knowledge_base  # noqa: E402
from knowledge.evaluation import load_cases  # noqa: E402

COLD = "from knowledge import load_knowledge_base; print(load_knowledge_base().check('低保入户算吗').verdict)"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, texts: list[str], rounds: int) -> tuple[list[float], float]:
    latencies, started = [], time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            t = time.perf_counter()
            fn(text)
            latencies.append((time.perf_counter() - t) * 1000)
    return latencies, time.perf_counter() - started


def cold_starts(code: str, n: int, env: dict) -> list[float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    texts = [c.text for f in ("devset.yaml", "heldout_local.yaml") for c in load_cases(ROOT / "tests/data" / f)]
    kb = load_knowledge_base()
    corpus = [f"{i.title} {i.text}" for i in kb.items.values()]
    for text in texts[:20]:
        kb.check(text)  # warm caches

    print(f"warm, one core, {len(texts)} phrasings x {args.rounds} rounds")
    for name, fn in (("cadrebot check()", kb.check),
                     ("baseline rapidfuzz extractOne", lambda t: process.extractOne(t, corpus, scorer=fuzz.WRatio))):
        latencies, total = timed(fn, texts, args.rounds)
        print(f"  {name:<30} {len(latencies) / total:8.0f} checks/s   p50 {statistics.median(latencies):.3f} ms"
              f"   p99 {percentile(latencies, 0.99):.3f} ms   max {max(latencies):.3f} ms")

    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "CADREBOT_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
        cold_starts(COLD, 1, env)  # first start fills jieba's cache in the app's own directory
        ours = cold_starts(COLD, args.starts, env)
        bare = cold_starts("pass", args.starts, env)
    print(f"cold start (process start → knowledge base loaded → first answer), {args.starts} starts")
    print(f"  {'cadrebot':<30} median {statistics.median(ours):.3f} s   max {max(ours):.3f} s")
    print(f"  {'baseline: bare python':<30} median {statistics.median(bare):.3f} s   max {max(bare):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
