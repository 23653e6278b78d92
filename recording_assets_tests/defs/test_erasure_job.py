"""Acceptance: a GDPR_DELETE request planted in the sandbox erases exactly its subject's archived
recordings from an archived sandbox day in moto, through the ``erase_subject`` job: an audit row each,
stored before the delete; every other object and manifest row unchanged; a re-run of the archive for the
day does not bring the erased recordings back."""

from __future__ import annotations

import hashlib
from datetime import date

import dagster as dg
import httpx

from recording_assets.archive.keys import manifest_key, outcomes_key
from recording_assets.archive.sidecar_keys import sidecar_key
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets.sandbox.timeline import customer_email, customer_number
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.defs.test_assets_e2e import DAY, materialise

ARCHIVE, MANIFESTS = "recording-archive", "recording-manifests"
RUN_COLUMNS = {"run_outcome", "manifest_run_id"}


def table(s3, bucket: str, key: str) -> list[dict]:
    return from_parquet_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).to_pylist()


def objects(s3, bucket: str) -> dict[str, tuple[str, tuple]]:
    """Every key of ``bucket``: (SHA-256 of its bytes, its version ids)."""
    versions: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in (*page.get("Versions", ()), *page.get("DeleteMarkers", ())):
            versions.setdefault(entry["Key"], []).append(entry.get("VersionId") or "null")
    out = {}
    for key, ids in versions.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        out[key] = (hashlib.sha256(body).hexdigest(), tuple(sorted(ids)))
    return out


def subject_of(local, rows: list[dict]) -> tuple[dict, set[str]]:
    """A subject the sandbox knows: the customer of an archived voice call (their number written the way
    a person would give it) and of an archived e-mail (upper case); the conversations it has there."""
    conversations = local.sandbox.org.conversations_for_day(date.fromisoformat(DAY))
    archived = {r["conversation_id"] for r in rows if r["state"] == "archived"}
    voice = next(c for c in conversations if c.media_type == "voice" and c.id in archived)
    email = next(c for c in conversations if c.media_type == "email" and c.id in archived)
    digits = customer_number(voice).removeprefix("tel:+1")
    phone = f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
    expected = {
        c.id
        for c in conversations
        if customer_number(c) == customer_number(voice) or customer_email(c) == customer_email(email)
    }
    return {"phoneNumbers": [phone], "emailAddresses": [customer_email(email).upper()]}, expected


