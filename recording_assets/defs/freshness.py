"""Freshness of a given day, which Dagster's FreshnessPolicy cannot say.

A FreshnessPolicy judges the latest materialisation of *any* partition, so a re-sweep of an older day
makes it pass while yesterday failed (docs/dagster-platform.md §3). The ``yesterday_archived`` check
asks the instance about one partition: the latest day whose deadline has passed (yesterday after
RECORDING_FRESHNESS_DEADLINE local time, the day before until then) must have a ``recording_manifest``
materialisation written after that day ended. The ``check_freshness`` schedule runs it at the deadline
and every hour after it until midnight, so a failed or missing day turns it red at the deadline's first
evaluation and green again at the first evaluation after a successful run.
"""

import time
from datetime import date, datetime, timedelta, timezone

import dagster as dg

from recording_assets.defs.names import FRESHNESS_CHECK as FRESHNESS_CHECK_KEY
from recording_assets.defs.names import FRESHNESS_JOB
from recording_assets.defs.partitions import daily_partitions
from recording_assets.pipeline.window import day_window, zone
from recording_assets.settings import AutomationSettings, Settings

MANIFEST = FRESHNESS_CHECK_KEY.asset_key
FRESHNESS_CHECK = FRESHNESS_CHECK_KEY.name


def due_day(now: datetime, timezone_name: str, deadline: str) -> date:
    """The latest day whose deadline has passed at ``now``: yesterday once the local deadline is past."""
    local = now.astimezone(zone(timezone_name))
    hour, minute = (int(x) for x in deadline.split(":"))
    return local.date() - timedelta(days=1 if (local.hour, local.minute) >= (hour, minute) else 2)


def evaluate(
    instance: dg.DagsterInstance,
    *,
    now: datetime,
    settings: AutomationSettings,
    timezone_name: str,
    first_day: date,
) -> dg.AssetCheckResult:
    day = due_day(now, timezone_name, settings.freshness_deadline)
    if day < first_day:
        return dg.AssetCheckResult(passed=True, description=f"nothing due yet: partitions start {first_day}")
    window = day_window(day, timezone_name)
    partition = day.isoformat()
    # Only a materialisation written after the day ended covers the whole day.
    after_the_day = dg.AssetRecordsFilter(
        asset_key=MANIFEST, asset_partitions=[partition], after_timestamp=window.end.timestamp()
    )
    done = instance.fetch_materializations(after_the_day, limit=1).records
    failures = dg.RunsFilter(tags={"dagster/partition": partition}, statuses=[dg.DagsterRunStatus.FAILURE])
    failed = instance.get_runs(filters=failures, limit=1)
    metadata = {
        "day": partition,
        "deadline": f"{settings.freshness_deadline} {timezone_name}, the day after",
        "evaluated_at_utc": now.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "last_failed_run": failed[0].run_id if failed else "",
    }
    if done:
        materialised = datetime.fromtimestamp(done[0].timestamp, timezone.utc).isoformat(timespec="seconds")
        return dg.AssetCheckResult(
            passed=True,
            description=f"{partition} archived at {materialised}",
            metadata={**metadata, "archived_at_utc": materialised, "run_id": done[0].run_id},
        )
    reason = f"last run {failed[0].run_id} failed" if failed else "no successful run since the day ended"
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{partition} is not archived: {reason}. Re-run partition {partition} of archive_day.",
        metadata=metadata,
    )


def build_freshness(
    partitions_def: dg.TimeWindowPartitionsDefinition, settings: AutomationSettings, timezone_name: str
):
    """The check, a job that runs only it, and the schedule that runs the job."""

    @dg.asset_check(
        asset=MANIFEST,
        name=FRESHNESS_CHECK,
        description=f"The latest day whose deadline ({settings.freshness_deadline} {timezone_name} the day "
        "after) has passed has a manifest written after the day ended. Fails naming the day.",
    )
    def yesterday_archived(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return evaluate(
            context.instance,
            now=datetime.fromtimestamp(time.time(), timezone.utc),
            settings=settings,
            timezone_name=timezone_name,
            first_day=partitions_def.start.date(),
        )

    job = dg.define_asset_job(
        FRESHNESS_JOB,
        selection=dg.AssetSelection.checks(yesterday_archived),
        description="Evaluate whether yesterday's manifest exists (reads the instance only).",
    )
    hour, minute = (int(x) for x in settings.freshness_deadline.split(":"))
    schedule = dg.ScheduleDefinition(
        name=FRESHNESS_JOB,
        job=job,
        cron_schedule=f"{minute} {hour}-23 * * *",
        execution_timezone=timezone_name,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="At the freshness deadline and hourly after it: is yesterday archived?",
    )
    return yesterday_archived, job, schedule


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    partitions = daily_partitions(settings.partitions)
    check, job, schedule = build_freshness(partitions, settings.automation, settings.partitions.timezone)
    return dg.Definitions(asset_checks=[check], jobs=[job], schedules=[schedule])
