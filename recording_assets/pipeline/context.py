"""What the steps of one day's archiving share: the run's clients, store, day, options and what its
preflight found, the previous run's outcomes, and the ledger (``ledger.py``) that holds the run's state.

The classification (``classify.py``), the downloads (``download_one.py``, ``download_queue.py``), the
stream that runs them together (``stream.py``) and the day's frame (``archiver.py``) all finish recordings
into the same ledger and spend the same request budget, so they hold one context. The context itself does
not change during a run (it is frozen); what does is the ledger's, changed through its methods.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TypeVar

from recording_assets.archive.protocol import RecordingStore
from recording_assets.genesys import BatchItem, GenesysClient
from recording_assets.genesys.models import BatchResult
from recording_assets.genesys.preflight import PreflightReport
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.config import ArchiveConfig
from recording_assets.pipeline.ledger import Ledger
from recording_assets.pipeline.outcome import Key, Outcome
from recording_assets.pipeline.states import State

T = TypeVar("T")

LASTING_QUARANTINE = 2  # downloads with the same bad bytes after which a recording is not fetched again


@dataclass
class DownloadTask:
    """One recording to download; never two downloads of one recording at once."""

    conversation_id: str
    recording_id: str
    url: str
    content_type: str | None
    attempts: int = 0
    transcode: bool = False  # fetch a transcoded URL per attempt through the single-recording endpoint
    expected_size: int | None = None  # bytes, when the API said (outputSizeBytes): sizes the deadline
    bad_bytes: dict[str, int] = field(default_factory=dict)  # sha256 -> downloads that gave those bad bytes

    @property
    def key(self) -> Key:
        return (self.conversation_id, self.recording_id)


@dataclass(frozen=True)
class ArchiveContext:
    client: GenesysClient
    store: RecordingStore
    day: date
    run_id: str
    audit: AuditTrail
    config: ArchiveConfig
    preflight: PreflightReport  # what the run's preflight found: the sensitive-data permission, URL lifetime
    executor: ThreadPoolExecutor
    previous: Mapping[Key, Outcome] = field(default_factory=dict)  # the previous run's outcomes
    ledger: Ledger = field(default_factory=Ledger)  # the run's state: conversations, outcomes, counters
    # When this day's archiving began, on the wall clock (not the Genesys client's, which tests fake): S3
    # uploads opened after it are another live run's, never a killed run's leftovers (``settled``).
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def sensitive_permission(self) -> bool | None:
        return self.preflight.sensitive_data

    @property
    def looks_up_every_conversation(self) -> bool:
        return self.config.sensitive_check_for(self.sensitive_permission) == "lookup"

    def task(self, cid: str, rid: str, url: str, content_type: str | None) -> DownloadTask:
        # Only audio is transcoded; screen recordings and transcripts keep their own containers.
        transcode = bool(self.config.format_id) and (content_type or "").lower().startswith("audio/")
        task = DownloadTask(cid, rid, url, content_type, transcode=transcode)
        earlier = self.previous.get((cid, rid))
        if earlier is not None and earlier.state is State.QUARANTINED and earlier.sha256:
            task.bad_bytes[earlier.sha256] = earlier.quarantine_repeats or 1
        return task

    def uri(self, key: str) -> str:
        return f"s3://{self.store.bucket}/{key}"

    async def s3(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a blocking S3 call on the context's threads, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    async def batch(self, items: list[BatchItem]) -> list[BatchResult]:
        """One batch round (its requests split and polled by the client), counted and audited."""
        self.ledger.count_batch_round()
        results = await self.client.recordings.run_batches(items)
        self.audit.record("batch", reason=f"{len(items)} items, {len(results)} results")
        return results

    def audit_event(
        self,
        event: str,
        task: DownloadTask,
        started: float,
        *,
        state: State | None = None,
        reason: str | None = None,
        size: int | None = None,
        sha256: str | None = None,
        http_status: int | None = None,
    ) -> None:
        """One event of ``task``'s current attempt, with the latency since ``started`` (client clock)."""
        self.audit.record(
            event,
            conversation_id=task.conversation_id,
            recording_id=task.recording_id,
            attempt=task.attempts,
            latency_ms=int((self.client.clock.time() - started) * 1000),
            bytes=size,
            sha256=sha256,
            http_status=http_status,
            state=state.value if state else None,
            reason=reason,
        )
