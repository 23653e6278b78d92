"""Deadlines and size caps on what Genesys and media hosts send, against the sandbox over real HTTP:

- a media GET ends within its overall deadline (expected size at a minimum throughput plus an allowance,
  capped by the URL's remaining lifetime): a trickling body is cut there, however steadily it trickles;
- a media body is refused when its Content-Length passes the size cap, and cut when its bytes do;
- an API call's attempt has an overall deadline, headers and whole body, apart from the per-read timeout;
- an API answer's size is counted on decoded bytes while it streams: a gzip bomb is cut at the limit,
  long before it is inflated (measured with the transport's own answer counters, not with RSS).
"""

from __future__ import annotations

import time

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys import (
    AnswerTooLargeError,
    ApiDeadlineError,
    ApiLimits,
    MalformedAnswerError,
    MediaDeadlineError,
    MediaPolicy,
    MediaTooLargeError,
)
from recording_assets.genesys.errors import GenesysApiError
from recording_assets.genesys.netguard import url_expires_at
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.sandbox import Faults
from recording_assets.sandbox.hostile import gzip_bomb
from recording_assets_tests.canary import Canary
from recording_assets_tests.genesys.trust_support import (
    DAY,
    Sink,
    batch_result,
    hostile,
    make_client,
    run,
    target,
)

SMALL = {"conversations_per_day": 300, "media_scale": 0.002}
MIB = 1 << 20


@pytest.fixture
def clock():
    return FakeClock()


def _plain_conversation(sb, exclude=()) -> str:
    return next(
        c.id
        for c in sb.org.conversations_for_day(DAY)
        if c.id not in exclude
        and len(c.recordings) == 1
        and c.recordings[0].file_state == "AVAILABLE"
        and c.recordings[0].media == "audio"
        and not c.recordings[0].sensitive
    )


def test_a_trickling_media_body_is_cut_at_its_deadline(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **SMALL, hostile=hostile("trickle_media", trickle_interval_s=0.4))
    tricked = target(sb, "trickle_media")
    size = sb.org.media_size(tricked.recording_id)
    policy = MediaPolicy.for_api(sb.base_url, allowance_s=1.0)  # 64 KiB/s minimum: a few ms for the body

    async def go():
        async with make_client(sb, clock, media_policy=policy, timeout_s=30) as client:
            result = await batch_result(client, tricked.conversation_id)
            sink = Sink()
            started = time.monotonic()
            with pytest.raises(MediaDeadlineError) as cut:
                await client.download(result.result_url, sink)
            return cut.value, sink, time.monotonic() - started

    cut, sink, elapsed = run(go())
    budget = 1.0 + size / policy.min_bytes_per_s
    assert budget < elapsed < budget + 1.5  # cut at the deadline, not at the 30 s read timeout
    assert sink.size <= 4 and size > 1000  # one byte every 0.4 s of a body of thousands
    assert cut.retryable and f"after {sink.size} bytes" in str(cut)
    assert "X-Amz-Signature" not in str(cut)


def test_the_deadline_follows_the_size_the_rate_and_the_allowance_on_the_clients_clock(
    sandbox_factory, clock
):
    sb = sandbox_factory(clock=clock, **SMALL)
    cid = _plain_conversation(sb)
    policy = MediaPolicy.for_api(sb.base_url, allowance_s=10.0, min_bytes_per_s=1000)

    def download(advance_per_chunk: float):
        async def go():
            async with make_client(sb, clock, media_policy=policy) as client:
                result = await batch_result(client, cid)
                sink = Sink(on_chunk=lambda chunk: clock.advance(advance_per_chunk))
                try:
                    return await client.download(result.result_url, sink), sink
                except MediaDeadlineError as cut:
                    return cut, sink

        return run(go())

    size = sb.org.media_size(sb.org.recordings(cid)[0].id)
    budget = policy.budget_s(size=size, remaining_lifetime_s=None)
    assert budget == 10.0 + size / 1000
    fetched, sink = download(0.0)
    assert fetched.size == size
    cut, sink = download(budget + 0.5)  # the first chunk arrives, on the client's clock, after the deadline
    assert isinstance(cut, MediaDeadlineError) and len(sink.chunks) == 1


def test_the_deadline_is_capped_by_the_urls_remaining_lifetime(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **SMALL, url_ttl_s=120)
    cid = _plain_conversation(sb)
    # At 1 byte/s the size alone would allow an hour or more; the URL says it lives 120 s from its signing.
    policy = MediaPolicy.for_api(sb.base_url, allowance_s=10.0, min_bytes_per_s=1)

    def download(advance: float):
        async def go():
            async with make_client(sb, clock, media_policy=policy) as client:
                result = await batch_result(client, cid)
                remaining = url_expires_at(result.result_url) - clock.time()
                sink = Sink(on_chunk=lambda chunk: clock.advance(advance) if len(sink.chunks) == 1 else None)
                try:
                    await client.download(result.result_url, sink)
                    return None, remaining
                except MediaDeadlineError as cut:
                    return cut, remaining

        return run(go())

    assert sb.org.media_size(sb.org.recordings(cid)[0].id) > 1000  # the size-based budget: > 1000 s
    outcome, remaining = download(60.0)
    assert outcome is None and 60 < remaining <= 120
    outcome, remaining = download(remaining + 1)
    assert isinstance(outcome, MediaDeadlineError)
    assert policy.budget_s(size=10**6, remaining_lifetime_s=3.0) == 10.0  # never below the allowance


