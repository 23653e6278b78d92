"""WORM on the archive side, end to end: a sandbox day archived into a moto bucket with Object Lock, the
bucket's preflight, and the ``legal_hold`` job, all through the code location's definitions.

moto (server mode) enforces Object Lock on delete. Its ``GetObjectRetention`` is broken in server mode (it
answers with the object's body), so the retention is read from ``HeadObject``, which S3 and moto answer
with ``ObjectLockMode`` and ``ObjectLockRetainUntilDate``; ``ObjectLockLegalHoldStatus`` likewise.
"""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest
from botocore.exceptions import ClientError

from recording_assets.archive.sidecar_keys import sidecar_key
from recording_assets.settings import OBJECT_LOCK_DAYS, OBJECT_LOCK_MODE, ConfigError, archive_config
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.defs.test_assets_e2e import DAY, manifest, materialise

ARCHIVE = "recording-archive"
DAYS = 3653  # ten years: every sandbox day's retention is still running, whenever the test runs
RUN_COLUMNS = {"run_outcome", "manifest_run_id"}


def split(uri: str) -> tuple[str, str]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bucket, key


def archived(rows):
    return [row for row in rows if row["state"] == "archived"]


def test_the_policy_is_both_variables_or_neither_and_named_when_wrong():
    assert archive_config({}).object_lock is None
    policy = archive_config({OBJECT_LOCK_MODE: "compliance", OBJECT_LOCK_DAYS: "2557"}).object_lock
    assert policy is not None and (policy.mode, policy.days) == ("COMPLIANCE", 2557)
    with pytest.raises(ConfigError, match=f"{OBJECT_LOCK_DAYS} is not set"):
        archive_config({OBJECT_LOCK_MODE: "GOVERNANCE"})
    with pytest.raises(ConfigError, match=f"{OBJECT_LOCK_MODE} is not set"):
        archive_config({OBJECT_LOCK_DAYS: "30"})
    with pytest.raises(ConfigError, match="use GOVERNANCE or COMPLIANCE"):
        archive_config({OBJECT_LOCK_MODE: "forever", OBJECT_LOCK_DAYS: "30"})
    with pytest.raises(ConfigError, match="whole number"):
        archive_config({OBJECT_LOCK_MODE: "GOVERNANCE", OBJECT_LOCK_DAYS: "7y"})


