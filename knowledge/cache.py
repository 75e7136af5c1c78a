"""A compiled copy of the knowledge base in the app's cache directory, so a restart does not rebuild the index.

The key hashes every data file and the knowledge package's own code: editing a list, a synonym or the
matcher makes a new entry, and a stale one is never read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CACHE_FORMAT = "1"
log = logging.getLogger(__name__)


def cache_key(data_dir: Path, *parts: str, skip: tuple[str, ...] = ()) -> str:
    """A hash of the parts, every data file (but those under the `skip` folders) and the package's code."""
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    for path in sorted(data_dir.rglob("*.y*ml")):
        if path.relative_to(data_dir).parts[0] in skip:
            continue
        digest.update(str(path.relative_to(data_dir)).encode() + b"\0" + path.read_bytes())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def cached(cache_dir: Path | None, key: str, build: Callable[[], Any], shared: Path | None = None) -> Any:
    """The object stored under `key` in `cache_dir` (or else in `shared`), or a fresh `build()` then stored in both.

    Best effort: an unreadable or unwritable cache only costs a rebuild. Processes that miss the same entry at
    once (test workers, a bot and the command line) build it once: the others wait on a lock file beside it, then
    read what the first one stored.
    """
    places = [Path(p) / f"knowledge-{key}.pickle" for p in (cache_dir, shared) if p is not None]
    if not places:
        return build()
    found = _read(places)
    if found is _MISSING:
        with _building(places[-1]):
            found = _read(places)  # built by another process while this one waited
            if found is _MISSING:
                value = build()
                for path in places:
                    _store(path, value)
                return value
    path, value = found
    if path != places[0]:
        _copy(path, places[0])
    return value


_MISSING = object()


def _read(places: list[Path]) -> Any:
    """(path, value) from the first place that has a readable entry, or _MISSING."""
    for path in places:
        try:
            with path.open("rb") as fh:
                return path, pickle.load(fh)
        except FileNotFoundError:
            continue
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign cache file only costs a rebuild
            log.warning("ignoring unreadable knowledge cache %s: %s", path, exc)
    return _MISSING


@contextmanager
def _building(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on `<path>.lock` (POSIX); without one (read-only directory, Windows) it just goes on."""
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock").open("a")
    except (ImportError, OSError):
        lock = None
    if lock is None:
        yield
        return
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            pass  # a file system without locks: at worst two processes build the same entry
        yield  # the lock goes with the file's close


def _copy(source: Path, target: Path) -> None:
    """The entry at `source` also at `target`, without pickling it again: a hard link where both are on one file
    system (entries are never changed in place, only replaced), else a copy of the file."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".knowledge-{uuid.uuid4().hex}")
        try:
            os.link(source, partial)
        except OSError:
            shutil.copyfile(source, partial)
        os.replace(partial, target)
    except OSError as exc:
        log.warning("could not write knowledge cache %s: %s", target, exc)


def _store(path: Path, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, prefix=".knowledge-") as tmp:
            pickle.dump(value, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, path)
    except OSError as exc:
        log.warning("could not write knowledge cache %s: %s", path, exc)
