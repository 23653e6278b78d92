"""``recording_manifest``: the day's Parquet manifest, proof of what the archive holds.

Written to ``s3://$RECORDING_MANIFEST_BUCKET/manifests/date=YYYY-MM-DD/manifest.parquet``, so the
bucket reads as one Hive-partitioned dataset with pyarrow, DuckDB or Athena.
"""


from collections import Counter

import dagster as dg

from recording_assets.archive.keys import manifest_key, metadata_key, outcomes_key, recording_day_prefix
from recording_assets.defs.catalog import table_metadata
from recording_assets.defs.common import (
    GROUP,
    PROTECTION_KEY,
    SENSITIVE_CHECK_KEY,
    read_table,
    timezone_of,
    window_of,
    write_table,
)
from recording_assets.pipeline.annotations import annotations_key, known
from recording_assets.pipeline.manifest import manifest_table
from recording_assets.defs.resources import ArchiveResource

COMPLETE_CHECK = "manifest_complete"
FAILURE_RATE_CHECK = "failure_rate_below_threshold"


def build_recording_manifest(partitions_def, backfill_policy=None, freshness_policy=None):
    @dg.asset(
        name="recording_manifest",
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        freshness_policy=freshness_policy,
        deps=["recording_audio"],
        group_name=GROUP,
        kinds={"parquet", "s3"},
        description="One Parquet row per known recording of the day: state, sha256, size, container, "
        "storage URI and conversation context. Never a presigned URL or a token.",
        check_specs=[
            dg.AssetCheckSpec(
                COMPLETE_CHECK,
                asset="recording_manifest",
                blocking=True,
                description="One row per discovered recording, no duplicates, every archived row's object exists.",
            ),
            dg.AssetCheckSpec(
                FAILURE_RATE_CHECK,
                asset="recording_manifest",
                description="failed + quarantined recordings stay under the configured share (warns).",
            ),
        ],
    )
    def recording_manifest(context: dg.AssetExecutionContext, archive: ArchiveResource):
        window = window_of(context, timezone_of(context))
        manifest_store = archive.manifest_store()
        metadata = read_table(manifest_store, metadata_key(day=window.day))
        outcomes = read_table(manifest_store, outcomes_key(day=window.day))
        stored = read_table(manifest_store, annotations_key(day=window.day), required=False)
        notes = known(stored) if archive.annotations else None
        table = manifest_table(metadata, outcomes, manifest_run_id=context.run.run_id, annotations=notes)
        uri = write_table(manifest_store, manifest_key(day=window.day), table)
        # The columns the counts and checks read, not whole rows (list columns would dominate).
        rows = table.select(["conversation_id", "recording_id", "state", "size_bytes", "storage_uri"]).to_pylist()
        states = Counter(r["state"] for r in rows)
        yield dg.MaterializeResult(
            metadata={
                "manifest_uri": dg.MetadataValue.text(uri),
                **table_metadata(table, uri),
                "rows": len(rows),
                "archived": states.get("archived", 0),
                "archived_bytes": dg.MetadataValue.int(sum(r["size_bytes"] or 0 for r in rows if r["state"] == "archived")),
                "by_state": dg.MetadataValue.json(dict(sorted(states.items()))),
                # How recordings a batch leaves out silently were looked for (docs/genesys-behaviours.md).
                "sensitive_check": (outcomes.schema.metadata or {}).get(SENSITIVE_CHECK_KEY, b"unknown").decode(),
                "deletion_protection": (outcomes.schema.metadata or {}).get(PROTECTION_KEY, b"off").decode(),
                **window.metadata(),
            }
        )
        yield _completeness(archive, window.day, rows, outcomes.num_rows)
        yield _failure_rate(rows, archive.failure_rate_warn)

    return recording_manifest


def _completeness(archive: ArchiveResource, day, rows: list[dict], discovered: int) -> dg.AssetCheckResult:
    keys = [(r["conversation_id"], r["recording_id"]) for r in rows]
    duplicates = [k for k, n in Counter(keys).items() if n > 1]
    store = archive.archive_store()
    prefix = f"s3://{store.bucket}/"
    day_prefix = recording_day_prefix(prefix=archive.key_prefix, day=day)
    present = {f"{prefix}{item.key}" for item in store.list_day(day_prefix)}  # one listing, not a HEAD per row
    missing = [r["storage_uri"] for r in rows if r["state"] == "archived" and r["storage_uri"] not in present]
    return dg.AssetCheckResult(
        check_name=COMPLETE_CHECK,
        passed=len(rows) == discovered and not duplicates and not missing,
        metadata={
            "rows": len(rows),
            "discovered_recordings": discovered,
            "duplicates": dg.MetadataValue.json([list(k) for k in duplicates[:50]]),
            "missing_objects": dg.MetadataValue.json(missing[:50]),
        },
    )


def _failure_rate(rows: list[dict], threshold: float) -> dg.AssetCheckResult:
    bad = sum(1 for r in rows if r["state"] in ("failed", "quarantined"))
    rate = bad / len(rows) if rows else 0.0
    return dg.AssetCheckResult(
        check_name=FAILURE_RATE_CHECK,
        passed=rate <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"failed_or_quarantined": bad, "rate": round(rate, 4), "threshold": threshold},
    )
