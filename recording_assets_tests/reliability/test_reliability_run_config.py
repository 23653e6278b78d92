"""Run config (what the Launchpad sends) cannot reach the deployment's secrets, hosts or buckets.

Each job is launched through Dagster's own execution API with the run config an attacker with Launchpad
access would write; the run must fail before anything leaves the process, naming the field, and a canary
server on another loopback address must receive nothing.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from recording_assets import settings as cfg
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.reliability import reliability_support as rs
from recording_assets_tests.webhooks.receivers import SECRET

DAY = "2026-11-19"


class Canary:
    """Counts every request on 127.0.0.2 (a loopback address no product setting names)."""

    def __init__(self) -> None:
        self.requests = 0
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                canary.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = _any  # noqa: N815 - http.server's naming

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.url = f"http://127.0.0.2:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def stack():
    s3, server, canary = rs.S3Server(), rs.sandbox(conversations_per_day=3), Canary()
    try:
        yield s3, server, canary
    finally:
        canary.stop()
        server.stop()
        s3.stop()


def _run(env, job_name: str, run_config: dict, partition: str | None = DAY) -> dg.ExecuteInProcessResult:
    with rs.environment(env):
        job = load_definitions().resolve_job_def(job_name)
        with dg.DagsterInstance.ephemeral() as instance:
            return job.execute_in_process(
                run_config=run_config, instance=instance, partition_key=partition, raise_on_error=False
            )


def _failure(result: dg.ExecuteInProcessResult) -> str:
    kinds = ("STEP_FAILURE", "RESOURCE_INIT_FAILURE")
    errors = [
        getattr(e.event_specific_data, "error", None)
        for e in result.all_events
        if e.event_type_value in kinds
    ]
    return "\n".join(rs.error_text(error) for error in errors if error is not None)


OVERRIDES = {
    "login host": ("genesys", {"login_base_url": "CANARY"}, "login_base_url"),
    "API host": ("genesys", {"api_base_url": "CANARY"}, "api_base_url"),
    "another variable as the secret": ("genesys", {"client_secret": {"env": "HOME"}}, "client_secret"),
    "another client id": ("genesys", {"client_id": "someone-else"}, "client_id"),
    "another archive bucket": ("archive", {"archive_bucket": "attacker-bucket"}, "archive_bucket"),
    "another manifest bucket": ("archive", {"manifest_bucket": "attacker-bucket"}, "manifest_bucket"),
}


@pytest.mark.parametrize("label", OVERRIDES)
def test_an_archive_run_refuses_run_config_for_secrets_hosts_and_buckets(stack, label):
    s3, server, canary = stack
    resource, fields, named = OVERRIDES[label]
    fields = {k: (canary.url if v == "CANARY" else v) for k, v in fields.items()}
    # Dagster asks for every required field once a resource is configured: the rest as the deployment's.
    required = {
        "genesys": {"client_id": {"env": cfg.CLIENT_ID}, "client_secret": {"env": cfg.CLIENT_SECRET}},
        "archive": {
            "archive_bucket": {"env": cfg.ARCHIVE_BUCKET},
            "manifest_bucket": {"env": cfg.MANIFEST_BUCKET},
        },
    }[resource]
    fields = {**required, **fields}
    buckets = s3.fresh_buckets("runcfg")
    server.reset_stats()
    before = canary.requests
    result = _run(
        rs.run_env(s3, server, buckets), "archive_day", {"resources": {resource: {"config": fields}}}
    )
    assert not result.success
    message = _failure(result)
    assert named in message and "come from the environment only" in message, message
    assert server.config.client_secret not in message
    assert canary.requests == before, "the canary was asked"
    assert server.stats()["tokens_issued"] == 0 and not server.stats()["requests"], "Genesys was asked"
    listed = s3.client().list_objects_v2(Bucket=buckets[0]).get("KeyCount", 0)
    assert listed == 0


def test_encryption_is_not_run_config(stack):
    s3, server, _ = stack
    buckets = s3.fresh_buckets("runcfg")
    config = {"resources": {"archive": {"config": {"sse": "aws:kms", "kms_key_id": "arn:aws:kms:attacker"}}}}
    with pytest.raises(dg.DagsterInvalidConfigError, match="sse|kms_key_id"):
        _run(rs.run_env(s3, server, buckets), "archive_day", config)


def test_a_delivery_run_refuses_other_webhook_urls_or_secret(stack):
    s3, server, canary = stack
    env = {
        **rs.run_env(s3, server, s3.fresh_buckets("runcfg")),
        cfg.WEBHOOK_URLS: "http://127.0.0.1:9/hook",
        cfg.WEBHOOK_SECRET: SECRET,
    }
    before = canary.requests
    for fields, named in (
        ({"endpoints": canary.url}, "endpoints"),
        ({"secret": "whsec_" + "A" * 32}, "secret"),
    ):
        config = {
            "resources": {"webhooks": {"config": fields}},
            "ops": {"deliver_webhook": {"config": {"endpoint": 0, "failed_run": "no-such-run"}}},
        }
        result = _run(env, "webhook_delivery", config, partition=None)
        assert not result.success
        message = _failure(result)
        assert named in message and "come from the environment only" in message, message
        assert SECRET not in message
    assert canary.requests == before


def test_another_region_than_the_deployments_is_refused(monkeypatch):
    """With the org's region set (and no base URL), a run config naming another region would send the
    credentials to that region's login host: refused when the resource is set up, before any request."""
    from recording_assets.defs.resources import GenesysCloudResource

    for name, value in {
        cfg.CLIENT_ID: "id",
        cfg.CLIENT_SECRET: "s3cr3t-value",
        cfg.REGION: "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(cfg.API_BASE_URL, raising=False)
    monkeypatch.delenv(cfg.LOGIN_BASE_URL, raising=False)
    same = GenesysCloudResource(client_id="id", client_secret="s3cr3t-value", region="mypurecloud.ie")
    same.setup_for_execution(dg.build_init_resource_context())  # the same region by its domain
    other = GenesysCloudResource(client_id="id", client_secret="s3cr3t-value", region="us-east-1")
    with pytest.raises(cfg.ConfigError, match="api_base_url / region, login_base_url / region") as raised:
        other.setup_for_execution(dg.build_init_resource_context())
    assert "s3cr3t-value" not in str(raised.value)
