"""Pacing: stay under the org's request budget instead of bouncing off 429s.

Three inputs, one gate every request passes:
- a client-side token bucket at ``requests_per_minute`` (a run's share of the org budget);
- the server's ``inin-ratelimit-allowed/-count/-reset`` headers: when the window is nearly spent
  (by us or by anyone else sharing the token), wait for the reset;
- a 429's ``Retry-After``: every caller pauses, not just the one that was refused.

Callers are served in order, except that a ``background`` caller (a request nothing downstream waits for,
like a ``recordingmetadata`` look-up) steps aside while any other caller waits: discovery pages and batch
jobs feed the downloads, so they go first and the look-ups fill the budget they leave.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass

from recording_assets.clock import Clock

_EPSILON = 1e-6
WINDOW_S = 60.0  # the rate-limit window: no reset is further away than that


@dataclass
class PacingStats:
    waits: int = 0
    waited_s: float = 0.0
    header_pauses: int = 0
    rate_limit_pauses: int = 0


class Pacer:
    def __init__(
        self,
        clock: Clock,
        *,
        requests_per_minute: float | None = 300.0,
        burst: int = 10,
        header_reserve: int = 2,
    ) -> None:
        self._clock = clock
        self._rate = (requests_per_minute / 60.0) if requests_per_minute else None
        self._burst = float(burst)
        self._tokens = float(burst)
        self._refilled_at = clock.time()
        self._paused_until = 0.0
        self._reserve = header_reserve
        self._lock = asyncio.Lock()
        self._waiting = 0  # callers that are not ``background``, waiting for their turn
        self._none_waiting = asyncio.Event()
        self._none_waiting.set()
        self.stats = PacingStats()

    @property
    def requests_per_minute(self) -> float | None:
        return self._rate * 60.0 if self._rate else None

    async def acquire(self, *, background: bool = False) -> None:
        """Wait until one request may be sent. Callers queue in order behind the lock; a ``background``
        caller also waits while any other caller does, and is taken past by one arriving during its wait."""
        if background:
            while True:
                await self._none_waiting.wait()
                async with self._lock:
                    if await self._take(background=True):
                        return
        self._waiting += 1
        self._none_waiting.clear()
        try:
            async with self._lock:
                await self._take(background=False)
        finally:
            self._waiting -= 1
            if not self._waiting:
                self._none_waiting.set()

    async def _take(self, *, background: bool) -> bool:
        """Take one request's token, waiting for it under the lock; False when a background caller is
        outranked (it then goes back to waiting for the others)."""
        while True:
            if background and self._waiting:
                return False
            now = self._clock.time()
            wait = self._paused_until - now
            if wait <= 0 and self._rate is not None:
                self._refill(now)
                if self._tokens < 1.0 - _EPSILON:
                    # At least 1 ms: a smaller wait may not move an epoch-sized float clock at all.
                    wait = max(0.001, (1.0 - self._tokens) / self._rate)
            if wait <= 0:
                if self._rate is not None:
                    self._tokens = max(0.0, self._tokens - 1.0)
                return True
            self.stats.waits += 1
            self.stats.waited_s += wait
            await self._clock.sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read the server's view of the current window; pause everyone when it is nearly spent."""
        try:
            allowed = int(headers["inin-ratelimit-allowed"])
            count = int(headers["inin-ratelimit-count"])
            reset = float(headers["inin-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        if not math.isfinite(reset):
            return  # 'inf' would pause every caller for ever, 'nan' compares false to everything
        if allowed - count <= self._reserve and reset > 0:
            self.stats.header_pauses += 1
            self._pause_for(min(reset, WINDOW_S))

    def rate_limited(self, retry_after_s: float) -> None:
        self.stats.rate_limit_pauses += 1
        self._pause_for(retry_after_s)

    def _pause_for(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock.time() + seconds)

    def _refill(self, now: float) -> None:
        assert self._rate is not None
        self._tokens = min(self._burst, self._tokens + (now - self._refilled_at) * self._rate)
        self._refilled_at = now
