"""The Genesys client against the sandbox org over real HTTP, one fault at a time.

Every test shares a FakeClock between the client and the sandbox: Retry-After, back-off, token
expiry and URL expiry are honoured by advancing fake time, and the waits are asserted exactly.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys import (
    AuthenticationError,
    BatchItem,
    GenesysClient,
    GenesysTransportError,
    MediaExpiredError,
    MediaGoneError,
    MediaIncompleteError,
    NotFoundError,
    PermissionDeniedError,
)
from recording_assets.genesys.errors import GoneError, ServerError
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.genesys.secret import Secret
from recording_assets.sandbox import Faults

SECRET = "sandbox-secret"
DAY = date(2025, 12, 30)  # two days before the FakeClock's default start: the lake holds it
WINDOW = (
    datetime(2025, 12, 30, tzinfo=timezone.utc),
    datetime(2025, 12, 31, tzinfo=timezone.utc),
)
NOT_IN_THE_LAKE = 2 * 86_400.0  # a data lag that leaves WINDOW to the details query


def make_client(sandbox, clock, **kwargs) -> GenesysClient:
    kwargs.setdefault("retry", RetryPolicy(jitter=lambda: 0.5))
    return GenesysClient(
        api_base_url=sandbox.base_url,
        login_base_url=sandbox.base_url,
        client_id="sandbox-client",
        client_secret=Secret(kwargs.pop("secret", SECRET)),
        clock=clock,
        **kwargs,
    )


def run(coro):
    return asyncio.run(coro)


def log(sandbox, family=None):
    entries = sandbox.stats()["log"]
    return [e for e in entries if family is None or e["family"] == family]


def truth_ended(sandbox, day=DAY):
    """Conversations the org says started that UTC day and had ended by the sandbox's now."""
    now_ms = int(sandbox.clock.time() * 1000)
    lo = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
    hi = lo + 86_400_000
    return {
        c.id for c in sandbox.org.conversations_for_day(day) if lo <= c.start_ms < hi and c.end_ms <= now_ms
    }


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sandbox(sandbox_factory, clock):
    return sandbox_factory(clock=clock, conversations_per_day=300, media_scale=0.002)


# ---------------------------------------------------------------------------------------- auth


def test_token_is_cached_and_renewed_at_80_percent(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, token_ttl_s=1000, conversations_per_day=20)

    async def go():
        async with make_client(sb, clock) as client:
            for _ in range(5):
                await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])
            first = sb.stats()["tokens_issued"]
            clock.advance(801)  # past 80% of expires_in
            await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])
            return first, sb.stats()["tokens_issued"]

    first, second = run(go())
    assert (first, second) == (1, 2)


def test_concurrent_callers_share_one_renewal(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, token_ttl_s=1000, conversations_per_day=20)

    async def go():
        async with make_client(sb, clock) as client:
            await asyncio.gather(*(client.recordings.metadata("unknown-" + str(i)) for i in range(0)))
            await client.preflight()
            clock.advance(900)
            results = await asyncio.gather(
                *(client.analytics.conversations(start=WINDOW[0], end=WINDOW[1]) for _ in range(10)),
            )
            return len(results)

    assert run(go()) == 10
    assert sb.stats()["tokens_issued"] == 2


def test_revoked_token_is_renewed_once_and_the_call_succeeds(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=200, faults=Faults(revoke_tokens_every=2))

    async def go():
        async with make_client(sb, clock) as client:
            found = await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])
            return found, client.stats

    found, stats = run(go())
    assert len(found.conversations) == len(truth_ended(sb))
    assert stats.statuses[401] >= 1
    assert sb.stats()["tokens_issued"] >= 2


def test_bad_credentials_name_the_variables_and_never_the_secret(sandbox, clock):
    async def go():
        async with make_client(sandbox, clock, secret="wrong-secret-value") as client:
            await client.preflight()

    with pytest.raises(AuthenticationError) as err:
        run(go())
    text = str(err.value)
    assert "GENESYSCLOUD_OAUTHCLIENT_SECRET" in text and "HTTP 401" in text
    assert "wrong-secret-value" not in text and "wrong-secret-value" not in repr(err.value)


