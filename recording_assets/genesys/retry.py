"""When to retry and how long to wait: a small policy object, with jitter isolated so tests are exact.

Mirrors the official SDKs: retry 429 (honouring ``Retry-After``), 502/503/504 and connection errors
with capped, jittered exponential back-off; never retry other 4xx. Whether a 500 is lasting or passing is
not documented (docs/genesys-api.md §11): like boto-style clients, an idempotent read retries it
with the same back-off, and a write (a batch submission, a state change) never does.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # 5xx / connection errors, first try included
    max_rate_limited: int = 10  # 429s tolerated for one request
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    default_retry_after_s: float = 3.0  # what the SDKs wait on a 429 without Retry-After
    max_retry_after_s: float = 180.0  # a longer Retry-After means "give up now" (the gc CLI's rule)
    jitter: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def should_retry_status(self, status: int, *, idempotent: bool = False) -> bool:
        return status in RETRYABLE_STATUSES or (idempotent and status == 500)

    def backoff_s(self, attempt: int) -> float:
        """Delay before retry ``attempt`` (1-based) of a 5xx or connection error: exponential, capped,
        jittered into [½, 1]× so many clients do not retry in lockstep, never below the base."""
        raw = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return max(self.base_delay_s, raw * (0.5 + 0.5 * self.jitter()))

    def retry_after_s(self, header: str | None) -> float:
        """Seconds to wait on a 429: the server's whole-second ``Retry-After``, else the SDK default."""
        if header:
            try:
                return max(0.0, float(header.strip()))
            except ValueError:
                pass
        return self.default_retry_after_s
