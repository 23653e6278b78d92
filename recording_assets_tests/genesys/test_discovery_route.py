"""The route discovery takes, against the sandbox over real HTTP: the details query's first page alone for
a window it holds whole, the details jobs for a larger window the data lake holds, the details query for
one it does not yet hold or when the availability answer cannot be trusted, and the query again when a job
fails or its results stop short. Every route finds the same conversations,
and the ``Discovery`` says which route read the window and why."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys.analytics import QUERY_PATH
from recording_assets.sandbox import DIALECTS, Faults
from recording_assets.sandbox.hostile import Hostile
from recording_assets_tests.genesys.trust_support import make_client, run
from recording_assets_tests.reliability.faultproxy import FaultProxy

# FakeClock's now is 2026-01-01T00:00Z: with the sandbox's default hour of lag the lake holds this day.
WINDOW = (datetime(2025, 12, 30, tzinfo=timezone.utc), datetime(2025, 12, 31, tzinfo=timezone.utc))
OLD = datetime(2025, 10, 1, tzinfo=timezone.utc)  # beyond the details query's 35-day reach
NOT_YET_IN_THE_LAKE = 2 * 86_400.0  # data lag, seconds: the lake ends before the window does
CONVERSATIONS = 400  # four pages of 100 at least: room for a cursor to cycle


def _discover(sb, clock, start=WINDOW[0], end=WINDOW[1]):
    async def go():
        async with make_client(sb, clock) as client:
            return await client.analytics.conversations(start=start, end=end)

    return run(go())


def _families(sb) -> dict[str, int]:
    return sb.stats()["requests"]


def _ids(found) -> list[str]:
    return [c.conversation_id for c in found.conversations]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def by_query(sandbox_factory):
    """The window's conversations as the details query reads them (the lake not yet holding the day)."""
    sb = sandbox_factory(
        clock=FakeClock(), conversations_per_day=CONVERSATIONS, data_lag_s=NOT_YET_IN_THE_LAKE
    )
    found = _discover(sb, FakeClock())
    assert found.method == "query" and found.complete
    assert "holds data up to 2025-12-30T00:00:00.000Z only, before the window's end" in found.route_reason
    assert "analytics.query" in _families(sb)
    return _ids(found)


def test_a_window_the_lake_holds_is_read_by_one_job_and_its_cursor(sandbox_factory, clock, by_query):
    sb = sandbox_factory(clock=clock, conversations_per_day=CONVERSATIONS)
    found = _discover(sb, clock)
    assert found.method == "jobs" and found.complete, found.incomplete_reason
    assert found.route_reason.startswith("the data lake holds the window")
    assert _ids(found) == by_query and len(by_query) > 300
    families = _families(sb)
    # The query's first page, whose 100 conversations are handed on while the job runs; then availability,
    # submit, one status poll and one page of results (up to 1,000 conversations a page).
    assert families["analytics.query"] == 1
    assert families["analytics.jobs"] == 4 and found.pages == 2


@pytest.mark.parametrize("conversations", [0, 60])
def test_a_window_one_query_page_holds_is_settled_by_that_page(sandbox_factory, clock, conversations):
    """An empty or quiet day the lake holds: one request, no job and no poll wait. The same conversations
    as the jobs route finds for the same org (its query refused, so the first page cannot settle it)."""
    sb = sandbox_factory(clock=clock, conversations_per_day=conversations)
    found = _discover(sb, clock)
    assert found.method == "query" and found.complete, found.incomplete_reason
    assert found.route_reason == (
        f"the details query's first page holds the whole window ({len(found.conversations)} conversations)"
    )
    assert _families(sb) == {"token": 1, "analytics.query": 1} and found.pages == 1

    jobs_clock = FakeClock()
    twin = sandbox_factory(clock=jobs_clock, conversations_per_day=conversations)
    with FaultProxy.in_front_of(twin.base_url) as proxy:
        proxy.http_500(count=100, match=lambda request: QUERY_PATH in request.target)

        async def go():
            async with make_client(twin, jobs_clock, api_base_url=proxy.endpoint) as client:
                return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

        by_jobs = run(go())
    assert by_jobs.method == "jobs" and by_jobs.complete, by_jobs.incomplete_reason
    assert _ids(by_jobs) == _ids(found) and len(found.conversations) <= 60


