"""Recording endpoints: metadata, batch download jobs, single-recording fetch.

Batch jobs are the cheap path (up to 100 conversations per request, genesys-api.md §4.2): submit every
chunk first, then poll all of them together with a growing interval, so polling costs a few requests
per hundred conversations rather than one per recording.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from recording_assets.clock import Clock
from recording_assets.genesys.errors import JobFailedError
from recording_assets.genesys.models import BatchResult, BatchStatus, Recording, RecordingMetadata
from recording_assets.genesys.transport import Transport

VIEW = "recording:recording:view"
BATCH_PATH = "/api/v2/recording/batchrequests"
BATCH_LIMIT = 100
FORMAT_IDS = ("WAV", "WEBM", "WAV_ULAW", "OGG_VORBIS", "OGG_OPUS", "MP3", "NONE")


@dataclass(frozen=True)
class BatchItem:
    conversation_id: str
    recording_id: str | None = None  # None: every recording of the conversation

    def to_api(self) -> dict:
        item = {"conversationId": self.conversation_id}
        if self.recording_id:
            item["recordingId"] = self.recording_id
        return item


class Recordings:
    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        poll_initial_s: float = 2.0,
        poll_per_item_s: float = 0.02,
        poll_max_s: float = 15.0,
        batch_timeout_s: float = 1800.0,
        transcode_timeout_s: float = 600.0,
    ) -> None:
        self._t = transport
        self._clock = clock
        self._poll_initial = poll_initial_s
        self._poll_per_item = poll_per_item_s
        self._poll_max = poll_max_s
        self._batch_timeout = batch_timeout_s
        self._transcode_timeout = transcode_timeout_s

    async def metadata(self, conversation_id: str) -> list[RecordingMetadata]:
        response = await self._t.api(
            "GET",
            f"/api/v2/conversations/{_segment(conversation_id)}/recordingmetadata",
            family="recording.metadata",
            permission=VIEW,
        )
        body = response.json()
        return [RecordingMetadata.from_api(item) for item in (body if isinstance(body, list) else [])]

    async def submit_batch(self, items: Sequence[BatchItem]) -> str:
        if not 0 < len(items) <= BATCH_LIMIT:
            raise ValueError(f"a batch request holds 1..{BATCH_LIMIT} items, got {len(items)}")
        response = await self._t.api(
            "POST",
            BATCH_PATH,
            family="recording.batch.submit",
            json={"batchDownloadRequestList": [item.to_api() for item in items]},
            permission=VIEW,
        )
        return response.json()["id"]

    async def batch_status(self, job_id: str) -> BatchStatus:
        response = await self._t.api(
            "GET", f"{BATCH_PATH}/{_segment(job_id)}", family="recording.batch.poll", permission=VIEW
        )
        return BatchStatus.from_api(response.json())

    async def run_batches(self, items: Sequence[BatchItem]) -> list[BatchResult]:
        """Submit ``items`` in chunks of 100, poll every job until Completed, return all results."""
        chunks = [items[i : i + BATCH_LIMIT] for i in range(0, len(items), BATCH_LIMIT)]
        if not chunks:
            return []
        job_ids = [await self.submit_batch(chunk) for chunk in chunks]
        submitted = self._clock.time()
        pending = dict(zip(job_ids, (len(c) for c in chunks)))
        results: list[BatchResult] = []
        # The first look waits in proportion to the work asked for; later looks aim at the moment the
        # slowest-looking job should finish, judged from its resultCount / expectedResultCount progress.
        delay = self._poll_initial + self._poll_per_item * max(pending.values())
        deadline = submitted + self._batch_timeout
        while pending:
            await self._clock.sleep(delay)
            statuses = await asyncio.gather(*(self.batch_status(job_id) for job_id in pending))
            remaining: list[float] = []
            for status in statuses:
                if status.completed:
                    results.extend(status.results)
                    del pending[status.job_id]
                elif status.expected_result_count and status.result_count:
                    elapsed = self._clock.time() - submitted
                    done = status.result_count / status.expected_result_count
                    remaining.append(elapsed / done - elapsed)
            if not pending:
                break
            if self._clock.time() > deadline:
                raise JobFailedError(f"{len(pending)} batch download jobs still in progress after {self._batch_timeout:.0f}s")
            estimate = max(remaining) if len(remaining) == len(pending) else delay * 1.5
            delay = min(self._poll_max, max(1.0, estimate))
        return results

    async def get(
        self,
        conversation_id: str,
        recording_id: str,
        *,
        format_id: str = "WAV",
        wait: bool = True,
    ) -> Recording:
        """Single recording with a presigned ``media_uri``; while Genesys transcodes (202), poll again
        after its own estimate, so one call costs a few requests rather than a busy loop."""
        if format_id not in FORMAT_IDS:
            raise ValueError(f"formatId {format_id!r} is not one of {', '.join(FORMAT_IDS)}")
        path = f"/api/v2/conversations/{_segment(conversation_id)}/recordings/{_segment(recording_id)}"
        deadline = self._clock.time() + self._transcode_timeout
        while True:
            response = await self._t.api(
                "GET",
                path,
                family="recording.get",
                params={"formatId": format_id, "download": "true"},
                permission=VIEW,
            )
            recording = Recording.from_api(response.json(), transcoding=response.status_code == 202)
            if not recording.transcoding or not wait:
                return recording
            if self._clock.time() > deadline:
                raise JobFailedError(f"recording {recording_id} still transcoding after {self._transcode_timeout:.0f}s")
            hint_s = (recording.estimated_transcode_ms or 0) / 1000.0
            await self._clock.sleep(min(60.0, max(2.0, hint_s)))


def _segment(identifier: str) -> str:
    """Ids go into URL paths: refuse anything that could change the path."""
    if not identifier or any(c in identifier for c in "/?#%\\") or identifier in (".", ".."):
        raise ValueError(f"not a valid Genesys id: {identifier!r}")
    return identifier
