"""The manifest joins outcomes with conversation metadata and describes the archive, not the run."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from recording_assets.pipeline.manifest import (
    CHECKED_COLUMNS,
    archived_bytes,
    duplicate_keys,
    manifest_parts,
    manifest_table,
    media_type_of,
    missing_objects,
    state_counts,
)
from recording_assets.pipeline.table_io import ParquetColumns
from recording_assets.pipeline.tables import (
    MANIFEST,
    METADATA,
    OUTCOMES,
    from_parquet_bytes,
    parquet_parts,
    parts_to_parquet_bytes,
    to_parquet_bytes,
    to_table,
)

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
END = datetime(2026, 11, 20, 9, 5, tzinfo=timezone.utc)
EARLIER = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
URI = "s3://archive/recordings/year=2026/month=11/day=20/queue=q1/c1/r1.wav"
RETAIN_UNTIL = datetime(2033, 11, 20, 9, 0, tzinfo=timezone.utc)  # START + 7 years of Object Lock


# The conversation columns the manifest copies from the metadata table.
CONVERSATION = {
    "conversation_start": START,
    "conversation_end": END,
    "duration_ms": 300_000,
    "agent_ids": ["a1"],
    "queue_ids": ["q1"],
    "wrap_up_codes": ["sale"],
    "participant_addresses": ["tel:+15550001111", "tel:+18005550001"],
    "division_ids": ["d1"],
    "agent_names": ["Ada Lovelace"],
    "agent_emails": ["ada@example.com"],
    "queue_names": ["Claims"],
    "wrap_up_names": [None],  # an id without a name: null at its index
    "division_names": ["Home"],
    "originating_direction": "inbound",
    "media_types": ["voice"],
}
# What r1's recordingmetadata item said (a look-up); r0 was never looked up.
DESCRIBED = {
    "media_subtype": "Screen",
    "session_id": "s1",
    "recording_start": START,
    "recording_end": datetime(2026, 11, 20, 9, 4, 30, 500000, tzinfo=timezone.utc),
}


def metadata():
    row = {"conversation_id": "c1", **CONVERSATION, "recorded_sessions": 2}
    return to_table([row], METADATA)


def outcomes(run_id: str, first_state: str):
    archived = {
        "conversation_id": "c1",
        "recording_id": "r1",
        "state": first_state,
        "reason": "kept from an earlier run",
        "sha256": "ab" * 32,
        "size_bytes": 1234,
        "content_type": "audio/wav",
        "container": "wav",
        "storage_uri": URI,
        "archived_at": EARLIER,
        "archived_run_id": "run-1",
        "retain_until": RETAIN_UNTIL,
        "lock_mode": "COMPLIANCE",
        **DESCRIBED,
        "run_id": run_id,
    }
    failed = {
        "conversation_id": "c1",
        "recording_id": "r0",
        "state": "failed",
        "reason": "media URL expired (403) at attempt 3 of 3",
        "sha256": "cd" * 32,
        "size_bytes": 99,
        "content_type": "audio/ogg",
        "storage_uri": "s3://should-not-show",
        "retain_until": RETAIN_UNTIL,  # an unverified write left locked: not the archive's, not shown
        "lock_mode": "COMPLIANCE",
        "run_id": run_id,
    }
    return to_table([archived, failed], OUTCOMES)


def test_rows_sorted_and_joined_with_the_conversation():
    table = manifest_table(metadata(), outcomes("run-1", "archived"), manifest_run_id="run-1")
    assert table.schema == MANIFEST
    failed, archived = table.to_pylist()
    assert (failed["recording_id"], archived["recording_id"]) == ("r0", "r1")
    assert archived == {
        "conversation_id": "c1",
        "recording_id": "r1",
        "state": "archived",
        "reason": None,
        "sha256": "ab" * 32,
        "size_bytes": 1234,
        "content_type": "audio/wav",
        "container": "wav",
        "storage_uri": URI,
        "quarantine_uri": None,  # no download of it was bad
        "media_type": "audio",
        **CONVERSATION,
        "exported_at": EARLIER,
        "run_id": "run-1",
        "run_outcome": "archived",
        "manifest_run_id": "run-1",
        "annotations": None,  # the annotations setting is off
        "retain_until": RETAIN_UNTIL,  # the Object Lock the object was written with
        "lock_mode": "COMPLIANCE",
        **DESCRIBED,
        "recording_duration_ms": 270_500,
    }
    assert (failed["retain_until"], failed["lock_mode"]) == (None, None)
    described = ["media_subtype", "session_id", "recording_start", "recording_end", "recording_duration_ms"]
    assert [failed[name] for name in described] == [None] * 5


EVIDENCE = "s3://archive/quarantine/year=2026/month=11/day=20/queue=q1/c1/{rid}.html." + "ef" * 32


def test_a_row_points_at_its_evidence_whether_the_recording_is_quarantined_or_archived_after_it():
    """The evidence of a bad download is named by the recording's row in either case: quarantined (the
    bytes that decided it) and archived after a bad first download (the reader sees it had one)."""
    archived, failed = outcomes("run-1", "archived").to_pylist()
    archived["quarantine_uri"] = EVIDENCE.format(rid="r1")  # archived on a later attempt
    quarantined = {**failed, "state": "quarantined", "reason": "container check failed: html"}
    rows = [archived, {**quarantined, "quarantine_uri": EVIDENCE.format(rid="r0"), "storage_uri": None}]
    table = manifest_table(metadata(), to_table(rows, OUTCOMES), manifest_run_id="m").to_pylist()
    by_id = {row["recording_id"]: row for row in table}
    assert (by_id["r0"]["state"], by_id["r0"]["quarantine_uri"]) == ("quarantined", EVIDENCE.format(rid="r0"))
    assert (by_id["r1"]["state"], by_id["r1"]["quarantine_uri"]) == ("archived", EVIDENCE.format(rid="r1"))
    assert by_id["r1"]["storage_uri"] == URI and by_id["r0"]["sha256"] is None  # proof only for the archive


def test_tables_written_before_the_quarantine_uri_column_still_load():
    """An outcomes table and a manifest of an earlier version (no ``quarantine_uri``) read through the same
    path as today's: the column comes back as nulls, and the manifest is built from the old outcomes."""
    old_outcomes = outcomes("run-1", "archived").drop_columns(["quarantine_uri"])
    read = ParquetColumns(to_parquet_bytes(old_outcomes))
    assert read.column("quarantine_uri").to_pylist() == [None, None]
    table = manifest_table(metadata(), read, manifest_run_id="m")
    assert table.schema == MANIFEST and table["quarantine_uri"].to_pylist() == [None, None]
    old_manifest = table.drop_columns(["quarantine_uri"])
    again = from_parquet_bytes(to_parquet_bytes(old_manifest), MANIFEST.names)
    assert again.schema == MANIFEST and again.drop_columns(["quarantine_uri"]).equals(old_manifest)


