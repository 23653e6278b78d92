"""Archive one day's recordings: batch requests, streamed downloads, verification, create-only upload.

The request budget is what limits an archiver (300 requests/minute per token), so the plan is:

1. list what the archive already holds for the day (S3, not Genesys: recordings, and the evidence of bad
   downloads under ``quarantine/``, ``evidence.py``) and read the previous outcomes and
   which conversations are settled (their batch answered and every recording final: no request again);
2. one batch request per 100 conversations that still have work (``recordingId`` left out: Genesys
   expands each conversation to all its recordings: the result *is* the list of its recordings),
   submitted a window at a time, each job's results handed on the moment it completes;
3. one ``recordingmetadata`` look-up only for a conversation whose batch items carry an ``errorMsg`` (its
   wording is undocumented, so it is never parsed) or that analytics flags as recorded and that came
   back with no item at all — or for every conversation when ``sensitive_check`` is ``lookup`` — while
   the downloads of step 4 of the same job's recordings already run (they spend no API budget);
4. stream each result URL through SHA-256 into a spool, check the container, upload create-only
   under the final key (or under ``quarantine/`` when the bytes are not what the API claims);
5. re-request expired URLs, for just those recordings.

Every recording ends with exactly one ``Outcome``; nothing is dropped silently. Steps 2-5 run as one
stream of bounded stages (``stream.py``), not one phase after another, and the stream can start from the
day's discovery itself: ``run(pages)`` takes the conversations page by page as analytics returns them. The steps live in ``settled.py``
(1), ``classify.py`` (2-3), ``download_one.py`` (4), ``download_queue.py`` (the download workers, and 5); this module
holds the day's frame: what is settled before, restorations after the stream (``restore.py``, opt in),
and the report after. (Deletion protection is the expiry radar's: ``protection.py``.) The run's state is the ledger's
(``ledger.py``): the frame finishes there what the steps hand back, and the report is the ledger's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date

from recording_assets.archive.protocol import RecordingStore
from recording_assets.genesys import GenesysClient
from recording_assets.genesys.listing import Rejected
from recording_assets.genesys.models import ConversationSummary
from recording_assets.genesys.preflight import PreflightReport
from recording_assets.genesys.recordings import BATCH_LIMIT
from recording_assets.pipeline import classify, evidence, restore, settled
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.config import ArchiveConfig
from recording_assets.pipeline.context import ArchiveContext
from recording_assets.pipeline.ledger import Ledger
from recording_assets.pipeline.names import DayNames
from recording_assets.pipeline.outcome import ArchiveReport, Key, Outcome
from recording_assets.pipeline.sidecar_feed import SidecarFeed
from recording_assets.pipeline.states import State
from recording_assets.pipeline.stream import DayStream

__all__ = ["ArchiveReport", "DayArchiver", "Outcome"]


class DayArchiver:
    def __init__(
        self,
        *,
        client: GenesysClient,
        store: RecordingStore,
        day: date,
        conversations: Sequence[ConversationSummary] = (),  # or pages of them, given to ``run``
        previous: Iterable[Outcome] = (),  # the previous run's outcomes (``outcomes_from_rows``)
        conversation_rows: Iterable[settled.ConversationRow] = (),  # the previous run's conversations table
        run_id: str,
        audit: AuditTrail,
        config: ArchiveConfig,
        preflight: PreflightReport,
        names: asyncio.Future[DayNames] | None = None,  # the day's names, once known: sidecars go out early
    ) -> None:
        self._previous: dict[Key, Outcome] = {outcome.key: outcome for outcome in previous}
        self._settled = {row.conversation_id: row for row in conversation_rows}
        self._given = list(conversations)
        self._with_work: list[str] = []
        self._ctx = ArchiveContext(
            client=client,
            store=store,
            day=day,
            run_id=run_id,
            audit=audit,
            config=config,
            preflight=preflight,
            executor=ThreadPoolExecutor(max_workers=max(4, config.concurrency), thread_name_prefix="s3"),
            previous=self._previous,
        )
        self._sidecars = SidecarFeed(self._ctx, names) if names is not None else None

    async def run(
        self,
        pages: AsyncIterable[Sequence[ConversationSummary]] | None = None,
        rejected: Callable[[], Sequence[Rejected]] | None = None,
    ) -> ArchiveReport:
        """Archive the conversations given to the constructor, or ``pages`` of them as they arrive.
        ``rejected``: the conversations discovery left out (called once the pages are exhausted)."""
        ctx, ledger = self._ctx, self._ctx.ledger
        try:
            existing = await settled.load_existing(ctx)
            ledger.found_in_archive(existing.outcomes)
            ledger.described_before(self._previous.values())
            ledger.found_erased(o for o in self._previous.values() if o.state is State.ERASED)
            ledger.found_strays(existing.strays)
            for key, uri in (await evidence.find_kept(ctx)).items():
                ledger.keep_evidence(key, uri)  # earlier runs' evidence: rows keep pointing at it
            pages = pages if pages is not None else _one_page(self._given)
            await DayStream(ctx, self._sidecars).run(self._chunks_with_work(pages))
            if rejected is not None:
                ledger.finish_all(await classify.rejected_conversations(ctx, rejected()))
            # Opt in: the stream has classified every recording.
            ledger.finish_all(await restore.request_restorations(ctx))
            ledger.finish_all(settled.carried_forward(ledger.conversations, self._previous, ledger.outcomes))
            written = (await self._sidecars.drain()).written if self._sidecars is not None else 0
        finally:
            if self._sidecars is not None:
                self._sidecars.cancel()  # after a day-level error: no write outlives the S3 threads
            ctx.executor.shutdown(wait=True)
        report = ledger.report(settled.settled_rows(ctx, self._with_work, self._settled))
        return replace(report, sidecars_written=written)

    @property
    def ledger(self) -> Ledger:
        """The run's state, for reading (its progress, ``progress.py``)."""
        return self._ctx.ledger

    def report_so_far(self) -> ArchiveReport:
        """After a day-level error: what the run did, and the previous run's outcomes it did not replace,
        with every conversation this run asked about left unsettled, so the next run asks again."""
        ledger = self._ctx.ledger
        ledger.finish_all([o for key, o in self._previous.items() if key not in ledger.outcomes])
        return ledger.report(settled.rows_after_crash(self._ctx, self._with_work, self._settled))

    async def _chunks_with_work(
        self, pages: AsyncIterable[Sequence[ConversationSummary]]
    ) -> AsyncIterator[list[str]]:
        """Batch-sized chunks of the conversations that still have work."""
        ctx, waiting = self._ctx, []
        pending = settled.unfinished(
            ctx.ledger.existing, self._previous, ctx.config, ctx.sensitive_permission
        )
        async for page in pages:
            fresh = ctx.ledger.add_conversations(page)
            waiting += settled.conversations_with_work(fresh, pending, self._settled)
            while len(waiting) >= BATCH_LIMIT:
                yield self._noted(waiting[:BATCH_LIMIT])
                del waiting[:BATCH_LIMIT]
        if waiting:
            yield self._noted(waiting)

    def _noted(self, chunk: list[str]) -> list[str]:
        self._with_work += chunk
        return chunk


async def _one_page(conversations: list[ConversationSummary]) -> AsyncIterator[list[ConversationSummary]]:
    yield conversations