def test_every_archived_object_carries_its_retention_and_the_manifest_says_so(local_stack, monkeypatch):
    monkeypatch.setenv(OBJECT_LOCK_MODE, "COMPLIANCE")
    monkeypatch.setenv(OBJECT_LOCK_DAYS, str(DAYS))
    local = local_stack(conversations_per_day=30)  # its archive bucket is created with Object Lock
    result, checks, _ = materialise()
    assert result.success and all(checks.values())
    rows = manifest(local)
    s3 = local.s3_client()
    assert len(archived(rows)) > 10
    for row in archived(rows):
        # From the call, not from the run; in whole seconds (S3 keeps no fraction), rounded up.
        until = row["conversation_start"] + timedelta(days=DAYS)
        until = until.replace(microsecond=0) + timedelta(seconds=1 if until.microsecond else 0)
        assert (row["retain_until"], row["lock_mode"]) == (until, "COMPLIANCE")
        head = s3.head_object(Bucket=ARCHIVE, Key=split(row["storage_uri"])[1])
        assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)
        sidecar = s3.head_object(Bucket=ARCHIVE, Key=sidecar_key(split(row["storage_uri"])[1]))
        assert (sidecar["ObjectLockMode"], sidecar["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)
    assert all(row["retain_until"] is None for row in rows if row["state"] != "archived")
    # COMPLIANCE: S3 refuses deleting the version, even with the governance bypass.
    bucket, key = split(archived(rows)[0]["storage_uri"])
    version = s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True)
    # A re-run reads each object's retention back from S3: the same rows.
    materialise()
    strip = lambda rows: [{k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in rows]  # noqa: E731
    assert strip(manifest(local)) == strip(rows)


def step_failure(result, node: str) -> str:
    """The step's error and its causes (Dagster wraps what the step raised), one message."""
    error, messages = result.failure_data_for_node(node).error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def test_the_run_stops_before_any_request_when_the_bucket_cannot_lock(local_stack, monkeypatch):
    local = local_stack(conversations_per_day=10)  # no policy yet: a bucket without Object Lock
    monkeypatch.setenv(OBJECT_LOCK_MODE, "GOVERNANCE")
    monkeypatch.setenv(OBJECT_LOCK_DAYS, "30")
    local.sandbox.reset_stats()
    result, _, _ = materialise(raise_on_error=False)
    assert not result.success
    message = step_failure(result, "recording_day")
    assert f"s3://{ARCHIVE} does not have Object Lock enabled" in message
    assert OBJECT_LOCK_MODE in message and "put-object-lock-configuration" in message
    assert not local.sandbox.stats()["requests"], "Genesys was asked before the bucket was checked"
    listed = local.s3_client().list_objects_v2(Bucket=ARCHIVE, Prefix="recordings/")
    assert listed.get("KeyCount", 0) == 0


def hold(day: str, on: bool, *, conversation_id: str | None = None, reason: str = "Case 2026-114"):
    config = {"day": day, "hold": "on" if on else "off", "reason": reason}
    if conversation_id is not None:
        config["conversation_id"] = conversation_id
    job = load_definitions().resolve_job_def("legal_hold")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            run_config={"ops": {"apply_legal_hold": {"config": config}}},
            instance=instance,
            tags={"dagster/user": "alice@example.com"},
            raise_on_error=False,
        )


def audit_records(local) -> list[dict]:
    s3 = local.s3_client()
    listed = s3.list_objects_v2(Bucket="recording-manifests", Prefix=f"legal-hold-audit/date={DAY}/")
    bodies = [
        s3.get_object(Bucket="recording-manifests", Key=o["Key"])["Body"].read() for o in listed["Contents"]
    ]
    return sorted((json.loads(body) for body in bodies), key=lambda record: record["at"])


def test_a_legal_hold_blocks_deletion_until_cleared_and_both_are_audited(local_stack, monkeypatch):
    # GOVERNANCE: a role with the bypass may delete a version early, unless it is under a legal hold.
    monkeypatch.setenv(OBJECT_LOCK_MODE, "GOVERNANCE")
    monkeypatch.setenv(OBJECT_LOCK_DAYS, str(DAYS))
    local = local_stack(conversations_per_day=30)
    assert materialise()[0].success
    rows = archived(manifest(local))
    held_cid = rows[0]["conversation_id"]
    held = [r for r in rows if r["conversation_id"] == held_cid]
    other = next(r for r in rows if r["conversation_id"] != held_cid)
    s3 = local.s3_client()

    def delete(row) -> None:
        bucket, key = split(row["storage_uri"])
        version = s3.head_object(Bucket=bucket, Key=key)["VersionId"]
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True)

    assert hold(DAY, True, conversation_id=held_cid).success
    for row in held:
        head = s3.head_object(Bucket=ARCHIVE, Key=split(row["storage_uri"])[1])
        assert head["ObjectLockLegalHoldStatus"] == "ON"
        sidecar = s3.head_object(Bucket=ARCHIVE, Key=sidecar_key(split(row["storage_uri"])[1]))
        assert sidecar["ObjectLockLegalHoldStatus"] == "ON"  # held with its recording
        with pytest.raises(ClientError, match="AccessDenied"):
            delete(row)
    delete(other)  # not held: the bypass deletes it, so the refusal above is the hold's
    [on] = audit_records(local)
    assert (on["action"], on["launched_by"], on["result"], on["conversation_id"]) == (
        "legal_hold_on",
        "user:alice@example.com",
        "done",
        held_cid,
    )
    assert on["reason"] == "Case 2026-114" and on["run_id"] and on["at"].startswith("20")
    assert sorted(o["uri"] for o in on["objects"]) == sorted(r["storage_uri"] for r in held)
    assert {o["result"] for o in on["objects"]} == {"changed"}

    assert hold(DAY, False, conversation_id=held_cid, reason="Case 2026-114 closed").success
    _, off = audit_records(local)
    assert (off["action"], off["result"], off["reason"]) == ("legal_hold_off", "done", "Case 2026-114 closed")
    assert len(off["objects"]) == len(held)
    for row in held:
        sidecar = s3.head_object(Bucket=ARCHIVE, Key=sidecar_key(split(row["storage_uri"])[1]))
        assert sidecar["ObjectLockLegalHoldStatus"] == "OFF"
        delete(row)  # cleared: the governance bypass is honoured again


def test_the_legal_hold_job_refuses_a_day_outside_the_partitions_and_ids_outside_the_key_alphabet(
    local_stack, monkeypatch
):
    monkeypatch.setenv(OBJECT_LOCK_MODE, "GOVERNANCE")
    monkeypatch.setenv(OBJECT_LOCK_DAYS, "30")
    local = local_stack(conversations_per_day=5)
    before_start = hold("2019-01-01", True)
    assert (
        "'2019-01-01' is not a partition"
        in before_start.failure_data_for_node("apply_legal_hold").user_failure_data.description
    )
    bad_id = hold(DAY, True, conversation_id="../other-day")
    description = bad_id.failure_data_for_node("apply_legal_hold").user_failure_data.description
    assert "conversation_id" in description and "Nothing was done" in description
    blank = hold(DAY, True, reason="   ")
    assert "reason:" in blank.failure_data_for_node("apply_legal_hold").user_failure_data.description
    # A day with no manifest yet: refused, and the refusal is audited.
    missing = hold(DAY, True)
    assert "does not exist" in missing.failure_data_for_node("apply_legal_hold").user_failure_data.description
    [record] = audit_records(local)
    assert (record["result"], record["objects"]) == ("failed", [])
    assert "MissingTableError" in record["error"] and record["launched_by"] == "user:alice@example.com"


@pytest.mark.parametrize("field", ["object_lock", "object_lock_mode", "object_lock_days"])
def test_the_lock_policy_is_not_run_config(monkeypatch, field):
    # The deployment's alone, like encryption: no resource field, so a Launchpad run cannot weaken or drop it.
    monkeypatch.setenv(OBJECT_LOCK_MODE, "COMPLIANCE")
    monkeypatch.setenv(OBJECT_LOCK_DAYS, str(DAYS))
    job = load_definitions().resolve_job_def("archive_day")
    config = {"resources": {"archive": {"config": {field: None}}}}
    with dg.DagsterInstance.ephemeral() as instance, pytest.raises(dg.DagsterInvalidConfigError, match=field):
        job.execute_in_process(partition_key=DAY, run_config=config, instance=instance)
