"""Batch jobs as a stream: each job handed on when it completes, a window at a time, one poll per job."""

from __future__ import annotations

import asyncio

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys import BatchItem
from recording_assets.genesys.batches import BatchStream, PollPolicy
from recording_assets.genesys.errors import JobFailedError, ServerError
from recording_assets.genesys.fields import ResponseFormatError
from recording_assets.genesys.models import BatchStatus
from recording_assets.sandbox import Faults
from recording_assets_tests.genesys.test_genesys_client import log, make_client, truth_ended


def _jobs(sb, clock, cids, policy):
    async def go():
        async with make_client(sb, clock, batch_poll=policy) as client:
            return [job async for job in client.recordings.batch_jobs([BatchItem(c) for c in cids])]

    return asyncio.run(go())


def test_each_job_is_handed_on_with_what_it_asked_for(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=400, media_scale=0.002)
    cids = sorted(truth_ended(sb))[:250]
    jobs = _jobs(sb, fake_clock, cids, PollPolicy())
    # Handed on in the order they complete (the short last job is ready first), each with its own chunk.
    asked = [[item.conversation_id for item in job.items] for job in jobs]
    assert asked == [cids[200:], cids[:100], cids[100:200]]
    for job in jobs:
        asked = {item.conversation_id for item in job.items}
        assert job.results and {r.conversation_id for r in job.results} <= asked
    # The first look at each job lands after it is done: one poll per job, not one per growing interval.
    assert len(log(sb, "recording.batch.submit")) == len(log(sb, "recording.batch.poll")) == 3


def test_a_window_of_one_polls_each_job_before_submitting_the_next(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=400, media_scale=0.002)
    cids = sorted(truth_ended(sb))[:250]
    _jobs(sb, fake_clock, cids, PollPolicy(window=1))
    families = [e["family"] for e in log(sb) if e["family"].startswith("recording.batch")]
    assert families == ["recording.batch.submit", "recording.batch.poll"] * 3


def test_a_job_that_never_completes_is_handed_on_failed_after_its_timeout(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=400, media_scale=0.002, batch_latency_s=3600)
    cids = sorted(truth_ended(sb))[:10]
    (job,) = _jobs(sb, fake_clock, cids, PollPolicy(timeout_s=60))
    assert isinstance(job.error, JobFailedError) and "still in progress after 60s" in str(job.error)
    assert (job.results, [item.conversation_id for item in job.items]) == ([], cids)


def test_a_job_whose_polls_keep_failing_is_handed_on_failed_and_the_others_complete(
    sandbox_factory, fake_clock
):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=400, media_scale=0.002)
    sb.set_faults(Faults(failed_batch_job=2))
    cids = sorted(truth_ended(sb))[:250]
    jobs = _jobs(sb, fake_clock, cids, PollPolicy())
    failed = [job for job in jobs if job.error is not None]
    assert len(jobs) == 3 and len(failed) == 1
    (broken,) = failed
    assert isinstance(broken.error, ServerError) and broken.error.status == 503
    assert [item.conversation_id for item in broken.items] == cids[100:200] and broken.results == []
    assert broken.what == f"batch job {broken.job_id}"
    polled = {e["path"].rsplit("/", 1)[1] for e in log(sb, "recording.batch.poll") if e["status"] == 503}
    assert polled == {broken.job_id}  # the sandbox's broken job, asked until the transport gave up
    for job in jobs:
        if job is not broken:
            asked = {item.conversation_id for item in job.items}
            assert job.error is None and job.results and {r.conversation_id for r in job.results} <= asked


def test_run_batches_raises_a_failed_jobs_error(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=400, media_scale=0.002)
    sb.set_faults(Faults(failed_batch_job=1))
    cids = sorted(truth_ended(sb))[:10]

    async def go():
        async with make_client(sb, fake_clock) as client:
            return await client.recordings.run_batches([BatchItem(c) for c in cids])

    with pytest.raises(ServerError):
        asyncio.run(go())


def test_a_status_the_api_does_not_document_is_a_malformed_answer():
    body = {"id": "7b0c5f7e-0000-4000-8000-000000000001", "status": "Failed", "results": []}
    with pytest.raises(ResponseFormatError, match="'Failed': not one of InProgress, Completed"):
        BatchStatus.from_api(body)
    assert BatchStatus.from_api({**body, "status": "InProgress"}).completed is False


def test_a_submission_that_fails_is_handed_on_failed_and_the_next_chunk_is_still_submitted():
    """Pure stream logic: the submit and status callables are the stream's collaborators, given here."""
    clock = FakeClock()
    chunks = [[f"c{n}-{i}" for i in range(3)] for n in range(3)]
    submitted = []

    async def submit(chunk):
        if chunk is chunks[1]:
            raise ServerError(status=503, method="POST", path="/api/v2/recording/batchrequests")
        submitted.append(chunk)
        return f"job-{len(submitted)}"

    async def status(job_id):
        return BatchStatus(job_id, "Completed", 0, 0, 0, ())

    async def arriving():  # chunks as discovery hands them on
        for chunk in chunks:
            yield chunk

    async def go():
        stream = BatchStream(submit, status, clock, PollPolicy())
        return [job async for job in stream.results(arriving())]

    jobs = asyncio.run(go())
    (failed,) = [job for job in jobs if job.error is not None]
    assert (failed.items, failed.job_id, failed.what) == (chunks[1], None, "batch job submission")
    assert isinstance(failed.error, ServerError)
    assert sorted(job.job_id for job in jobs if job.error is None) == ["job-1", "job-2"]