def test_client_repr_hides_the_secret(sandbox, clock):
    client = make_client(sandbox, clock)
    assert SECRET not in repr(client) and SECRET not in repr(client.transport)
    run(client.aclose())


# ---------------------------------------------------------------------------------------- limits


def test_429_burst_waits_retry_after_then_succeeds(sandbox_factory, clock):
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=50,
        faults=Faults(burst_429_every=6, burst_429_length=3, burst_retry_after_s=7),
    )

    async def go():
        async with make_client(sb, clock, requests_per_minute=None) as client:
            cid = next(iter(truth_ended(sb)))
            for _ in range(10):
                await client.recordings.metadata(cid)
            return client.stats

    stats = run(go())
    assert stats.rate_limited == sb.stats()["rate_limited"] >= 3
    assert stats.requests["recording.metadata"] == 10 + stats.rate_limited
    # Each 429 paused every caller for the server's Retry-After (7 s), not a guess.
    assert clock.sleeps.count(7.0) == stats.rate_limited


def test_steady_run_stays_under_the_budget_without_429s(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=20, rate_limit_per_minute=300)

    async def go():
        async with make_client(sb, clock, requests_per_minute=270) as client:
            start = clock.time()
            cid = next(iter(truth_ended(sb)))
            for _ in range(600):
                await client.recordings.metadata(cid)
            return clock.time() - start, client.stats

    elapsed, stats = run(go())
    assert sb.stats()["rate_limited"] == 0
    assert stats.rate_limited == 0
    # 600 requests at 270/minute need at least (600 - burst) / 4.5 per second of fake time.
    assert elapsed >= (600 - 10) / 4.5 - 0.01


def test_headers_pause_a_client_that_shares_the_token_window(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=20, rate_limit_per_minute=30)

    async def go():
        async with make_client(sb, clock, requests_per_minute=None) as client:
            cid = next(iter(truth_ended(sb)))
            for _ in range(70):
                await client.recordings.metadata(cid)
            return client.stats

    stats = run(go())
    # Without any client-side budget, the inin-ratelimit-* headers alone keep it off the 429 wall.
    assert stats.rate_limited == 0 and sb.stats()["rate_limited"] == 0
    assert stats.requests["recording.metadata"] == 70


def test_5xx_is_retried_with_capped_backoff(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=20, faults=Faults(error_5xx_every=2))

    async def go():
        async with make_client(sb, clock, requests_per_minute=None) as client:
            cid = next(iter(truth_ended(sb)))
            for _ in range(4):
                await client.recordings.metadata(cid)
            return client.stats

    stats = run(go())
    assert sum(n for s, n in stats.statuses.items() if s >= 500) >= 3
    assert stats.requests["recording.metadata"] > 4
    assert set(clock.sleeps) <= {0.5, 0.75, 1.5}  # jitter fixed at 0.5 => within [base, 2^(n-1) * base]


def test_5xx_exhausted_raises_server_error_with_correlation_id(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=20, faults=Faults(error_5xx_every=1))

    async def go():
        async with make_client(
            sb, clock, requests_per_minute=None, retry=RetryPolicy(max_attempts=3, jitter=lambda: 0)
        ) as client:
            await client.recordings.metadata("whatever")

    with pytest.raises(ServerError) as err:
        run(go())
    assert err.value.correlation_id and err.value.correlation_id in str(err.value)
    assert len(log(sb, "recording.metadata")) == 3


def test_404_is_not_retried(sandbox, clock):
    async def go():
        async with make_client(sandbox, clock) as client:
            await client.recordings.metadata("00000000-0000-0000-0000-000000000000")

    with pytest.raises(NotFoundError) as err:
        run(go())
    assert err.value.status == 404
    assert len(log(sandbox, "recording.metadata")) == 1


