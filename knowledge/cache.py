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


def cache_key(data_dir: Path, *parts: str) -> str:
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    for path in sorted(data_dir.rglob("*.y*ml")):
        digest.update(str(path.relative_to(data_dir)).encode() + b"\0" + path.read_bytes())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def cached(cache_dir: Path | None, key: str, build: Callable[[], Any]) -> Any:
    """The object stored under `key`, or a fresh `build()` that is then stored (best effort)."""
    if cache_dir is None:
        return build()
    path = Path(cache_dir) / f"knowledge-{key}.pickle"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        pass
    except Exception as exc:  # a damaged or foreign cache file only costs a rebuild
        log.warning("ignoring unreadable knowledge cache %s: %s", path, exc)
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, prefix=".knowledge-") as tmp:
            pickle.dump(value, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, path)
    except OSError as exc:
        log.warning("could not write knowledge cache %s: %s", path, exc)
    return value
