"""The day's Parquet documents in the manifest bucket: written whole (a new version of the key) and read
back, whole or a few columns.

Each is a mutable document under a stable key (readers and ``dagster/uri`` name the key). The manifest
bucket keeps versions, so a new version that fails verification is deleted by its version id and the
previous one is current again (``ArchiveStore.put_bytes``; docs/operations.md, "Overwrites and concurrent
runs"). A new key per version with a pointer was the alternative; it would move every reader off the key."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from recording_assets.archive.protocol import DocumentStore
from recording_assets.pipeline.tables import from_parquet_bytes, to_parquet_bytes

PARQUET = "application/vnd.apache.parquet"


class MissingTableError(LookupError):
    """A table a step needs is not in the bucket: its upstream step has not run for that day."""


def write_table(store: DocumentStore, key: str, table: pa.Table) -> str:
    """Store ``table`` under ``key``; returns its ``s3://`` URI."""
    store.put_bytes(key, to_parquet_bytes(table), content_type=PARQUET, overwrite=True)
    return f"s3://{store.bucket}/{key}"


def read_table(store: DocumentStore, key: str, *, columns: Sequence[str] | None = None) -> pa.Table | None:
    """The table under ``key`` (or only ``columns`` of it), None when there is none."""
    body = store.get_bytes(key)
    return None if body is None else from_parquet_bytes(body, columns)


def require_table(store: DocumentStore, key: str, *, columns: Sequence[str] | None = None) -> pa.Table:
    table = read_table(store, key, columns=columns)
    if table is None:
        raise MissingTableError(
            f"s3://{store.bucket}/{key} does not exist: materialise the upstream asset for this partition first"
        )
    return table
