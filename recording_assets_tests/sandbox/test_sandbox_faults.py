"""Every injectable fault, through real HTTP, and the determinism of who gets hit."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from recording_assets.sandbox import Faults
from recording_assets.sandbox.config import RECORDING_VIEW
from recording_assets.sandbox.faults import FaultState
from recording_assets_tests.sandbox.test_sandbox_support import (
    YESTERDAY,
    Api,
    day_interval,
    find_recording,
    is_plain_available,
)

QUERY = {"interval": day_interval(YESTERDAY), "paging": {"pageSize": 1, "pageNumber": 1}}


def _media_url(api: Api, rec) -> str:
    body = api.get(
        f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}", params={"formatId": "NONE"}
    ).json()
    return body["mediaUris"]["0"]["mediaUri"]


def _download(url: str) -> tuple[int, bytes, httpx.Headers | None, Exception | None]:
    """(status, bytes received, headers, error) -- keeps what arrived before a broken connection."""
    received = bytearray()
    try:
        with httpx.stream("GET", url, timeout=5) as response:
            for chunk in response.iter_raw():
                received += chunk
            return response.status_code, bytes(received), response.headers, None
    except httpx.HTTPError as exc:
        return 0, bytes(received), None, exc


@pytest.fixture
def sandbox(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock, conversations_per_day=300, seed=5)


def test_burst_429s_with_retry_after(sandbox):
    sandbox.set_faults(Faults(burst_429_every=3, burst_429_length=2, burst_retry_after_s=7))
    api = Api(sandbox)
    responses = [api.query(QUERY) for _ in range(9)]
    assert [r.status_code for r in responses] == [200, 200, 429, 429, 200, 429, 429, 200, 429]
    limited = responses[2]
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["code"] == "too.many.requests.retry.after"
    assert limited.headers["inin-ratelimit-allowed"] == "300"
    assert sandbox.stats()["rate_limited"] == 5


def test_every_nth_request_is_a_5xx(sandbox):
    api = Api(sandbox)
    assert [api.query(QUERY).status_code for _ in range(3)] == [200] * 3
    sandbox.set_faults(Faults(error_5xx_every=2))  # "every Nth" counts from when the faults were set
    responses = [api.query(QUERY) for _ in range(6)]
    assert [r.status_code for r in responses] == [200, 502, 200, 503, 200, 504]
    assert responses[3].headers["Retry-After"] == "1"
    body = responses[1].json()
    assert body["status"] == 502 and body["contextId"] == responses[1].headers["inin-correlation-id"]


def test_reset_mid_body_then_retry_succeeds(sandbox):
    sandbox.set_faults(Faults(reset_mid_body_rate=1.0))
    api = Api(sandbox)
    rec = find_recording(
        sandbox.org,
        lambda r: r.codec == "wav_pcm" and is_plain_available(r) and sandbox.org.media_size(r.id) > 20_000,
    )
    url = _media_url(api, rec)
    size = sandbox.org.media_size(rec.id)
    status, received, _, error = _download(url)
    assert error is not None
    assert len(received) <= size // 2 + 1
    status, received, _, error = _download(url)
    assert error is None and status == 200
    assert hashlib.sha256(received).hexdigest() == sandbox.org.media_sha256(rec.id)


def test_truncated_body_stops_at_half_of_content_length(sandbox):
    sandbox.set_faults(Faults(truncate_body_rate=1.0))
    api = Api(sandbox)
    rec = find_recording(sandbox.org, lambda r: r.codec == "ogg_opus" and is_plain_available(r))
    size = sandbox.org.media_size(rec.id)
    status, received, _, error = _download(_media_url(api, rec))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(received) == size // 2
    status, received, _, error = _download(_media_url(api, rec))
    assert error is None and len(received) == size


def test_wrong_content_type_first_then_real_media(sandbox):
    sandbox.set_faults(Faults(wrong_content_type_rate=1.0))
    api = Api(sandbox)
    rec = find_recording(sandbox.org, lambda r: r.codec == "ogg_opus" and is_plain_available(r))
    url = _media_url(api, rec)
    first = httpx.get(url)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
    assert b"<html>" in first.content
    second = httpx.get(url)
    assert second.headers["content-type"] == "audio/ogg" and second.content[:4] == b"OggS"


@pytest.mark.parametrize("persistent", [False, True])
def test_corrupt_magic_keeps_type_and_length(sandbox, persistent):
    sandbox.set_faults(Faults(corrupt_magic_rate=1.0, corrupt_magic_persistent=persistent))
    api = Api(sandbox)
    rec = find_recording(sandbox.org, lambda r: r.codec == "wav_pcm" and is_plain_available(r))
    url = _media_url(api, rec)
    first = httpx.get(url)
    assert first.headers["content-type"] == "audio/wav" and len(first.content) == sandbox.org.media_size(
        rec.id
    )
    assert first.content[:4] != b"RIFF"
    second = httpx.get(url)
    assert (second.content[:4] != b"RIFF") is persistent


def test_revoke_token_every_nth_request(sandbox):
    sandbox.set_faults(Faults(revoke_tokens_every=3))
    api = Api(sandbox)
    assert [api.query(QUERY).status_code for _ in range(4)] == [200, 200, 200, 401]
    api.relogin()
    assert api.query(QUERY).status_code == 200


def test_token_ttl_override(sandbox, fake_clock):
    sandbox.set_faults(Faults(token_ttl_override_s=30))
    response = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        auth=("sandbox-client", "sandbox-secret"),
        data={"grant_type": "client_credentials"},
    )
    assert response.json()["expires_in"] == 30
    api = Api(sandbox)
    assert api.query(QUERY).status_code == 200
    fake_clock.advance(31)
    assert api.query(QUERY).status_code == 401


def test_deny_permissions_at_runtime(sandbox):
    api = Api(sandbox)
    conv = next(c for c in sandbox.org.conversations_for_day(YESTERDAY) if c.recordings)
    path = f"/api/v2/conversations/{conv.id}/recordingmetadata"
    assert api.get(path).status_code == 200
    sandbox.set_faults(Faults(deny_permissions=frozenset(RECORDING_VIEW)))
    denied = api.get(path)
    assert denied.status_code == 403 and denied.json()["code"] == "missing.any.permissions"
    sandbox.set_faults(Faults(deny_permissions=frozenset({"recording:recording:view"})))
    assert api.get(path).status_code == 200  # any one of the four is enough


def test_deleted_status_410(sandbox):
    sandbox.set_faults(Faults(deleted_status=410))
    api = Api(sandbox)
    deleted = find_recording(sandbox.org, lambda r: r.file_state == "DELETED")
    response = api.get(f"/api/v2/conversations/{deleted.conversation_id}/recordings/{deleted.id}")
    assert response.status_code == 410 and response.json()["status"] == 410
    with pytest.raises(ValueError):
        Faults(deleted_status=500)


def test_batch_error_on_first_result_only(sandbox, fake_clock):
    sandbox.set_faults(Faults(batch_error_rate=1.0))
    api = Api(sandbox)
    convs = [
        c
        for c in sandbox.org.conversations_for_day(YESTERDAY)[:50]
        if c.recordings and all(is_plain_available(r) for r in c.recordings)
    ][:5]
    body = {"batchDownloadRequestList": [{"conversationId": c.id} for c in convs]}
    outcomes = []
    for _ in range(2):
        job_id = api.post("/api/v2/recording/batchrequests", json=body).json()["id"]
        fake_clock.advance(10)
        outcomes.append(api.get(f"/api/v2/recording/batchrequests/{job_id}").json())
    assert outcomes[0]["errorCount"] == outcomes[0]["resultCount"] > 0
    assert all("resultUrl" not in r for r in outcomes[0]["results"])
    assert outcomes[1]["errorCount"] == 0 and all(r["resultUrl"] for r in outcomes[1]["results"])


def test_slow_responses(sandbox):
    sandbox.set_faults(Faults(slow_response_s=0.2))
    api = Api(sandbox)
    started = time.perf_counter()
    assert api.query(QUERY).status_code == 200
    assert time.perf_counter() - started >= 0.2


def test_pagination_drift_overlaps_or_skips_but_total_is_true(sandbox):
    api = Api(sandbox)
    body = {"interval": day_interval(YESTERDAY)}
    truth = [c.id for c in sandbox.org.conversations_for_day(YESTERDAY)]
    sandbox.set_faults(Faults(pagination_drift=True))
    pages = [api.query({**body, "paging": {"pageSize": 50, "pageNumber": n}}).json() for n in (1, 2, 3)]
    assert all(p["totalHits"] == len(truth) for p in pages)
    assert [c["conversationId"] for c in pages[0]["conversations"]] == truth[:50]
    for number, page in ((2, pages[1]), (3, pages[2])):
        ids = [c["conversationId"] for c in page["conversations"]]
        offset = truth.index(ids[0])
        assert offset != (number - 1) * 50 and abs(offset - (number - 1) * 50) <= 3
        assert ids == truth[offset : offset + 50]
    again = api.query({**body, "paging": {"pageSize": 50, "pageNumber": 2}}).json()
    assert again == pages[1]  # deterministic


def test_conflict_409_on_every_nth_control_call(sandbox):
    sandbox.set_faults(Faults(conflict_409_every=2))
    api = Api(sandbox)
    live = sandbox.org.live_calls[0]
    path = f"/api/v2/conversations/calls/{live.id}/recordingstate"
    statuses = [
        api.put(path, json={"recordingState": state}).status_code for state in ("PAUSED", "ACTIVE", "PAUSED")
    ]
    assert statuses == [200, 409, 200]
    conflict = api.put(path, json={"recordingState": "ACTIVE"})
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"


def test_faults_over_http_for_out_of_process_users(sandbox):
    response = httpx.post(
        f"{sandbox.base_url}/__sandbox/faults", json={"error_5xx_every": 1, "deny_permissions": ["x:y:z"]}
    )
    assert response.status_code == 200 and response.json()["error_5xx_every"] == 1
    assert sandbox.faults.deny_permissions == frozenset({"x:y:z"})
    api = Api(sandbox)
    assert api.query(QUERY).status_code == 502
    assert httpx.get(f"{sandbox.base_url}/__sandbox/faults").json()["error_5xx_every"] == 1
    assert httpx.post(f"{sandbox.base_url}/__sandbox/faults", json={"nope": 1}).status_code == 400
    httpx.post(f"{sandbox.base_url}/__sandbox/faults", json={})
    assert api.query(QUERY).status_code == 200
    stats = httpx.get(f"{sandbox.base_url}/__sandbox/stats").json()
    assert stats["statuses"] == {"200": 2, "502": 1}  # the token and one query; the other query failed
    assert stats["requests"] == {"token": 1, "analytics.query": 2}
    assert [entry["status"] for entry in stats["log"] if entry["family"] == "analytics.query"] == [502, 200]
    assert stats["log"][-1]["token_id"] == "t1" and stats["log"][-1]["path"].endswith("/details/query")
    assert len(httpx.get(f"{sandbox.base_url}/__sandbox/stats", params={"log": 1}).json()["log"]) == 1
    assert httpx.get(f"{sandbox.base_url}/__sandbox/stats", params={"log": 0}).json()["log"] == []
    httpx.post(f"{sandbox.base_url}/__sandbox/reset")
    assert sandbox.stats()["requests"] == {}


def test_fractional_rates_pick_a_stable_share_of_recordings():
    ids = [f"rec-{i}" for i in range(2000)]

    def hit(seed):
        state = FaultState(seed=seed, faults=Faults(reset_mid_body_rate=0.25))
        return {i for i in ids if state.on_media_get(i) is not None}

    first, again, other = hit(1), hit(1), hit(2)
    assert first == again and first != other
    assert 0.2 < len(first) / len(ids) < 0.3
