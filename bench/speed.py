"""Warm throughput and latency of the task check on one core, cold start through the CLI, and peak memory,
each beside a baseline measured in the same run.

    python bench/speed.py [--rounds 5] [--starts 5]

Texts: the final held-out writer's requests (tests/data/heldout_final.yaml, 5–139 characters), plus every
pasted notice of 100–300 characters in the corpus, so the mix reaches the longest messages cadres send.
Warm baseline: rapidfuzz's extractOne over the item texts (the cheapest matcher worth the name).
Cold start: `cadrebot check --json --batch` from process start to its first answer, with the caches built,
against a bare interpreter start (`python -c pass`); medians of several starts.
Peak RSS: of that CLI process after answering every text, against a bare interpreter with numpy imported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process

from knowledge import load_knowledge_base
from knowledge.evaluation import load_cases

CLI = [str(Path(sys.executable).parent / "cadrebot"), "check", "--json", "--batch"]


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


def first_answer(command: list[str], stdin: bytes, env: dict) -> float:
    """Seconds from starting `command` until it prints its first line."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.stdout.read()
    proc.wait()
    return elapsed


def peak_rss_mb(command: list[str], stdin: bytes, env: dict) -> float:
    """Peak resident memory of one child process (ru_maxrss of the children, measured alone)."""
    code = ("import resource, subprocess, sys; "
            f"subprocess.run({command!r}, input=sys.stdin.buffer.read(), stdout=subprocess.DEVNULL, check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, input=stdin, capture_output=True, check=True)
    return int(out.stdout.decode().strip()) / 1024


def texts_for_timing() -> tuple[str, list[str]]:
    final = ROOT / "tests/data/heldout_final.yaml"
    notices = [r.text for r in load_knowledge_base().raw.corpus if 100 <= len(r.text) <= 300]
    held_out = [c.text for c in load_cases(final)] if final.exists() else []
    return f"{final.name} ({len(held_out)}) + corpus notices of 100–300 characters ({len(notices)})", held_out + notices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    source, texts = texts_for_timing()
    lengths = sorted(len(t) for t in texts)
    kb = load_knowledge_base()
    corpus = [f"{i.title} {i.text}" for i in kb.items.values()]
    for text in texts[:20]:
        kb.check(text)  # warm caches

    print(f"texts: {len(texts)} from {source}, length min {lengths[0]} median {statistics.median(lengths):.0f} "
          f"p90 {percentile(lengths, 0.9)} max {lengths[-1]} characters")
    print(f"warm, one core, {args.rounds} rounds")
    for name, fn in (("cadrebot check()", kb.check),
                     ("baseline rapidfuzz extractOne", lambda t: process.extractOne(t, corpus, scorer=fuzz.WRatio))):
        latencies, total = timed(fn, texts, args.rounds)
        print(f"  {name:<30} {len(latencies) / total:8.0f} checks/s   p50 {statistics.median(latencies):.3f} ms"
              f"   p99 {percentile(latencies, 0.99):.3f} ms   max {max(latencies):.3f} ms")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    one = texts[0].encode() + b"\n"
    first_answer(CLI, one, env)  # caches built once (jieba, knowledge base, model)
    ours = [first_answer(CLI, one, env) for _ in range(args.starts)]
    bare = [first_answer([sys.executable, "-c", "print(1)"], b"", env) for _ in range(args.starts)]
    print(f"cold start to the first answer, {args.starts} starts, caches built")
    print(f"  {'cadrebot check --json --batch':<30} median {statistics.median(ours):.3f} s   max {max(ours):.3f} s")
    print(f"  {'baseline: bare python':<30} median {statistics.median(bare):.3f} s   max {max(bare):.3f} s")

    everything = "\n".join(t.replace("\n", " ") for t in texts).encode() + b"\n"
    print("peak RSS after answering every text")
    print(f"  {'cadrebot check --json --batch':<30} {peak_rss_mb(CLI, everything, env):.0f} MB")
    print(f"  {'baseline: python + numpy':<30} "
          f"{peak_rss_mb([sys.executable, '-c', 'import numpy'], b'', env):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
