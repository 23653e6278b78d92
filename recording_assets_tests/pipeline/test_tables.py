"""One column list per table: the Parquet schemas (pinned here), the shared columns, the generated docs."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from recording_assets.pipeline import tables
from recording_assets.pipeline.tables import (
    AUDIT,
    CONVERSATION_ID,
    CONVERSATIONS,
    MANIFEST,
    MANIFEST_TABLE,
    METADATA,
    OUTCOMES,
    OUTCOMES_TABLE,
    RUN_ID,
    SHA256,
    Column,
    from_parquet_bytes,
    to_parquet_bytes,
    to_table,
)
from recording_assets.pipeline.tables_doc import DOCUMENTED, tables_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
TS = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())
S, I32, I64 = pa.string(), pa.int32(), pa.int64()
# Personal data is tagged in the field's metadata, so any Parquet reader can see it is PII.
PII_ADDRESSES = pa.field("participant_addresses", STRINGS, metadata={b"pii": b"true"})
# The names of the id lists, each aligned with its ids; absent from older files, which read them as nulls.
NAMES = [
    ("agent_names", STRINGS), pa.field("agent_emails", STRINGS, metadata={b"pii": b"true"}),
    ("queue_names", STRINGS), ("wrap_up_names", STRINGS), ("division_names", STRINGS),
]  # fmt: skip

# One analytics session, and what a recording's recordingmetadata item says of it (when looked up).
SESSION = pa.struct([
    ("session_id", S), ("media_type", S), ("message_type", S), ("direction", S),
    ("session_start", TS), ("session_end", TS), ("duration_ms", I64), ("recorded", pa.bool_()),
])  # fmt: skip
DESCRIPTION = [("media_subtype", S), ("session_id", S), ("recording_start", TS), ("recording_end", TS)]

# The files already written by earlier runs are read back with these schemas: names, types and order
# are fixed. Stated literally here, so a change in tables.py cannot move both sides at once. Laid out as
# a table, several columns a line (fmt: skip keeps it so).
WRITTEN = {
    "metadata": [
        ("conversation_id", S), ("conversation_start", TS), ("conversation_end", TS), ("duration_ms", I64),
        ("originating_direction", S), ("media_types", STRINGS), ("agent_ids", STRINGS),
        ("queue_ids", STRINGS), ("wrap_up_codes", STRINGS), ("division_ids", STRINGS),
        ("recorded_sessions", I32),
        # the client's flag; absent from older tables, which are read by name (row.get: nothing flagged)
        ("invalid_reason", S),
        PII_ADDRESSES,  # absent from older files, which read it as nulls
        *NAMES,
        ("sessions", pa.list_(SESSION)),  # absent from older files, which read it as nulls
    ],
    "outcomes": [
        ("conversation_id", S), ("recording_id", S), ("state", S), ("reason", S), ("sha256", S),
        ("size_bytes", I64), ("content_type", S), ("container", S), ("storage_uri", S), ("quarantine_uri", S),
        ("file_state", S), ("attempts", I32), ("archived_at", TS), ("archived_run_id", S),
        ("checksum_verified_by", S), ("quarantine_repeats", I32),
        ("restore_until", TS),  # restore (opt in); absent from older files, which are read by name (row.get)
        ("retain_until", TS), ("lock_mode", S),  # Object Lock (opt in); absent from older files: nulls
        *DESCRIPTION,  # absent from older files: nulls
        ("run_id", S),
    ],
    "conversations": [("conversation_id", S), ("recorded_sessions", I32), ("recordings", I32),
                      ("settled", pa.bool_()), ("run_id", S)],
    "manifest": [
        ("conversation_id", S), ("recording_id", S), ("state", S), ("reason", S), ("sha256", S),
        ("size_bytes", I64), ("content_type", S), ("container", S), ("storage_uri", S), ("media_type", S),
        ("conversation_start", TS), ("conversation_end", TS), ("duration_ms", I64), ("agent_ids", STRINGS),
        ("queue_ids", STRINGS), ("wrap_up_codes", STRINGS), ("exported_at", TS), ("run_id", S),
        ("run_outcome", S), ("manifest_run_id", S),
        # the annotations setting (opt in); absent from older manifests, which are read by name
        ("annotations", pa.list_(pa.struct([("reason", S), ("type", S), ("location_ms", I64), ("duration_ms", I64)]))),
        # the evidence of a bad download; absent from older manifests, which read it as nulls
        ("quarantine_uri", S),
        # the Object Lock each object got (opt in); absent from older manifests, which read them as nulls
        ("retain_until", TS), ("lock_mode", S),
        PII_ADDRESSES,  # absent from older manifests, which read it as nulls
        ("division_ids", STRINGS), *NAMES,  # absent from older manifests, which read them as nulls
        ("originating_direction", S), ("media_types", STRINGS),  # absent from older manifests: nulls
        *DESCRIPTION, ("recording_duration_ms", I64),  # absent from older manifests: nulls
    ],
    "audit": [
        ("at", TS), ("run_id", S), ("launched_by", S), ("event", S), ("conversation_id", S),
        ("recording_id", S), ("attempt", I32), ("latency_ms", I64), ("bytes", I64), ("sha256", S),
        ("http_status", I32),
        ("correlation_id", S), ("state", S), ("reason", S),
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("metadata", METADATA),
        ("outcomes", OUTCOMES),
        ("conversations", CONVERSATIONS),
        ("manifest", MANIFEST),
        ("audit", AUDIT),
    ],
)
def test_schemas_are_the_ones_already_written(name, schema):
    assert schema.equals(pa.schema(WRITTEN[name]), check_metadata=True)
    assert all(field.nullable for field in schema)


def test_manifest_reuses_the_outcome_columns_by_reference():
    shared = [c for c in MANIFEST_TABLE.columns if c in OUTCOMES_TABLE.columns]
    names = ["conversation_id", "recording_id", "content_type", "container", "quarantine_uri"]
    names += ["media_subtype", "session_id", "recording_start", "recording_end"]
    assert [c.name for c in shared] == names
    assert MANIFEST_TABLE.columns[0] is CONVERSATION_ID is OUTCOMES_TABLE.columns[0]
    # Where the meaning differs the manifest says so, keeping the name and type.
    manifest_sha = MANIFEST_TABLE.columns[4]
    assert (manifest_sha.name, manifest_sha.type) == (SHA256.name, SHA256.type)
    assert manifest_sha.doc != SHA256.doc
    assert OUTCOMES_TABLE.columns[-1] is RUN_ID


def test_a_column_name_has_one_type_in_every_table():
    """What a column missing from an older file reads as (``from_parquet_bytes``) is its one type."""
    for table in tables.TABLES:
        for column in table.columns:
            assert tables.TYPE_OF[column.name] == column.type, (table.name, column.name)


def test_described_keeps_name_and_type():
    column = Column("x", pa.int64(), "before")
    assert column.described("after") == Column("x", pa.int64(), "after")
    assert column.doc == "before"


def test_to_table_fills_missing_columns_with_nulls_in_schema_order():
    table = to_table([{"run_id": "r", "conversation_id": "c1", "attempts": 2}], OUTCOMES)
    assert table.schema == OUTCOMES
    row = table.to_pylist()[0]
    assert list(row) == OUTCOMES.names
    assert (row["conversation_id"], row["attempts"], row["run_id"], row["sha256"]) == ("c1", 2, "r", None)


def test_to_table_refuses_unknown_columns():
    with pytest.raises(ValueError, match=r"unknown columns \['colour'\]"):
        to_table([{"conversation_id": "c1", "colour": "red"}], OUTCOMES)


def test_parquet_round_trip_keeps_schema_and_rows():
    table = to_table([{"conversation_id": "c1", "media_types": ["voice"], "recorded_sessions": 3}], METADATA)
    data = to_parquet_bytes(table)
    assert data[:4] == b"PAR1"
    back = from_parquet_bytes(data)
    assert back.schema.equals(METADATA) and back.to_pylist() == table.to_pylist()


def test_markdown_lists_every_column_of_every_table():
    text = tables_markdown()
    assert {"expiry_radar", "orphans"} <= {table.name for table in DOCUMENTED}
    for table in DOCUMENTED:
        section = text.split(f"## {table.name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"Key of one day: `{table.example_key}`" in section
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert [row.split("`")[1] for row in rows] == table.schema.names
    assert "| `sha256` | `string` |" in text
    assert "`manifests/date=2026-11-20/manifest.parquet`" in text


def test_docs_tables_md_is_current():
    assert DOCS.read_text() == tables_markdown(), (
        "docs/tables.md is stale: python -m recording_assets.pipeline.tables_doc > docs/tables.md"
    )


def test_the_athena_table_in_the_docs_is_the_generated_one():
    """docs/finding.md shows the statement ``athena.manifest_ddl`` derives from the manifest's schema."""
    from recording_assets.pipeline.athena import manifest_ddl, metadata_ddl

    finding = (DOCS.parent / "finding.md").read_text()
    assert manifest_ddl() in finding and metadata_ddl() in finding
    assert all(f"  {name} " in manifest_ddl() for name in MANIFEST.names)
