"""The day as one stream: a job's recordings are downloading before the next job is even submitted."""

from __future__ import annotations

import pytest

from recording_assets.genesys.batches import PollPolicy
from recording_assets.pipeline.states import State
from recording_assets_tests.pipeline.support import DAY, archive_day, stores


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


def test_downloads_start_before_the_next_job_is_submitted(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=150, media_scale=0.002)
    recordings = {(c.id, r.id) for c in sandbox.org.conversations_for_day(DAY) for r in c.recordings}
    report, _, conversations = archive_day(
        sandbox, fake_clock, *buckets, client_kwargs={"batch_poll": PollPolicy(window=1)}, download_backlog=1
    )
    assert len(conversations) > 100  # two batch jobs
    families = [entry["family"] for entry in sandbox.stats()["log"]]
    submits = [n for n, family in enumerate(families) if family == "recording.batch.submit"]
    assert len(submits) == 2 and report.batch_rounds == 1
    # The first job's results were downloading before the second job was asked for (phases would have
    # submitted and polled every job first).
    assert families.index("media") < submits[1]
    assert sorted(o.key for o in report.outcomes) == sorted(recordings)
    assert report.uploads == sum(o.state is State.ARCHIVED for o in report.outcomes) > 0
