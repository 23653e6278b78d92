"""The day's progress, told at a steady interval from a timer.

A long day otherwise says nothing between its first line and its end (hours on a large org). The timer is
an asyncio task beside the stream, not a hook on a recording's completion, so a day that stalls (Genesys
pausing every caller on 429s, a batch job that never completes, a store that hangs) still reports, with
the same figures standing still. Each line is one ``Progress``: recordings done of those known so far,
bytes uploaded, API requests per minute over the last interval, 429 answers, and an ETA once anything
was done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from recording_assets.genesys.transport import TransportStats
from recording_assets.pipeline.ledger import Ledger

LOGGER = logging.getLogger(__name__)

Tell = Callable[[str], None]


@dataclass(frozen=True)
class Progress:
    done: int  # recordings with their outcome (those the archive already held included)
    known: int  # recordings known so far: done, or analytics' recorded sessions if more
    conversations: int
    uploaded_bytes: int
    requests: int  # budgeted API requests so far
    requests_per_minute: float  # over the last interval
    rate_limited: int  # answers 429 so far
    elapsed_s: float
    eta_s: float | None  # None until anything was done this run, or when nothing is left to know of

    def line(self) -> str:
        eta = "unknown" if self.eta_s is None else f"{self.eta_s:.0f} s"
        return (
            f"progress: {self.done} of {self.known} recordings done, {self.conversations} conversations, "
            f"{self.uploaded_bytes} bytes uploaded, {self.requests_per_minute:.0f} requests/min, "
            f"{self.rate_limited} answered 429, elapsed {self.elapsed_s:.0f} s, ETA {eta}"
        )


class Meter:
    """Reads the ledger and the transport's counters; remembers the last reading for the recent rate."""

    def __init__(self, ledger: Ledger, stats: TransportStats, *, now: Callable[[], float] = time.monotonic):
        self._ledger, self._stats, self._now = ledger, stats, now
        self._started = now()
        self._last = (self._started, stats.api_requests)

    def read(self) -> Progress:
        ledger, stats, now = self._ledger, self._stats, self._now()
        done = len(ledger.outcomes)
        recorded = sum(max(0, c.recorded_sessions) for c in ledger.conversations.values())
        known = max(done, recorded)
        last_at, last_requests = self._last
        minutes = max(now - last_at, 1e-9) / 60
        rate = (stats.api_requests - last_requests) / minutes
        self._last = (now, stats.api_requests)
        elapsed = now - self._started
        finished_here = done - len(ledger.existing)  # what the archive held before is no rate
        eta = (known - done) * elapsed / finished_here if finished_here > 0 else None
        return Progress(
            done=done,
            known=known,
            conversations=len(ledger.conversations),
            uploaded_bytes=ledger.uploaded_bytes,
            requests=stats.api_requests,
            requests_per_minute=rate,
            rate_limited=stats.rate_limited,
            elapsed_s=elapsed,
            eta_s=eta,
        )


@asynccontextmanager
async def reporting(meter: Meter, *, every_s: float, tell: Tell | None = None) -> AsyncIterator[None]:
    """Tell a progress line when the block starts, every ``every_s`` seconds while it runs, and when it
    ends (however it ends). ``tell`` defaults to this module's logger."""
    say = tell or LOGGER.info

    async def tick() -> None:
        while True:
            await asyncio.sleep(every_s)
            say(meter.read().line())

    say(meter.read().line())
    timer = asyncio.create_task(tick())
    try:
        yield
    finally:
        timer.cancel()
        with suppress(asyncio.CancelledError):
            await timer
        say(meter.read().line())
