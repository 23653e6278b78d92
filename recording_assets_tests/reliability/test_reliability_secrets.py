"""Secrets: nothing a run emits carries the client secret, a bearer token or a presigned URL's signature.

Three runs of the real code location share one Dagster instance: a day under faults that exercise the
error paths (token revocation, 5xx, resets, mislabelled and persistently corrupt media, batch errors), a
run with a wrong client secret, and a run refused by a missing permission. Then the
``manifest_webhooks`` sensor tick posts signed events (per recording too) to a receiver in this process.

Everything emitted is collected: Python log records of every logger at DEBUG (except the sandbox's and
moto's own, which are not the run), stdout/stderr, every Dagster event of every run (serialized whole:
messages, materialisation and check metadata, step failures with their causes and stacks), every Parquet
table the runs wrote (metadata, outcomes, manifest, audit parts), every object's user metadata, and the
webhook requests (bodies and headers). None of it may contain the client secret (the right or the wrong
one), the AWS secret access key, any token the sandbox issued (read from its token store), any
``X-Amz-Signature`` the sandbox handed out (read from its request log), or the webhook secret; httpx's
own request lines included (the genesys client's log filter cuts their query off).

Also: every object in both buckets is server-side encrypted (HEAD); manifests and webhooks carry no
presigned URL; TLS verification is on for a real region's client (inspected, no network); the sandbox
refuses a non-loopback address unless ``allow_remote`` says otherwise (checked, never bound).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from recording_assets import settings as cfg
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.defs.webhooks import WebhookResource, manifest_webhooks_tick
from recording_assets.sandbox import Faults, SandboxConfig, SandboxServer
from recording_assets.sandbox.config import RECORDING_VIEW, RemoteBindRefused, check_bind_allowed
from recording_assets_tests.reliability import reliability_support as rs

DAY = "2026-11-17"
HTTPX_REQUEST_LINE = "httpx INFO HTTP Request: "
NOT_THE_RUN = ("recording_assets.sandbox", "uvicorn", "werkzeug", "moto", "faultproxy")


class Receiver:
    """A webhook endpoint on loopback that keeps every request it gets."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append({"path": self.path, "headers": dict(self.headers), "body": body.decode()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/recordings"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Everything(logging.Handler):
    """Every log record of the run's loggers, formatted with its arguments and exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(NOT_THE_RUN):
            self.lines.append(self.format(record))


def sandbox_secrets(server: SandboxServer) -> dict[str, set[str]]:
    """What the sandbox handed out: bearer tokens (its token store) and presigned URL signatures (its log)."""
    tokens = set(server.state.tokens._tokens)  # the store keeps issued values; there is no public listing
    signatures = set()
    for entry in server.stats()["log"]:
        if entry["family"] == "media":
            signatures.update(parse_qs(entry["query"]).get("X-Amz-Signature", []))
    return {"token": tokens, "signature": signatures}


def table_texts(client, bucket: str) -> list[str]:
    texts = []
    for key in rs.Archive.read(client, bucket).objects:
        if key.endswith(".parquet"):
            texts.append(json.dumps(rs.read_table(client, bucket, key), default=str))
    return texts


@pytest.fixture
def captured_logs():
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.slow
def test_nothing_a_run_emits_carries_a_secret_token_or_presigned_signature(captured_logs, capfd):
    client_secret = f"cs-{secrets.token_hex(16)}"
    wrong_secret = f"wrong-{secrets.token_hex(16)}"
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    s3 = rs.S3Server()
    server = rs.sandbox(
        conversations_per_day=12,
        client_secret=client_secret,
        faults=Faults(
            revoke_tokens_every=4,
            error_5xx_every=6,
            reset_mid_body_rate=0.3,
            wrong_content_type_rate=0.2,
            corrupt_magic_rate=0.2,
            corrupt_magic_persistent=True,
            batch_error_rate=0.3,
        ),
    )
    receiver = Receiver()
    buckets = s3.fresh_buckets("secrets")
    aws_secret = f"aws-{secrets.token_hex(16)}"  # moto accepts any credentials
    env = rs.run_env(
        s3,
        server,
        buckets,
        RECORDING_WEBHOOK_URLS=receiver.url,
        RECORDING_WEBHOOK_SECRET=webhook_secret,
        AWS_SECRET_ACCESS_KEY=aws_secret,
    )
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            runs = [
                rs.materialise(env, DAY, instance=instance, keep_result=True),
                rs.materialise(
                    {**env, cfg.CLIENT_SECRET: wrong_secret}, DAY, instance=instance, keep_result=True
                ),
            ]
            server.set_faults(Faults(deny_permissions=frozenset(RECORDING_VIEW)))
            runs.append(rs.materialise(env, DAY, instance=instance, keep_result=True))
            assert [r.success for r in runs] == [True, False, False]
            assert "Preflight failed" in runs[2].failure and "OAUTHCLIENT_SECRET" in runs[1].failure

            # the sensor's tick, as the daemon would run it, against the same instance
            archive = ArchiveResource(
                s3=S3Resource(region_name="us-east-1", endpoint_url=s3.endpoint),
                archive_bucket=buckets[0],
                manifest_bucket=buckets[1],
            )
            webhooks = WebhookResource(endpoints=receiver.url, secret=webhook_secret, per_recording=True)
            with rs.environment(env), dg.build_sensor_context(instance=instance) as context:
                cursor, summary = manifest_webhooks_tick(context, webhooks, archive)
            assert "1 new manifests" in summary and "0 failed" in summary, summary

            events = [
                dg.serialize_value(entry) for run in runs for entry in instance.all_logs(run.result.run_id)
            ]
            failures = [r.failure or "" for r in runs]
        handed_out = sandbox_secrets(server)
    finally:
        receiver.stop()
        server.stop()

    client = s3.client()
    try:
        tables = table_texts(client, buckets[1])
        manifest = json.dumps(rs.manifest_rows(client, buckets[1], DAY), default=str)
        objects = {b: rs.Archive.read(client, b) for b in buckets}
        heads = {
            (b, key): client.head_object(Bucket=b, Key=key)
            for b, archive in objects.items()
            for key in archive.objects
        }
    finally:
        s3.stop()
    out, err = capfd.readouterr()
    hooks = [json.dumps(request) for request in receiver.received]
    # httpx's request lines are searched like every other record, and must be there: the media GETs too.
    request_lines = [line for line in captured_logs.lines if line.startswith(HTTPX_REQUEST_LINE)]
    assert any("/media/" in line for line in request_lines), "no httpx request line was captured"
    haystack = {
        "python logging": "\n".join(captured_logs.lines),
        "stdout/stderr": out + err,
        "dagster event log": "\n".join(events),
        "step failures": "\n".join(failures),
        "parquet tables": "\n".join(tables),
        "object metadata": json.dumps({f"{b}/{k}": h.get("Metadata") for (b, k), h in heads.items()}),
        "webhook requests": "\n".join(hooks),
        "cursor": cursor,
    }
    needles = {
        "client secret": {client_secret},
        "wrong client secret": {wrong_secret},
        "webhook secret": {webhook_secret, webhook_secret[len("whsec_") :]},
        "AWS secret access key": {aws_secret},
        "bearer token": handed_out["token"],
        "presigned signature": handed_out["signature"],
    }
    # The needles are real: the run did get tokens and signed URLs, and the haystack is not empty.
    assert len(handed_out["token"]) >= 3 and len(handed_out["signature"]) >= 10
    assert all(haystack.values()) and len(hooks) >= 2 and len(events) > 50
    found = [
        f"{what} found in {where}"
        for where, text in haystack.items()
        for what, values in needles.items()
        if any(value in text for value in values)
    ]
    assert found == []

    # No presigned URL anywhere (the audit trail keeps a failed download's scheme://host/path, its query cut
    # off as media.redact_url promises); manifests and webhooks carry no media or Genesys URL at all.
    assert [where for where, text in haystack.items() if "X-Amz-Signature=" in text] == []
    for where, text in (("manifest", manifest), ("webhook requests", haystack["webhook requests"])):
        assert "/media/" not in text and server.base_url not in text and "s3://" in text, where
    # Every object, recordings, quarantine evidence, tables and audit parts, is encrypted at rest.
    assert heads and {h.get("ServerSideEncryption") for h in heads.values()} == {"AES256"}
    assert objects[buckets[0]].under("recordings") and objects[buckets[0]].under("quarantine")


def test_a_real_region_client_verifies_tls():
    resource = GenesysCloudResource(client_id="id", client_secret="tls-test-s3cr3t", region="eu-west-1")
    client = resource.client()
    http = client.transport._http  # the httpx.AsyncClient every API call and media GET goes through
    context = http._transport._pool._ssl_context
    assert resource.settings().api_base_url == "https://api.mypurecloud.ie"
    assert resource.settings().login_base_url == "https://login.mypurecloud.ie"
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True
    assert context.minimum_version in (
        ssl.TLSVersion.MINIMUM_SUPPORTED,
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_3,
    )
    assert http.follow_redirects is False  # a redirect could carry the bearer token to another host
    assert "tls-test-s3cr3t" not in repr(client) + repr(resource.settings())


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.5", "example.com"])
def test_the_sandbox_refuses_a_non_loopback_address_unless_told(host):
    with pytest.raises(RemoteBindRefused, match="allow_remote"):
        SandboxServer(SandboxConfig(host=host))
    check_bind_allowed(SandboxConfig(host=host, allow_remote=True))  # allowed; nothing is bound here


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_the_sandbox_accepts_loopback(host):
    check_bind_allowed(SandboxConfig(host=host))


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_httpx_request_log_lines_carry_no_presigned_signature(caplog, level):
    """httpx logs 'HTTP Request: GET <url>' for every request; for media that is the presigned URL. The
    genesys client's filter on the httpx logger keeps the line but not the query, at any level the
    deployment sets (here the root and the httpx logger itself at INFO, then DEBUG)."""
    import asyncio
    import time

    from recording_assets.genesys import GenesysClient
    from recording_assets.genesys.secret import Secret
    from recording_assets.sandbox.presign import MediaGrant

    server = rs.sandbox(conversations_per_day=2)
    try:
        rec = next(r for r in rs.truth(server, DAY).values() if r.file_state == "AVAILABLE")
        grant = MediaGrant(rec.recording_id, server.org.recording(rec.recording_id).codec, True)
        url = server.state.signer.sign(server.base_url, grant, int(time.time() * 1000), 600)
        signature = parse_qs(url.split("?", 1)[1])["X-Amz-Signature"][0]

        digest = hashlib.sha256()

        async def fetch():
            client = GenesysClient(
                api_base_url=server.base_url,
                login_base_url=server.base_url,
                client_id="c",
                client_secret=Secret("s"),
                requests_per_minute=None,
            )
            async with client:
                return await client.download(url, digest.update)

        with caplog.at_level(level), caplog.at_level(level, logger="httpx"):
            download = asyncio.run(fetch())
    finally:
        server.stop()
    # the download itself worked
    assert digest.hexdigest() == rec.sha256 and download.size == download.content_length
    media_path = url.split("?", 1)[0].removeprefix(server.base_url)
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx" and media_path in r.getMessage()]
    assert lines and all(line.startswith("HTTP Request: GET ") for line in lines), lines  # logged, redacted
    assert signature not in caplog.text and "X-Amz-" not in caplog.text
