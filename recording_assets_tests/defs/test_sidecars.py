"""Sidecars end to end: a sandbox day archived into moto through the code location's definitions; every
archived recording gets exactly one ``{recordingId}_metadata.json`` beside it, whose fields are its manifest
row's, written by the day step beside its downloads (only what that leaves out by the manifest step), and a
re-run writes only what is missing, replaces nothing and takes no sidecar for a stray."""

from __future__ import annotations

import json

import dagster as dg

from recording_assets.archive.sidecar_keys import SIDECAR_SUFFIX
from recording_assets.defs.names import AUDIO, MANIFEST, METADATA
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.defs.test_assets_e2e import DAY, assert_day_archived, manifest, materialise
from recording_assets_tests.run_results import materialisations_of

ARCHIVE = "recording-archive"
# Manifest column -> sidecar field, stated here again on purpose: the test holds the documented mapping
# (docs/finding.md, "Sidecars"), not whatever the module happens to do.
SAME_VALUE = {
    "conversation_id": "conversationId",
    "recording_id": "recordingId",
    "agent_ids": "userIds",
    "queue_ids": "queueIds",
    "wrap_up_codes": "wrapupCodes",
    "duration_ms": "durationMs",
    "sha256": "sha256",
    "size_bytes": "sizeBytes",
    "content_type": "contentType",
    "container": "container",
    "storage_uri": "storageUri",
    "run_id": "archiveRunId",
    "lock_mode": "lockMode",
    "division_ids": "divisionIds",
    "agent_names": "userNames",
    "agent_emails": "userEmails",
    "queue_names": "queueNames",
    "wrap_up_names": "wrapupNames",
    "division_names": "divisionNames",
    "media_subtype": "mediaSubtype",
    "session_id": "sessionId",
    "recording_duration_ms": "recordingDurationMs",
}
SAME_TIME = {
    "conversation_start": "conversationStartTime",
    "conversation_end": "conversationEndTime",
    "exported_at": "exportedAt",
    "retain_until": "retainUntil",
    "recording_start": "recordingStartTime",
    "recording_end": "recordingEndTime",
}
MEDIA = {"audio": "Call", "screen": "Screen", "chat": "Chat", "message": "Message", "email": "Email"}


def archive_listing(s3) -> dict[str, tuple]:
    """Every key of the archive bucket -> its ETag and when it was written (a rewrite of the same bytes
    keeps the ETag, not the time)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=ARCHIVE)
    return {o["Key"]: (o["ETag"], o["LastModified"]) for page in pages for o in page.get("Contents", ())}


def test_every_archived_recording_has_exactly_one_sidecar_that_matches_its_manifest_row(local_stack):
    local = local_stack(conversations_per_day=40)
    result, checks, meta = materialise()
    assert result.success and all(checks.values())
    rows = manifest(local)
    assert_day_archived(local, rows)
    s3 = local.s3_client()
    listing = archive_listing(s3)
    sidecars = {key for key in listing if key.endswith(SIDECAR_SUFFIX)}
    archived = [row for row in rows if row["state"] == "archived"]
    expected = {
        row["storage_uri"].removeprefix(f"s3://{ARCHIVE}/").rsplit("/", 1)[0]
        + f"/{row['recording_id']}{SIDECAR_SUFFIX}": row
        for row in archived
    }
    assert sidecars == set(expected)  # one per archived recording, none for any other state
    # All written by the day step, beside its downloads: the manifest step finds each one there.
    assert meta["recording_audio"]["sidecars_written"].value == len(archived)
    assert meta["recording_manifest"]["sidecars"].value == {
        "written": 0,
        "present": len(archived),
        "failed": 0,
    }
    assert_sidecars_say_their_rows(s3, expected)

    # A re-run: no sidecar replaced, none taken for a stray or a recording; one deleted is written again.
    lost = sorted(expected)[0]
    s3.delete_object(Bucket=ARCHIVE, Key=lost)
    result, checks, meta = materialise()
    assert result.success and all(checks.values())
    assert meta["recording_audio"]["stray_keys"].value == 0
    assert meta["recording_audio"]["uploaded_objects"].value == 0
    assert meta["recording_manifest"]["sidecars"].value == {
        "written": 1,
        "present": len(archived) - 1,
        "failed": 0,
    }
    after = archive_listing(s3)
    assert set(after) == set(listing)
    assert {k: v for k, v in after.items() if k != lost} == {k: v for k, v in listing.items() if k != lost}


def test_without_the_days_names_the_manifest_step_writes_every_sidecar(local_stack):
    """The audio alone (from the stored table) has no names to build sidecars with: it writes none, and the
    manifest step writes them all, the same documents."""
    local = local_stack(conversations_per_day=20)
    job = load_definitions().resolve_job_def("archive_day")
    meta = {}
    with dg.DagsterInstance.ephemeral() as instance:
        for selected, node in (
            (METADATA, "recording_metadata"),
            (AUDIO, "recording_audio"),
            (MANIFEST, "recording_manifest"),
        ):
            result = job.execute_in_process(partition_key=DAY, instance=instance, asset_selection=[selected])
            assert result.success
            meta[node] = materialisations_of(result, node)[0].metadata
    rows = manifest(local)
    archived = [row for row in rows if row["state"] == "archived"]
    assert archived
    assert meta["recording_audio"]["sidecars_written"].value == 0
    assert meta["recording_manifest"]["sidecars"].value == {
        "written": len(archived),
        "present": 0,
        "failed": 0,
    }
    s3 = local.s3_client()
    assert_sidecars_say_their_rows(
        s3,
        {
            row["storage_uri"].removeprefix(f"s3://{ARCHIVE}/").rsplit("/", 1)[0]
            + f"/{row['recording_id']}{SIDECAR_SUFFIX}": row
            for row in archived
        },
    )


def assert_sidecars_say_their_rows(s3, expected: dict[str, dict]) -> None:
    """Each sidecar key's document holds its manifest row's values, and no participant address."""
    assert any(row["agent_names"] for row in expected.values())  # the names are there to compare
    for key, row in expected.items():
        answer = s3.get_object(Bucket=ARCHIVE, Key=key)
        assert answer["ContentType"] == "application/json"
        document = json.loads(answer["Body"].read())
        for column, name in SAME_VALUE.items():
            assert document[name] == row[column], (key, name)
        for column, name in SAME_TIME.items():
            assert document[name] == (row[column].isoformat() if row[column] else None), (key, name)
        assert document["mediaType"] == MEDIA[row["media_type"]]
        assert "participant_addresses" not in json.dumps(document)  # personal data stays in the manifest
        for address in row["participant_addresses"] or ():
            assert address not in json.dumps(document)
