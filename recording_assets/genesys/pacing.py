"""Pacing: stay under the org's request budget instead of bouncing off 429s.

Three inputs, one gate every request passes:
- a client-side token bucket at the run's rate (``budget.RequestBudget``: the org's limit as the
  ``inin-ratelimit-*`` headers state it, times this run's share of it);
- the window those headers describe: when it is nearly spent (by us or by anyone else sharing it), wait
  for the reset;
- a 429's ``Retry-After``: every caller pauses, not just the one that was refused.

Callers are served in order, except that a ``background`` caller (a request nothing downstream waits for,
like a ``recordingmetadata`` look-up) steps aside while any other caller waits: discovery pages and batch
jobs feed the downloads, so they go first and the look-ups fill the budget they leave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from recording_assets.clock import Clock
from recording_assets.genesys.budget import BudgetPolicy, RequestBudget
from recording_assets.genesys.ratelimit_headers import read_window

_EPSILON = 1e-6
DOCUMENTED_BUDGET = BudgetPolicy()  # the documented limit, learned from the answers


@dataclass
class PacingStats:
    waits: int = 0
    waited_s: float = 0.0
    header_pauses: int = 0  # waits for a window's reset the headers called for
    rate_limit_pauses: int = 0


class Pacer:
    """``budget``: where the run's rate starts and what bounds it (``BudgetPolicy``); None: no client-side
    rate, only the headers' window and 429s pace."""

    def __init__(self, clock: Clock, *, budget: BudgetPolicy | None = DOCUMENTED_BUDGET) -> None:
        self._clock = clock
        self.budget = RequestBudget(budget or BudgetPolicy.fixed(None))
        self._tokens = self.budget.burst()
        self._refilled_at = clock.time()
        self._paused_until = 0.0
        self._reset_at = 0.0  # the window reset last waited for (one header pause each)
        self._lock = asyncio.Lock()
        self._waiting = 0  # callers that are not ``background``, waiting for their turn
        self._none_waiting = asyncio.Event()
        self._none_waiting.set()
        self.stats = PacingStats()

    @property
    def requests_per_minute(self) -> float | None:
        rate = self.budget.rate_per_s()
        return rate * 60.0 if rate else None

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
            rate = self.budget.rate_per_s()
            wait = self._paused_until - now
            reset = self.budget.wait_s(now)
            if reset > 0 and reset >= wait:
                wait = reset
                if now + reset > self._reset_at + 0.5:
                    self._reset_at = now + reset
                    self.stats.header_pauses += 1
            if wait <= 0 and rate:
                self._refill(now, rate)
                if self._tokens < 1.0 - _EPSILON:
                    # At least 1 ms: a smaller wait may not move an epoch-sized float clock at all.
                    wait = max(0.001, (1.0 - self._tokens) / rate)
            if wait <= 0:
                if rate:
                    self._tokens = max(0.0, self._tokens - 1.0)
                self.budget.sent(now)
                return True
            self.stats.waits += 1
            self.stats.waited_s += wait
            await self._clock.sleep(wait)

    def observe(self, headers: Mapping[str, str], *, sent_at: float | None = None) -> None:
        """Read the server's view of the limit and of the current window (``budget.RequestBudget``);
        ``sent_at``: when the request answered left."""
        self.budget.observe(read_window(headers), self._clock.time(), sent_at=sent_at)

    def rate_limited(self, retry_after_s: float) -> None:
        self.stats.rate_limit_pauses += 1
        self.budget.on_rate_limited(self._clock.time())
        self._paused_until = max(self._paused_until, self._clock.time() + retry_after_s)

    def _refill(self, now: float, rate: float) -> None:
        # The burst follows the rate: a run whose share shrank may not keep a larger run's burst.
        self._tokens = min(self.budget.burst(), self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now
