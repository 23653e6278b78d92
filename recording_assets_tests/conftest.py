"""Shared fixtures: a real S3 protocol server (moto, server mode) and the Genesys sandbox, both on loopback.

Nothing here patches project code: tests talk HTTP to these servers exactly as production talks to AWS
and Genesys Cloud.
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from recording_assets.clock import FakeClock

S3_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# Sandbox settings that keep a run of the real code location to seconds (Dagster runs on the real clock):
# short batch and job latencies, small media.
FAST_SANDBOX = {"batch_latency_s": 0.2, "job_latency_s": 0.2, "media_scale": 0.002}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep ``--dist loadgroup`` grouping on pytest >= 9.2
    (https://github.com/pytest-dev/pytest-xdist/issues/1386).

    xdist tells its scheduler a test's ``xdist_group`` through an ``@group`` suffix on the node id, written
    to ``item._nodeid``; pytest 9.2 keeps the id in a structured ``NodeId`` instead, so that write is lost
    and grouped tests are silently spread over the workers. This puts the suffix where ``item.nodeid``
    reads it. It does nothing where xdist's own suffix arrived, and fails the run rather than let the
    "serial" tests run side by side if neither way works.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    for item in items:
        names = {
            mark.args[0] if mark.args else mark.kwargs.get("name", "default")
            for mark in item.iter_markers("xdist_group")
        }
        if not names:
            continue
        suffix = "@" + "_".join(sorted(map(str, names)))
        node_id = getattr(item, "_id", None)
        if not item.nodeid.endswith(suffix) and hasattr(node_id, "_str_cache"):
            object.__setattr__(node_id, "_str_cache", str(node_id) + suffix)
        if not item.nodeid.endswith(suffix):
            raise pytest.UsageError(f"{item.nodeid}: its xdist_group cannot reach the xdist scheduler")


@pytest.fixture(scope="session")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_client(s3_endpoint):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        **S3_CREDENTIALS,
    )


@pytest.fixture
def bucket_names(s3_client):
    """Two fresh buckets per test (archive, manifest), so tests never see each other's objects."""
    suffix = uuid.uuid4().hex[:10]
    names = (f"archive-{suffix}", f"manifest-{suffix}")
    for name in names:
        s3_client.create_bucket(Bucket=name)
    return names


@pytest.fixture
def fake_clock():
    return FakeClock()


@pytest.fixture
def local_stack(monkeypatch):
    """Start ``LocalStack``s (moto in its own process, the sandbox with ``FAST_SANDBOX`` unless told) and
    export each one's environment for this test; all are stopped at teardown."""
    from recording_assets.tools.local import LocalStack

    started: list[LocalStack] = []

    def start(**sandbox_config):
        local = LocalStack(sandbox_config={**FAST_SANDBOX, **sandbox_config}).start()
        started.append(local)
        for name, value in local.environment().items():
            monkeypatch.setenv(name, value)
        return local

    yield start
    for local in started:
        local.stop()


@pytest.fixture
def sandbox_factory():
    """Start sandboxes on 127.0.0.1:0 in this process; all are stopped at teardown."""
    from recording_assets.sandbox import SandboxConfig, SandboxServer

    started = []

    def start(clock=None, **config):
        server = SandboxServer(SandboxConfig(**config), clock=clock)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