def test_tables_written_before_the_object_lock_columns_still_load():
    """Outcomes and manifests written before ``retain_until``/``lock_mode`` existed read them as nulls."""
    lock_columns = ["retain_until", "lock_mode"]
    old_outcomes = outcomes("run-1", "archived").drop_columns(lock_columns)
    read = ParquetColumns(to_parquet_bytes(old_outcomes))
    assert (
        read.column("retain_until").to_pylist() == [None, None] and read.column("lock_mode").null_count == 2
    )
    table = manifest_table(metadata(), read, manifest_run_id="m")
    assert table.schema == MANIFEST and table["lock_mode"].to_pylist() == [None, None]
    old_manifest = table.drop_columns(lock_columns)
    again = from_parquet_bytes(to_parquet_bytes(old_manifest), MANIFEST.names)
    assert again.schema == MANIFEST and again.drop_columns(lock_columns).equals(old_manifest)


def test_annotations_fill_the_list_column_when_given():
    secure = [{"reason": "SecurePause", "type": "System", "location_ms": 1200, "duration_ms": 30000}]
    notes = {("c1", "r1"): secure}
    rows = manifest_table(
        metadata(), outcomes("run-1", "archived"), manifest_run_id="run-1", annotations=notes
    )
    assert [r["annotations"] for r in rows.to_pylist()] == [None, secure]


def test_a_recording_not_in_the_archive_keeps_its_reason_and_no_proof():
    failed = manifest_table(metadata(), outcomes("run-1", "archived"), manifest_run_id="run-1").to_pylist()[0]
    assert failed["state"] == "failed" and failed["run_outcome"] == "failed"
    assert failed["reason"] == "media URL expired (403) at attempt 3 of 3"
    proof = ("sha256", "size_bytes", "storage_uri", "exported_at", "run_id")
    assert [failed[column] for column in proof] == [None] * 5


