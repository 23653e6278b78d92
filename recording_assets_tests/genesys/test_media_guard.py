"""The SSRF guard on presigned media GETs, against the sandbox over real HTTP: a media URL and every
redirect hop reach only public addresses (or allowlisted ones), are refused before anything is sent to
them otherwise, and the connected peer is checked again before a byte is written (so a name that resolves
somewhere private cannot pass). A canary server stands for what a hostile URL would reach; allowlisted,
it does receive the request (the positive control that keeps "the canary saw nothing" meaningful)."""

from __future__ import annotations

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys import MediaPolicy, MediaRefusedError
from recording_assets.genesys.netguard import address_problem, parse_allowlist, url_expires_at
from recording_assets_tests.canary import Canary, self_signed
from recording_assets_tests.genesys.trust_support import (
    DAY,
    Sink,
    batch_result,
    hostile,
    make_client,
    media_requests,
    run,
    target,
)

SMALL = {"conversations_per_day": 300, "media_scale": 0.002}


@pytest.fixture
def clock():
    return FakeClock()


def test_a_redirect_to_a_non_allowlisted_loopback_canary_is_refused_and_the_canary_sees_nothing(
    sandbox_factory, clock
):
    with Canary("127.0.0.2") as canary:
        sb = sandbox_factory(
            clock=clock, **SMALL, hostile=hostile("canary_redirect", canary_url=canary.url())
        )
        cid = target(sb, "canary_redirect").conversation_id

        async def go(**kwargs):
            async with make_client(sb, clock, **kwargs) as client:
                result = await batch_result(client, cid)
                sink = Sink()
                try:
                    return await client.download(result.result_url, sink), sink
                except MediaRefusedError as refused:
                    return refused, sink

        refused, sink = run(go())
        assert isinstance(refused, MediaRefusedError) and refused.retryable is False
        assert refused.reason == "loopback address not in the allowed media hosts"
        assert refused.host == canary.address and canary.address in str(refused)
        assert (canary.connections, canary.bytes_received, sink.size) == (0, 0, 0)
        assert media_requests(sb) == 1  # the sandbox's redirect was fetched, the canary never was

        # Allowlisted, the very same redirect is followed to the canary (which answers 4 bytes).
        policy = MediaPolicy.for_api(sb.base_url, allowed_hosts=[canary.address])
        fetched, sink = run(go(media_policy=policy))
        assert fetched.size == 4 and sink.chunks == [b"OggS"]
        assert canary.connections == 1 and canary.requests == [b"GET /canary HTTP/1.1"]


def test_a_name_that_connects_to_a_loopback_address_is_refused_on_connect_before_a_byte_is_sent(
    sandbox_factory, clock
):
    # https and a host name pass the checks made before connecting: what the name resolved to is only known
    # from the connected socket, which is checked before TLS and before the request (DNS rebinding).
    with Canary("127.0.0.1") as canary:
        url = f"https://localhost:{canary.port}/canary"
        sb = sandbox_factory(clock=clock, **SMALL, hostile=hostile("canary_redirect", canary_url=url))
        cid = target(sb, "canary_redirect").conversation_id

        async def go():
            async with make_client(sb, clock) as client:
                result = await batch_result(client, cid)
                with pytest.raises(MediaRefusedError) as refused:
                    await client.download(result.result_url, Sink())
                return refused.value, client.transport.media_transport.backends["https"].refused

        refused, refused_connections = run(go())
        assert refused.reason == "connected to a loopback address not in the allowed media hosts"
        assert refused_connections == 1
        assert canary.bytes_received == 0 and canary.requests == []  # not even a TLS ClientHello


def test_a_redirect_from_https_to_http_is_refused_even_to_an_allowlisted_host(
    sandbox_factory, clock, tmp_path
):
    cert = self_signed(tmp_path)
    with Canary("127.0.0.1") as canary:
        sb = sandbox_factory(
            clock=clock,
            **SMALL,
            tls_certfile=cert.certfile,
            tls_keyfile=cert.keyfile,
            hostile=hostile("downgrade_redirect", canary_url=canary.url("https")),
        )
        assert sb.base_url.startswith("https://")
        policy = MediaPolicy.for_api(sb.base_url, allowed_hosts=[canary.address])
        downgrade = target(sb, "downgrade_redirect").conversation_id
        other = next(
            c.id
            for c in sb.org.conversations_for_day(DAY)
            if c.id != downgrade and len(c.recordings) == 1 and c.recordings[0].file_state == "AVAILABLE"
        )

        async def go():
            async with make_client(
                sb, clock, media_policy=policy, tls_context=cert.client_context()
            ) as client:
                hostile_url = (await batch_result(client, downgrade)).result_url
                assert hostile_url.startswith("https://")
                with pytest.raises(MediaRefusedError) as refused:
                    await client.download(hostile_url, Sink())
                fine = await batch_result(client, other)
                sink = Sink()
                await client.download(fine.result_url, sink)  # https media from the allowlisted sandbox
                return refused.value, fine, sink

        refused, fine, sink = run(go())
        assert refused.reason == "redirect from https to http" and refused.host == canary.address
        assert canary.connections == 0
        assert sink.sha256 == sb.org.media_sha256(fine.recording_id)


