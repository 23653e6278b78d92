"""Asynchronous conversation-detail jobs (``/api/v2/analytics/conversations/details/jobs``).

Jobs read the "data lake": they only see conversations that ended before
``now - data_lag_s`` (the ``dataAvailabilityDate``), and match conversations *overlapping* the
interval unless ``startOfDayIntervalMatching`` asks for query-like start matching.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from typing import Any

from recording_assets.sandbox.analytics import (
    compile_matcher,
    parse_interval_field,
    parse_order,
    sort_conversations,
)
from recording_assets.sandbox.errors import bad_request
from recording_assets.sandbox.ids import stable_uuid
from recording_assets.sandbox.org import Conversation, SyntheticOrg
from recording_assets.sandbox.timefmt import DAY_MS

RESULT_LIFETIME_MS = 7 * DAY_MS
DEFAULT_RESULTS_PAGE = 1000
MAX_RESULTS_PAGE = 1000


@dataclass(frozen=True)
class DetailsJob:
    id: str
    client_id: str
    submitted_ms: int
    fulfilled_ms: int
    data_availability_ms: int
    conversations: tuple[Conversation, ...]
    ends: str = "FULFILLED"  # the state it reaches when done (Faults.details_job_ends)

    @property
    def expires_ms(self) -> int:
        return self.submitted_ms + RESULT_LIFETIME_MS

    def state(self, now_ms: int) -> str:
        if now_ms >= self.expires_ms:
            return "EXPIRED"
        return self.ends if now_ms >= self.fulfilled_ms else "QUEUED"


class JobStore:
    def __init__(self, org: SyntheticOrg, latency_s: float, data_lag_s: float) -> None:
        self._org = org
        self._latency_ms = int(latency_s * 1000)
        self._lag_ms = int(data_lag_s * 1000)
        self._jobs: dict[str, DetailsJob] = {}
        self._count = 0
        self._lock = threading.Lock()

    @property
    def data_lag_ms(self) -> int:
        return self._lag_ms

    def data_availability_ms(self, now_ms: int) -> int:
        return now_ms - self._lag_ms

    def submit(self, client_id: str, body: Any, now_ms: int, *, ends: str = "FULFILLED") -> DetailsJob:
        if not isinstance(body, dict):
            raise bad_request("the request body must be an AsyncConversationQuery object")
        start_ms, end_ms = parse_interval_field(body)
        order, order_by = parse_order(body)
        matcher = compile_matcher(body)
        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise bad_request("limit must be a positive integer")
        start_matching = bool(body.get("startOfDayIntervalMatching"))
        cutoff = self.data_availability_ms(now_ms)
        # Overlap matching must also look at the day before: conversations can run past midnight.
        scan_from = start_ms if start_matching else start_ms - DAY_MS
        found = [
            conv
            for conv in self._org.conversations_between(scan_from, end_ms)
            if conv.end_ms <= cutoff
            and self._org.visible(conv)
            and (start_ms <= conv.start_ms if start_matching else conv.end_ms > start_ms)
            and matcher(conv, now_ms)
        ]
        found = sort_conversations(found, order, order_by, now_ms)
        if limit is not None:
            found = found[:limit]
        with self._lock:
            self._count += 1
            job = DetailsJob(
                stable_uuid(self._org.seed, "details-job", self._count),
                client_id,
                now_ms,
                now_ms + self._latency_ms,
                cutoff,
                tuple(found),
                ends,
            )
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> DetailsJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def delete(self, job_id: str) -> bool:
        with self._lock:
            return self._jobs.pop(job_id, None) is not None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        label, _, value = text.partition(":")
        if label != "offset":
            raise ValueError(cursor)
        return int(value)
    except ValueError:
        raise bad_request(f"invalid cursor {cursor!r}") from None
