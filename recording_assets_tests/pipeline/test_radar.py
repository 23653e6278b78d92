"""The expiry radar on the sandbox and moto: of the recordings Genesys deletes within the horizon, exactly
those the archive does not hold are flagged, per day, under both readings of ``retentionThresholdDays``,
reading a bounded number of pages."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest

from recording_assets.genesys.retention import RETENTION_PAGE
from recording_assets.pipeline.radar import scan, unarchived
from recording_assets.sandbox.dialect import RETENTION_THRESHOLD, Dialect
from recording_assets_tests.pipeline.support import archive_day, genesys_client, stores

HORIZON = 3
# The FakeClock starts at 2026-01-01; the sandbox retains recordings 90 days: these days expire first.
FIRST = date(2026, 1, 1) - timedelta(days=90)
DAYS = [FIRST + timedelta(days=n) for n in range(HORIZON)]


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


def _scan(sandbox, clock, *, max_pages=400):
    async def go():
        async with genesys_client(sandbox, clock) as client:
            now = datetime.fromtimestamp(clock.time(), timezone.utc)
            return await scan(client.retention, horizon_days=HORIZON, max_pages=max_pages, now=now)

    return asyncio.run(go())


def _radar(sandbox, clock, archive, manifests):
    found = _scan(sandbox, clock)
    assert found.entries.complete
    report = unarchived(
        list(found.entries), horizon_days=HORIZON, archive=archive, manifests=manifests, timezone="UTC"
    )
    return report, found


@pytest.mark.parametrize("reading", RETENTION_THRESHOLD)
def test_the_radar_flags_exactly_the_unarchived_recordings_about_to_expire(
    sandbox_factory, fake_clock, buckets, reading
):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=12,
        media_scale=0.002,
        dialect=Dialect(retention_threshold=reading),
    )
    archived_days = (DAYS[0], DAYS[2])  # the middle day is never archived: the planted risk
    for day in archived_days:
        archive_day(sandbox, fake_clock, *buckets, day=day, run_id=f"run-{day}")
    report, found = _radar(sandbox, fake_clock, *buckets)

    by_day = {day: [r for c in sandbox.org.conversations_for_day(day) for r in c.recordings] for day in DAYS}
    within = [r for recordings in by_day.values() for r in recordings]
    planted = {r.id for r in by_day[DAYS[1]] if r.file_state != "DELETED"}
    in_genesys_archive = {r.id for r in within if r.file_state == "ARCHIVED"}  # unarchivable without restore
    flagged = {e.recording_id for items in report.at_risk.values() for e in items}
    assert planted and flagged == planted | in_genesys_archive
    assert report.checked == sum(1 for r in within if r.file_state != "DELETED")
    assert DAYS[1] in report.at_risk and set(report.at_risk) <= set(DAYS)
    assert report.total == len(flagged) and report.soonest() is not None
    # The cost: every page read once, whatever the server lists (under the SDK's reading the org's
    # retained history, under the other the horizon alone), and only the horizon kept.
    assert found.pages == found.read // RETENTION_PAGE + 1 and len(found.entries) == report.checked
    if reading == "retained_longer":
        assert found.read > 10 * report.checked
    else:
        assert found.read == report.checked and found.pages == 1


def test_the_radar_reads_at_most_its_pages_and_says_it_stopped(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=40, media_scale=0.002)
    found = _scan(sandbox, fake_clock, max_pages=2)
    assert found.pages == 2 and found.read == 2 * RETENTION_PAGE
    assert not found.entries.complete and "stopped after 2 pages" in found.entries.incomplete_reason
    assert len(found.entries) < found.read  # only what is within the horizon is kept


def test_nothing_at_risk_when_every_day_is_archived(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=8, media_scale=0.002)
    for day in DAYS:
        archive_day(sandbox, fake_clock, *buckets, day=day, run_id=f"run-{day}")
    report, _ = _radar(sandbox, fake_clock, *buckets)
    in_genesys_archive = {
        r.id
        for day in DAYS
        for c in sandbox.org.conversations_for_day(day)
        for r in c.recordings
        if r.file_state == "ARCHIVED"
    }
    assert {e.recording_id for items in report.at_risk.values() for e in items} == in_genesys_archive
