"""The download stage: workers fed by a bounded queue, and the re-requests of URLs that expired.

The queue is the backpressure between the batch jobs and the downloads: when the downloads fall behind,
putting the next task waits, so the next batch job is not submitted (its URLs would only age) and
memory holds at most ``backlog`` small task records plus one spool per worker.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from recording_assets.genesys import BatchItem
from recording_assets.pipeline.context import ArchiveContext, DownloadTask
from recording_assets.pipeline.download import download
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State


class Fetcher:
    """``concurrency`` download workers; each task is one recording, so never two downloads of one at once."""

    def __init__(self, ctx: ArchiveContext, *, backlog: int = 0) -> None:  # backlog 0: unbounded
        self._ctx = ctx
        self._queue: asyncio.Queue[DownloadTask | None] = asyncio.Queue(maxsize=backlog)
        self._workers = max(1, ctx.options.concurrency)
        self.expired: list[DownloadTask] = []  # URL expired with attempts left: back for a fresh one

    async def put(self, task: DownloadTask) -> None:
        await self._queue.put(task)

    async def close(self) -> None:
        """No more tasks: each worker stops once the queue is drained."""
        for _ in range(self._workers):
            await self._queue.put(None)

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self._workers)))

    async def _worker(self) -> None:
        while (task := await self._queue.get()) is not None:
            if await download(self._ctx, task):
                self.expired.append(task)


async def download_all(ctx: ArchiveContext, tasks: list[DownloadTask]) -> list[DownloadTask]:
    """Download ``tasks``; return those whose URL expired."""
    fetcher = Fetcher(ctx)
    for task in tasks:
        await fetcher.put(task)
    await fetcher.close()
    await fetcher.run()
    return fetcher.expired


async def refresh_expired(ctx: ArchiveContext, expired: list[DownloadTask]) -> None:
    """Re-request expired URLs for just those recordings, up to ``url_refresh_rounds`` times."""
    for _ in range(ctx.options.url_refresh_rounds):
        if not expired:
            return
        ctx.report.url_refreshes += len(expired)
        fresh = {
            (r.conversation_id, r.recording_id): r
            for r in await ctx.batch([BatchItem(t.conversation_id, t.recording_id) for t in expired])
            if r.result_url and r.recording_id
        }
        tasks = []
        for task in expired:
            result = fresh.get(task.key)
            if result is None:
                reason = "URL expired and no fresh URL was given"
                ctx.finish(Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts))
            else:
                content_type = result.content_type or task.content_type
                tasks.append(replace(task, url=result.result_url, content_type=content_type))
        expired = await download_all(ctx, tasks)
    for task in expired:
        reason = "URL kept expiring before the download finished"
        ctx.finish(Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts))
