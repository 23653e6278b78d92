"""Readings the documentation leaves open (docs/genesys-api.md §11), played by the sandbox:

- an HTTP 500 on a read may be passing: an idempotent read retries it with the 5xx back-off, a write
  (batch submission) never does;
- a presigned media URL may redirect to another host: up to 3 redirects are followed, none of them is sent
  the bearer token, and a fourth is refused by name;
- ``totalHits`` may be approximate: discovery pages until a short page and is neither short nor reported
  incomplete when the estimate is off.
"""

from __future__ import annotations

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys import BatchItem, MediaError
from recording_assets.genesys.errors import ServerError
from recording_assets.genesys.transport import MAX_MEDIA_REDIRECTS
from recording_assets.sandbox import Dialect, Faults
from recording_assets_tests.genesys.test_genesys_client import (
    WINDOW,
    _available_results,
    _download_all,
    log,
    make_client,
    run,
    truth_ended,
)


@pytest.fixture
def clock():
    return FakeClock()


def test_a_500_on_a_read_is_retried_and_the_read_succeeds(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=20, faults=Faults(error_500_every=2))
    cids = sorted(truth_ended(sb))[:4]

    async def go():
        async with make_client(sb, clock, requests_per_minute=None) as client:
            return [await client.recordings.metadata(c) for c in cids], client.stats

    found, stats = run(go())
    assert [len(recordings) for recordings in found] == [len(sb.org.recordings(c)) for c in cids]
    assert stats.statuses[500] >= 2, "the fault must have fired for the test to mean anything"
    assert stats.requests["recording.metadata"] == len(cids) + stats.statuses[500]
    assert set(clock.sleeps) <= {0.5, 0.75, 1.5}  # the 5xx back-off, jitter fixed at 0.5


def test_the_analytics_query_is_a_read_sent_as_post_and_retries_a_500(sandbox_factory, clock):
    # A day the lake does not hold yet, so the query reads it all: its first page, then its second (the
    # fault's every second request: the availability read, then that page, each retried).
    sb = sandbox_factory(
        clock=clock, conversations_per_day=120, faults=Faults(error_500_every=2), data_lag_s=2 * 86_400.0
    )

    async def go():
        async with make_client(sb, clock, requests_per_minute=None) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    found = run(go())
    assert {c.conversation_id for c in found.conversations} == truth_ended(sb)
    queries = log(sb, "analytics.query")
    assert any(e["status"] == 500 for e in queries), (
        "the fault must have hit a query for the test to mean anything"
    )


def test_a_500_on_a_batch_submission_is_not_retried(sandbox_factory, clock):
    """A POST that creates a job may have created it before the 500: sending it again could double the work."""
    sb = sandbox_factory(clock=clock, conversations_per_day=20)
    cids = sorted(truth_ended(sb))[:3]
    sb.set_faults(Faults(error_500_every=1))

    async def go():
        async with make_client(sb, clock, requests_per_minute=None) as client:
            return await client.recordings.run_batches([BatchItem(c) for c in cids])

    with pytest.raises(ServerError):
        run(go())
    posts = [e for e in log(sb) if e["method"] == "POST" and e["path"].endswith("/batchrequests")]
    assert [e["status"] for e in posts] == [500]


@pytest.mark.parametrize("hops", [1, MAX_MEDIA_REDIRECTS])
def test_media_follows_redirects_to_another_host_without_the_token(sandbox_factory, clock, hops):
    sb = sandbox_factory(clock=clock, conversations_per_day=60, dialect=Dialect(media_redirects=hops))
    results = _available_results(sb, clock, 10)
    outcomes = _download_all(sb, clock, results)
    assert outcomes and all(exc is None for _, _, exc in outcomes)
    assert all(d.sha256_hex == sb.org.media_sha256(r.recording_id) for r, d, _ in outcomes)
    media = log(sb, "media")[-len(outcomes) * (hops + 1) :]
    assert [e["status"] for e in media] == ([302] * hops + [200]) * len(outcomes)
    assert sb.stats()["media_with_authorization"] == 0


def test_a_fourth_redirect_is_refused_by_name(sandbox_factory, clock):
    sb = sandbox_factory(
        clock=clock, conversations_per_day=60, dialect=Dialect(media_redirects=MAX_MEDIA_REDIRECTS + 1)
    )
    results = _available_results(sb, clock, 5)
    outcomes = _download_all(sb, clock, results)
    assert outcomes and all(isinstance(exc, MediaError) for _, _, exc in outcomes)
    assert all(f"more than {MAX_MEDIA_REDIRECTS} times" in str(exc) for _, _, exc in outcomes)
    assert all("X-Amz-Signature" not in str(exc) for _, _, exc in outcomes)


def test_the_sandbox_counts_a_token_sent_to_media(sandbox_factory, clock):
    """The check above can fail: a media GET that carries Authorization is counted."""
    import httpx

    sb = sandbox_factory(clock=clock, conversations_per_day=60)
    url = _available_results(sb, clock, 5)[0].result_url
    httpx.get(url, headers={"Authorization": "Bearer leaked"}).raise_for_status()
    assert sb.stats()["media_with_authorization"] == 1


def test_server_error_still_surfaces_when_500s_last(sandbox_factory, clock):
    from recording_assets.genesys.retry import RetryPolicy

    sb = sandbox_factory(clock=clock, conversations_per_day=20, faults=Faults(error_500_every=1))

    async def go():
        async with make_client(
            sb, clock, requests_per_minute=None, retry=RetryPolicy(max_attempts=3, jitter=lambda: 0)
        ) as c:
            await c.recordings.metadata("whatever")

    with pytest.raises(ServerError):
        run(go())
    assert len(log(sb, "recording.metadata")) == 3


@pytest.mark.parametrize("drift", [False, True])
def test_approximate_total_hits_neither_lose_conversations_nor_mark_the_day_incomplete(
    sandbox_factory, clock, drift
):
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=700,
        dialect=Dialect(total_hits="approximate"),
        faults=Faults(pagination_drift=drift),
    )

    async def go():
        async with make_client(sb, clock) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    found = run(go())
    assert {c.conversation_id for c in found.conversations} == truth_ended(sb)
    assert found.complete, found.incomplete_reason
    one_pass = len(truth_ended(sb)) // 100 + 1
    # At most the two repair passes (the second with half-size pages), never a loop on totalHits.
    assert found.pages <= 4 * one_pass + 3
    if not drift:
        assert found.extra_passes <= 1  # an over-estimate costs one pass that finds nothing new
