"""Batch download jobs as a stream: each job's results handed on the moment that job completes.

Jobs are submitted in a window (at most ``window`` submitted and not yet complete), so a large day is not
asked for all at once: its result URLs would expire (60 min by default) before the downloads reach them.
Each job is looked at first when its size says it should be done, then when its resultCount /
expectedResultCount progress says, so polling costs about one request per job, and the first downloads
start seconds after the first submission rather than after the last job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from recording_assets.clock import Clock
from recording_assets.genesys.errors import JobFailedError
from recording_assets.genesys.models import BatchResult, BatchStatus

BATCH_LIMIT = 100


@dataclass(frozen=True)
class PollPolicy:
    initial_s: float = 2.0
    # Genesys prepares results one by one; a conversation expands to ~1.1 recordings, so 30 ms per
    # conversation asked for keeps the first look after the job is done (one poll per job, not two).
    per_item_s: float = 0.03
    max_s: float = 15.0
    timeout_s: float = 1800.0  # per job, from its submission
    window: int = 16  # jobs submitted and not complete


@dataclass(frozen=True)
class CompletedJob:
    items: Sequence  # what the job asked for (every conversation in it, with results or not)
    results: list[BatchResult]


@dataclass
class _Job:
    job_id: str
    items: Sequence
    submitted: float
    look_at: float
    delay: float


class BatchStream:
    """Submit ``items`` in chunks of 100 and yield each job's results when it completes."""

    def __init__(
        self,
        submit: Callable[[Sequence], Awaitable[str]],
        status: Callable[[str], Awaitable[BatchStatus]],
        clock: Clock,
        policy: PollPolicy,
    ) -> None:
        self._submit = submit
        self._status = status
        self._clock = clock
        self._policy = policy

    async def results(self, items: Sequence) -> AsyncIterator[CompletedJob]:
        chunks = [items[i : i + BATCH_LIMIT] for i in range(0, len(items), BATCH_LIMIT)]
        chunks.reverse()  # popped from the end: submitted in order
        pending: list[_Job] = []
        while chunks or pending:
            now = self._clock.time()
            due = [job for job in pending if job.look_at <= now]
            if due:
                for job, status in zip(due, await asyncio.gather(*(self._status(j.job_id) for j in due))):
                    if status.completed:
                        pending.remove(job)
                        yield CompletedJob(job.items, status.results)
                    else:
                        self._look_again(job, status)
            elif chunks and len(pending) < self._policy.window:
                pending.append(await self._submit_job(chunks.pop()))
            else:
                await self._clock.sleep(max(0.0, min(job.look_at for job in pending) - now))

    async def _submit_job(self, chunk: Sequence) -> _Job:
        job_id = await self._submit(chunk)
        submitted = self._clock.time()
        delay = self._policy.initial_s + self._policy.per_item_s * len(chunk)
        return _Job(job_id, chunk, submitted, submitted + delay, delay)

    def _look_again(self, job: _Job, status: BatchStatus) -> None:
        """Aim the next look at the moment the job should finish, judged from its progress."""
        now = self._clock.time()
        if now - job.submitted > self._policy.timeout_s:
            raise JobFailedError(
                f"batch download job {job.job_id} still in progress after {self._policy.timeout_s:.0f}s"
            )
        if status.expected_result_count and status.result_count:
            elapsed = now - job.submitted
            estimate = elapsed / (status.result_count / status.expected_result_count) - elapsed
        else:
            estimate = job.delay * 1.5
        job.delay = min(self._policy.max_s, max(1.0, estimate))
        job.look_at = now + job.delay