def test_connection_refused_gives_up_with_a_clear_error(clock):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = GenesysClient(
        api_base_url=f"http://127.0.0.1:{port}",
        login_base_url=f"http://127.0.0.1:{port}",
        client_id="x",
        client_secret=Secret(SECRET),
        clock=clock,
        retry=RetryPolicy(max_attempts=4, jitter=lambda: 1.0),
    )

    async def go():
        async with client:
            await client.preflight()

    with pytest.raises(GenesysTransportError) as err:
        run(go())
    assert "after 4 attempts" in str(err.value) and "127.0.0.1" in str(err.value)
    assert SECRET not in str(err.value)
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_slow_responses_time_out_and_are_retried(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=20, faults=Faults(slow_response_s=0.4))

    async def go():
        async with make_client(
            sb, clock, timeout_s=0.1, retry=RetryPolicy(max_attempts=2, jitter=lambda: 0)
        ) as client:
            await client.recordings.metadata("x")

    with pytest.raises(GenesysTransportError) as err:
        run(go())
    assert "ReadTimeout" in str(err.value)


# ---------------------------------------------------------------------------------------- permissions


def preflight_without(sandbox_factory, clock, *permissions):
    """A sandbox whose client lacks ``permissions``, and its client's preflight (a coroutine function)."""
    denied = Faults(deny_permissions=frozenset(permissions))
    sb = sandbox_factory(clock=clock, conversations_per_day=20, faults=denied)

    async def preflight():
        async with make_client(sb, clock) as client:
            return await client.preflight()

    return sb, preflight


def test_missing_analytics_permission_fails_preflight_naming_it(sandbox_factory, clock):
    # ANY-of: either analytics permission would do, so both are taken away.
    sb, preflight = preflight_without(
        sandbox_factory, clock, "analytics:conversationDetail:view", "analytics:agentConversationDetail:view"
    )
    with pytest.raises(PermissionDeniedError) as err:
        run(preflight())
    assert err.value.permission == "analytics:conversationDetail:view"
    assert "Grant the permission analytics:conversationDetail:view" in str(err.value)
    assert len(log(sb, "analytics.query")) == 1  # failed at the first analytics call


def test_missing_recording_permission_fails_preflight_naming_it(sandbox_factory, clock):
    _, preflight = preflight_without(sandbox_factory, clock, "recording:recording:view")
    with pytest.raises(PermissionDeniedError) as err:
        run(preflight())
    assert "recording:recording:view" in str(err.value)


def test_missing_sensitive_permission_is_a_warning(sandbox_factory, clock):
    _, preflight = preflight_without(sandbox_factory, clock, "recording:recording:viewSensitiveData")
    report = run(preflight())
    assert report.sensitive_data is False
    assert any("viewSensitiveData" in w for w in report.warnings)


def test_unreadable_roles_make_the_sensitive_permission_unknown(sandbox_factory, clock):
    _, preflight = preflight_without(sandbox_factory, clock, "oauth:client:view")
    report = run(preflight())
    assert report.sensitive_data is None
    assert any("unknown" in w for w in report.warnings)


# ---------------------------------------------------------------------------------------- discovery


def test_discovery_is_complete_and_deduplicated(sandbox, clock):
    async def go():
        async with make_client(sandbox, clock) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    found = run(go())
    ids = [c.conversation_id for c in found.conversations]
    assert len(ids) == len(set(ids))
    assert set(ids) == truth_ended(sandbox)
    assert found.method == "jobs" and found.complete  # the data lake holds the day (the sandbox lags 1 h)
    assert all(c.conversation_end is not None for c in found.conversations)


def test_discovery_survives_pagination_drift(sandbox_factory, clock):
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=700,
        faults=Faults(pagination_drift=True),
        data_lag_s=NOT_IN_THE_LAKE,
    )

    async def go():
        async with make_client(sb, clock) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    found = run(go())
    ids = [c.conversation_id for c in found.conversations]
    assert len(ids) == len(set(ids))
    assert set(ids) == truth_ended(sb)
    assert found.method == "query" and found.complete


