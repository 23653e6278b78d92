"""The conversations that have work, as one stream of bounded stages instead of phases:

    chunks of ≤ 100 conversations (as discovery pages arrive) → batch jobs, each submitted while the
        downloads have room → each job's results sorted the moment it completes
        → download queue → workers: stream, spool, hash, sniff, create-only upload → outcome
        → look-up queue → ``recordingmetadata`` where ``classify.py`` allows → one retry round at the end

Downloads spend no API budget (media URLs are presigned), so they run while discovery, the jobs and the
look-ups spend it; the look-ups go last in the pacer's queue (nothing downstream waits for them). A
conversation's recordings all come in one job, so each job is planned on its own. Expired URLs are
re-requested, for just those recordings, once the stream has drained (``download_queue.refresh_expired``).
The stages hand their outcomes back here, to be finished in the ledger; the download workers finish theirs
themselves. A job that fails for a reason not the day's (``isolation.py``) fails its conversations' recordings
(``classify.failed_job``); the other jobs go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Coroutine, Sequence

from recording_assets.genesys import BatchItem
from recording_assets.pipeline import classify, isolation
from recording_assets.pipeline.context import ArchiveContext
from recording_assets.pipeline.download_queue import DownloadQueue, refresh_expired
from recording_assets.pipeline.sidecar_feed import SidecarFeed

_DONE = None  # closes the look-up queue


class DayStream:
    def __init__(self, ctx: ArchiveContext, sidecars: SidecarFeed | None = None) -> None:
        """``sidecars``: told what the downloads archive, and which conversations a look-up may still
        describe (``sidecar_feed.py``)."""
        self._ctx = ctx
        self._sidecars = sidecars
        on_finished = sidecars.archived if sidecars is not None else None
        self._downloads = DownloadQueue(ctx, backlog=ctx.config.download_backlog, on_finished=on_finished)
        self._lookups: asyncio.Queue[classify.FirstRound | None] = asyncio.Queue()

    async def run(self, conversation_ids: Sequence[str] | AsyncIterable[Sequence[str]]) -> None:
        """Archive ``conversation_ids``: all at once, or chunks of ≤ 100 as they are found."""
        await _all_or_none(self._batch_jobs(conversation_ids), self._look_ups(), self._downloads.run())
        self._ctx.ledger.finish_all(await refresh_expired(self._ctx, self._downloads.expired))

    async def _batch_jobs(self, conversation_ids: Sequence[str] | AsyncIterable[Sequence[str]]) -> None:
        """Each job's results into downloads and questions, as soon as it completes."""
        ctx = self._ctx
        asked = results = jobs = 0
        async for job in ctx.client.recordings.batch_jobs(_as_items(conversation_ids), room=self._downloads):
            jobs += 1
            if jobs == 1:  # the day's first round, however many jobs it takes
                ctx.ledger.count_batch_round()
            asked, results = asked + len(job.items), results + len(job.results)
            cids = [item.conversation_id for item in job.items]
            if job.error is not None:  # one job's failure is its conversations', unless it is the day's
                if isolation.is_day_level(job.error):
                    raise job.error
                why = f"{job.what}: {isolation.describe(job.error)}"
                ctx.audit.record("batch", reason=f"{len(cids)} conversations not listed: {why}")
                first = classify.failed_job(ctx, cids, why)
            else:
                first = classify.sort_first_round(ctx, cids, job.results)
            ctx.ledger.finish_all(first.failed)
            if self._sidecars is not None:  # before any of these downloads can finish
                self._sidecars.look_up_pending(first.needs_lookup)
            if (questions := first.questions()) is not None:
                await self._lookups.put(questions)
            for task in first.tasks.values():
                self._downloads.put(task)
        if jobs:
            ctx.audit.record("batch", reason=f"{asked} items, {results} results")
        await self._lookups.put(_DONE)

    async def _look_ups(self) -> None:
        """Look-ups for each job's questions; then one more batch round for what they say to ask again."""
        ctx = self._ctx
        retry: list[BatchItem] = []
        errored = classify.FirstRound()  # every job's errored recordings, for the retry round's reasons
        while (first := await self._lookups.get()) is not _DONE:
            looked = await _isolated_look_up(ctx, first)
            ctx.ledger.finish_all(looked.outcomes.values())
            if self._sidecars is not None:
                self._sidecars.looked_up(first.needs_lookup)
            retry += looked.retry
            errored.errored.update(first.errored)
        retried = await classify.retry_errored(ctx, retry, errored)
        ctx.ledger.finish_all(retried.failed)
        for task in retried.tasks.values():
            self._downloads.put(task)
        self._downloads.close()


async def _isolated_look_up(ctx: ArchiveContext, first: classify.FirstRound) -> classify.LookedUp:
    """One job's look-ups; an error but a day-level one (``isolation.py``) fails the recordings they were
    to classify, and leaves their conversations unsettled, instead of the day."""
    try:
        return await classify.look_up(ctx, first)
    except Exception as error:
        if isolation.is_day_level(error):
            raise
        for cid in first.needs_lookup:
            ctx.ledger.mark_unsettled(cid)
        outcomes = isolation.failed(first.errored, "recordingmetadata look-up", error)
        return classify.LookedUp(outcomes={o.key: o for o in outcomes})


def _as_items(conversation_ids: Sequence[str] | AsyncIterable[Sequence[str]]):
    """Batch items: a list for a list, chunk by chunk for chunks that arrive over time."""
    if not isinstance(conversation_ids, AsyncIterable):
        return [BatchItem(cid) for cid in conversation_ids]

    async def chunks():
        async for chunk in conversation_ids:
            yield [BatchItem(cid) for cid in chunk]

    return chunks()


async def _all_or_none(*stages: Coroutine) -> None:
    """Run the stages together; the first to fail cancels the others and its error is raised as is."""
    tasks = [asyncio.ensure_future(stage) for stage in stages]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
