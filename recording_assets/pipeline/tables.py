"""Arrow schemas of the per-day tables, and Parquet (de)serialisation.

- metadata: one row per conversation that started that day (what is known before download);
- outcomes: one row per recording the run touched, with its state (the run's ledger);
- manifest: one row per known recording, what the archive holds and proves (sha256, size, where);
- audit: one row per attempt event (started / finished / failed ...).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

# Arrow's default pool (mimalloc) keeps the pages of freed buffers for reuse, so a day's tables lift
# the process's RSS for the rest of the run (measured: +57 MB on a 3,200-recording day, benchmarks/
# memory.py). These tables are built once per step, where allocation speed does not matter: the
# system allocator hands the memory back.
pa.set_memory_pool(pa.system_memory_pool())

TS = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())

METADATA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("conversation_start", TS),
        ("conversation_end", TS),
        ("duration_ms", pa.int64()),
        ("originating_direction", pa.string()),
        ("media_types", STRINGS),
        ("agent_ids", STRINGS),
        ("queue_ids", STRINGS),
        ("wrap_up_codes", STRINGS),
        ("division_ids", STRINGS),
        ("recorded_sessions", pa.int32()),
    ]
)

OUTCOMES = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("recording_id", pa.string()),
        ("state", pa.string()),
        ("reason", pa.string()),
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("content_type", pa.string()),
        ("container", pa.string()),
        ("storage_uri", pa.string()),
        ("quarantine_uri", pa.string()),
        ("file_state", pa.string()),
        ("attempts", pa.int32()),
        ("archived_at", TS),
        ("archived_run_id", pa.string()),
        ("checksum_verified_by", pa.string()),
        ("run_id", pa.string()),
    ]
)

MANIFEST = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("recording_id", pa.string()),
        ("state", pa.string()),
        ("reason", pa.string()),
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("content_type", pa.string()),
        ("container", pa.string()),
        ("storage_uri", pa.string()),
        ("media_type", pa.string()),
        ("conversation_start", TS),
        ("conversation_end", TS),
        ("duration_ms", pa.int64()),
        ("agent_ids", STRINGS),
        ("queue_ids", STRINGS),
        ("wrap_up_codes", STRINGS),
        ("exported_at", TS),
        ("run_id", pa.string()),  # the run that archived the object (stable across re-runs)
        # Run metadata: what this manifest's run did with the row; differs between re-runs by design.
        ("run_outcome", pa.string()),
        ("manifest_run_id", pa.string()),
    ]
)

AUDIT = pa.schema(
    [
        ("at", TS),
        ("run_id", pa.string()),
        ("launched_by", pa.string()),
        ("event", pa.string()),
        ("conversation_id", pa.string()),
        ("recording_id", pa.string()),
        ("attempt", pa.int32()),
        ("latency_ms", pa.int64()),
        ("bytes", pa.int64()),
        ("sha256", pa.string()),
        ("http_status", pa.int32()),
        ("correlation_id", pa.string()),
        ("state", pa.string()),
        ("reason", pa.string()),
    ]
)


def to_table(rows: Iterable[Mapping], schema: pa.Schema) -> pa.Table:
    """Rows (dicts) to a table of exactly ``schema``; missing keys are nulls, unknown keys an error."""
    rows = list(rows)
    names = set(schema.names)
    for row in rows:
        extra = set(row) - names
        if extra:
            raise ValueError(f"unknown columns {sorted(extra)} for schema with {schema.names}")
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def to_parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def from_parquet_bytes(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))
