"""Archive one day's recordings: batch requests, streamed downloads, verification, create-only upload.

The request budget is what limits an archiver (300 requests/minute per token), so the plan is:

1. list what the archive already holds for the day (S3, not Genesys) and read the previous outcomes and
   which conversations are settled (their batch answered and every recording final: no request again);
2. one batch request per 100 conversations that still have work (``recordingId`` left out: Genesys
   expands each conversation to all its recordings: the result *is* the list of its recordings),
   polled together;
3. one ``recordingmetadata`` look-up only for a conversation whose batch items carry an ``errorMsg`` (its
   wording is undocumented, so it is never parsed) or that analytics flags as recorded and that came
   back with no item at all — or for every conversation when ``sensitive_check`` is ``lookup`` — while
   the downloads of step 4 already run (they spend no API budget);
4. stream each result URL through SHA-256 into a spool, check the container, upload create-only
   under the final key (or under ``quarantine/`` when the bytes are not what the API claims);
5. re-request expired URLs, for just those recordings.

Every recording ends with exactly one ``Outcome``; nothing is dropped silently. The steps live in
``settled.py`` (1), ``plan.py`` (2-3), ``download.py`` (4) and here (the order, and 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date

from recording_assets.archive.protocol import RecordingStore
from recording_assets.genesys import BatchItem, GenesysClient
from recording_assets.genesys.models import ConversationSummary
from recording_assets.pipeline import plan, protection, restore, settled, windows
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.context import (
    FORMAT_CONTENT_TYPES,
    ArchiveContext,
    ArchiveOptions,
    DownloadTask,
)
from recording_assets.pipeline.download import download
from recording_assets.pipeline.outcome import ArchiveReport, Key, Outcome
from recording_assets.pipeline.states import State

__all__ = ["FORMAT_CONTENT_TYPES", "ArchiveOptions", "ArchiveReport", "DayArchiver", "Outcome"]


class DayArchiver:
    def __init__(
        self,
        *,
        client: GenesysClient,
        store: RecordingStore,
        day: date,
        conversations: list[ConversationSummary],
        previous: Iterable[Mapping] = (),
        conversation_rows: Iterable[Mapping] = (),  # the previous run's conversations table
        run_id: str,
        audit: AuditTrail,
        options: ArchiveOptions = ArchiveOptions(),
    ) -> None:
        self._previous: dict[Key, Mapping] = {
            (r["conversation_id"], r["recording_id"]): r for r in previous if r.get("recording_id")
        }
        self._settled = {r["conversation_id"]: r for r in conversation_rows if r.get("conversation_id")}
        self._ctx = ArchiveContext(
            client=client,
            store=store,
            day=day,
            conversations={c.conversation_id: c for c in conversations},
            run_id=run_id,
            audit=audit,
            options=options,
            executor=ThreadPoolExecutor(max_workers=max(4, options.concurrency), thread_name_prefix="s3"),
            previous=self._previous,
        )

    async def run(self) -> ArchiveReport:
        ctx = self._ctx
        try:
            await settled.load_existing(ctx)
            with_work = settled.conversations_with_work(
                ctx.conversations, ctx.existing, self._previous, self._settled, options=ctx.options
            )
            await protection.protect_day(ctx, with_work)  # issue 14 hook: before any download
            for window in windows.download_windows(with_work, ctx.options.url_ttl_s):  # issue 14 hook
                await self._archive_conversations(window)
            await restore.request_restorations(ctx)  # issue 14 hook: after the plan classified the day
            for outcome in settled.carried_forward(ctx.conversations, self._previous, ctx.outcomes):
                ctx.finish(outcome)
            await protection.lift_archived(ctx, with_work)  # issue 14 hook: once every outcome is known
        finally:
            ctx.executor.shutdown(wait=True)
        ctx.report.outcomes = sorted(ctx.outcomes.values(), key=lambda o: o.key)
        ctx.report.conversations = settled.settled_rows(ctx, with_work, self._settled)
        return ctx.report

    async def _archive_conversations(self, conversation_ids: list[str]) -> None:
        if not conversation_ids:
            return
        ctx = self._ctx
        results = await ctx.batch([BatchItem(cid) for cid in conversation_ids])
        first = plan.sort_first_round(ctx, conversation_ids, results)
        # Downloads need no API budget (media URLs are presigned), so they run while the look-ups spend it.
        downloads = asyncio.ensure_future(self._download_all(list(first.tasks.values())))
        try:
            retried = await plan.retry_errored(ctx, await plan.classify(ctx, first), first)
        except BaseException:
            downloads.cancel()
            await asyncio.gather(downloads, return_exceptions=True)
            raise
        retried_only = [task for key, task in retried.items() if key not in first.tasks]
        await asyncio.gather(downloads, self._download_all(retried_only))

    async def _download_all(self, tasks: list[DownloadTask]) -> None:
        """Download ``tasks``; re-request expired URLs for just those, up to ``url_refresh_rounds`` times."""
        ctx = self._ctx
        for round_number in range(ctx.options.url_refresh_rounds + 1):
            expired = await self._download_round(tasks)
            if not expired:
                return
            if round_number == ctx.options.url_refresh_rounds:
                break
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
        for task in expired:
            reason = "URL kept expiring before the download finished"
            ctx.finish(Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts))

    async def _download_round(self, tasks: list[DownloadTask]) -> list[DownloadTask]:
        queue: asyncio.Queue[DownloadTask] = asyncio.Queue()
        for task in tasks:
            queue.put_nowait(task)  # one task per recording: never two downloads of one recording at once
        expired: list[DownloadTask] = []

        async def worker() -> None:
            while not queue.empty():
                task = queue.get_nowait()
                if await download(self._ctx, task):
                    expired.append(task)

        workers = min(self._ctx.options.concurrency, max(1, len(tasks)))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return expired
