"""The day's Parquet documents in the manifest bucket: written whole (a new version of the key) and read
back, whole, a few columns, or a column at a time (``ParquetColumns``).

Each is a mutable document under a stable key (readers and ``dagster/uri`` name the key). The manifest
bucket keeps versions, so a new version that fails verification is deleted by its version id and the
previous one is current again (``ArchiveStore.put_bytes``; docs/operations.md, "Overwrites and concurrent
runs"). A new key per version with a pointer was the alternative; it would move every reader off the key."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from recording_assets.archive.protocol import DocumentStore
from recording_assets.pipeline.tables import TYPE_OF, from_parquet_bytes, to_parquet_bytes

PARQUET = "application/vnd.apache.parquet"


class MissingTableError(LookupError):
    """A table a step needs is not in the bucket: its upstream step has not run for that day."""


def write_table(store: DocumentStore, key: str, table: pa.Table) -> str:
    """Store ``table`` under ``key``; returns its ``s3://`` URI."""
    return write_document(store, key, to_parquet_bytes(table))


def write_document(store: DocumentStore, key: str, data: bytes) -> str:
    """Store a Parquet document (``tables.parts_to_parquet_bytes``) under ``key``; returns its URI."""
    store.put_bytes(key, data, content_type=PARQUET, overwrite=True)
    return f"s3://{store.bucket}/{key}"


def read_table(store: DocumentStore, key: str, *, columns: Sequence[str] | None = None) -> pa.Table | None:
    """The table under ``key`` (or only ``columns`` of it), None when there is none."""
    body = store.get_bytes(key)
    return None if body is None else from_parquet_bytes(body, columns)


def require_table(store: DocumentStore, key: str, *, columns: Sequence[str] | None = None) -> pa.Table:
    table = read_table(store, key, columns=columns)
    if table is None:
        raise _missing(store, key)
    return table


def _missing(store: DocumentStore, key: str) -> MissingTableError:
    return MissingTableError(
        f"s3://{store.bucket}/{key} does not exist: materialise the upstream asset for this partition first"
    )


class ParquetColumns:
    """A stored table read a column at a time: each column is decoded when asked for and not kept, so a step
    that uses a 100,000-row table's columns one after another holds the compressed document and one column,
    not the table. A column of these tables that the file lacks reads as nulls of its type, as in
    ``from_parquet_bytes``."""

    def __init__(self, data: bytes) -> None:
        self._file = pq.ParquetFile(io.BytesIO(data))
        schema = self._file.schema_arrow
        self._held = set(schema.names)
        self.num_rows: int = self._file.metadata.num_rows
        self.schema_metadata: dict[bytes, bytes] = dict(schema.metadata or {})

    def column(self, name: str) -> pa.ChunkedArray:
        if name in self._held:
            return self._file.read(columns=[name]).column(0)
        if name in TYPE_OF:
            return pa.chunked_array([pa.nulls(self.num_rows, TYPE_OF[name])])
        raise KeyError(f"the table has no column {name!r}")


def require_columns(store: DocumentStore, key: str) -> ParquetColumns:
    """The table under ``key``, to be read a column at a time (``MissingTableError`` when there is none)."""
    body = store.get_bytes(key)
    if body is None:
        raise _missing(store, key)
    return ParquetColumns(body)
