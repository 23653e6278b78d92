"""What the steps of one day's archiving share: options, clients, the ledger of outcomes and the report.

The plan (``plan.py``), the downloads (``download.py``, ``fetch.py``), the stream that runs them together
(``stream.py``) and the day's frame (``archiver.py``) all finish recordings into the same ledger and spend
the same request budget, so they hold one context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from recording_assets.archive.protocol import RecordingStore
from recording_assets.genesys import BatchItem, GenesysClient
from recording_assets.genesys.models import BatchResult, ConversationSummary
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.outcome import ArchiveReport, Key, Outcome
from recording_assets.pipeline.retention_options import RetentionOptions
from recording_assets.pipeline.states import State

T = TypeVar("T")

# What the single-recording endpoint serves for each audio formatId (genesys-api.md §4.3).
FORMAT_CONTENT_TYPES = {
    "WAV": "audio/wav",
    "WAV_ULAW": "audio/wav",
    "MP3": "audio/mpeg",
    "OGG_OPUS": "audio/ogg",
    "OGG_VORBIS": "audio/ogg",
    "WEBM": "audio/webm",
}


SENSITIVE_CHECKS = ("auto", "lookup", "trust")
LASTING_QUARANTINE = 2  # downloads with the same bad bytes after which a recording is not fetched again


@dataclass(frozen=True)
class ArchiveOptions:
    key_prefix: str = ""
    concurrency: int = 8
    max_media_attempts: int = 3
    url_refresh_rounds: int = 3
    # None: each recording's original codec through batch requests (cheapest). A formatId
    # (WAV, MP3, OGG_OPUS, WEBM ...) costs at least one more single-recording request per audio
    # recording, plus one per poll while Genesys transcodes.
    format_id: str | None = None
    sensitive_permission: bool | None = None  # from preflight; None = unknown
    # Batches leave sensitive recordings out silently without recording:recording:viewSensitiveData.
    # lookup: one recordingmetadata look-up per conversation, so they are listed (as excluded): exact.
    # trust: batch items only, cheap. auto: trust when preflight confirmed the permission, else lookup.
    sensitive_check: str = "auto"
    # A recording whose downloads gave the same bad bytes twice is not downloaded again, unless this is set.
    force_quarantined: bool = False
    retention: RetentionOptions = RetentionOptions()  # issue 14: restore, protection, annotations (opt in)
    url_ttl_s: int | None = None  # recordingBatchDownloadUrlTtl: how long a queued URL may wait (fetch.py)
    # Download tasks waiting for a worker before the next batch job is submitted (backpressure): about
    # thirty jobs' worth, so the workers never starve while look-ups still take their turns, and a few MB.
    download_backlog: int = 3000

    @property
    def looks_up_every_conversation(self) -> bool:
        return self.resolved_sensitive_check == "lookup"

    @property
    def resolved_sensitive_check(self) -> str:
        if self.sensitive_check != "auto":
            return self.sensitive_check
        return "trust" if self.sensitive_permission is True else "lookup"

    def __post_init__(self) -> None:
        if self.sensitive_check not in SENSITIVE_CHECKS:
            raise ValueError(
                f"sensitive_check {self.sensitive_check!r} is not one of {', '.join(SENSITIVE_CHECKS)}"
            )
        if self.download_backlog < 1:
            raise ValueError(f"download_backlog must be at least 1, got {self.download_backlog}")
        if self.format_id is not None and self.format_id not in FORMAT_CONTENT_TYPES:
            raise ValueError(
                f"format_id {self.format_id!r} is not supported: use None (original) or one of "
                + ", ".join(FORMAT_CONTENT_TYPES)
            )


@dataclass
class DownloadTask:
    """One recording to download; never two downloads of one recording at once."""

    conversation_id: str
    recording_id: str
    url: str
    content_type: str | None
    attempts: int = 0
    transcode: bool = False  # fetch a transcoded URL per attempt through the single-recording endpoint
    bad_bytes: dict[str, int] = field(default_factory=dict)  # sha256 -> downloads that gave those bad bytes

    @property
    def key(self) -> Key:
        return (self.conversation_id, self.recording_id)


@dataclass
class ArchiveContext:
    client: GenesysClient
    store: RecordingStore
    day: date
    conversations: dict[str, ConversationSummary]
    run_id: str
    audit: AuditTrail
    options: ArchiveOptions
    executor: ThreadPoolExecutor
    report: ArchiveReport = field(default_factory=ArchiveReport)
    outcomes: dict[Key, Outcome] = field(default_factory=dict)
    existing: dict[Key, Outcome] = field(default_factory=dict)  # already under their final keys
    previous: dict[Key, Mapping] = field(default_factory=dict)  # the previous run's outcome rows
    unsettled: set[str] = field(default_factory=set)  # conversations whose recordings could not be listed

    def finish(self, outcome: Outcome) -> None:
        self.outcomes[outcome.key] = outcome

    def task(self, cid: str, rid: str, url: str, content_type: str | None) -> DownloadTask:
        # Only audio is transcoded; screen recordings and transcripts keep their own containers.
        transcode = bool(self.options.format_id) and (content_type or "").lower().startswith("audio/")
        task = DownloadTask(cid, rid, url, content_type, transcode=transcode)
        earlier = self.previous.get((cid, rid)) or {}
        if earlier.get("state") == State.QUARANTINED.value and earlier.get("sha256"):
            task.bad_bytes[earlier["sha256"]] = earlier.get("quarantine_repeats") or 1
        return task

    def uri(self, key: str) -> str:
        return f"s3://{self.store.bucket}/{key}"

    async def s3(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a blocking S3 call on the context's threads, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    async def batch(self, items: list[BatchItem]) -> list[BatchResult]:
        """One batch round (its requests split and polled by the client), counted and audited."""
        self.report.batch_rounds += 1
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
