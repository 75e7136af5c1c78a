"""A compiled copy of the knowledge base in the app's cache directory, so a restart does not rebuild the index.

The key hashes every data file and the knowledge package's own code: editing a list, a synonym or the
matcher makes a new entry, and a stale one is never read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Callable

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

    Best effort: an unreadable or unwritable cache only costs a rebuild.
    """
    places = [Path(p) / f"knowledge-{key}.pickle" for p in (cache_dir, shared) if p is not None]
    if not places:
        return build()
    for path in places:
        try:
            with path.open("rb") as fh:
                value = pickle.load(fh)
        except FileNotFoundError:
            continue
        except Exception as exc:  # a damaged or foreign cache file only costs a rebuild
            log.warning("ignoring unreadable knowledge cache %s: %s", path, exc)
            continue
        if path is not places[0]:
            _store(places[0], value)
        return value
    value = build()
    for path in places:
        _store(path, value)
    return value


def _store(path: Path, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, prefix=".knowledge-") as tmp:
            pickle.dump(value, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, path)
    except OSError as exc:
        log.warning("could not write knowledge cache %s: %s", path, exc)
