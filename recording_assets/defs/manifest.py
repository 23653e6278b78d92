"""``recording_manifest``: the day's Parquet manifest, proof of what the archive holds.

Written to ``s3://$RECORDING_MANIFEST_BUCKET/manifests/date=YYYY-MM-DD/manifest.parquet``, so the
bucket reads as one Hive-partitioned dataset with pyarrow, DuckDB or Athena.
"""

import json
from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from recording_assets.allocator import release_free_memory
from recording_assets.archive.keys import manifest_key, metadata_key, outcomes_key
from recording_assets.defs.automation import freshness_policy, known_beta_backfill_policy
from recording_assets.defs.catalog import catalogued, table_metadata
from recording_assets.defs.common import timezone_of, window_of
from recording_assets.defs.names import ARCHIVE_GROUP, AUDIO, MANIFEST
from recording_assets.defs.not_archived import not_archived_metadata
from recording_assets.defs.partitions import daily_check_spec, daily_partitions
from recording_assets.defs.resources import ArchiveResource
from recording_assets.pipeline.annotations import annotations_key, known
from recording_assets.pipeline.day import DIVISIONS_KEY, PROTECTION_KEY, SENSITIVE_CHECK_KEY
from recording_assets.pipeline.manifest import (
    CHECKED_COLUMNS,
    PART_ROWS,
    archived_bytes,
    duplicate_keys,
    manifest_parts,
    missing_objects,
    state_counts,
)
from recording_assets.pipeline.sidecars import SIDECAR_COLUMNS, SidecarReport, day_listing, write_sidecars
from recording_assets.pipeline.table_io import MissingTableError, read_table, require_columns, write_document
from recording_assets.pipeline.tables import MANIFEST as MANIFEST_SCHEMA
from recording_assets.pipeline.tables import from_parquet_bytes, parquet_parts, parts_to_parquet_bytes
from recording_assets.settings import Settings

COMPLETE_CHECK = "manifest_complete"
FAILURE_RATE_CHECK = "failure_rate_below_threshold"


