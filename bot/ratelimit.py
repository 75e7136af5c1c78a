"""Per-user rate limit on checks and survey submissions (plain Python, injectable clock).

    limiter = RateLimiter(per_minute=30)
    decision = limiter.hit(user_id, "check")
    if not decision.allowed:
        if decision.warn:  # only the first refusal of a burst is answered
            reply(texts.RATE_LIMITED.format(seconds=decision.clear_after))
        return

A sliding window of 60 seconds per (user, kind). Memory is bounded: idle users are forgotten.

One warning per burst: a user who pastes 1,000 messages gets one "too fast" reply, not 970 (each reply costs
that chat a second of Telegram's 1 message/s and slows every other chat). The warning tells them to wait until
their window is clear (`clear_after`); refusals until then are silent, so what they were told stays true: after
that wait a resent batch of up to `per_minute` messages is accepted. A later refusal, after they used up a fresh
window, warns again.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.ratelimits import load_window, save_window

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds until the next hit would be allowed (0 when allowed)
    warn: bool = False  # refused, and the first refusal since the user was last told to wait: tell them
    clear_after: int = 0  # whole seconds until every hit of the window has expired (the wait a warning gives)

    def __bool__(self) -> bool:
        return self.allowed


def decide(hits: Sequence[float], quiet_until: float, now: float, limit: int,
           window: float = WINDOW_SECONDS) -> tuple[Decision, float | None]:
    """The rule, for a window's allowed hits (oldest first, all within the window): allowed below the limit;
    refused at it, warned only if `now` is past `quiet_until`. Also returns the new quiet-until (a warning's
    "wait until the window is clear"), or None when it does not change. An allowed hit is the caller's to count."""
    if len(hits) < limit:
        return Decision(True), None
    retry_after = max(1, math.ceil(hits[0] + window - now))
    clear_at = hits[-1] + window
    clear_after = max(1, math.ceil(clear_at - now))
    if now < quiet_until:
        return Decision(False, retry_after, warn=False, clear_after=clear_after), None
    return Decision(False, retry_after, warn=True, clear_after=clear_after), clear_at


@dataclass
class RateLimiter:
    """At most `per_minute` hits per user and kind in any 60-second window. `per_minute <= 0` disables it."""

    per_minute: int | None = None
    clock: Callable[[], float] = time.monotonic
    window: float = WINDOW_SECONDS
    max_users: int = 100_000
    _hits: dict[tuple[int, str], deque[float]] = field(default_factory=dict, repr=False)
    # (user, kind) -> the time the last warning told them to wait until; refusals before it stay silent.
    _quiet_until: dict[tuple[int, str], float] = field(default_factory=dict, repr=False)

    def hit(self, user_id: int, kind: str = "check") -> Decision:
        """Count one hit if allowed; a refused hit is not counted."""
        limit = self.per_minute
        if not limit or limit <= 0:
            return Decision(True)
        now = self.clock()
        key = (user_id, kind)
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_users:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        cutoff = now - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        decision, quiet_until = decide(hits, self._quiet_until.get(key, -math.inf), now, limit, self.window)
        if decision.allowed:
            hits.append(now)
        elif quiet_until is not None:
            self._quiet_until[key] = quiet_until
        return decision

    # Alias that reads well in an `if`.
    allow = hit

    def reset(self, user_id: int | None = None) -> None:
        if user_id is None:
            self._hits.clear()
            self._quiet_until.clear()
        else:
            for key in [k for k in self._hits if k[0] == user_id]:
                del self._hits[key]
            for key in [k for k in self._quiet_until if k[0] == user_id]:
                del self._quiet_until[key]

    def _forget_idle(self, now: float) -> None:
        cutoff = now - self.window
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
            del self._hits[key]
        while len(self._hits) >= self.max_users:  # still full: drop the oldest entries
            del self._hits[next(iter(self._hits))]
        # A quiet period ends at most one window after a hit that is now forgotten.
        for key in [k for k in self._quiet_until if k not in self._hits]:
            del self._quiet_until[key]


@dataclass
class SharedRateLimiter:
    """The same limit, kept in the database (storage.ratelimits) for workers in several processes: any of them may
    handle a user's next update, and each counting alone would allow N times the limit. Wall-clock time; the
    user is a keyed hash. `hit` runs in the caller's transaction (Services.run_db), with the limit of the
    process's own RateLimiter (one setting, not a copy of it)."""

    secret: str
    clock: Callable[[], float] = time.time
    window: float = WINDOW_SECONDS

    def key(self, user_id: int) -> str:
        return hmac.new(self.secret.encode(), f"rate|{int(user_id)}".encode(), hashlib.sha256).hexdigest()

    def hit(self, session: Any, user_id: int, limit: int | None, kind: str = "check") -> Decision:
        """Count one hit if allowed (a refused hit is not counted), as RateLimiter.hit does."""
        if not limit or limit <= 0:
            return Decision(True)
        now = self.clock()
        key = self.key(user_id)
        hits, quiet_until = load_window(session, key, kind, since=now - self.window)
        decision, new_quiet = decide(hits, quiet_until, now, limit, self.window)
        if decision.allowed:
            save_window(session, key, kind, [*hits, now], quiet_until)
        elif new_quiet is not None:
            save_window(session, key, kind, hits, new_quiet)
        return decision


__all__ = ["Decision", "RateLimiter", "SharedRateLimiter", "WINDOW_SECONDS", "decide"]
