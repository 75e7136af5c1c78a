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

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds until the next hit would be allowed (0 when allowed)
    warn: bool = False  # refused, and the first refusal since the user was last told to wait: tell them
    clear_after: int = 0  # whole seconds until every hit of the window has expired (the wait a warning gives)

    def __bool__(self) -> bool:
        return self.allowed


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
        if len(hits) >= limit:
            return self._refuse(key, hits, now)
        hits.append(now)
        return Decision(True)

    def _refuse(self, key: tuple[int, str], hits: deque[float], now: float) -> Decision:
        retry_after = max(1, math.ceil(hits[0] + self.window - now))
        clear_at = hits[-1] + self.window
        clear_after = max(1, math.ceil(clear_at - now))
        if now < self._quiet_until.get(key, -math.inf):
            return Decision(False, retry_after, warn=False, clear_after=clear_after)
        self._quiet_until[key] = clear_at
        return Decision(False, retry_after, warn=True, clear_after=clear_after)

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


__all__ = ["Decision", "RateLimiter", "WINDOW_SECONDS"]
