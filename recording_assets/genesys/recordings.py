"""Recording endpoints: metadata, batch download jobs, single-recording fetch.

Batch jobs are the cheap path (up to 100 conversations per request, docs/genesys-api.md §4.2): submitted
in a window and each polled when it should be done (``batches.py``), so polling costs about one request
per hundred conversations rather than one per recording, and each job's results arrive as it completes.

Ids that go into a request path are refused before any request unless they are Genesys ids (``InvalidIdError``);
an answer item that is not about what was asked (a metadata item of another conversation) is rejected.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass

from recording_assets.clock import Clock
from recording_assets.genesys.batches import BATCH_LIMIT, BatchStream, CompletedJob, PollPolicy, Room
from recording_assets.genesys.errors import JobFailedError
from recording_assets.genesys.fields import ResponseFormatError, caller_id, required_dict, required_id
from recording_assets.genesys.models import (
    BatchResult,
    BatchStatus,
    Listing,
    Recording,
    RecordingMetadata,
    reject,
)
from recording_assets.genesys.transport import Transport

VIEW = "recording:recording:view"
BATCH_PATH = "/api/v2/recording/batchrequests"
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
        poll: PollPolicy = PollPolicy(),
        transcode_timeout_s: float = 600.0,
    ) -> None:
        self._t = transport
        self._clock = clock
        self._poll = poll
        self._transcode_timeout = transcode_timeout_s

    async def metadata(self, conversation_id: str, *, background: bool = False) -> Listing[RecordingMetadata]:
        """The conversation's recordings; items that cannot be trusted (no safe id, another conversation's)
        are left out and listed in the answer's ``rejected``. ``background``: a look-up nothing downstream
        waits for yields the budget to those that do."""
        response = await self._t.api(
            "GET",
            f"/api/v2/conversations/{_segment(conversation_id, 'conversation id')}/recordingmetadata",
            family="recording.metadata",
            permission=VIEW,
            background=background,
        )
        body = response.json()
        if not isinstance(body, list):
            raise ResponseFormatError(f"recordingmetadata: expected a list, got {type(body).__name__}")
        found: Listing[RecordingMetadata] = Listing()
        for index, item in enumerate(body):
            try:
                meta = RecordingMetadata.from_api(item)
                if meta.conversation_id != conversation_id:
                    raise ResponseFormatError("'conversationId' is not the conversation asked for")
            except ResponseFormatError as error:
                found.rejected.append(reject("recording metadata", index, item, error))
                continue
            found.append(meta)
        return found

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
        return required_id(required_dict(response.json(), field="batch submission").get("id"), field="id")

    async def batch_status(self, job_id: str) -> BatchStatus:
        response = await self._t.api(
            "GET",
            f"{BATCH_PATH}/{_segment(job_id, 'batch job id')}",
            family="recording.batch.poll",
            permission=VIEW,
        )
        return BatchStatus.from_api(response.json())

    def batch_jobs(
        self, items: Sequence[BatchItem] | AsyncIterable[Sequence[BatchItem]], *, room: Room | None = None
    ) -> AsyncIterator[CompletedJob]:
        """Submit ``items`` in chunks of 100 (a window of jobs at a time, each when ``room`` is open); yield each
        job's results the moment it completes. A conversation's recordings all come in the job that asked for
        it. ``items`` may be an async iterable of chunks, submitted as they arrive. A job that fails is
        yielded with its ``error`` and no results; the other jobs go on."""
        return BatchStream(self.submit_batch, self.batch_status, self._clock, self._poll).results(
            items, room=room
        )

    async def run_batches(self, items: Sequence[BatchItem]) -> list[BatchResult]:
        """Every result of ``items``' batch jobs, once all of them completed; a failed job's error is raised
        (the round is one answer: its caller fails what it asked for)."""
        results: list[BatchResult] = []
        async for job in self.batch_jobs(items):
            if job.error is not None:
                raise job.error
            results += job.results
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
        path = (
            f"/api/v2/conversations/{_segment(conversation_id, 'conversation id')}"
            f"/recordings/{_segment(recording_id, 'recording id')}"
        )
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
            if (recording.conversation_id, recording.recording_id) != (conversation_id, recording_id):
                raise ResponseFormatError("the recording answered is not the one asked for")
            if not recording.transcoding or not wait:
                return recording
            if self._clock.time() > deadline:
                raise JobFailedError(
                    f"recording {recording_id} still transcoding after {self._transcode_timeout:.0f}s"
                )
            hint_s = (recording.estimated_transcode_ms or 0) / 1000.0
            await self._clock.sleep(min(60.0, max(2.0, hint_s)))


def _segment(identifier: str, what: str = "Genesys id") -> str:
    """Ids go into URL paths: refuse anything but letters, digits and '-' (``InvalidIdError``, a
    ``ValueError``), before any request."""
    return caller_id(identifier, what=what)
