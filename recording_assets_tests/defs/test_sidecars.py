"""Sidecars end to end: a sandbox day archived into moto through the code location's definitions; every
archived recording gets exactly one ``{recordingId}_metadata.json`` beside it, whose fields are its manifest
row's, and a re-run writes only what is missing, replaces nothing and takes no sidecar for a stray."""

from __future__ import annotations

import json

from recording_assets.archive.sidecar_keys import SIDECAR_SUFFIX
from recording_assets_tests.defs.test_assets_e2e import assert_day_archived, manifest, materialise

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
    assert meta["recording_manifest"]["sidecars"].value == {
        "written": len(archived),
        "present": 0,
        "failed": 0,
    }
    for key, row in expected.items():
        answer = s3.get_object(Bucket=ARCHIVE, Key=key)
        assert answer["ContentType"] == "application/json"
        document = json.loads(answer["Body"].read())
        for column, name in SAME_VALUE.items():
            assert document[name] == row[column], (key, name)
        assert document["mediaType"] == MEDIA[row["media_type"]]
        assert document["conversationStartTime"] == row["conversation_start"].isoformat()
        assert document["exportedAt"] == row["exported_at"].isoformat()
        assert "participant_addresses" not in json.dumps(document)  # personal data stays in the manifest
        for address in row["participant_addresses"] or ():
            assert address not in json.dumps(document)

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
