"""Pagers stop on hostile paging, against the sandbox over real HTTP, and say why on the result instead
of raising (or paging for ever): the details query at a page with no new id and at a totalHits-derived
page bound, the jobs results at a repeated cursor (A -> B -> A)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys.analytics import Analytics
from recording_assets.sandbox.hostile import Hostile
from recording_assets_tests.genesys.trust_support import make_client, run

WINDOW = (datetime(2025, 12, 30, tzinfo=timezone.utc), datetime(2025, 12, 31, tzinfo=timezone.utc))
OLD = datetime(2025, 10, 1, tzinfo=timezone.utc)  # more than 35 days back: the jobs API
NOT_IN_THE_LAKE = 2 * 86_400.0  # a data lag that leaves WINDOW to the details query


@pytest.fixture
def clock():
    return FakeClock()


def _queries(sb) -> int:
    return sum(1 for e in sb.stats()["log"] if e["family"] == "analytics.query")


def test_a_details_pager_that_repeats_its_page_stops_at_once(sandbox_factory, clock):
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=300,
        hostile=Hostile(repeating_pages=True),
        data_lag_s=NOT_IN_THE_LAKE,
    )

    async def go():
        async with make_client(sb, clock) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    found = run(go())
    assert found.complete is False
    assert "stopped paging: page 2 brought no conversation the pass had not seen" in found.incomplete_reason
    assert _queries(sb) == 2 and len(found.conversations) == 100


def test_a_details_pager_whose_total_understates_stops_at_the_page_bound(sandbox_factory, clock):
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=900,
        hostile=Hostile(understated_total=True),
        data_lag_s=NOT_IN_THE_LAKE,
    )

    async def go():
        async with make_client(sb, clock) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    found = run(go())
    # totalHits 1: at most ceil(max(1, 100) * 1.25 / 100) + 2 = 4 pages of 100, then a stop that says so.
    assert found.complete is False
    assert "4 full pages of 100 for about 1 conversations (totalHits)" in found.incomplete_reason
    assert _queries(sb) == 4 and len(found.conversations) == 400


def test_a_jobs_pager_whose_cursors_cycle_stops_at_the_repeated_cursor(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=300, hostile=Hostile(cycling_cursor=True))

    async def go():
        async with make_client(sb, clock) as client:
            analytics = Analytics(client.transport, clock, job_page_size=50)
            return await analytics.conversations(start=OLD, end=OLD + timedelta(days=1))

    found = run(go())
    assert found.method == "jobs" and found.complete is False
    assert "page 3 repeats an earlier cursor" in found.incomplete_reason
    assert found.pages == 3 and len(found.conversations) == 150


def test_well_behaved_pagers_are_complete(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=300)

    async def go():
        async with make_client(sb, clock) as client:
            analytics = Analytics(client.transport, clock, job_page_size=50)
            return (
                await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1]),
                await analytics.conversations(start=OLD, end=OLD + timedelta(days=1)),
            )

    by_query, by_job = run(go())
    assert by_query.complete and by_job.complete and by_job.pages >= 6
    assert by_query.rejected == [] and by_job.rejected == []


def test_retention_and_orphan_listings_stop_on_a_page_served_again(sandbox_factory, clock):
    from recording_assets_tests.canary import Canary

    sb = sandbox_factory(clock=clock, conversations_per_day=0)
    with Canary("127.0.0.2", mode="same_page") as canary:

        async def go():
            async with make_client(sb, clock, api_base_url=f"http://{canary.address}") as client:
                return (await client.retention.expiring(5)).entries, await client.retention.orphans()

        expiring, orphans = run(go())
        assert len(canary.requests) == 4  # two pages each, then a stop
    assert [(e.conversation_id, e.recording_id) for e in expiring] == [("c-1", "r-1")]
    assert expiring.complete is False and "page 2 repeats an earlier cursor" in expiring.incomplete_reason
    assert [o.orphan_id for o in orphans] == ["o-1"]
    assert orphans.complete is False and "page 2 brought no new orphan" in orphans.incomplete_reason
