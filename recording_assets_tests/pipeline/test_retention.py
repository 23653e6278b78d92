"""The retention features through a real ``DayArchiver`` on the sandbox and moto: restore (opt in) within
its cap, each refusal that recording's own, no archiveDate past a deleteDate, both dates sent back as read.
(Deletion protection is the radar's: test_protection.py.)"""

from __future__ import annotations

from collections import Counter

import pytest

from recording_assets.pipeline.config import RetentionConfig
from recording_assets.pipeline.states import State
from recording_assets.sandbox.dialect import Dialect
from recording_assets.sandbox.timefmt import DAY_MS
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


def test_restore_on_archives_the_restored_within_the_cap(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=200, media_scale=0.002, restore_latency_s=RESTORE_LATENCY_S
    )
    archived = _archived_in_genesys(sandbox)
    assert len(archived) > 3  # more than the cap allows
    on = RetentionConfig(restore_archived=True, restore_cap=3)
    first, _, _ = archive_day(sandbox, fake_clock, *buckets, retention=on)
    restoring = {o.key: o for o in first.outcomes if o.state is State.RESTORING}
    assert len(restoring) == first.restorations == 3 and set(restoring) <= archived
    assert all(o.restore_until and "restore requested until" in o.reason for o in restoring.values())
    assert {_states(first)[k] for k in archived - set(restoring)} == {State.ARCHIVED_IN_GENESYS}

    # Still restoring: the state and the requested date carry over; nothing is asked again.
    second, _, _ = archive_day(
        sandbox,
        fake_clock,
        *buckets,
        previous=[o.row("run-1") for o in first.outcomes],
        run_id="run-2",
        retention=RetentionConfig(restore_archived=True, restore_cap=0),
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
        retention=RetentionConfig(restore_archived=True, restore_cap=0),
    )
    done = {o.key: o for o in third.outcomes if o.key in restoring}
    assert {o.state for o in done.values()} == {State.ARCHIVED}
    for (_, recording_id), outcome in done.items():
        assert outcome.sha256 == sandbox.org.media_sha256(recording_id) and outcome.checksum_verified_by
    assert requests_by_family(sandbox)["recording.restore"] == 3  # a PUT each (after its GET), no quota read


@pytest.mark.parametrize("restore_body", ["merge", "replace"])
def test_a_refused_restoration_is_that_recordings_and_no_archive_date_passes_the_delete_date(
    sandbox_factory, fake_clock, buckets, restore_body
):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=200,
        media_scale=0.002,
        dialect=Dialect(restore_body=restore_body),
    )
    archived = sorted(_archived_in_genesys(sandbox))
    refused, soon, too_late, *others = archived
    assert others
    sandbox.org.retention.refuse_restorations([refused[1]])  # the org answers 400 for this one only
    now_ms = int(fake_clock.time() * 1000)
    sandbox.org.retention.set_delete_date(soon[1], now_ms + 3 * DAY_MS)  # deleted before restore_days end
    sandbox.org.retention.set_delete_date(too_late[1], now_ms + 2 * 3600_000)  # hours left: not worth it
    deletes = {rid: sandbox.org.recording(rid).delete_date_ms for _, rid in archived}

    report, _, _ = archive_day(
        sandbox, fake_clock, *buckets, retention=RetentionConfig(restore_archived=True, restore_days=7)
    )
    outcomes = {o.key: o for o in report.outcomes}
    assert {outcomes[k].state for k in [soon, *others]} == {State.RESTORING}  # a 400 stopped nothing else
    assert (
        outcomes[refused].state is State.ARCHIVED_IN_GENESYS and "restore refused" in outcomes[refused].reason
    )
    assert "400" in outcomes[refused].reason
    assert outcomes[too_late].state is State.ARCHIVED_IN_GENESYS
    assert "not restorable in time" in outcomes[too_late].reason
    clamped = outcomes[soon].restore_until
    assert clamped is not None and int(clamped.timestamp() * 1000) < deletes[soon[1]]
    # Both dates went back as read: no deleteDate moved or removed, whichever reading the org has.
    assert {rid: sandbox.org.recording(rid).delete_date_ms for _, rid in archived} == deletes


def test_restore_off_changes_nothing(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=100, media_scale=0.002)
    report, _, _ = archive_day(sandbox, fake_clock, *buckets)
    assert {k for k, s in _states(report).items() if s is State.ARCHIVED_IN_GENESYS} == _archived_in_genesys(
        sandbox
    )
    assert report.restorations == 0 and State.RESTORING not in Counter(_states(report).values())
    families = requests_by_family(sandbox)
    assert "recording.restore" not in families and "recording.protection" not in families


def test_a_short_url_lifetime_archives_the_day(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=230, media_scale=0.002, url_ttl_s=120)
    report, _, conversations = archive_day(sandbox, fake_clock, *buckets, url_ttl_s=120)
    assert {o.state for o in report.outcomes} <= {State.ARCHIVED, State.ARCHIVED_IN_GENESYS, State.DELETED}
    assert sum(o.state is State.ARCHIVED for o in report.outcomes) == report.uploads > 0
