"""A day of more than one manifest part writes its sidecars from the document's parts, read back a few rows
at a time: the same sidecars, byte for byte, as from the whole table (moto over HTTP)."""

from __future__ import annotations

from recording_assets.archive.sidecar_keys import sidecar_key
from recording_assets.pipeline.manifest import manifest_table
from recording_assets.pipeline.sidecars import SIDECAR_COLUMNS, write_sidecars
from recording_assets.pipeline.tables import METADATA, OUTCOMES, parquet_parts, to_parquet_bytes, to_table
from recording_assets_tests.pipeline.support import stores
from recording_assets_tests.pipeline.test_manifest import CONVERSATION


def _key(n: int) -> str:
    return f"recordings/year=2026/month=11/day=20/queue=q1/c{n % 3}/r{n}.ogg"


def _manifest(bucket: str):
    conversations = [{"conversation_id": f"c{n}", **CONVERSATION, "recorded_sessions": 1} for n in range(3)]
    rows = [
        {
            "conversation_id": f"c{n % 3}",
            "recording_id": f"r{n}",
            "state": "archived" if n % 4 else "failed",
            "sha256": f"{n:02d}" * 32,
            "size_bytes": n,
            "content_type": "audio/ogg",
            "container": "ogg",
            "storage_uri": f"s3://{bucket}/{_key(n)}",
            "run_id": "run-1",
        }
        for n in range(9)
    ]
    return manifest_table(to_table(conversations, METADATA), to_table(rows, OUTCOMES), manifest_run_id="m")


def test_sidecars_from_the_documents_parts_are_those_of_the_whole_table(s3_client, bucket_names):
    first, second = bucket_names
    by_table, by_parts = stores(s3_client, (first, first))[0], stores(s3_client, (second, second))[0]
    whole, parted = _manifest(first), _manifest(second)
    parts = parquet_parts(to_parquet_bytes(parted), SIDECAR_COLUMNS, rows=2)
    assert write_sidecars(by_table, whole, existing=frozenset()).written == 6
    assert write_sidecars(by_parts, parts, existing=frozenset()).written == 6
    for n in range(9):
        key = sidecar_key(_key(n))
        kept = [by_table.get_bytes(key), by_parts.get_bytes(key)]
        if n % 4 == 0:  # failed: no sidecar
            assert kept == [None, None]
        else:
            assert kept[0] is not None and kept[0].replace(first.encode(), second.encode()) == kept[1]