def test_a_rerun_changes_only_the_run_columns():
    first = manifest_table(metadata(), outcomes("run-1", "archived"), manifest_run_id="run-1").to_pylist()
    rerun = outcomes("run-2", "already_archived")
    second = manifest_table(metadata(), rerun, manifest_run_id="run-2").to_pylist()
    assert second[1]["run_outcome"] == "already_archived" and second[1]["manifest_run_id"] == "run-2"
    run_columns = {"run_outcome", "manifest_run_id"}

    def strip(rows):
        return [{k: v for k, v in row.items() if k not in run_columns} for row in rows]

    assert strip(first) == strip(second)


def test_an_outcome_without_metadata_has_null_conversation_columns():
    table = manifest_table(to_table([], METADATA), outcomes("run-1", "archived"), manifest_run_id="m")
    row = table.to_pylist()[1]
    assert row["conversation_start"] is None and row["agent_ids"] is None and row["sha256"] == "ab" * 32


def test_media_type_from_container_first_then_content_type():
    assert media_type_of("audio/ogg", "ogg") == "audio"
    assert media_type_of("video/webm", "webm") == "screen"
    assert media_type_of("application/json", "json") == "chat"
    assert media_type_of("application/zip", "zip") == "message"
    assert media_type_of("message/rfc822", "eml") == "email"
    assert media_type_of(" Audio /wav", None) == "audio"
    assert media_type_of("text/html", "html") is None
    assert media_type_of(None, None) is None


# -- what the manifest step counts and checks, in Arrow ------------------------------------------------


def test_counts_by_state_and_archived_bytes():
    table = manifest_table(metadata(), outcomes("run-1", "already_archived"), manifest_run_id="m")
    assert state_counts(table) == {"archived": 1, "failed": 1}
    assert archived_bytes(table) == 1234  # the failed row's 99 bytes are not in the archive (null)
    empty = table.slice(0, 0)
    assert (state_counts(empty), archived_bytes(empty), duplicate_keys(empty)) == ({}, 0, [])


def test_duplicate_keys_are_named_once_each():
    table = manifest_table(metadata(), outcomes("run-1", "archived"), manifest_run_id="m")
    assert duplicate_keys(table) == []
    twice = pa.concat_tables([table, table, table.slice(1, 1)])
    assert duplicate_keys(twice) == [("c1", "r0"), ("c1", "r1")]


def test_missing_objects_are_archived_rows_the_listing_lacks():
    table = manifest_table(metadata(), outcomes("run-1", "archived"), manifest_run_id="m")
    assert missing_objects(table, iter(["s3://archive/a", URI, "s3://archive/z"]), chunk=1) == []
    assert missing_objects(table, iter(["s3://archive/a", "s3://archive/z"]), chunk=1) == [URI]
    assert missing_objects(table, iter([])) == [URI]  # the failed row is not looked for


def test_participant_addresses_are_joined_and_tagged_as_personal_data():
    table = manifest_table(metadata(), outcomes("run-1", "archived"), manifest_run_id="run-1")
    assert {row["participant_addresses"][0] for row in table.to_pylist()} == {"tel:+15550001111"}
    for schema in (MANIFEST, METADATA):
        assert schema.field("participant_addresses").metadata == {b"pii": b"true"}
        assert schema.field("agent_ids").metadata is None  # only personal data is tagged
    assert table.schema.field("participant_addresses").metadata == {b"pii": b"true"}
    written = from_parquet_bytes(to_parquet_bytes(table))
    assert written.schema.field("participant_addresses").metadata == {b"pii": b"true"}


def test_tables_written_before_the_address_column_still_load_and_join():
    """A metadata table and a manifest from before the column: they read with nulls in it."""
    old_metadata = to_parquet_bytes(metadata().drop_columns(["participant_addresses"]))
    loaded = from_parquet_bytes(old_metadata, METADATA.names)
    assert loaded["participant_addresses"].to_pylist() == [None]
    table = manifest_table(loaded, outcomes("run-1", "archived"), manifest_run_id="run-1")
    assert table.schema == MANIFEST
    assert table["participant_addresses"].to_pylist() == [None, None]
    old_manifest = to_parquet_bytes(table.drop_columns(["participant_addresses"]))
    assert from_parquet_bytes(old_manifest, MANIFEST.names).column_names == MANIFEST.names


