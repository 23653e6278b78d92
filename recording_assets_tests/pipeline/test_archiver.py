"""A whole day through ``DayArchiver`` on the sandbox and moto: one outcome per recording, few requests."""

from __future__ import annotations

from collections import Counter

import pytest

from recording_assets.pipeline.states import State
from recording_assets.sandbox import Faults
from recording_assets_tests.pipeline.support import DAY, archive_day, requests_by_family, stores

VIEW_SENSITIVE = "recording:recording:viewSensitiveData"


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


def truth(sandbox) -> dict:
    return {(c.id, r.id): r for c in sandbox.org.conversations_for_day(DAY) for r in c.recordings}


def test_one_outcome_per_recording_and_a_rerun_uploads_nothing(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=40, media_scale=0.002)
    recordings = truth(sandbox)
    report, audit, conversations = archive_day(sandbox, fake_clock, *buckets)

    assert [o.key for o in report.outcomes] == sorted(recordings)
    expected = {"AVAILABLE": State.ARCHIVED, "ARCHIVED": State.ARCHIVED_IN_GENESYS, "DELETED": State.DELETED}
    states = {o.key: o.state for o in report.outcomes}
    assert states == {k: expected[r.file_state] for k, r in recordings.items()}
    for outcome in report.outcomes:
        if outcome.state is State.ARCHIVED:
            assert outcome.sha256 == sandbox.org.media_sha256(outcome.recording_id)
            day_prefix = "recordings/year=2025/month=12/day=30/"
            assert outcome.storage_uri.startswith(f"s3://{buckets[0].bucket}/{day_prefix}")
    archived = sum(o.state is State.ARCHIVED for o in report.outcomes)
    assert (report.uploads, report.downloads, report.batch_rounds) == (archived, archived, 1)
    # One batch round for the day; a look-up only for conversations whose batch results left questions.
    first = requests_by_family(sandbox)
    assert first["recording.batch.submit"] == 1 and first["media"] == archived
    assert first["recording.metadata"] == report.lookups < len(conversations)
    assert audit.events == 1 + 2 * archived  # one batch event, started + finished per recording

    rows = [o.row("run-1") for o in report.outcomes]
    rerun, _, _ = archive_day(sandbox, fake_clock, *buckets, previous=rows, run_id="run-2")
    again = requests_by_family(sandbox)
    assert rerun.uploads == 0 and again["media"] == first["media"]
    assert again["recording.batch.submit"] - first["recording.batch.submit"] == rerun.batch_rounds <= 1
    states = {o.key: o.state for o in rerun.outcomes}
    assert set(states) == set(recordings)
    assert Counter(states.values()) == Counter(
        State.ALREADY_ARCHIVED if o.state is State.ARCHIVED else o.state for o in report.outcomes
    )
    kept = next(o for o in rerun.outcomes if o.state is State.ALREADY_ARCHIVED)
    assert (kept.archived_run_id, kept.checksum_verified_by) == ("run-1", "earlier-run")


def test_sensitive_recordings_without_the_permission_are_excluded(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=40,
        media_scale=0.002,
        faults=Faults(deny_permissions=frozenset({VIEW_SENSITIVE})),
    )
    sensitive = {k for k, r in truth(sandbox).items() if r.sensitive and r.file_state == "AVAILABLE"}
    assert sensitive  # the seeded org has at least one
    report, _, _ = archive_day(sandbox, fake_clock, *buckets, sensitive_permission=False)
    excluded = {o.key: o for o in report.outcomes if o.state is State.EXCLUDED}
    assert set(excluded) == sensitive
    assert all(o.reason.startswith("left out of batch results: sensitive data") for o in excluded.values())


def test_batch_errors_cost_one_more_round_not_a_failure(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=12, media_scale=0.002, faults=Faults(batch_error_rate=1.0)
    )
    report, _, conversations = archive_day(sandbox, fake_clock, *buckets)
    available = [k for k, r in truth(sandbox).items() if r.file_state == "AVAILABLE"]
    assert sorted(o.key for o in report.outcomes if o.state is State.ARCHIVED) == sorted(available)
    assert report.batch_rounds == 2
    with_recordings = {cid for cid, _ in truth(sandbox)}
    assert report.lookups == len(with_recordings) == requests_by_family(sandbox)["recording.metadata"]


def test_urls_that_keep_expiring_are_refreshed_then_fail(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=12, media_scale=0.002, url_ttl_s=1)
    report, _, _ = archive_day(sandbox, fake_clock, *buckets)
    states = Counter(o.state for o in report.outcomes)
    assert states[State.FAILED] > 0 and states[State.ARCHIVED_IN_GENESYS] == 2
    available = sum(r.file_state == "AVAILABLE" for r in truth(sandbox).values())
    assert states[State.ARCHIVED] + states[State.FAILED] == available
    for outcome in report.outcomes:
        if outcome.state is State.FAILED:
            assert (outcome.reason, outcome.attempts) == ("media URL expired (403) at attempt 3 of 3", 3)
    assert report.url_refreshes > 0 and report.batch_rounds > 1
    assert requests_by_family(sandbox)["recording.batch.submit"] == report.batch_rounds
    assert report.downloads == requests_by_family(sandbox)["media"]