def test_a_gdpr_request_erases_exactly_its_subjects_recordings_and_a_rerun_keeps_them_erased(local_stack):
    local = local_stack(conversations_per_day=40)
    s3 = local.s3_client()
    day = date.fromisoformat(DAY)
    assert materialise()[0].success
    before_rows = table(s3, MANIFESTS, manifest_key(day=day))
    before_objects = objects(s3, ARCHIVE)
    subject, conversations = subject_of(local, before_rows)
    planted = httpx.post(
        f"{local.sandbox.base_url}/__sandbox/gdpr/requests", json={"subject": subject}
    ).json()
    targets = {
        (r["conversation_id"], r["recording_id"]): r
        for r in before_rows
        if r["conversation_id"] in conversations and r["state"] == "archived"
    }
    assert len({cid for cid, _ in targets}) == 2  # the voice call and the e-mail, nothing else

    config = {"gdpr_request_id": planted["id"], "reason": "GDPR art. 17", "first_day": DAY, "last_day": DAY}
    job = load_definitions().resolve_job_def("erase_subject")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config={"ops": {"erase_subject_op": {"config": config}}},
            instance=instance,
            tags={"dagster/user": "dpo@example.com"},
        )
    assert result.success
    run_id = result.run_id

    # Exactly the subject's objects are gone, every version; every other object is byte-identical.
    recordings = {r["storage_uri"].removeprefix(f"s3://{ARCHIVE}/") for r in targets.values()}
    erased_keys = recordings | {sidecar_key(key) for key in recordings}  # each sidecar went with it
    after_objects = objects(s3, ARCHIVE)
    assert set(before_objects) - set(after_objects) == erased_keys
    assert {k: v for k, v in before_objects.items() if k not in erased_keys} == after_objects

    # The manifest: those rows erased (no object, no address), every other row identical.
    after_rows = table(s3, MANIFESTS, manifest_key(day=day))
    for before, after in zip(before_rows, after_rows, strict=True):
        key = (before["conversation_id"], before["recording_id"])
        if key not in targets:
            assert after == before
            continue
        assert (after["state"], after["run_outcome"], after["storage_uri"]) == ("erased", "erased", None)
        assert after["participant_addresses"] is None and after["sha256"] is None
        assert after["reason"] == f"erased: GDPR request {planted['id']}"
    outcomes = {
        (o["conversation_id"], o["recording_id"]): o for o in table(s3, MANIFESTS, outcomes_key(day=day))
    }
    assert {k for k, o in outcomes.items() if o["state"] == "erased"} == set(targets)

    # The audit trail: part 1 (every object, `erasing`) was stored before part 2 says what happened.
    prefix = f"erasure/date={DAY}/run={run_id}/"
    parts = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=MANIFESTS, Prefix=prefix)["Contents"])
    assert [p.rsplit("/", 1)[1] for p in parts] == ["part-00001.parquet", "part-00002.parquet"]
    intent, done = (table(s3, MANIFESTS, p) for p in parts)
    for rows, event in ((intent, "erasing"), (done, "erased")):
        assert {(r["conversation_id"], r["recording_id"]) for r in rows} == set(targets)
        for row in rows:
            manifest_row = targets[(row["conversation_id"], row["recording_id"])]
            assert row["event"] == event and row["launched_by"] == "user:dpo@example.com"
            assert (row["request_id"], row["reason"], row["run_id"]) == (
                planted["id"],
                "GDPR art. 17",
                run_id,
            )
            assert (row["sha256"], row["storage_uri"]) == (
                manifest_row["sha256"],
                manifest_row["storage_uri"],
            )
    assert all(r["versions_deleted"] >= 1 for r in done)
    assert max(r["at"] for r in intent) <= min(r["at"] for r in done)
    text = str(intent + done)
    assert subject["phoneNumbers"][0] not in text and "mail.example" not in text  # no identifier kept

    # A re-run of the archive for the day: the erased recordings stay erased and are not downloaded.
    assert materialise()[0].success
    assert set(objects(s3, ARCHIVE)) == set(after_objects)
    rerun_rows = table(s3, MANIFESTS, manifest_key(day=day))
    strip = lambda rows: [{k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in rows]  # noqa: E731
    assert strip(rerun_rows) == strip(after_rows)


def run_erasure(config: dict, **tags):
    job = load_definitions().resolve_job_def("erase_subject")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            run_config={"ops": {"erase_subject_op": {"config": config}}},
            instance=instance,
            raise_on_error=False,
            tags=tags,
        )


def failure_of(result) -> str:
    failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return failed[0].step_failure_data.user_failure_data.description if failed else ""


def test_operator_identifiers_over_every_day_with_a_manifest_and_config_errors(local_stack):
    local = local_stack(conversations_per_day=20)
    s3 = local.s3_client()
    assert materialise()[0].success
    rows = table(s3, MANIFESTS, manifest_key(day=date.fromisoformat(DAY)))
    cid = next(r["conversation_id"] for r in rows if r["state"] == "archived")
    before = objects(s3, ARCHIVE)
    for config, named in (
        ({"reason": "x"}, "give a gdpr_request_id or the subject's identifiers"),
        ({"reason": "x", "gdpr_request_id": "r", "conversation_ids": [cid]}, "not both"),
        ({"reason": "", "conversation_ids": [cid]}, "reason is required"),
        ({"reason": "x", "phone_numbers": ["12"]}, "phone number 1: not one that can be matched"),
        ({"reason": "x", "conversation_ids": [cid], "first_day": DAY}, "give both first_day and last_day"),
        (
            {"reason": "x", "conversation_ids": [cid], "first_day": "2019-01-01", "last_day": DAY},
            "partition day",
        ),
        ({"reason": "x", "gdpr_request_id": "../x"}, "not a valid GDPR request id"),
    ):
        result = run_erasure(config)
        assert (
            not result.success and named in failure_of(result) and "Nothing was erased" in failure_of(result)
        )
    assert objects(s3, ARCHIVE) == before  # no config error deleted anything

    result = run_erasure({"reason": "court order", "conversation_ids": [cid]})  # every day with a manifest
    assert result.success
    erased = {
        r["storage_uri"].removeprefix(f"s3://{ARCHIVE}/")
        for r in rows
        if r["conversation_id"] == cid and r["state"] == "archived"
    }
    assert set(before) - set(objects(s3, ARCHIVE)) == erased | {sidecar_key(key) for key in erased}
    meta = result.output_for_node("erase_subject_op")
    assert meta == {"erased": len(erased), "held": 0}
