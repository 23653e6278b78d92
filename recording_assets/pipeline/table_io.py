"""The day's Parquet documents in the manifest bucket: written whole (overwriting the previous version) and
read back, whole or a few columns."""

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
