"""The download stage: workers fed by a queue, and the re-requests of URLs that expired.

The queue is the backpressure between the batch jobs and the downloads: the next batch job is submitted
only while the queue has room (``DownloadQueue.open``): with the jobs still out, at most ``backlog`` tasks, and no
more than the workers download, at their measured pace, in half the URLs' lifetime
(``recordingBatchDownloadUrlTtl``), so a slow day waits before asking for URLs rather than letting them expire
in the queue. Jobs already submitted are always taken in whole. A task whose URL is
near its end by the time a worker takes it goes straight to the re-request round (``refresh_expired``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from recording_assets.genesys import BatchItem
from recording_assets.genesys.recordings import BATCH_LIMIT
from recording_assets.pipeline import isolation
from recording_assets.pipeline.context import ArchiveContext, DownloadTask
from recording_assets.pipeline.download_one import download
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State

WAIT_SHARE = 0.5  # of the URL lifetime a task may wait in the queue before no more jobs are submitted
STALE_SHARE = 0.8  # of the URL lifetime after which a task is not started: it asks for a fresh URL instead
PRIOR_PER_MINUTE = 100  # downloads a minute assumed until the workers have shown their pace (conservative)
MEASURED_AFTER = 8  # downloads started before their pace is trusted


class DownloadQueue:
    """``concurrency`` download workers; each task is one recording, so never two downloads of one at once."""

    def __init__(
        self,
        ctx: ArchiveContext,
        *,
        backlog: int = 0,  # 0: no limit
        on_finished: Callable[[Outcome], None] | None = None,  # told each outcome the workers finish
    ) -> None:
        self._ctx = ctx
        self._on_finished = on_finished
        self._queue: asyncio.Queue[DownloadTask | None] = asyncio.Queue()
        self._queued_at: deque[float] = deque()  # when each queued task came in, oldest first
        self._taken = asyncio.Event()
        self._taken_count = 0
        self._taken_at_open = 0
        self._first_taken_at: float | None = None
        self._backlog = backlog
        self._ttl = ctx.preflight.batch_url_ttl_s
        self._workers = max(1, ctx.config.concurrency)
        self.expired: list[DownloadTask] = []  # URL expired with attempts left: back for a fresh one

    def put(self, task: DownloadTask) -> None:
        self._queued_at.append(self._ctx.client.clock.time())
        self._queue.put_nowait(task)

    def open(self, outstanding: int = 0, asking: int = 0) -> bool:
        """Whether ``asking`` more URLs are wanted yet, with ``outstanding`` asked for and not yet here: within
        the backlog, and (URL lifetime known) downloadable at the workers' pace before half of it is gone."""
        self._taken_at_open = self._taken_count
        waiting = len(self._queued_at) + outstanding
        if not waiting:
            return True  # nothing in hand: always ask, whatever the pace
        if self._backlog and waiting + asking > self._backlog:
            return False
        if not self._ttl:
            return True
        now = self._ctx.client.clock.time()
        if self._queued_at and now - self._queued_at[0] >= self._ttl * WAIT_SHARE:
            return False
        return waiting + asking <= self._pace_per_s(now) * self._ttl * WAIT_SHARE

    def _pace_per_s(self, now: float) -> float:
        elapsed = now - self._first_taken_at if self._first_taken_at is not None else 0.0
        if self._taken_count < MEASURED_AFTER or elapsed <= 0:
            return PRIOR_PER_MINUTE / 60
        return self._taken_count / elapsed

    async def wait(self) -> None:
        """Until a worker has taken a task since ``open`` last answered (the only thing that makes room). Counted,
        not just signalled: a task taken between ``open`` and this wait must not be missed, or the last one
        taken would leave the batch jobs waiting for ever."""
        while self._taken_count == self._taken_at_open:
            self._taken.clear()
            await self._taken.wait()

    def close(self) -> None:
        """No more tasks: each worker stops once the queue is drained."""
        for _ in range(self._workers):
            self._queue.put_nowait(None)

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self._workers)))

    async def _worker(self) -> None:
        while (task := await self._queue.get()) is not None:
            queued_at, now = self._queued_at.popleft(), self._ctx.client.clock.time()
            self._taken_count += 1
            self._first_taken_at = now if self._first_taken_at is None else self._first_taken_at
            self._taken.set()
            if self._ttl and now - queued_at > self._ttl * STALE_SHARE:
                self.expired.append(task)  # about to expire: a fresh URL beats a 403
            elif (outcome := await _isolated_download(self._ctx, task)) is None:
                self.expired.append(task)
            else:
                self._ctx.ledger.finish(outcome)
                if self._on_finished is not None:
                    self._on_finished(outcome)


async def _isolated_download(ctx: ArchiveContext, task: DownloadTask) -> Outcome | None:
    """``download``, any error but a day-level one (``isolation.py``) becoming this recording's outcome."""
    try:
        return await download(ctx, task)
    except Exception as error:
        if isolation.is_day_level(error):
            raise
        (outcome,) = isolation.failed([task.key], "download", error, attempts=task.attempts)
        return outcome


async def download_all(ctx: ArchiveContext, tasks: list[DownloadTask]) -> list[DownloadTask]:
    """Download ``tasks`` (each outcome finished in the ledger); return those whose URL expired."""
    queue = DownloadQueue(ctx)
    for task in tasks:
        queue.put(task)
    queue.close()
    await queue.run()
    return queue.expired


async def refresh_expired(ctx: ArchiveContext, expired: list[DownloadTask]) -> list[Outcome]:
    """Re-request expired URLs for just those recordings, up to ``url_refresh_rounds`` times: one batch job's
    worth at a time, each downloaded before the next is asked for, so fresh URLs do not age in turn.

    The downloads finish their outcomes in the ledger; returns the failures of the recordings that got no
    fresh URL or whose URL kept expiring."""
    failed: list[Outcome] = []
    for _ in range(ctx.config.url_refresh_rounds):
        if not expired:
            return failed
        ctx.ledger.count_url_refreshes(len(expired))
        again: list[DownloadTask] = []
        for start in range(0, len(expired), BATCH_LIMIT):
            tasks = await _with_fresh_urls(ctx, expired[start : start + BATCH_LIMIT], failed)
            again += await download_all(ctx, tasks)
        expired = again
    for task in expired:
        reason = "URL kept expiring before the download finished"
        failed.append(Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts))
    return failed


async def _with_fresh_urls(
    ctx: ArchiveContext, expired: list[DownloadTask], failed: list[Outcome]
) -> list[DownloadTask]:
    """The tasks of ``expired`` pointed at fresh URLs; those given none fail, into ``failed``."""
    try:
        results = await ctx.batch([BatchItem(t.conversation_id, t.recording_id) for t in expired])
    except Exception as error:
        if isolation.is_day_level(error):
            raise
        failed += isolation.failed([t.key for t in expired], "URL refresh", error)
        return []
    fresh = {(r.conversation_id, r.recording_id): r for r in results if r.result_url and r.recording_id}
    tasks = []
    for task in expired:
        result = fresh.get(task.key)
        if result is None or not result.result_url:
            reason = "URL expired and no fresh URL was given"
            failed.append(Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts))
        else:
            content_type = result.content_type or task.content_type
            tasks.append(replace(task, url=result.result_url, content_type=content_type))
    return tasks