def test_windows_over_10000_rows_are_split(sandbox_factory, clock):
    sb = sandbox_factory(
        clock=clock, conversations_per_day=12_000, media_scale=0.0005, data_lag_s=NOT_IN_THE_LAKE
    )

    async def go():
        async with make_client(sb, clock, requests_per_minute=None) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    found = run(go())
    assert found.method == "query" and found.windows >= 2
    assert {c.conversation_id for c in found.conversations} == truth_ended(sb)


def test_old_days_use_the_async_jobs_api(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=150)
    old = date(2025, 10, 1)
    start = datetime(2025, 10, 1, tzinfo=timezone.utc)

    async def go():
        async with make_client(sb, clock) as client:
            return await client.analytics.conversations(start=start, end=start + timedelta(days=1))

    found = run(go())
    assert found.method == "jobs"
    assert {c.conversation_id for c in found.conversations} == truth_ended(sb, day=old)
    assert log(sb, "analytics.query") == []


# ---------------------------------------------------------------------------------------- recordings


def _ended_conversation_ids(sb, n):
    return sorted(truth_ended(sb))[:n]


def test_batches_are_chunked_to_100_and_polled_together(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=400, media_scale=0.002)
    cids = _ended_conversation_ids(sb, 250)

    async def go():
        async with make_client(sb, clock) as client:
            return await client.recordings.run_batches([BatchItem(c) for c in cids])

    results = run(go())
    assert len(log(sb, "recording.batch.submit")) == 3
    polls = len(log(sb, "recording.batch.poll"))
    assert 3 <= polls <= 9
    expected = {
        (r.conversation_id, r.id) for c in cids for r in sb.org.recordings(c)
    }  # all permissions granted
    got = {(r.conversation_id, r.recording_id) for r in results}
    assert got == expected
    for r in results:
        rec = sb.org.recording(r.recording_id)
        if rec.file_state in ("ARCHIVED", "DELETED"):
            assert r.error_msg and not r.result_url
        else:
            assert r.result_url and r.content_type


def test_sensitive_recordings_are_excluded_without_the_permission(sandbox_factory, clock):
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=400,
        faults=Faults(deny_permissions=frozenset({"recording:recording:viewSensitiveData"})),
    )
    cids = _ended_conversation_ids(sb, 300)
    sensitive = {
        (r.conversation_id, r.id)
        for c in cids
        for r in sb.org.recordings(c)
        if getattr(r, "sensitive", False)
    }
    assert sensitive, "the synthetic org should hold some sensitive recordings"

    async def go():
        async with make_client(sb, clock) as client:
            return await client.recordings.run_batches([BatchItem(c) for c in cids])

    got = {(r.conversation_id, r.recording_id) for r in run(go())}
    assert not (got & sensitive)


def test_batch_error_msg_is_reported_not_raised(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=200, faults=Faults(batch_error_rate=0.5))
    cids = _ended_conversation_ids(sb, 100)

    async def go():
        async with make_client(sb, clock) as client:
            return await client.recordings.run_batches([BatchItem(c) for c in cids])

    results = run(go())
    assert any(r.error_msg for r in results) and any(r.result_url for r in results)


def test_single_fetch_polls_while_transcoding(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=100, transcode_polls=2)
    rec = next(
        r
        for c in _ended_conversation_ids(sb, 100)
        for r in sb.org.recordings(c)
        if r.file_state == "AVAILABLE" and r.media == "audio"
    )

    async def go():
        async with make_client(sb, clock) as client:
            recording = await client.recordings.get(rec.conversation_id, rec.id, format_id="MP3")
            digest = hashlib.sha256()
            await client.download(recording.media_uri, digest.update)
            return recording, digest.hexdigest()

    recording, sha256_hex = run(go())
    assert not recording.transcoding and recording.media_uri
    assert len(log(sb, "recording.get")) == 3  # 202, 202, 200
    assert sha256_hex == sb.org.media_sha256(rec.id, "MP3")
    assert "media_uri" not in repr(recording) and "X-Amz" not in repr(recording)


