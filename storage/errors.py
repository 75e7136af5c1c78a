"""Domain errors of the storage layer: what a handler may have to tell the user.

SQLAlchemy errors do not leak out of the services where the user must be told something:
a database that is down or locked becomes `DatabaseUnavailable` (see `storage.db.session_scope`).
"""

from __future__ import annotations

import enum
from datetime import datetime


class StorageError(Exception):
    """Base class of every storage error."""


class DatabaseUnavailable(StorageError):
    """The database is down, unreachable or locked; the user should try again later."""


class NotFound(StorageError):
    """A referenced row (town, village, member, red card ...) does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} not found: {key!r}")
        self.kind = kind
        self.key = key


class AlreadyExists(StorageError):
    """A row with this unique key exists already."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} exists already: {key!r}")
        self.kind = kind
        self.key = key


class InvalidInput(StorageError, ValueError):
    """A value the service refuses (bad code, score out of range, unknown aspect, bad role ...)."""


class InviteFailure(enum.Enum):
    """Why an invite code was refused (the words for the user are in texts.start.INVITE_REFUSED)."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong codes lately: no code is tried until InviteRejected.retry_at


class InviteRejected(StorageError):
    """Redeeming an invite failed; `reason` is an `InviteFailure`; `retry_at` (UTC) for LOCKED."""

    def __init__(self, reason: InviteFailure, retry_at: datetime | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.retry_at = retry_at


class NotPermitted(StorageError):
    """The actor may not do this (e.g. a cadre confirming another village's red card)."""


class InvalidTransition(StorageError):
    """A red card cannot go from its current status to the requested one."""

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"cannot go from {current!r} to {wanted!r}")
        self.current = current
        self.wanted = wanted


class AlreadyResponded(StorageError):
    """This respondent answered the survey for this village and period already (use replace=True)."""


__all__ = [
    "AlreadyExists",
    "AlreadyResponded",
    "DatabaseUnavailable",
    "InvalidInput",
    "InvalidTransition",
    "InviteFailure",
    "InviteRejected",
    "NotFound",
    "NotPermitted",
    "StorageError",
]
