"""Time as a dependency, so retries, pacing, token expiry and URL expiry are testable without sleeping.

The Genesys client, the sandbox server and the archive all take a ``Clock``. Production uses
``SystemClock``; tests share one ``FakeClock`` between the client and an in-process sandbox, so a
``Retry-After: 30`` is honoured by advancing fake time, not by waiting thirty seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (wall time; also used for intervals)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class SystemClock:
    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


class FakeClock:
    """A manual clock: ``sleep`` advances time at once and records the wait.

    Thread-safe, because an in-process sandbox reads it from the server thread while the client
    advances it from the test's event loop.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)
        await asyncio.sleep(0)  # still yield, so concurrent tasks interleave as they would for real
