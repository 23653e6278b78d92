"""Login, bearer tokens, the per-token rate window, permissions and the introspection endpoints."""

from __future__ import annotations

import httpx
import pytest

from recording_assets.sandbox import Dialect, Faults, SandboxConfig, SandboxServer
from recording_assets.sandbox.config import ALL_PERMISSIONS, RemoteBindRefused
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY, Api, day_interval, get_token

QUERY = {"interval": day_interval(YESTERDAY), "paging": {"pageSize": 1, "pageNumber": 1}}


def test_client_credentials_token_flow(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock)
    response = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        auth=("sandbox-client", "sandbox-secret"),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 86400 and len(body["access_token"]) > 20
    assert get_token(sandbox.base_url) != body["access_token"]  # opaque and fresh each time
    stats = sandbox.stats()
    assert stats["tokens_issued"] == 2 and stats["requests"]["token"] == 2


@pytest.mark.parametrize("auth", [("sandbox-client", "wrong"), ("someone", "sandbox-secret"), None])
def test_bad_client_credentials_are_401_invalid_client(sandbox_factory, auth):
    sandbox = sandbox_factory()
    response = httpx.post(
        f"{sandbox.base_url}/oauth/token", auth=auth, data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client" and response.json()["description"]


def test_missing_or_wrong_grant_is_400(sandbox_factory):
    sandbox = sandbox_factory()
    auth = ("sandbox-client", "sandbox-secret")
    missing = httpx.post(f"{sandbox.base_url}/oauth/token", auth=auth, data={})
    wrong = httpx.post(f"{sandbox.base_url}/oauth/token", auth=auth, data={"grant_type": "password"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert wrong.status_code == 400 and wrong.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic c2FuZGJveDpzYW5kYm94"])
def test_api_calls_need_a_known_bearer_token(sandbox_factory, header):
    sandbox = sandbox_factory()
    headers = {"Authorization": header} if header else {}
    response = httpx.post(
        f"{sandbox.base_url}/api/v2/analytics/conversations/details/query", json=QUERY, headers=headers
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "bad.credentials" and body["status"] == 401
    assert body["contextId"] == response.headers["inin-correlation-id"]
    assert body["details"] == [] and body["errors"] == []
    assert response.headers["inin-ratelimit-allowed"] == "300"


def test_tokens_expire_on_the_sandbox_clock(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, token_ttl_s=600)
    api = Api(sandbox)
    assert api.query(QUERY).status_code == 200
    fake_clock.advance(599)
    assert api.query(QUERY).status_code == 200
    fake_clock.advance(2)
    expired = api.query(QUERY)
    assert expired.status_code == 401 and expired.json()["code"] == "bad.credentials"
    api.relogin()
    assert api.query(QUERY).status_code == 200


def test_deleting_tokens_me_revokes_the_token(sandbox_factory):
    api = Api(sandbox_factory())
    assert api.delete("/api/v2/tokens/me").status_code == 204
    assert api.get("/api/v2/tokens/me").status_code == 401


def test_rate_limit_headers_429_and_window_reset(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, rate_limit_per_minute=5)
    api = Api(sandbox)
    for expected in range(1, 6):
        response = api.query(QUERY)
        assert response.status_code == 200
        assert response.headers["inin-ratelimit-allowed"] == "5"
        assert response.headers["inin-ratelimit-count"] == str(expected)
        assert response.headers["inin-ratelimit-reset"] == "60"
        uuid_text = response.headers["inin-correlation-id"]
        assert len(uuid_text) == 36
    fake_clock.advance(20.5)
    limited = api.query(QUERY)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "40"
    assert limited.headers["inin-ratelimit-reset"] == "40"
    body = limited.json()
    assert body["code"] == "too.many.requests.retry.after" and body["status"] == 429
    assert body["contextId"] == limited.headers["inin-correlation-id"]
    # A second token has its own window.
    other = Api(sandbox)
    assert other.query(QUERY).status_code == 200
    fake_clock.advance(40)
    again = api.query(QUERY)
    assert again.status_code == 200 and again.headers["inin-ratelimit-count"] == "1"
    stats = sandbox.stats()
    assert stats["rate_limited"] == 1 and stats["statuses"]["429"] == 1


def test_one_window_for_all_tokens_of_a_client_when_the_budget_is_shared(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(
        clock=fake_clock, rate_limit_per_minute=3, dialect=Dialect(rate_limit_scope="per_client")
    )
    first, second = Api(sandbox), Api(sandbox)  # two tokens of the same OAuth client
    counts = [api.query(QUERY).headers["inin-ratelimit-count"] for api in (first, second, first)]
    assert counts == ["1", "2", "3"]
    assert second.query(QUERY).status_code == 429  # the other token's requests spent its window
    fake_clock.advance(60)
    assert second.query(QUERY).headers["inin-ratelimit-count"] == "1"


@pytest.mark.parametrize("mode", ["absent", "malformed"])
def test_rate_limit_headers_may_be_stripped_or_mangled_while_the_limit_holds(
    sandbox_factory, fake_clock, mode
):
    sandbox = sandbox_factory(
        clock=fake_clock, rate_limit_per_minute=2, faults=Faults(rate_limit_headers=mode)
    )
    api = Api(sandbox)
    answers = [api.query(QUERY) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    for answer in answers:
        sent = answer.headers.get("inin-ratelimit-allowed")
        assert sent is None if mode == "absent" else sent not in ("2", None)


def test_retry_after_is_at_least_one_second(sandbox_factory, fake_clock):
    api = Api(sandbox_factory(clock=fake_clock, rate_limit_per_minute=1))
    api.query(QUERY)
    fake_clock.advance(59.7)
    limited = api.query(QUERY)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"


def test_unlimited_rate_and_token_endpoint_not_limited(sandbox_factory):
    sandbox = sandbox_factory(rate_limit_per_minute=0)
    api = Api(sandbox)
    assert all(api.get("/api/v2/tokens/me").status_code == 200 for _ in range(20))
    limited = sandbox_factory(rate_limit_per_minute=1)
    assert [
        httpx.post(
            f"{limited.base_url}/oauth/token",
            auth=("sandbox-client", "sandbox-secret"),
            data={"grant_type": "client_credentials"},
        ).status_code
        for _ in range(3)
    ] == [200] * 3


def test_missing_permission_is_403_with_the_any_of_list(sandbox_factory):
    sandbox = sandbox_factory(permissions=frozenset({"recording:recording:view"}))
    api = Api(sandbox)
    response = api.query(QUERY)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "missing.any.permissions"
    assert body["message"] == (
        "Unable to perform the requested action. You must have at least one of the following permissions "
        "assigned: [analytics:conversationDetail:view, analytics:agentConversationDetail:view]"
    )
    assert api.get("/api/v2/recordings/retention/query?retentionThresholdDays=5").status_code == 200


def test_introspection_shows_whether_sensitive_data_is_granted(sandbox_factory):
    granted = Api(sandbox_factory())
    limited = Api(sandbox_factory(permissions=ALL_PERMISSIONS - {"recording:recording:viewSensitiveData"}))
    for api, expected in ((granted, True), (limited, False)):
        me = api.get("/api/v2/tokens/me").json()
        assert me["OAuthClient"]["id"] == "sandbox-client" and me["organization"]["id"]
        client = api.get("/api/v2/oauth/clients/sandbox-client").json()
        assert client["authorizedGrantType"] == "CLIENT-CREDENTIALS"
        role = api.get(f"/api/v2/authorization/roles/{client['roleDivisions'][0]['roleId']}").json()
        assert ("recording:recording:viewSensitiveData" in role["permissions"]) is expected
        recording_actions = next(
            p["actionSet"]
            for p in role["permissionPolicies"]
            if (p["domain"], p["entityName"]) == ("recording", "recording")
        )
        assert ("viewSensitiveData" in recording_actions) is expected
    assert granted.get("/api/v2/oauth/clients/other").status_code == 404
    assert granted.get("/api/v2/authorization/roles/nope").status_code == 404
    no_introspection = Api(sandbox_factory(permissions=frozenset({"recording:recording:view"})))
    assert no_introspection.get("/api/v2/oauth/clients/sandbox-client").status_code == 403


def test_non_loopback_bind_is_refused_unless_allowed():
    with pytest.raises(RemoteBindRefused, match="allow_remote"):
        SandboxServer(SandboxConfig(host="0.0.0.0"))
    with pytest.raises(RemoteBindRefused):
        SandboxServer(SandboxConfig(host="192.168.1.20"))
    SandboxServer(SandboxConfig(host="0.0.0.0", allow_remote=True))  # constructing is fine; nothing bound
    SandboxServer(SandboxConfig(host="localhost"))
    SandboxServer(SandboxConfig(host="::1"))


def test_context_manager_starts_and_stops(fake_clock):
    with SandboxServer(SandboxConfig(), clock=fake_clock) as sandbox:
        base_url = sandbox.base_url
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base_url}/__sandbox/stats").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/__sandbox/stats", timeout=1)


def test_unknown_routes_are_404_error_bodies(sandbox_factory):
    api = Api(sandbox_factory())
    response = api.get("/api/v2/recordings?dateRangeStart=2025-01-01")  # the seed's invented endpoint
    assert response.status_code == 404 and response.json()["code"] == "not.found"
    assert api.get("/api/v2/recordings/abc/download").status_code == 404
