"""The compiled knowledge cache is shared by processes (test workers, a bot and the command line on one machine):
when several miss the same entry at once, one builds it and the others read what it stored."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from knowledge.cache import cached

BUILD_SECONDS = 0.5  # long enough that the processes released together overlap while the first one builds


def _load_after(barrier, results, own_dir: str, shared_dir: str, builds_log: str) -> None:
    def build() -> dict[str, int]:
        with open(builds_log, "a", encoding="utf-8") as log:
            log.write("built\n")
        time.sleep(BUILD_SECONDS)
        return {"answer": 42}

    barrier.wait(60)
    results.put(cached(Path(own_dir), "race", build, shared=Path(shared_dir)))


def test_processes_that_miss_the_same_entry_at_once_build_it_once(tmp_path: Path):
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads (pytest-xdist has some)
    barrier, results = context.Barrier(3), context.Queue()
    builds_log = tmp_path / "builds.log"
    processes = [
        context.Process(target=_load_after,
                        args=(barrier, results, str(tmp_path / f"data{i}"), str(tmp_path / "shared"), str(builds_log)))
        for i in range(3)
    ]
    for process in processes:
        process.start()
    loaded = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert loaded == [{"answer": 42}] * 3
    assert builds_log.read_text(encoding="utf-8").count("built") == 1
    # each process's own cache directory got its copy too
    assert all((tmp_path / f"data{i}" / "knowledge-race.pickle").is_file() for i in range(3))


def test_a_damaged_entry_is_rebuilt_and_replaced(tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "knowledge-broken.pickle").write_bytes(b"not a pickle")
    assert cached(None, "broken", lambda: [1, 2, 3], shared=shared) == [1, 2, 3]
    assert cached(None, "broken", lambda: ["built again"], shared=shared) == [1, 2, 3]  # the stored copy is read
