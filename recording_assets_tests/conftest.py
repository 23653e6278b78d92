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