def test_an_erased_row_keeps_no_participant_address():
    table = manifest_table(metadata(), outcomes("run-1", "erased"), manifest_run_id="run-2")
    failed, erased = table.to_pylist()
    assert (erased["state"], erased["storage_uri"], erased["sha256"]) == ("erased", None, None)
    assert erased["participant_addresses"] is None
    assert failed["participant_addresses"] == CONVERSATION["participant_addresses"]


def test_the_manifest_is_the_same_from_stored_tables_read_a_column_at_a_time():
    """The manifest step reads its inputs a column at a time (``ParquetColumns``): the same manifest as from
    the tables whole, and the stored schema metadata (what the run did) comes with them."""
    rows = outcomes("run-1", "archived").replace_schema_metadata({b"k": b"v"})
    stored = ParquetColumns(to_parquet_bytes(rows))
    whole = manifest_table(metadata(), rows, manifest_run_id="m")
    assert manifest_table(ParquetColumns(to_parquet_bytes(metadata())), stored, manifest_run_id="m").equals(
        whole
    )
    assert stored.num_rows == rows.num_rows and stored.schema_metadata[b"k"] == b"v"
    with pytest.raises(KeyError, match="no_such_column"):
        stored.column("no_such_column")


def test_each_rows_media_type_is_that_of_its_content_type_and_container():
    """Worked out once per pair in Arrow: each row still gets ``media_type_of`` its own pair, nulls and a
    content type holding the pair's separator (an API's answer) included."""
    pairs = [
        ("audio/wav", "wav"),
        ("video/webm", "webm"),
        (None, "json"),
        ("application/zip", "zip"),
        (None, None),
        ("audio/\x1fogg", "ogg"),
        ("audio/ogg", None),
        ("message/rfc822", "eml"),
        ("audio/wav", "wav"),
    ]
    base = outcomes("run-1", "archived").to_pylist()[0]
    rows = [
        {**base, "recording_id": f"r{n}", "content_type": content_type, "container": container}
        for n, (content_type, container) in enumerate(pairs)
    ]
    table = manifest_table(metadata(), to_table(rows, OUTCOMES), manifest_run_id="m").to_pylist()
    got = {row["recording_id"]: row["media_type"] for row in table}
    assert got == {f"r{n}": media_type_of(*pair) for n, pair in enumerate(pairs)}
    assert set(got.values()) == {"audio", "screen", "chat", "message", "email", None}


def test_a_manifest_built_in_parts_is_the_whole_one_and_one_parquet_document():
    """The step builds and writes the manifest a part at a time; the parts are the whole table's rows in
    its order, and their document reads back as the whole table, its schema metadata with it."""
    conversations = [{"conversation_id": f"c{n}", **CONVERSATION, "recorded_sessions": 2} for n in range(7)]
    states = ["archived", "failed", "already_archived", "deleted"]
    rows = [
        {
            "conversation_id": f"c{n % 7}",
            "recording_id": f"r{n:02d}",
            "state": states[n % 4],
            "storage_uri": f"{URI}{n}",
            "size_bytes": n,
            "run_id": "run-1",
        }
        for n in reversed(range(23))
    ]
    meta, outs = to_table(conversations, METADATA), to_table(rows, OUTCOMES)
    whole = manifest_table(meta, outs, manifest_run_id="m")
    parts = list(manifest_parts(ParquetColumns(to_parquet_bytes(meta)), outs, manifest_run_id="m", rows=5))
    assert [part.num_rows for part in parts] == [5, 5, 5, 5, 3]
    assert pa.concat_tables(parts).equals(whole) and whole.num_rows == 23
    schema = MANIFEST.with_metadata({b"note": b"kept"})
    document = parts_to_parquet_bytes(parts, schema)
    read = from_parquet_bytes(document)
    assert read.equals(whole) and read.schema.metadata[b"note"] == b"kept"
    slim = from_parquet_bytes(document, CHECKED_COLUMNS)
    assert state_counts(slim) == state_counts(whole) and archived_bytes(slim) == archived_bytes(whole)
    assert pa.concat_tables(parquet_parts(document, ["recording_id"], rows=4))["recording_id"].equals(
        whole["recording_id"]
    )


def test_an_empty_day_is_one_empty_part():
    parts = list(manifest_parts(to_table([], METADATA), to_table([], OUTCOMES), manifest_run_id="m"))
    assert len(parts) == 1 and parts[0].num_rows == 0 and parts[0].schema.equals(MANIFEST)