BAD_URLS = [
    ("http://169.254.169.254/latest/meta-data/", "metadata address not in the allowed media hosts"),
    ("https://[fd00:ec2::254]/latest", "metadata address not in the allowed media hosts"),
    ("https://10.1.2.3/x", "private address not in the allowed media hosts"),
    ("https://172.16.0.9/x", "private address not in the allowed media hosts"),
    ("https://192.168.1.1/x", "private address not in the allowed media hosts"),
    ("https://[fc00::1]/x", "private address not in the allowed media hosts"),
    ("https://100.64.0.1/x", "cgnat address not in the allowed media hosts"),
    ("https://169.254.10.10/x", "link-local address not in the allowed media hosts"),
    ("https://[fe80::1]/x", "link-local address not in the allowed media hosts"),
    ("https://0.0.0.0/x", "unspecified address not in the allowed media hosts"),
    ("https://[::]/x", "unspecified address not in the allowed media hosts"),
    ("https://224.0.0.1/x", "multicast address not in the allowed media hosts"),
    ("https://240.0.0.1/x", "reserved address not in the allowed media hosts"),
    ("https://127.0.0.2/x", "loopback address not in the allowed media hosts"),
    ("https://[::1]/x", "loopback address not in the allowed media hosts"),
    ("https://[::ffff:127.0.0.1]/x", "loopback address not in the allowed media hosts"),
    ("https://[64:ff9b::a00:1]/x", "private address not in the allowed media hosts"),  # NAT64 of 10.0.0.1
    ("https://2130706433/x", "ambiguous numeric host"),
    ("https://0x7f.1/x", "ambiguous numeric host"),
    ("http://media.example.com/x", "plain http (not https)"),
    ("https://user:s3cret@media.example.com/x", "userinfo in URL"),
    ("https://media.example.com/a b", "whitespace, backslash or control character in URL"),
    ("https://media.example.com/\x00.wav", "NUL in URL"),
    ("https://media.example.com/\r\nHost: evil", "whitespace, backslash or control character in URL"),
    ("https://media.example.com\\@evil/x", "whitespace, backslash or control character in URL"),
    ("https://xn--a.example/x", "malformed internationalised (IDNA) host"),
    ("https://ex\u00adample.com/x", "malformed internationalised (IDNA) host"),
    ("https://media.example.com/\u00e9", "non-ASCII character in URL path or query"),
    ("/api/v2/relative", "not an absolute URL"),
    ("ftp://media.example.com/x", "scheme 'ftp' is not https"),
    ("https:///x", "no host in URL"),
    ("https://[::1/x", "malformed URL"),
    ("https://media.example.com:99999/x", "malformed URL"),
    ("https://" + "a" * 9000 + ".example/x", "URL longer than 8192 characters"),
    (None, "not a URL (a NoneType)"),
    (42, "not a URL (a int)"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_bad_media_url_is_a_refusal_naming_why_and_nothing_is_sent(sandbox_factory, clock, url, reason):
    sb = sandbox_factory(clock=clock, conversations_per_day=0)

    async def go():
        async with make_client(sb, clock) as client:
            with pytest.raises(MediaRefusedError) as refused:
                await client.download(url, Sink())
            return refused.value, client.stats.requests["media"]

    refused, sent = run(go())
    assert refused.reason == reason
    assert sent == 0 and media_requests(sb) == 0
    assert "s3cret" not in str(refused) and "user" not in refused.host
    assert not any(c in str(refused) for c in "\x00\r\n")


def test_plain_http_is_allowed_only_to_an_allowlisted_loopback_host(sandbox_factory, clock):
    with Canary("127.0.0.2") as canary:
        sb = sandbox_factory(clock=clock, conversations_per_day=0)

        async def fetch(policy):
            async with make_client(sb, clock, media_policy=policy) as client:
                try:
                    return await client.download(canary.url(), Sink())
                except MediaRefusedError as refused:
                    return refused

        refused = run(fetch(MediaPolicy()))  # nothing allowlisted: not even the sandbox
        assert isinstance(refused, MediaRefusedError) and canary.connections == 0
        assert run(fetch(MediaPolicy(allowed_hosts=parse_allowlist(canary.address)))).size == 4
        assert canary.connections == 1


def test_the_default_policy_allows_only_a_loopback_api_origin(sandbox_factory):
    assert MediaPolicy.for_api("http://127.0.0.1:8765").allowed_hosts == parse_allowlist("127.0.0.1:8765")
    assert MediaPolicy.for_api("http://localhost:8765/").allowed_hosts == parse_allowlist("localhost:8765")
    assert MediaPolicy.for_api("https://api.mypurecloud.ie").allowed_hosts == frozenset()
    assert MediaPolicy.for_api("https://10.0.0.5:443").allowed_hosts == frozenset()  # private is not loopback
    assert parse_allowlist("127.0.0.1:1, [::1]:2 localhost:3") == parse_allowlist(
        ["127.0.0.1:1", "[::1]:2", "localhost:3"]
    )
    for bad in ("127.0.0.1", "::1:80", "host:0", "host:http", "bad host:80", "[::1]"):
        with pytest.raises(ValueError, match="allowed media host"):
            parse_allowlist(bad)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("169.254.169.254", "metadata"),
        ("127.255.0.1", "loopback"),
        ("100.127.255.255", "cgnat"),
        ("192.0.2.1", "reserved"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("ff02::1", "multicast"),
    ],
)
def test_address_classification(address, problem):
    assert address_problem(address) == problem


def test_the_sandbox_urls_say_when_they_expire(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **SMALL, url_ttl_s=120)
    cid = next(
        c.id
        for c in sb.org.conversations_for_day(DAY)
        if c.recordings and c.recordings[0].file_state == "AVAILABLE"
    )

    async def go():
        async with make_client(sb, clock) as client:
            return await batch_result(client, cid)

    result = run(go())
    expires = url_expires_at(result.result_url)
    assert expires is not None and clock.time() < expires <= clock.time() + 120