def build_recording_manifest(partitions_def, backfill_policy=None, freshness_policy=None):
    @dg.asset(
        name=MANIFEST.path[-1],
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        freshness_policy=freshness_policy,
        deps=[AUDIO],
        group_name=ARCHIVE_GROUP,
        kinds={"parquet", "s3"},
        description="One Parquet row per known recording of the day: state, sha256, size, container, "
        "storage URI, the evidence of a bad download under quarantine/ (quarantine_uri) and conversation "
        "context. Never a presigned URL or a token.",
        check_specs=[
            daily_check_spec(
                COMPLETE_CHECK,
                asset=MANIFEST,
                partitions_def=partitions_def,
                blocking=True,
                description="One row per discovered recording, no duplicates, every archived row's object "
                "exists and has its sidecar.",
            ),
            daily_check_spec(
                FAILURE_RATE_CHECK,
                asset=MANIFEST,
                partitions_def=partitions_def,
                description="failed + quarantined recordings stay under the configured share (warns).",
            ),
        ],
    )
    def recording_manifest(context: dg.AssetExecutionContext, archive: ArchiveResource):
        release_free_memory()  # an in-process run's audio step freed its working set: give it back first
        window = window_of(context, timezone_of(context))
        manifest_store, config = archive.manifest_store(), archive.config()
        try:  # read a column at a time as the manifest is built: neither input is held whole
            metadata = require_columns(manifest_store, metadata_key(day=window.day))
            outcomes = require_columns(manifest_store, outcomes_key(day=window.day))
        except MissingTableError as exc:
            raise dg.Failure(description=str(exc)) from None
        stored = read_table(manifest_store, annotations_key(day=window.day))
        notes = known(stored) if config.retention.annotations else None
        discovered, run_modes = outcomes.num_rows, outcomes.schema_metadata
        uncovered = run_modes.get(DIVISIONS_KEY, b"[]")
        # Built and written a part at a time: a day of more than one part is held as its Parquet document
        # only, and its counts and checks read back their columns; a day of one part keeps that part.
        only: list = []
        document = parts_to_parquet_bytes(
            _keeping_a_lone_part(
                manifest_parts(metadata, outcomes, manifest_run_id=context.run.run_id, annotations=notes),
                only,
            ),
            MANIFEST_SCHEMA.with_metadata({**(MANIFEST_SCHEMA.metadata or {}), DIVISIONS_KEY: uncovered}),
        )
        del metadata, outcomes  # joined: let go of them before writing and checking the manifest
        uri = write_document(manifest_store, manifest_key(day=window.day), document)
        table = only[0] if only else from_parquet_bytes(document, CHECKED_COLUMNS)  # what the checks read
        # One listing of the day: which archived objects are missing, and which sidecars exist.
        store, listed_sidecars = archive.archive_store(), set[str]()
        listing = day_listing(store, key_prefix=config.key_prefix, day=window.day, sidecars=listed_sidecars)
        missing = missing_objects(table, listing)
        # Each archived object's self-description, from the rows just written (pipeline/sidecars.py); the
        # day step wrote most of them beside its downloads (pipeline/sidecar_feed.py).
        sidecars = write_sidecars(
            store,
            table if only else parquet_parts(document, SIDECAR_COLUMNS, rows=PART_ROWS),
            existing=frozenset(listed_sidecars),
            concurrency=config.concurrency,  # the run's S3 connections are sized for it (defs/s3.py)
        )
        del document
        for problem in sidecars.failed[:20]:
            context.log.warning("sidecar not written, the next run writes it: %s", problem)
        states = state_counts(table)  # counted in Arrow: no row dicts for a 100,000-recording day
        yield dg.MaterializeResult(
            metadata={
                "manifest_uri": dg.MetadataValue.text(uri),
                "manifest_link": dg.MetadataValue.url(archive.links().browser_url(uri)),
                **table_metadata(table, uri),
                "rows": table.num_rows,
                "archived": states.get("archived", 0),
                "archived_bytes": dg.MetadataValue.int(archived_bytes(table)),
                "by_state": dg.MetadataValue.json(states),
                # How recordings a batch leaves out silently were looked for (docs/genesys-behaviours.md).
                "sensitive_check": run_modes.get(SENSITIVE_CHECK_KEY, b"unknown").decode(),
                "deletion_protection": run_modes.get(PROTECTION_KEY, b"off").decode(),
                # Divisions whose conversations this day lacks: the client's roles are not granted there.
                "divisions_not_covered": dg.MetadataValue.json(_divisions(uncovered)),
                "sidecars": dg.MetadataValue.json(sidecars.metadata()),
                **window.metadata(),
                # Which recordings are not in the archive, and why, on the day's page.
                **not_archived_metadata(table, archive.links()),
            }
        )
        yield _completeness(table, discovered, missing, sidecars)
        yield _failure_rate(states, table.num_rows, config.failure_rate_warn)

    return recording_manifest


def _keeping_a_lone_part(parts: Iterator[pa.Table], kept: list) -> Iterator[pa.Table]:
    """``parts`` as they come, the first one also in ``kept`` until a second one comes."""
    for number, part in enumerate(parts):
        kept[:] = [part] if number == 0 else []
        yield part


def _divisions(raw: bytes) -> list:
    """The uncovered divisions the day's outcome table recorded ([] for a table from before, or unreadable)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _completeness(table, discovered: int, missing: list, sidecars: SidecarReport) -> dg.AssetCheckResult:
    duplicates = duplicate_keys(table)
    return dg.AssetCheckResult(
        check_name=COMPLETE_CHECK,
        passed=table.num_rows == discovered and not duplicates and not missing and not sidecars.failed,
        metadata={
            "rows": table.num_rows,
            "discovered_recordings": discovered,
            "duplicates": dg.MetadataValue.json([list(k) for k in duplicates[:50]]),
            "missing_objects": dg.MetadataValue.json(missing[:50]),
            "sidecars_not_written": dg.MetadataValue.json(sidecars.failed[:50]),
        },
    )


def _failure_rate(states: dict[str, int], rows: int, threshold: float) -> dg.AssetCheckResult:
    bad = states.get("failed", 0) + states.get("quarantined", 0)
    rate = bad / rows if rows else 0.0
    return dg.AssetCheckResult(
        check_name=FAILURE_RATE_CHECK,
        passed=rate <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"failed_or_quarantined": bad, "rate": round(rate, 4), "threshold": threshold},
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    with known_beta_backfill_policy() as policy:
        manifest = build_recording_manifest(daily_partitions(settings.partitions), policy, freshness_policy())
    return dg.Definitions(assets=catalogued([manifest], settings.operations))
