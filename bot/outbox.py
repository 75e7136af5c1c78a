"""Writes that could not reach the database, kept and replayed when it is back.

When the database is down or locked, a check is still answered from the knowledge base; its check-log row goes
here instead of being lost:

    services.outbox.put("check_log", {"text": ..., "verdict": ..., "village_id": ..., "member_id": ...})
    ...
    saved = outbox.flush(db)      # later: by the JobQueue every OUTBOX_FLUSH_SECONDS and after any successful write

Entries are plain JSON-able dicts of a registered kind, replayed in order in one transaction each; a flush stops
at the first `DatabaseUnavailable` and keeps the rest. The queue is bounded (`put` returns False when full, so the
caller tells the user plainly). At shutdown, what is left is written to `<data_dir>/outbox.jsonl` and read back at
the next start, so a restart loses nothing either.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.db import create_private_file
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

OUTBOX_FLUSH_SECONDS = 30
MAX_ENTRIES = 10_000


def _replay_check_log(session: Any, data: dict[str, Any]) -> None:
    """Save the check with the village and member it was made for; one of them removed meanwhile is left empty
    (the check itself is still kept)."""
    from storage.checklog import log_check
    from storage.models import Member, Village

    kwargs = dict(data)
    if kwargs.get("now"):
        kwargs["now"] = datetime.fromisoformat(kwargs["now"])
    for key, model in (("village_id", Village), ("member_id", Member)):
        if kwargs.get(key) is not None and session.get(model, kwargs[key]) is None:
            kwargs[key] = None
    log_check(session, **kwargs)


# kind -> function(session, data) that performs the write.
REPLAYERS: dict[str, Callable[[Any, dict[str, Any]], None]] = {"check_log": _replay_check_log}


@dataclass
class Outbox:
    """A bounded FIFO of pending writes; thread-safe."""

    max_entries: int = MAX_ENTRIES
    path: Path | None = None
    _entries: deque[tuple[str, dict[str, Any]]] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _flush_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, kind: str, data: dict[str, Any]) -> bool:
        """Queue one write; False when the queue is full (the caller tells the user it was not saved)."""
        if kind not in REPLAYERS:
            raise ValueError(f"unknown outbox kind: {kind!r}")
        with self._lock:
            if len(self._entries) >= self.max_entries:
                return False
            self._entries.append((kind, dict(data)))
            return True

    def flush(self, db: Any) -> int:
        """Replay queued writes in order; returns how many were saved. Stops (keeping the rest) if the DB is down."""
        if not self._entries or not self._flush_lock.acquire(blocking=False):
            return 0
        saved = 0
        try:
            while True:
                with self._lock:
                    if not self._entries:
                        break
                    kind, data = self._entries[0]
                try:
                    with db.session() as session:
                        REPLAYERS[kind](session, data)
                except DatabaseUnavailable:
                    break
                except Exception:  # a bad entry must not block the others forever
                    log.exception("outbox: dropping an entry of kind %s that cannot be saved", kind)
                with self._lock:
                    self._entries.popleft()
                saved += 1
        finally:
            self._flush_lock.release()
        if saved:
            log.info("outbox: saved %d queued write(s), %d left", saved, len(self._entries))
        return saved

    # ------------------------------------------------------------------ persistence across restarts

    def dump(self) -> int:
        """Append what is left to `path` (JSON lines) and empty the queue; returns how many were written."""
        if self.path is None or not self._entries:
            return 0
        with self._lock:
            entries, self._entries = list(self._entries), deque()
        create_private_file(self.path)  # the checks' texts and who asked them: owner only, like the database
        with self.path.open("a", encoding="utf-8") as handle:
            for kind, data in entries:
                handle.write(json.dumps({"kind": kind, "data": data}, ensure_ascii=False) + "\n")
        log.warning("outbox: %d unsaved write(s) kept in %s for the next start", len(entries), self.path)
        return len(entries)

    def load(self) -> int:
        """Read back what an earlier run dumped (and remove the file); returns how many were queued."""
        if self.path is None or not self.path.is_file():
            return 0
        count = 0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                if record.get("kind") in REPLAYERS and isinstance(record.get("data"), dict):
                    count += self.put(record["kind"], record["data"])
            except (ValueError, TypeError):
                log.warning("outbox: skipping an unreadable line in %s", self.path)
        self.path.unlink()
        return count


__all__ = ["MAX_ENTRIES", "OUTBOX_FLUSH_SECONDS", "Outbox", "REPLAYERS"]
