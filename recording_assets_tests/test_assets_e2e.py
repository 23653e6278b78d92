"""The asset graph end to end: one partition materialised against the sandbox org and moto, in-process.

Dagster runs with the real clock here (it is the product's runtime), so the sandbox's batch and job
latencies are set low to keep each run to seconds.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date

import dagster as dg
import pytest

from recording_assets.archive.keys import manifest_key, outcomes_key
from recording_assets.definitions import build_definitions
from recording_assets.local import LocalStack
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets.sandbox import Faults

DAY = "2026-11-20"
EXPLICIT = {"archived", "archived_in_genesys", "deleted", "excluded", "quarantined", "failed"}


@pytest.fixture
def stack(monkeypatch):
    def start(**sandbox_config):
        sandbox_config.setdefault("batch_latency_s", 0.2)
        sandbox_config.setdefault("job_latency_s", 0.2)
        sandbox_config.setdefault("media_scale", 0.002)
        local = LocalStack(sandbox_config=sandbox_config).start()
        started.append(local)
        for name, value in local.environment().items():
            monkeypatch.setenv(name, value)
        return local

    started: list[LocalStack] = []
    yield start
    for local in started:
        local.stop()


def materialise(day: str = DAY, raise_on_error: bool = True):
    defs = build_definitions()
    job = defs.resolve_job_def("archive_day")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(partition_key=day, instance=instance, raise_on_error=raise_on_error)
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        meta = {
            node: result.asset_materializations_for_node(node)[0].metadata
            for node in ("recording_metadata", "recording_audio", "recording_manifest")
            if result.asset_materializations_for_node(node)
        }
    return result, checks, meta


def read(local: LocalStack, bucket: str, key: str) -> list[dict]:
    body = local.s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return from_parquet_bytes(body).to_pylist()


def manifest(local):
    return read(local, "recording-manifests", manifest_key(day=date.fromisoformat(DAY)))


def object_sha256(local, uri: str) -> str:
    bucket, key = uri[len("s3://") :].split("/", 1)
    body = local.s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


def truth(local, day=DAY):
    """Every recording of the conversations that started that UTC day and have ended."""
    org = local.sandbox.org
    now_ms = int(local.sandbox.clock.time() * 1000)
    return {
        (c.id, r.id): r
        for c in org.conversations_for_day(date.fromisoformat(day))
        if c.end_ms <= now_ms and c.start_ms >= _day_ms(day)
        for r in c.recordings
    }


def _day_ms(day: str) -> int:
    from datetime import datetime, timezone

    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp() * 1000)


def test_a_day_is_archived_verified_and_every_recording_has_a_state(stack):
    local = stack(conversations_per_day=520)
    result, checks, meta = materialise()
    assert result.success
    assert checks and all(checks.values()), checks
    rows = manifest(local)
    expected = truth(local)
    assert {(r["conversation_id"], r["recording_id"]) for r in rows} == set(expected)
    assert all(r["state"] in EXPLICIT for r in rows)
    states = Counter(r["state"] for r in rows)
    assert states["archived"] > 0.85 * len(rows)
    for row in rows:
        rec = expected[(row["conversation_id"], row["recording_id"])]
        if row["state"] == "archived":
            assert row["sha256"] == local.sandbox.org.media_sha256(rec.id)
            assert object_sha256(local, row["storage_uri"]) == row["sha256"]
            assert row["storage_uri"].startswith("s3://recording-archive/recordings/year=2026/month=11/day=20/queue=")
        elif rec.file_state == "ARCHIVED":
            assert row["state"] == "archived_in_genesys"
        elif rec.file_state == "DELETED":
            assert row["state"] == "deleted"
    assert meta["recording_audio"]["uploaded_objects"].value == states["archived"]
    text = str(rows)
    assert "X-Amz-Signature" not in text and "/media/" not in text


def test_rerun_uploads_nothing_and_keeps_the_manifest_rows(stack):
    local = stack(conversations_per_day=200)
    materialise()
    first = manifest(local)
    _, checks, meta = materialise()
    second = manifest(local)
    assert all(checks.values())
    assert meta["recording_audio"]["uploaded_objects"].value == 0
    run_columns = {"run_outcome", "manifest_run_id"}
    strip = lambda rows: [{k: v for k, v in r.items() if k not in run_columns} for r in rows]  # noqa: E731
    assert strip(first) == strip(second)
    assert {r["run_outcome"] for r in second if r["state"] == "archived"} == {"already_archived"}


def test_request_budget_for_a_2000_recording_day(stack):
    local = stack(conversations_per_day=2000)
    local.sandbox.reset_stats()
    result, checks, meta = materialise()
    assert result.success and all(checks.values())
    rows = manifest(local)
    archived = sum(1 for r in rows if r["state"] == "archived")
    assert archived >= 2000
    families = local.sandbox.stats()["requests"]
    api = sum(n for family, n in families.items() if family not in ("token", "media"))
    lookups = families.get("recording.metadata", 0)
    unavailable = len({r["conversation_id"] for r in rows if r["state"] != "archived"})
    # At most 40 requests per 1,000 archived recordings, plus one look-up per conversation that has an
    # unavailable recording (issue 3, point 6). Presigned media GETs are not API requests.
    assert lookups <= unavailable
    assert api - lookups <= 40 * archived / 1000, families
    print(f"\nAPI requests: {api} for {archived} archived recordings ({families})")


def test_sandbox_faults_never_put_bad_bytes_under_a_final_key(stack):
    local = stack(
        conversations_per_day=150,
        url_ttl_s=3600,
        faults=Faults(
            burst_429_every=25,
            burst_retry_after_s=1,
            reset_mid_body_rate=0.1,
            truncate_body_rate=0.1,
            wrong_content_type_rate=0.1,
            corrupt_magic_rate=0.1,
            revoke_tokens_every=7,
        ),
    )
    result, checks, _ = materialise(raise_on_error=False)
    rows = manifest(local)
    assert all(r["state"] in EXPLICIT for r in rows)
    for row in rows:
        if row["state"] == "archived":
            assert object_sha256(local, row["storage_uri"]) == local.sandbox.org.media_sha256(row["recording_id"])
    assert checks.get("sha256_verified") and checks.get("container_matches_content_type")
