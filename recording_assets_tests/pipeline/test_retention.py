"""The retention features through a real ``DayArchiver`` on the sandbox and moto: restore (opt in) within the org's quota,
deletion protection that survives a failed run and is lifted by a successful one."""

from __future__ import annotations

from collections import Counter

import pytest

from recording_assets.pipeline.config import RetentionConfig
from recording_assets.pipeline.states import State
from recording_assets.sandbox import Faults
from recording_assets_tests.pipeline.support import DAY, archive_day, requests_by_family, stores

RESTORE_LATENCY_S = 30


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


def _archived_in_genesys(sandbox) -> set:
    return {
        (c.id, r.id)
        for c in sandbox.org.conversations_for_day(DAY)
        for r in c.recordings
        if r.file_state == "ARCHIVED"
    }


def _states(report) -> dict:
    return {o.key: o.state for o in report.outcomes}


def test_restore_on_archives_the_restored_within_the_quota(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=200,
        media_scale=0.002,
        restore_quota=3,
        restore_latency_s=RESTORE_LATENCY_S,
    )
    archived = _archived_in_genesys(sandbox)
    assert len(archived) > 3  # more than the quota allows
    on = RetentionConfig(restore_archived=True, restore_cap=10)
    first, _, _ = archive_day(sandbox, fake_clock, *buckets, retention=on)
    restoring = {o.key: o for o in first.outcomes if o.state is State.RESTORING}
    assert len(restoring) == first.restorations == 3 and set(restoring) <= archived
    assert all(o.restore_until and "restore requested until" in o.reason for o in restoring.values())
    assert {_states(first)[k] for k in archived - set(restoring)} == {State.ARCHIVED_IN_GENESYS}

    # Still restoring: the state and the requested date carry over; the quota is spent, nothing more asked.
    second, _, _ = archive_day(
        sandbox,
        fake_clock,
        *buckets,
        previous=[o.row("run-1") for o in first.outcomes],
        run_id="run-2",
        retention=on,
    )
    still = {o.key: o for o in second.outcomes if o.state is State.RESTORING}
    assert set(still) == set(restoring) and second.restorations == 0
    assert {k: o.restore_until for k, o in still.items()} == {
        k: o.restore_until for k, o in restoring.items()
    }

    fake_clock.advance(RESTORE_LATENCY_S + 1)  # Genesys finished restoring
    third, _, _ = archive_day(
        sandbox,
        fake_clock,
        *buckets,
        previous=[o.row("run-2") for o in second.outcomes],
        run_id="run-3",
        retention=on,
    )
    done = {o.key: o for o in third.outcomes if o.key in restoring}
    assert {o.state for o in done.values()} == {State.ARCHIVED}
    for (_, recording_id), outcome in done.items():
        assert outcome.sha256 == sandbox.org.media_sha256(recording_id) and outcome.checksum_verified_by
    assert requests_by_family(sandbox)["recording.restore"] == 3  # never past the org's quota
    assert sandbox.org.retention.remaining_restorations == 0


def test_restore_off_changes_nothing(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=100, media_scale=0.002)
    report, _, _ = archive_day(sandbox, fake_clock, *buckets)
    assert {k for k, s in _states(report).items() if s is State.ARCHIVED_IN_GENESYS} == _archived_in_genesys(
        sandbox
    )
    assert report.restorations == 0 and State.RESTORING not in Counter(_states(report).values())
    families = requests_by_family(sandbox)
    assert "recording.restore" not in families and "recording.protection" not in families


def test_protection_survives_a_failed_run_and_is_lifted_after_a_good_one(
    sandbox_factory, fake_clock, buckets
):
    every_download_bad = Faults(corrupt_magic_rate=1.0, corrupt_magic_persistent=True)
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=60, media_scale=0.002, faults=every_download_bad
    )
    day_ids = [c.id for c in sandbox.org.conversations_for_day(DAY)]
    on = RetentionConfig(protect_until_archived=True)
    failed, _, _ = archive_day(sandbox, fake_clock, *buckets, retention=on)
    assert not any(o.state.in_archive for o in failed.outcomes)
    assert failed.protection["protected"] == len(day_ids) and failed.protection["kept"] > 0

    sweep = sandbox.state.retention_sweep(day_ids)  # the org's retention runs now
    assert sweep.deleted == () and len(sweep.kept_protected) > 0

    sandbox.set_faults(Faults())
    good, _, _ = archive_day(
        sandbox,
        fake_clock,
        *buckets,
        previous=[o.row("run-1") for o in failed.outcomes],
        run_id="run-2",
        retention=on,
        force_quarantined=True,
    )
    states = _states(good)
    unarchivable = {k[0] for k, s in states.items() if not s.in_archive and s is not State.DELETED}
    assert unarchivable == {k[0] for k in _archived_in_genesys(sandbox)}  # ARCHIVED in Genesys, restore off
    assert sandbox.org.retention.protected(day_ids) == unarchivable
    assert good.protection["lifted"] == len(day_ids) - len(unarchivable)


def test_a_short_url_lifetime_archives_the_day(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=230, media_scale=0.002, url_ttl_s=120)
    report, _, conversations = archive_day(sandbox, fake_clock, *buckets, url_ttl_s=120)
    assert {o.state for o in report.outcomes} <= {State.ARCHIVED, State.ARCHIVED_IN_GENESYS, State.DELETED}
    assert sum(o.state is State.ARCHIVED for o in report.outcomes) == report.uploads > 0
