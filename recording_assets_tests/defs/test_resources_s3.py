"""The S3 side of the resources: the client's pool sized from the concurrency, the If-None-Match probe."""

from __future__ import annotations

import base64
import hashlib

import pytest
from dagster_aws.s3 import S3Resource

from recording_assets.archive.conditional import PROBE_PREFIX
from recording_assets.defs.resources import ArchiveResource
from recording_assets.defs.s3 import BOTOCORE_DEFAULT_POOL, PooledS3Resource, pool_for
from recording_assets_tests.conftest import S3_CREDENTIALS


@pytest.fixture
def s3(s3_endpoint):
    return PooledS3Resource(endpoint_url=s3_endpoint, region_name="us-east-1", **S3_CREDENTIALS)


def test_the_pool_holds_every_call_in_flight():
    assert pool_for(8) == 8 + 4 + 4 > BOTOCORE_DEFAULT_POOL
    assert pool_for(1) == 4 + 4 + 4  # the archiver keeps at least 4 threads for S3
    assert pool_for(64, part_slots=8) == 76


def test_the_client_is_dagster_aws_s_with_a_bigger_pool(s3, bucket_names):
    client = s3.get_client(at_least=40)
    assert client.meta.config.max_pool_connections == 40
    assert client.meta.config.retries["mode"] == "standard"  # dagster-aws's retry config is kept
    assert s3.get_client().meta.config.max_pool_connections == pool_for(8)
    client.put_object(Bucket=bucket_names[0], Key="k", Body=b"x")
    assert client.get_object(Bucket=bucket_names[0], Key="k")["Body"].read() == b"x"


def test_bodies_are_not_hashed_again_for_the_signature_but_always_carry_a_checksum(s3, bucket_names):
    # The archive declares a SHA-256 for every write (S3 checks it, the signature covers the header), so
    # SigV4's own payload SHA-256 would hash each byte twice; writes declaring none get botocore's CRC32.
    client = s3.get_client()
    sent: list[dict[str, str]] = []

    def note(request, **_):
        headers = request.headers.items()
        sent.append({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in headers})

    client.meta.events.register("before-send.s3.PutObject", note)
    body = b"RIFF" + bytes(1000)
    declared = base64.b64encode(hashlib.sha256(body).digest()).decode()
    client.put_object(Bucket=bucket_names[0], Key="declared", Body=body, ChecksumSHA256=declared)
    client.put_object(Bucket=bucket_names[0], Key="plain", Body=body)
    assert [h["x-amz-content-sha256"] for h in sent] == ["UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD"]
    assert sent[0]["x-amz-checksum-sha256"] == declared
    assert "x-amz-checksum-sha256" in sent[0]["authorization"]  # the declared hash is signed
    assert "x-amz-checksum-crc32" in sent[1]
    assert client.get_object(Bucket=bucket_names[0], Key="declared")["Body"].read() == body


def test_the_archive_sizes_the_pool_from_its_concurrency(s3, bucket_names):
    buckets = {"archive_bucket": bucket_names[0], "manifest_bucket": bucket_names[1]}
    archive = ArchiveResource(s3=s3, **buckets, concurrency=32)
    assert archive._client().meta.config.max_pool_connections == pool_for(32)


@pytest.mark.parametrize(("mode", "expected"), [("probe", True), ("trust", True), ("head-first", False)])
def test_create_only_writes_follow_what_the_bucket_honours(s3, s3_client, bucket_names, mode, expected):
    archive = ArchiveResource(
        s3=s3, archive_bucket=bucket_names[0], manifest_bucket=bucket_names[1], conditional_writes=mode
    )
    assert archive.archive_store().conditional_writes is expected
    assert archive.manifest_store().conditional_writes is expected
    probed = {bucket for bucket, _ in archive._honours_if_none_match.items()}
    assert probed == (set(bucket_names) if mode == "probe" else set())
    for bucket in bucket_names:  # the probe leaves nothing behind
        assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=PROBE_PREFIX)


def test_the_archive_resource_restates_no_default_of_the_archive_configuration():
    """Each knob's default lives in ArchiveConfig alone: the resource's knob fields are overrides (None),
    every one of them a knob of ArchiveConfig, and an unset resource yields ArchiveConfig's defaults."""
    from recording_assets.pipeline.config import ArchiveConfig

    knobs = ArchiveConfig().knobs()
    own = {
        "s3",
        "archive_bucket",
        "manifest_bucket",
        "sse",
        "kms_key_id",
        "conditional_writes",
        "verify_by_read_back",
    }
    fields = ArchiveResource.model_fields
    assert set(fields) - own <= set(knobs)
    assert all(fields[name].default is None for name in set(fields) - own)
    resource = ArchiveResource(s3=S3Resource(), archive_bucket="a-bucket", manifest_bucket="m-bucket")
    assert resource.config() == ArchiveConfig()
    tuned = ArchiveResource(
        s3=S3Resource(), archive_bucket="a-bucket", manifest_bucket="m-bucket", restore_cap=7, concurrency=3
    ).config()
    assert (tuned.retention.restore_cap, tuned.concurrency) == (7, 3)


def test_the_evidence_cap_is_set_by_the_environment_alone(monkeypatch):
    """RECORDING_QUARANTINE_EVIDENCE_KIB reaches each run's configuration through the resource, yet is no
    resource field (so no run config can raise it), and a bad value fails naming the variable."""
    from recording_assets.pipeline.config import MAX_EVIDENCE_KIB, ArchiveConfig
    from recording_assets.settings import QUARANTINE_EVIDENCE_KIB, ConfigError, archive_config

    assert "quarantine_evidence_kib" in ArchiveConfig().knobs()
    assert "quarantine_evidence_kib" not in ArchiveResource.model_fields
    assert archive_config({QUARANTINE_EVIDENCE_KIB: "64"}).quarantine_evidence_bytes == 64 * 1024
    assert archive_config({QUARANTINE_EVIDENCE_KIB: "0"}).quarantine_evidence_kib == 0  # metadata only
    for bad in ("-1", str(MAX_EVIDENCE_KIB + 1), "1e3", "²"):
        with pytest.raises(ConfigError, match=QUARANTINE_EVIDENCE_KIB):
            archive_config({QUARANTINE_EVIDENCE_KIB: bad})
    monkeypatch.setenv(QUARANTINE_EVIDENCE_KIB, "64")
    resource = ArchiveResource(s3=S3Resource(), archive_bucket="a-bucket", manifest_bucket="m-bucket")
    assert resource.config().quarantine_evidence_kib == 64
    tuned = ArchiveResource(s3=S3Resource(), archive_bucket="a", manifest_bucket="m", concurrency=3).config()
    assert (tuned.quarantine_evidence_kib, tuned.concurrency) == (64, 3)
