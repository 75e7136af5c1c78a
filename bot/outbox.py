"""Writes that could not reach the database, kept and replayed when it is back.

When the database is down or locked, a check is still answered from the knowledge base; its check-log row goes
here instead of being lost:

    services.outbox.put("check_log", {"text": ..., "verdict": ..., "village_id": ..., "member_id": ...})
    ...
    saved = outbox.flush(db)      # later: by the JobQueue every OUTBOX_FLUSH_SECONDS and after any successful write

Entries are plain JSON-able dicts of a registered kind, replayed in order in one transaction each; a flush stops
at the first `DatabaseUnavailable` and keeps the rest. The queue is bounded (`put` returns False when full, so the
caller tells the user plainly).

Durable: with a `path` (the bot's is `<data_dir>/outbox.jsonl`, 0600), `put` appends the entry to the file and
fsyncs it before it returns, so the user is told "will be saved" only once the write would survive a SIGKILL or a
power cut. The file is the queue: a flush rewrites it with what is left (atomically, by rename), and several
processes sharing the data directory (`cadrebot worker`) take turns on it under an exclusive file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
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
    """A bounded FIFO of pending writes; thread-safe, and with a `path` durable and shared between processes."""

    max_entries: int = MAX_ENTRIES
    path: Path | None = None
    _entries: deque[tuple[str, dict[str, Any]]] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _flush_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        if self.path is None:
            return len(self._entries)
        try:
            if self.path.stat().st_size == 0:  # the hot path (every check asks): one stat
                return 0
        except FileNotFoundError:
            return 0
        with self._locked():
            return len(self._read())

    def put(self, kind: str, data: dict[str, Any]) -> bool:
        """Queue one write (on disk, fsynced, when there is a path); False when the queue is full (the caller
        tells the user it was not saved)."""
        if kind not in REPLAYERS:
            raise ValueError(f"unknown outbox kind: {kind!r}")
        if self.path is None:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    return False
                self._entries.append((kind, dict(data)))
                return True
        with self._locked():
            if len(self._read()) >= self.max_entries:
                return False
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(_line(kind, data))
                handle.flush()
                os.fsync(handle.fileno())
        return True

    def flush(self, db: Any) -> int:
        """Replay queued writes in order; returns how many were saved. Stops (keeping the rest) if the DB is down."""
        if not len(self) or not self._flush_lock.acquire(blocking=False):
            return 0
        try:
            if self.path is None:
                with self._lock:
                    entries = list(self._entries)
                saved = self._replay(db, entries)
                with self._lock:
                    for _ in range(saved):
                        self._entries.popleft()
            else:
                with self._locked():  # other processes wait: nobody replays an entry twice
                    entries = self._read()
                    saved = self._replay(db, entries)
                    self._rewrite(entries[saved:])
        finally:
            self._flush_lock.release()
        if saved:
            log.info("outbox: saved %d queued write(s), %d left", saved, len(entries) - saved)
        return saved

    def load(self) -> int:
        """How many writes an earlier run left in the file (they stay there until a flush saves them)."""
        return len(self)

    @staticmethod
    def _replay(db: Any, entries: list[tuple[str, dict[str, Any]]]) -> int:
        saved = 0
        for kind, data in entries:
            try:
                with db.session() as session:
                    REPLAYERS[kind](session, data)
            except DatabaseUnavailable:
                break
            except Exception:  # a bad entry must not block the others forever
                log.exception("outbox: dropping an entry of kind %s that cannot be saved", kind)
            saved += 1
        return saved

    # ------------------------------------------------------------------ the file

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        assert self.path is not None
        create_private_file(self.path)  # the checks' texts and who asked them: owner only, like the database
        # A lock file of its own: the queue file is replaced by a rewrite, and a lock on a replaced file's old
        # inode would not exclude a process that opened the new one.
        lock_path = self.path.with_name(self.path.name + ".lock")
        create_private_file(lock_path)
        with self._lock, lock_path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read(self) -> list[tuple[str, dict[str, Any]]]:
        assert self.path is not None
        entries = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a crash mid-write: the write was never acknowledged
                log.warning("outbox: skipping an unreadable line in %s", self.path)
                continue
            if isinstance(record, dict) and record.get("kind") in REPLAYERS and isinstance(record.get("data"), dict):
                entries.append((record["kind"], record["data"]))
        return entries

    def _rewrite(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        assert self.path is not None
        if not entries:
            self.path.write_bytes(b"")
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        create_private_file(temporary)
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(_line(kind, data) for kind, data in entries)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _line(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, "data": data}, ensure_ascii=False) + "\n"


__all__ = ["MAX_ENTRIES", "OUTBOX_FLUSH_SECONDS", "Outbox", "REPLAYERS"]