def test_media_over_the_size_cap_is_refused_up_front_or_cut(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **SMALL)
    cid = _plain_conversation(sb)
    size = sb.org.media_size(sb.org.recordings(cid)[0].id)
    policy = MediaPolicy.for_api(sb.base_url, max_bytes=size - 1)

    async def go():
        async with make_client(sb, clock, media_policy=policy) as client:
            result = await batch_result(client, cid)
            sink = Sink()
            with pytest.raises(MediaTooLargeError) as refused:
                await client.download(result.result_url, sink)
            return refused.value, sink

    refused, sink = run(go())
    assert "Content-Length" in str(refused) and sink.size == 0 and refused.retryable is False

    # No Content-Length (chunked, endless): cut once the bytes pass the cap.
    with Canary("127.0.0.2", mode="endless") as canary:
        policy = MediaPolicy(allowed_hosts=[canary.address], max_bytes=MIB)

        async def endless():
            async with make_client(sb, clock, media_policy=policy) as client:
                sink = Sink()
                with pytest.raises(MediaTooLargeError) as cut:
                    await client.download(canary.url(), sink)
                return cut.value, sink

        cut, sink = run(endless())
        assert "body passed the 1048576-byte limit" in str(cut) and MIB - 65536 <= sink.size <= MIB


def test_an_api_attempt_has_an_overall_deadline_beyond_the_read_timeout(sandbox_factory, clock):
    # The canary plays an API whose answer trickles a byte every 0.2 s: no read ever waits long.
    sb = sandbox_factory(clock=clock, conversations_per_day=0)
    with Canary("127.0.0.2", mode="trickle", interval_s=0.2) as canary:

        async def go():
            async with make_client(
                sb,
                clock,
                api_base_url=f"http://{canary.address}",
                api_limits=ApiLimits(deadline_s=1.0),
                retry=RetryPolicy(max_attempts=2, jitter=lambda: 0.5),
                timeout_s=30,
            ) as client:
                started = time.monotonic()
                with pytest.raises(ApiDeadlineError) as cut:
                    await client.retention.batch_url_ttl_s()
                return cut.value, client.stats, time.monotonic() - started

        cut, stats, elapsed = run(go())
        assert "2 attempts outlived its 1s deadline" in str(cut)
        assert stats.deadlines == 2 and len(canary.requests) == 2
        assert 2.0 <= elapsed < 4.0


def test_a_slow_answer_meets_the_same_deadline(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=0, faults=Faults(slow_response_s=1.0))

    async def go():
        async with make_client(
            sb, clock, api_limits=ApiLimits(deadline_s=0.3), retry=RetryPolicy(max_attempts=1), timeout_s=30
        ) as client:
            await client.retention.batch_url_ttl_s()

    with pytest.raises(ApiDeadlineError):
        run(go())


@pytest.mark.parametrize("limit", [MIB, ApiLimits().max_answer_bytes])
def test_a_gzip_bomb_is_cut_at_the_answer_limit_long_before_it_is_inflated(sandbox_factory, clock, limit):
    sb = sandbox_factory(clock=clock, **SMALL, hostile=hostile("gzip_bomb"))  # 300 MiB from ~300 KiB
    bomb = target(sb, "gzip_bomb")
    compressed = len(gzip_bomb(300 * MIB))

    async def go():
        async with make_client(sb, clock, api_limits=ApiLimits(max_answer_bytes=limit)) as client:
            with pytest.raises(AnswerTooLargeError) as cut:
                await client.recordings.metadata(bomb.conversation_id)
            return cut.value, client.stats

    cut, stats = run(go())
    assert cut.decoded_bytes == limit + 1  # inflated one byte past the limit, not a byte more
    assert stats.largest_answer_bytes == limit + 1 and stats.answers_cut == 1
    assert cut.raw_bytes < compressed  # the rest of the compressed body was never even read
    assert cut.status == 200 and isinstance(cut, GenesysApiError)
    metadata_requests = [e for e in sb.stats()["log"] if e["family"] == "recording.metadata"]
    assert len(metadata_requests) == 1  # never retried


def test_an_html_answer_to_a_json_endpoint_is_a_malformed_answer_retried_like_a_500(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **SMALL, hostile=hostile("html_metadata"))
    cid = target(sb, "html_metadata").conversation_id

    async def go():
        async with make_client(sb, clock) as client:
            with pytest.raises(MalformedAnswerError) as malformed:
                await client.recordings.metadata(cid)
            return malformed.value, client.stats

    malformed, stats = run(go())
    assert malformed.status == 200 and "not JSON (text/html" in str(malformed)
    assert isinstance(malformed, ValueError)  # what callers that caught JSONDecodeError still catch
    attempts = RetryPolicy().max_attempts
    assert stats.malformed == attempts
    assert len([e for e in sb.stats()["log"] if e["family"] == "recording.metadata"]) == attempts


def test_well_formed_answers_are_read_as_before(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **SMALL)
    cid = _plain_conversation(sb)

    async def go():
        async with make_client(sb, clock) as client:
            found = await client.recordings.metadata(cid)
            return found, client.stats

    found, stats = run(go())
    assert [m.recording_id for m in found] == [r.id for r in sb.org.recordings(cid)]
    assert found.rejected == [] and stats.answers_cut == 0 and 0 < stats.largest_answer_bytes < 10_000