def test_deleted_recording_single_fetch_is_terminal(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=400, faults=Faults(deleted_status=410))
    rec = next(
        r for c in _ended_conversation_ids(sb, 400) for r in sb.org.recordings(c) if r.file_state == "DELETED"
    )

    async def go():
        async with make_client(sb, clock) as client:
            await client.recordings.get(rec.conversation_id, rec.id, format_id="WAV")

    with pytest.raises(GoneError):
        run(go())
    assert len(log(sb, "recording.get")) == 1


# ---------------------------------------------------------------------------------------- media


def _available_results(sb, clock, n_conversations=60, **client_kwargs):
    cids = _ended_conversation_ids(sb, n_conversations)

    async def go():
        async with make_client(sb, clock, **client_kwargs) as client:
            return await client.recordings.run_batches([BatchItem(c) for c in cids])

    return [r for r in run(go()) if r.result_url]


@dataclass(frozen=True)
class _Fetched:
    """What ``download`` returned, and the SHA-256 of the bytes it handed to its sink."""

    size: int
    content_type: str | None
    content_length: int | None
    sha256_hex: str


def _download_all(sb, clock, results):
    async def go():
        outcomes = []
        async with make_client(sb, clock) as client:
            for r in results:
                digest = hashlib.sha256()
                try:
                    d = await client.download(r.result_url, digest.update)
                    outcomes.append((r, _Fetched(**vars(d), sha256_hex=digest.hexdigest()), None))
                except Exception as exc:  # noqa: BLE001 - collected for assertions
                    outcomes.append((r, None, exc))
        return outcomes

    return run(go())


def test_media_streams_with_the_sandbox_sha256(sandbox, clock):
    results = _available_results(sandbox, clock)
    for r, d, exc in _download_all(sandbox, clock, results):
        assert exc is None
        assert d.sha256_hex == sandbox.org.media_sha256(r.recording_id)
        assert d.size == d.content_length


@pytest.mark.parametrize("fault", ["reset_mid_body_rate", "truncate_body_rate"])
def test_broken_bodies_are_errors_never_successes(sandbox_factory, clock, fault):
    sb = sandbox_factory(clock=clock, conversations_per_day=100, faults=Faults(**{fault: 1.0}))
    results = _available_results(sb, clock, 30)
    first = _download_all(sb, clock, results)
    assert first and all(isinstance(exc, MediaIncompleteError) for _, _, exc in first)
    assert all("X-Amz-Signature" not in str(exc) for _, _, exc in first)
    second = _download_all(sb, clock, results)  # the fault hits first attempts only
    assert all(exc is None and d.sha256_hex == sb.org.media_sha256(r.recording_id) for r, d, exc in second)


def test_wrong_content_type_is_visible_to_the_caller(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=100, faults=Faults(wrong_content_type_rate=1.0))
    results = _available_results(sb, clock, 20)
    for r, d, exc in _download_all(sb, clock, results):
        assert exc is None and d.content_type.startswith("text/html")
        assert d.sha256_hex != sb.org.media_sha256(r.recording_id)


def test_expired_url_is_a_distinct_error(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=100, url_ttl_s=120)
    results = _available_results(sb, clock, 10)
    clock.advance(121)
    outcomes = _download_all(sb, clock, results)
    assert outcomes and all(isinstance(exc, MediaExpiredError) for _, _, exc in outcomes)


def test_media_of_a_deleted_recording_is_gone(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=400)
    rec = next(
        r
        for c in _ended_conversation_ids(sb, 400)
        for r in sb.org.recordings(c)
        if r.file_state == "AVAILABLE" and r.media == "audio"
    )

    async def go():
        async with make_client(sb, clock) as client:
            recording = await client.recordings.get(rec.conversation_id, rec.id, format_id="NONE")
            sb.org.recording(rec.id).file_state = "DELETED"
            await client.download(recording.media_uri, lambda _: None)

    with pytest.raises(MediaGoneError):
        run(go())