def test_a_short_first_page_beside_a_larger_count_settles_nothing(sandbox_factory, clock, by_query):
    """A server that pages smaller than asked: 25 conversations beside totalHits 400 is not the end of the
    results, so the route is chosen as usual (the jobs route, here) and finds them all."""
    sb = sandbox_factory(clock=clock, conversations_per_day=CONVERSATIONS)

    def first_25(body: bytes) -> bytes:
        page = json.loads(body)
        page["conversations"] = page["conversations"][:25]
        return json.dumps(page).encode()

    with FaultProxy.in_front_of(sb.base_url) as proxy:
        proxy.rewrite(first_25, count=1, match=lambda request: QUERY_PATH in request.target)

        async def go():
            async with make_client(sb, clock, api_base_url=proxy.endpoint) as client:
                return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

        found = run(go())
    assert found.method == "jobs" and found.complete, found.incomplete_reason
    assert found.route_reason.startswith("the data lake holds the window")
    assert _ids(found) == by_query


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("missing", "the availability answer has no dataAvailabilityDate"),
        ("malformed", "the availability answer is malformed ('dataAvailabilityDate' is not an ISO-8601"),
        ("future", "dataAvailabilityDate 2026-01-02T00:00:00.000Z is later than now"),
    ],
)
def test_an_availability_answer_not_to_trust_sends_the_window_to_the_query(
    sandbox_factory, clock, by_query, answer, why
):
    sb = sandbox_factory(clock=clock, conversations_per_day=CONVERSATIONS)
    sb.set_faults(Faults(availability_answer=answer))
    found = _discover(sb, clock)
    assert found.method == "query" and found.complete
    assert why in found.route_reason and "the details query, which needs no data lake" in found.route_reason
    assert _ids(found) == by_query
    assert _families(sb)["analytics.jobs"] == 1  # the availability read, once; no job


@pytest.mark.parametrize("ends", ["FAILED", "EXPIRED"])
def test_a_job_that_does_not_fulfil_falls_back_to_the_query_and_says_so(
    sandbox_factory, clock, by_query, ends
):
    sb = sandbox_factory(clock=clock, conversations_per_day=CONVERSATIONS)
    sb.set_faults(Faults(details_job_ends=ends))
    found = _discover(sb, clock)
    assert found.method == "query" and found.complete
    assert "the jobs route failed (JobFailedError: analytics details job" in found.route_reason
    assert f"ended {ends}" in found.route_reason and "fell back to the details query" in found.route_reason
    assert _ids(found) == by_query


def test_job_results_that_stop_short_fall_back_to_the_query(sandbox_factory, clock, by_query):
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=CONVERSATIONS,
        dialect=DIALECTS["small-job-pages"],
        hostile=Hostile(cycling_cursor=True),
    )
    found = _discover(sb, clock)
    assert found.method == "query" and found.complete
    assert "the jobs route stopped short (details job" in found.route_reason
    assert "repeats an earlier cursor" in found.route_reason
    assert _ids(found) == by_query


def test_job_pages_smaller_than_asked_are_followed_by_their_cursor(sandbox_factory, clock, by_query):
    sb = sandbox_factory(
        clock=clock, conversations_per_day=CONVERSATIONS, dialect=DIALECTS["small-job-pages"]
    )
    found = _discover(sb, clock)
    assert found.method == "jobs" and found.complete
    # the query's first page, then the job's results at 100 a page, whatever asked
    assert _ids(found) == by_query and found.pages == 1 + -(-len(by_query) // 100)


def test_job_pages_refused_at_the_size_asked_fall_back_to_the_query(sandbox_factory, clock, by_query):
    sb = sandbox_factory(
        clock=clock, conversations_per_day=CONVERSATIONS, dialect=DIALECTS["refusing-job-pages"]
    )
    found = _discover(sb, clock)
    assert found.method == "query" and found.complete
    assert "the jobs route failed (BadRequestError" in found.route_reason
    assert _ids(found) == by_query


def test_a_window_beyond_the_query_reach_takes_the_jobs_whatever_the_answer(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=60)
    sb.set_faults(Faults(availability_answer="malformed"))
    found = _discover(sb, clock, OLD, OLD + timedelta(days=1))
    assert found.method == "jobs" and found.complete and found.conversations
    assert "beyond the details query's reach" in found.route_reason
    assert "analytics.query" not in _families(sb)
