"""Small helpers the asset modules share: partition window, who launched the run, table I/O."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import pyarrow as pa

from recording_assets.archive.protocol import DocumentStore
from recording_assets.operations_settings import OperationsSettings
from recording_assets.pipeline.tables import from_parquet_bytes, to_parquet_bytes
from recording_assets.pipeline.window import DayWindow, day_window, parse_day

GENESYS_POOL = "genesys_api"
GROUP = "recordings"
PARQUET = "application/vnd.apache.parquet"


def window_of(context, timezone_name: str) -> DayWindow:
    return day_window(parse_day(context.partition_key), timezone_name)


def timezone_of(context) -> str:
    partitions = context.assets_def.partitions_def
    return getattr(partitions, "timezone", None) or "UTC"


def concurrent_runs(context) -> int:
    """The genesys_api pool limit: how many runs may spend the token's budget at once.

    Configuration (RECORDING_GENESYS_POOL_LIMIT, read in the run's own process): Dagster 1.13 has no public
    API that reads a pool's limit, so the operator states it once beside the pool's own. Not a resource
    field: run config that configures the genesys resource (the Launchpad) would reset it to its default."""
    return OperationsSettings.from_env().pool_limit


def launched_by(context) -> str:
    """Who or what started this run, from Dagster's run tags."""
    tags = context.run.tags if context.run else {}
    for tag, label in (
        ("dagster/user", "user"),
        ("user", "user"),
        ("dagster/schedule_name", "schedule"),
        ("dagster/sensor_name", "sensor"),
        ("dagster/backfill", "backfill"),
    ):
        if tags.get(tag):
            return f"{label}:{tags[tag]}"
    return "manual"


def write_table(store: DocumentStore, key: str, table: pa.Table) -> str:
    store.put_bytes(key, to_parquet_bytes(table), content_type=PARQUET, overwrite=True)
    return f"s3://{store.bucket}/{key}"


def read_table(
    store: DocumentStore, key: str, *, required: bool = True, columns: Sequence[str] | None = None
) -> pa.Table | None:
    body = store.get_bytes(key)
    if body is None:
        if not required:
            return None
        raise dg.Failure(
            description=f"s3://{store.bucket}/{key} does not exist: materialise the upstream asset for this partition first"
        )
    return from_parquet_bytes(body, columns)


SENSITIVE_CHECK_KEY = b"recording_assets.sensitive_check"  # outcomes table metadata: the mode the run used
PROTECTION_KEY = b"recording_assets.deletion_protection"  # outcomes table metadata: what protection did


def protection_note(report) -> str:
    """What deletion protection did in a run, for the audio and manifest metadata (issue 14)."""
    done = report.protection
    if not done:
        return "off"
    applied, lifted, kept = (done.get(k, 0) for k in ("protected", "lifted", "kept"))
    return f"applied to {applied}, lifted from {lifted}, kept on {kept}"
