"""``reverified_from_s3``: re-read a sample of any archived day from S3 and compare it with the manifest.

The blocking checks of ``recording_audio`` run inside the archiving step; this one runs on its own for
any partition (the Checks tab of ``recording_archive_audit``, the external asset it targets so that no
archive run executes it: defs/audit.py; or the ``reverify_archive`` job with a partition), reads objects
back in full and compares SHA-256 and container with the day's manifest. The ``reverify_weekly``
schedule runs it over the last 30 days in one run (one evaluation per day), like ``restic check --read-data-subset``.
"""

import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg
from pydantic import Field

from recording_assets.archive.keys import manifest_key
from recording_assets.defs import names
from recording_assets.defs.partitions import daily_partitions
from recording_assets.defs.resources import ArchiveResource
from recording_assets.pipeline.reverify import DEFAULT_FRACTION, DEFAULT_MINIMUM, reverify
from recording_assets.pipeline.table_io import read_table
from recording_assets.settings import Settings

REVERIFY_CHECK = names.REVERIFY_CHECK.name
REVERIFY_JOB = names.REVERIFY_JOB
REVERIFY_DAYS = 30


def partition_tags(day: str) -> dict[str, str]:
    """Run tags that run the check job for one day (the Launchpad's "dagster/partition" tag)."""
    return {"dagster/partition": day}


def range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags that run the check job once for the days from start to end, both included."""
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


class ReverifyConfig(dg.Config):
    fraction: float = Field(
        default=DEFAULT_FRACTION, gt=0, le=1, description="share of archived objects to read; 1.0 = all"
    )
    minimum: int = Field(
        default=DEFAULT_MINIMUM, ge=0, description="read at least this many objects (or all)"
    )


def _verify_day(day: date, config: ReverifyConfig, archive: ArchiveResource) -> dict[str, Any]:
    """The evaluation of one day: passed, description and metadata."""
    manifest = archive.manifest_store()
    table = read_table(manifest, manifest_key(day=day))
    if table is None:
        return {
            "passed": False,
            "description": f"{day} has no manifest in s3://{manifest.bucket}: archive that day first",
            "metadata": {"day": day.isoformat()},
        }
    rows = table.to_pylist()
    result = reverify(archive.archive_store(), rows, fraction=config.fraction, minimum=config.minimum)
    return {
        "passed": result.passed,
        "description": f"{day}: {len(result.sampled)} of {result.archived} archived objects read back, "
        f"{len(result.problems)} differ from the manifest",
        "metadata": {
            "day": day.isoformat(),
            "archived_objects": result.archived,
            "read_back": len(result.sampled),
            "fraction": config.fraction,
            "problems": dg.MetadataValue.json(result.problems[:50]),
        },
    }


def build_reverify(partitions_def: dg.TimeWindowPartitionsDefinition):
    """The check, the job that runs only it, and the weekly schedule over the last 30 days."""
    with warnings.catch_warnings():
        # partitions_def on an asset check is a preview parameter; one partition per day is what lets the
        # check run for any day (docs/dagster-platform.md §2).
        warnings.simplefilter("ignore", dg.PreviewWarning)

        # The decorator is typed for a body returning one AssetCheckResult; Dagster runs generators too.
        @dg.asset_check(  # type: ignore[arg-type]
            asset=names.REVERIFY_CHECK.asset_key,
            name=REVERIFY_CHECK,
            partitions_def=partitions_def,
            description="Reads a sample of the day's archived objects back from S3 (2 %, at least 5; "
            "fraction=1.0 for all) and compares SHA-256 and container with the manifest.",
        )
        def reverified_from_s3(
            context: dg.AssetCheckExecutionContext, config: ReverifyConfig, archive: ArchiveResource
        ) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
            # One run may cover a range of days (the weekly schedule). AssetCheckResult records its
            # evaluation on the run's single partition only (none for a range run) and may be yielded once,
            # so each day is an AssetCheckEvaluation with its own partition, then the check's one output.
            for key in context.partition_keys:
                yield dg.AssetCheckEvaluation(
                    asset_key=names.REVERIFY_CHECK.asset_key,
                    check_name=REVERIFY_CHECK,
                    partition=key,
                    **_verify_day(date.fromisoformat(key), config, archive),
                )
            (output,) = context.op_execution_context.op_def.output_defs
            yield dg.Output(None, output_name=output.name)

    with warnings.catch_warnings():
        # Dagster deprecates partitions_def here because it infers it from the selected *assets*; a job of
        # checks only selects none ("no PartitionsDefinition shared by all the provided assets" without it).
        warnings.simplefilter("ignore", DeprecationWarning)
        job = dg.define_asset_job(
            REVERIFY_JOB,
            selection=dg.AssetSelection.checks(reverified_from_s3),
            partitions_def=partitions_def,
            description="Re-verify one archived day from S3 against its manifest (no Genesys request).",
        )

    @dg.schedule(
        name="reverify_weekly",
        job=job,
        cron_schedule="0 12 * * 0",
        execution_timezone=partitions_def.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Sundays: re-verify a sample of each of the last {REVERIFY_DAYS} archived days.",
    )
    def reverify_weekly(context: dg.ScheduleEvaluationContext):
        today = context.scheduled_execution_time.date()
        last = today - timedelta(days=1)
        first = max(today - timedelta(days=REVERIFY_DAYS), partitions_def.start.date())
        if last < first:
            return
        # One run for the whole window: the partition range as run tags (Dagster 1.13 resolves
        # ``partition_key=`` against the job's selected assets, and a job of checks selects none).
        tick = context.scheduled_execution_time.strftime("%Y-%m-%d")
        start, end = first.isoformat(), last.isoformat()
        yield dg.RunRequest(run_key=f"reverify:{start}..{end}@{tick}", tags=range_tags(start, end))

    return reverified_from_s3, job, reverify_weekly


@dg.definitions
def defs() -> dg.Definitions:
    check, job, schedule = build_reverify(daily_partitions(Settings.from_env().partitions))
    return dg.Definitions(asset_checks=[check], jobs=[job], schedules=[schedule])
