"""Per-token request windows, as Genesys counts ``client.credentials.token.rate.per.minute``.

A fixed 60-second window opens at a token's first request; every request in it (refused ones too)
counts. Time comes from the sandbox clock so tests can jump past the reset.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass(frozen=True)
class RateDecision:
    allowed: int  # the limit (inin-ratelimit-allowed)
    count: int  # requests in this window so far, this one included
    reset_s: int  # whole seconds until the window resets
    limited: bool

    def headers(self) -> dict[str, str]:
        return {
            "inin-ratelimit-allowed": str(self.allowed),
            "inin-ratelimit-count": str(self.count),
            "inin-ratelimit-reset": str(self.reset_s),
        }

    @property
    def retry_after_s(self) -> int:
        return max(1, self.reset_s)


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute  # 0 = unlimited
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, token_id: str, now: float) -> RateDecision:
        with self._lock:
            start, count = self._windows.get(token_id, (None, 0))
            if start is None or now >= start + WINDOW_S:
                start, count = now, 0
            count += 1
            self._windows[token_id] = (start, count)
        reset = max(0, math.ceil(start + WINDOW_S - now))
        allowed = self.per_minute
        return RateDecision(allowed, count, reset, bool(allowed) and count > allowed)

    @staticmethod
    def anonymous(per_minute: int) -> RateDecision:
        """Headers for a request that never reached a token's window (e.g. a 401)."""
        return RateDecision(per_minute, 0, int(WINDOW_S), False)
