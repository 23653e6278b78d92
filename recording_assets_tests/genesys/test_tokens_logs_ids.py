"""Token answers, what reaches messages, and the ids live recording control sends, against the sandbox:

- a token answer that is HTML, or lacks ``access_token``, is an ``AuthenticationError`` saying so;
- an ``expires_in`` of zero, below zero, absurd or not a number is read as a short fixed lifetime (60 s)
  instead of renewing before every request;
- API text that reaches an error (message, code) loses its ANSI escapes and CR/LF; URLs lose userinfo;
- conversation and participant ids are GUIDs or nothing is sent (``A/../B`` refused before any request).
"""

from __future__ import annotations

import logging

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys import AuthenticationError, InvalidIdError, NotFoundError
from recording_assets.genesys.auth import FALLBACK_LIFETIME_S, token_lifetime_s
from recording_assets.genesys.fields import id_problem
from recording_assets.genesys.redact import RedactUrlsFilter, clean_text, redact_url
from recording_assets.sandbox.hostile import Hostile
from recording_assets_tests.canary import Canary
from recording_assets_tests.genesys.trust_support import make_client, run

GUID = "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"


@pytest.fixture
def clock():
    return FakeClock()


def _tokens(sb) -> int:
    return sb.stats()["tokens_issued"]


def test_an_html_token_answer_is_a_clear_authentication_error(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=0, hostile=Hostile(html_token_answers=1))

    async def go():
        async with make_client(sb, clock) as client:
            with pytest.raises(AuthenticationError) as refused:
                await client.retention.batch_url_ttl_s()
            after = await client.retention.batch_url_ttl_s()  # the next token answer is JSON
            return refused.value, after

    refused, after = run(go())
    assert refused.status == 200 and refused.path == "/oauth/token"
    assert "not JSON (text/html" in str(refused) and "proxy or captive portal" in str(refused)
    assert "sandbox-secret" not in str(refused)
    assert after == 3600 and _tokens(sb) == 1
    assert sb.state.hostile.served["html_token_answers"] == 1


@pytest.mark.parametrize("claim", [0, -5, -0.5, "soon", 10**12, True])
def test_an_impossible_expires_in_is_a_short_fixed_lifetime_not_a_token_storm(sandbox_factory, clock, claim):
    sb = sandbox_factory(clock=clock, conversations_per_day=0, hostile=Hostile(token_expires_in=claim))

    async def go():
        async with make_client(sb, clock) as client:
            for _ in range(5):
                await client.retention.batch_url_ttl_s()
            first = _tokens(sb)
            clock.advance(0.8 * FALLBACK_LIFETIME_S - 1)
            await client.retention.batch_url_ttl_s()
            before_renewal = _tokens(sb)
            clock.advance(2)
            await client.retention.batch_url_ttl_s()
            return first, before_renewal, _tokens(sb)

    assert run(go()) == (1, 1, 2)


def test_token_lifetimes_the_documentation_allows_are_kept():
    assert (
        token_lifetime_s(None) == 86400
        and token_lifetime_s(300) == 300
        and token_lifetime_s(172800) == 172800
    )
    assert token_lifetime_s(30) == 60  # below a minute: a minute
    assert token_lifetime_s(172801) == token_lifetime_s(float("nan")) == FALLBACK_LIFETIME_S


def test_api_text_in_errors_loses_escapes_and_line_breaks(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, conversations_per_day=0)
    with Canary("127.0.0.2", mode="json_error") as canary:

        async def go():
            async with make_client(sb, clock, api_base_url=f"http://{canary.address}") as client:
                with pytest.raises(NotFoundError) as missing:
                    await client.recordings.metadata(GUID)
                return missing.value

        missing = run(go())
    text = str(missing)
    assert "\x1b" not in text and "\r" not in text and "\n" not in text and "\x07" not in text
    assert missing.api_message == "Not found  X-Forged: log line" and missing.code == "not.found"


def test_urls_lose_userinfo_query_and_control_characters_wherever_they_are_shown():
    assert redact_url("https://user:pa%40ss@media.example.com:8443/a/b?X-Amz-Signature=s#f") == (
        "https://media.example.com:8443/a/b"
    )
    assert redact_url("https://media.example.com/\x1b[2Jx\x07y") == "https://media.example.com/xy"
    assert redact_url("http://[::1/x") == "<unparseable URL>" and redact_url(None) == "None"
    assert clean_text("ok\x1b]0;owned\x07 \u202eevil\x9b") == "ok evil"
    record = logging.LogRecord(
        "httpx", logging.INFO, "", 0, "GET %s", ("https://u:p@h.example/x?sig=1",), None
    )
    RedactUrlsFilter().filter(record)
    assert record.getMessage() == "GET https://h.example/x"


@pytest.mark.parametrize("bad", ["A/../B", "../x", "a b", "a\x00b", "", "not-a-guid", GUID + "/recordings"])
def test_live_control_refuses_an_id_that_is_not_a_guid_before_any_request(sandbox_factory, clock, bad):
    sb = sandbox_factory(clock=clock, conversations_per_day=0)

    async def go():
        async with make_client(sb, clock) as client:
            for call in (
                lambda: client.control.set_recording_state(bad, paused=True),
                lambda: client.control.set_participant_recording(GUID, bad, on=True),
                lambda: client.control.inspect(bad),
            ):
                with pytest.raises(InvalidIdError) as refused:
                    await call()
                assert isinstance(refused.value, ValueError) and "\x00" not in str(refused.value)
            if id_problem(bad):  # recording endpoints take any Genesys id (letters, digits, '-')
                with pytest.raises(InvalidIdError):
                    await client.recordings.get(bad, GUID)
                with pytest.raises(InvalidIdError):
                    await client.recordings.metadata(bad)

    run(go())
    assert [e for e in sb.stats()["log"] if e["path"].startswith("/api/v2/")] == []
