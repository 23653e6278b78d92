"""An overall deadline around a block of awaits, on the event loop's own (real) clock.

Per-read timeouts bound how long one read may wait, not how long a body may take: a body that trickles
in a byte every few seconds never trips them. ``Deadline`` cancels the block when its time is up and
raises ``DeadlineExpired`` in its place; ``move_to`` reschedules it (a media deadline moves once the size
of the body is known, or with the bytes received). ``asyncio.timeout`` does the same from Python 3.11;
this works on 3.10 as well, which the package supports.
"""

from __future__ import annotations

import asyncio


class DeadlineExpired(Exception):
    """The block outlived its deadline (raised instead of the cancellation that stopped it)."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self.expired = False

    async def __aenter__(self) -> Deadline:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self._task is None:
            raise RuntimeError("Deadline must be used inside a task")
        self.move_to(self._seconds)
        return self

    def move_to(self, seconds_from_now: float) -> None:
        """The block now ends ``seconds_from_now`` (real) seconds from now (0 or less: at once)."""
        assert self._loop is not None
        if self.expired:
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop.call_later(max(0.0, seconds_from_now), self._expire)

    def _expire(self) -> None:
        self.expired = True
        assert self._task is not None
        self._task.cancel()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if self._handle is not None:
            self._handle.cancel()
        if self.expired and exc_type is asyncio.CancelledError:
            uncancel = getattr(self._task, "uncancel", None)  # 3.11+: other cancellations still stand
            if uncancel is None or uncancel() == 0:
                raise DeadlineExpired from None
        return False
