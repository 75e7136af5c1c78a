"""Per-user rate limit on checks and survey submissions (plain Python, injectable clock).

    limiter = RateLimiter(per_minute=30)
    decision = limiter.hit(user_id, "check")
    if not decision.allowed:
        reply(texts.RATE_LIMITED.format(seconds=decision.retry_after))

A sliding window of 60 seconds per (user, kind). Memory is bounded: idle users are forgotten.
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
            return Decision(False, max(1, math.ceil(hits[0] + self.window - now)))
        hits.append(now)
        return Decision(True)

    # Alias that reads well in an `if`.
    allow = hit

    def reset(self, user_id: int | None = None) -> None:
        if user_id is None:
            self._hits.clear()
        else:
            for key in [k for k in self._hits if k[0] == user_id]:
                del self._hits[key]

    def _forget_idle(self, now: float) -> None:
        cutoff = now - self.window
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
            del self._hits[key]
        while len(self._hits) >= self.max_users:  # still full: drop the oldest entries
            del self._hits[next(iter(self._hits))]


__all__ = ["Decision", "RateLimiter", "WINDOW_SECONDS"]
