"""Request windows, as Genesys counts ``client.credentials.token.rate.per.minute``, in both readings.

A fixed 60-second window opens at the first request it counts; every request in it (refused ones too)
counts. Whether several tokens of one OAuth client share one window is not documented
(docs/genesys-behaviours.md), so the sandbox plays both: ``per_token`` (each token its own window, the
default) and ``per_client`` (one window for all the client's tokens). And the headers themselves as a proxy
may leave them: ``present``, ``absent`` (stripped) or ``malformed`` (hostile values in turn), while the
limit is enforced the same. Time comes from the sandbox clock so tests can jump past the reset.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

WINDOW_S = 60.0
SCOPES = ("per_token", "per_client")
HEADER_MODES = ("present", "absent", "malformed")
# What a mangling proxy might send instead of each header, in turn (never a crash, never the real value).
HOSTILE = (
    {"inin-ratelimit-allowed": "-5", "inin-ratelimit-count": "NaN", "inin-ratelimit-reset": "inf"},
    {"inin-ratelimit-allowed": "9" * 40, "inin-ratelimit-count": "-1", "inin-ratelimit-reset": "-3"},
    {"inin-ratelimit-allowed": "0", "inin-ratelimit-count": "", "inin-ratelimit-reset": "1e308"},
    {"inin-ratelimit-allowed": "lots", "inin-ratelimit-count": "1e3", "inin-ratelimit-reset": "nan"},
)


@dataclass(frozen=True)
class RateDecision:
    allowed: int  # the limit (inin-ratelimit-allowed)
    count: int  # requests in this window so far, this one included
    reset_s: int  # whole seconds until the window resets
    limited: bool

    def headers(self, mode: str = "present") -> dict[str, str]:
        if mode == "absent":
            return {}
        if mode == "malformed":
            return dict(HOSTILE[self.count % len(HOSTILE)])
        return {
            "inin-ratelimit-allowed": str(self.allowed),
            "inin-ratelimit-count": str(self.count),
            "inin-ratelimit-reset": str(self.reset_s),
        }

    @property
    def retry_after_s(self) -> int:
        return max(1, self.reset_s)


class RateLimiter:
    def __init__(self, per_minute: int, scope: str = "per_token") -> None:
        if scope not in SCOPES:
            raise ValueError(f"rate limit scope {scope!r}: choose one of {', '.join(SCOPES)}")
        self.per_minute = per_minute  # 0 = unlimited
        self.scope = scope
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, token_id: str, client_id: str, now: float) -> RateDecision:
        key = client_id if self.scope == "per_client" else token_id
        with self._lock:
            start, count = self._windows.get(key, (None, 0))
            if start is None or now >= start + WINDOW_S:
                start, count = now, 0
            count += 1
            self._windows[key] = (start, count)
        reset = max(0, math.ceil(start + WINDOW_S - now))
        allowed = self.per_minute
        return RateDecision(allowed, count, reset, bool(allowed) and count > allowed)

    @staticmethod
    def anonymous(per_minute: int) -> RateDecision:
        """Headers for a request that never reached a token's window (e.g. a 401)."""
        return RateDecision(per_minute, 0, int(WINDOW_S), False)
