"""Batch download jobs (``/api/v2/recording/batchrequests``).

Outcomes are decided once, at submission (including fault-injected errors), then revealed one by
one as sandbox time passes, so repeated polls tell one consistent story.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from recording_assets.sandbox import media
from recording_assets.sandbox.errors import bad_request
from recording_assets.sandbox.faults import FaultState
from recording_assets.sandbox.ids import stable_uuid
from recording_assets.sandbox.org import ARCHIVED, DELETED, UPLOADING, Recording, SyntheticOrg
from recording_assets.sandbox.retention import RESTORING

MAX_ITEMS = 100
PER_ITEM_MS = 20

ERROR_RESTORING = "Recording is being restored from the archive. Try again when it is RESTORED."
ERROR_ARCHIVED = "Recording is archived. Restore it before requesting a download."
ERROR_DELETED = "Recording has been deleted."
ERROR_UPLOADING = "Recording is still being uploaded; try again after the conversation has ended."
ERROR_TRANSIENT = "An internal error occurred while preparing the recording for download. Please retry."
ERROR_NO_CONVERSATION = "Conversation not found."
ERROR_NO_RECORDING = "Recording not found."


@dataclass(frozen=True)
class BatchOutcome:
    conversation_id: str
    recording_id: str | None
    ready_ms: int
    container: str | None = None  # set when the result carries a URL
    error_msg: str | None = None


@dataclass(frozen=True)
class BatchJob:
    id: str
    client_id: str
    submitted_ms: int
    complete_ms: int
    outcomes: tuple[BatchOutcome, ...]
    broken: bool = False  # fault failed_batch_job: every poll answers 503

    def ready(self, now_ms: int) -> list[BatchOutcome]:
        return [o for o in self.outcomes if o.ready_ms <= now_ms]

    def completed(self, now_ms: int) -> bool:
        return now_ms >= self.complete_ms


class BatchStore:
    def __init__(self, org: SyntheticOrg, faults: FaultState, latency_s: float) -> None:
        self._org = org
        self._faults = faults
        self._latency_ms = int(latency_s * 1000)
        self._jobs: dict[str, BatchJob] = {}
        self._count = 0
        self._lock = threading.Lock()

    def submit(self, client_id: str, body: Any, now_ms: int, can_view_sensitive: bool) -> BatchJob:
        items = body.get("batchDownloadRequestList") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise bad_request("batchDownloadRequestList must be a non-empty array")
        if len(items) > MAX_ITEMS:
            raise bad_request(f"batchDownloadRequestList cannot contain more than {MAX_ITEMS} items")
        pending: list[tuple[str, str | None, Recording | None, str | None]] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("conversationId"), str):
                raise bad_request("every batchDownloadRequest needs a conversationId")
            pending.extend(
                self._expand(item["conversationId"], item.get("recordingId"), now_ms, can_view_sensitive)
            )
        total_ms = self._latency_ms + PER_ITEM_MS * len(pending)
        outcomes = []
        for position, (conversation_id, recording_id, rec, error) in enumerate(pending):
            ready = now_ms + (total_ms * (position + 1)) // max(1, len(pending))
            if rec is not None and error is None and self._faults.on_batch_result(rec.id):
                error = ERROR_TRANSIENT
            container = rec.codec if rec is not None and error is None else None
            outcomes.append(BatchOutcome(conversation_id, recording_id, ready, container, error))
        with self._lock:
            self._count += 1
            job = BatchJob(
                stable_uuid(self._org.seed, "batch", self._count),
                client_id,
                now_ms,
                now_ms + total_ms,
                tuple(outcomes),
                self._faults.on_batch_submit(),
            )
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> BatchJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _expand(
        self, conversation_id: str, recording_id: Any, now_ms: int, can_view_sensitive: bool
    ) -> list[tuple[str, str | None, Recording | None, str | None]]:
        conv = self._org.conversation(conversation_id)
        if conv is None or not conv.started(now_ms):
            return [(conversation_id, recording_id, None, ERROR_NO_CONVERSATION)]
        recordings = list(conv.recordings)
        if recording_id is not None:
            recordings = [r for r in recordings if r.id == recording_id]
            if not recordings:
                return [(conversation_id, recording_id, None, ERROR_NO_RECORDING)]
        expanded: list[tuple[str, str | None, Recording | None, str | None]] = []
        for rec in recordings:
            if rec.sensitive and not can_view_sensitive:
                continue  # silently excluded, as Genesys does without viewSensitiveData
            state = rec.file_state_at(now_ms)
            if state in (ARCHIVED, DELETED, RESTORING) and self._org.dialect.batch_unavailable == "omitted":
                continue  # the reading in which a batch leaves unavailable recordings out
            errors = {ARCHIVED: ERROR_ARCHIVED, DELETED: ERROR_DELETED, UPLOADING: ERROR_UPLOADING}
            error = errors.get(state, ERROR_RESTORING if state == RESTORING else None)
            expanded.append((conversation_id, rec.id, rec, error))
        return expanded


def content_type(container: str) -> str:
    return media.CONTAINERS[container][0]
