"""Batch download jobs as a stream: each job's results handed on the moment that job completes.

Jobs are submitted in a window (at most ``window`` submitted and not yet complete), so a large day is not
asked for all at once: its result URLs would expire (60 min by default) before the downloads reach them.
Each job is looked at first when its size says it should be done, then when its resultCount /
expectedResultCount progress says, so polling costs about one request per job, and the first downloads
start seconds after the first submission rather than after the last job.

Each job is isolated: a job whose submission or poll raises (a 5xx after the transport's retries, a
malformed answer, a status that is neither ``InProgress`` nor ``Completed``, its timeout) is handed on as
failed, with its error and what it asked for, and the other jobs go on. Which errors end the caller's run
(401/403) is the caller's to decide: this module only reports.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

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
    job_id: str | None = None  # None: its submission failed
    error: Exception | None = None  # set when the job failed: ``results`` is then empty

    @property
    def what(self) -> str:
        """The job, in words, for a failed job's reason."""
        return f"batch job {self.job_id}" if self.job_id else "batch job submission"


@dataclass
class _Job:
    job_id: str
    items: Sequence
    submitted: float
    look_at: float
    delay: float


class BatchStream:
    """Submit chunks of at most 100 items and yield each job's results when it completes.

    The chunks may arrive over time (an async iterable: discovery pages as they are read), and ``room``, when
    given, is awaited before each submission: the downloads' backlog says whether more URLs are wanted yet.
    Completed jobs are looked at and handed on whatever the backlog, so no finished job's URLs wait on it.
    """

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

    async def results(
        self, items: Sequence | AsyncIterable[Sequence], *, room: Room | None = None
    ) -> AsyncIterator[CompletedJob]:
        """``items``: all of them at once (chunked here), or an async iterable of chunks of ≤ 100."""
        chunks = _Chunks(items)
        pending: list[_Job] = []
        try:
            while await chunks.more() or pending:
                now = self._clock.time()
                due = [job for job in pending if job.look_at <= now]
                if due:
                    statuses = await asyncio.gather(
                        *(self._status(j.job_id) for j in due), return_exceptions=True
                    )
                    for job, status in zip(due, statuses, strict=True):
                        if isinstance(status, BaseException):
                            failure: BaseException | None = status
                        elif (failure := self._look_again(job, status)) is None and not status.completed:
                            continue  # looked at again later
                        pending.remove(job)
                        yield _handed_on(job.items, job.job_id, status, failure)
                    continue
                can_submit = chunks.ready and len(pending) < self._policy.window
                outstanding = sum(len(job.items) for job in pending)
                if can_submit and (room is None or room.open(outstanding, chunks.next_size)):
                    chunk = chunks.take()
                    try:
                        pending.append(await self._submit_job(chunk))
                    except Exception as error:  # this chunk's job, not the stream's
                        yield CompletedJob(chunk, [], error=error)
                    continue
                # Nothing to do now: wait for the next look, a chunk, or room, whichever comes first.
                waits = []
                if pending:
                    waits.append(self._clock.sleep(max(0.0, min(job.look_at for job in pending) - now)))
                if can_submit and room is not None:
                    waits.append(room.wait())
                if not chunks.ready and chunks.open:
                    waits.append(chunks.arrival())
                await _first_of(waits)
        finally:
            chunks.close()

    async def _submit_job(self, chunk: Sequence) -> _Job:
        job_id = await self._submit(chunk)
        submitted = self._clock.time()
        delay = self._policy.initial_s + self._policy.per_item_s * len(chunk)
        return _Job(job_id, chunk, submitted, submitted + delay, delay)

    def _look_again(self, job: _Job, status: BatchStatus) -> JobFailedError | None:
        """Aim the next look at the moment the job should finish, judged from its progress; the job's
        failure instead when it has outlived its timeout. Nothing to aim for a completed job."""
        if status.completed:
            return None
        now = self._clock.time()
        if now - job.submitted > self._policy.timeout_s:
            return JobFailedError(
                f"batch download job {job.job_id} still in progress after {self._policy.timeout_s:.0f}s"
            )
        if status.expected_result_count and status.result_count:
            elapsed = now - job.submitted
            estimate = elapsed / (status.result_count / status.expected_result_count) - elapsed
        else:
            estimate = job.delay * 1.5
        job.delay = min(self._policy.max_s, max(1.0, estimate))
        job.look_at = now + job.delay
        return None


def _handed_on(
    items: Sequence, job_id: str, status: BatchStatus | BaseException, failure: BaseException | None
) -> CompletedJob:
    """A job that is done: completed with its results, or failed with its error. A cancellation (not an
    ``Exception``) is the caller's, never a job's: raised as is."""
    if failure is None:
        assert isinstance(status, BatchStatus)
        return CompletedJob(items, list(status.results), job_id)
    if not isinstance(failure, Exception):
        raise failure
    return CompletedJob(items, [], job_id, failure)


class Room(Protocol):
    """Whether the consumer wants ``asking`` more items' results yet, with ``outstanding`` items asked for in
    jobs not complete (``open``), and a way to wait until that may have changed."""

    def open(self, outstanding: int, asking: int) -> bool: ...

    async def wait(self) -> None: ...


class _Chunks:
    """The chunks to submit: a list known up front, or an async iterable read as its chunks arrive."""

    def __init__(self, items: Sequence | AsyncIterable[Sequence]) -> None:
        self._ready: deque[Sequence] = deque()
        self._next: asyncio.Future | None = None
        if isinstance(items, AsyncIterable):
            self._source: AsyncIterator[Sequence] | None = aiter(items)
        else:
            self._ready.extend(items[i : i + BATCH_LIMIT] for i in range(0, len(items), BATCH_LIMIT))
            self._source = None

    @property
    def ready(self) -> bool:
        return bool(self._ready)

    @property
    def open(self) -> bool:
        return self._source is not None

    @property
    def next_size(self) -> int:
        return len(self._ready[0]) if self._ready else 0

    def take(self) -> Sequence:
        return self._ready.popleft()

    async def more(self) -> bool:
        """Whether chunks are ready or may still come; collects the one that arrived meanwhile."""
        if self._next is not None and self._next.done():
            self._collect()
        if not self._ready and self._source is not None:
            self._ask()  # nothing in hand: ask now, and wait for it in the loop
        return bool(self._ready) or self._source is not None

    def arrival(self):
        """An awaitable that completes when the next chunk (or the end) has arrived."""
        return asyncio.shield(self._ask())

    def _ask(self) -> asyncio.Future:
        if self._next is None:
            assert self._source is not None
            self._next = asyncio.ensure_future(anext(self._source, None))
        return self._next

    def _collect(self) -> None:
        assert self._next is not None
        chunk = self._next.result()  # an error in the source is raised here, in the consumer
        self._next = None
        if chunk is None:
            self._source = None
        elif chunk:
            if len(chunk) > BATCH_LIMIT:
                raise ValueError(f"a chunk holds at most {BATCH_LIMIT} items, got {len(chunk)}")
            self._ready.append(chunk)

    def close(self) -> None:
        if self._next is not None and not self._next.done():
            self._next.cancel()


async def _first_of(awaitables: list) -> None:
    """Wait for the first of ``awaitables`` to complete; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
