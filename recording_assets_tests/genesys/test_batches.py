"""Batch jobs as a stream: each job handed on when it completes, a window at a time, one poll per job."""

from __future__ import annotations

import asyncio

import pytest

from recording_assets.genesys import BatchItem
from recording_assets.genesys.batches import PollPolicy
from recording_assets.genesys.errors import JobFailedError
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


def test_a_job_that_never_completes_fails_after_its_timeout(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=400, media_scale=0.002, batch_latency_s=3600)
    cids = sorted(truth_ended(sb))[:10]
    with pytest.raises(JobFailedError, match="still in progress after 60s"):
        _jobs(sb, fake_clock, cids, PollPolicy(timeout_s=60))
