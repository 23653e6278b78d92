"""Freshness of a given day, which Dagster's FreshnessPolicy cannot say, recorded without runs.

A FreshnessPolicy judges the latest materialisation of *any* partition, so a re-sweep of an older day
makes it pass while yesterday failed (docs/dagster-platform.md §3). The ``yesterday_archived`` check
asks the instance about one partition: the latest day whose deadline has passed (yesterday after
RECORDING_FRESHNESS_DEADLINE local time, the day before until then) must have a ``recording_manifest``
materialisation written after that day ended.

It only reads the instance, so no run (a pod on Kubernetes) is spent on it: the ``check_freshness`` sensor
evaluates it every few minutes and returns the verdict as an ``AssetCheckEvaluation`` in its
``SensorResult``; the daemon records it as the check's latest execution (runless, like
``report_runless_asset_event``), which the asset's Checks tab shows. The sensor records a verdict when the
day, the outcome or the whole hours late change, so a late day plots ``hours_late`` hourly and a good day
adds one evaluation. The check targets ``recording_archive_audit`` (defs/audit.py), so no archive run runs it.
"""

import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime

import dagster as dg

from recording_assets.defs.names import FRESHNESS_CHECK as FRESHNESS_CHECK_KEY
from recording_assets.defs.names import FRESHNESS_SENSOR, MANIFEST
from recording_assets.defs.partitions import daily_partitions
from recording_assets.pipeline.window import day_window, zone
from recording_assets.settings import AutomationSettings, Settings

FRESHNESS_CHECK = FRESHNESS_CHECK_KEY.name
# Numeric metadata, so it plots: hours past the deadline the day was archived at, or is still missing.
HOURS_LATE = "hours_late"
EVALUATION_INTERVAL_S = 300


def due_day(now: datetime, timezone_name: str, deadline: str) -> date:
    """The latest day whose deadline has passed at ``now``: yesterday once the local deadline is past."""
    local = now.astimezone(zone(timezone_name))
    hour, minute = (int(x) for x in deadline.split(":"))
    return local.date() - timedelta(days=1 if (local.hour, local.minute) >= (hour, minute) else 2)


def deadline_of(day: date, timezone_name: str, deadline: str) -> datetime:
    """When ``day`` is due: the deadline's local time on the day after it."""
    hour, minute = (int(x) for x in deadline.split(":"))
    return datetime.combine(day + timedelta(days=1), dtime(hour, minute), tzinfo=zone(timezone_name))


def hours_between(start: datetime, end: datetime) -> float:
    return round(max(0.0, (end - start).total_seconds() / 3600), 2)


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
        return dg.AssetCheckResult(
            passed=True,
            description=f"nothing due yet: partitions start {first_day}",
            metadata={HOURS_LATE: 0.0},
        )
    due_at = deadline_of(day, timezone_name, settings.freshness_deadline)
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
        archived_at = datetime.fromtimestamp(done[0].timestamp, timezone.utc)
        materialised = archived_at.isoformat(timespec="seconds")
        return dg.AssetCheckResult(
            passed=True,
            description=f"{partition} archived at {materialised}",
            metadata={
                **metadata,
                "archived_at_utc": materialised,
                "run_id": done[0].run_id,
                HOURS_LATE: hours_between(due_at, archived_at),
            },
        )
    reason = f"last run {failed[0].run_id} failed" if failed else "no successful run since the day ended"
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{partition} is not archived: {reason}. Re-run partition {partition} of archive_day.",
        metadata={**metadata, HOURS_LATE: hours_between(due_at, now)},
    )


def current_verdict(
    instance: dg.DagsterInstance,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: AutomationSettings,
    timezone_name: str,
) -> dg.AssetCheckResult:
    """The verdict now, for the code location's partitions and deadline."""
    return evaluate(
        instance,
        now=datetime.fromtimestamp(time.time(), timezone.utc),
        settings=settings,
        timezone_name=timezone_name,
        first_day=partitions_def.start.date(),
    )


def as_evaluation(result: dg.AssetCheckResult) -> dg.AssetCheckEvaluation:
    """The verdict as the event a sensor reports (what a run would record for the check)."""
    return dg.AssetCheckEvaluation(
        asset_key=FRESHNESS_CHECK_KEY.asset_key,
        check_name=FRESHNESS_CHECK,
        passed=result.passed,
        metadata=result.metadata,
        severity=result.severity,
        description=result.description,
    )


def verdict_cursor(result: dg.AssetCheckResult) -> str:
    """What must change for the sensor to record a new evaluation: day, outcome, whole hours late."""
    day, hours = result.metadata.get("day"), result.metadata[HOURS_LATE]
    late = int(hours.value or 0) if isinstance(hours, dg.FloatMetadataValue) else 0
    return f"{day.value if day else ''}|{result.passed}|{late}"


def build_freshness(
    partitions_def: dg.TimeWindowPartitionsDefinition, settings: AutomationSettings, timezone_name: str
) -> tuple[dg.AssetChecksDefinition, dg.SensorDefinition]:
    """The check (declared so the UI lists it; executing it from the Checks tab gives the same verdict) and
    the sensor that records its evaluations without a run."""

    def verdict(instance: dg.DagsterInstance) -> dg.AssetCheckResult:
        return current_verdict(instance, partitions_def, settings, timezone_name)

    @dg.asset_check(
        asset=FRESHNESS_CHECK_KEY.asset_key,
        name=FRESHNESS_CHECK,
        description=f"The latest day whose deadline ({settings.freshness_deadline} {timezone_name} the day "
        "after) has passed has a manifest written after the day ended. Fails naming the day; "
        f"'{HOURS_LATE}' says how late. Evaluated by the {FRESHNESS_SENSOR} sensor, without runs.",
    )
    def yesterday_archived(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return verdict(context.instance)

    @dg.sensor(
        name=FRESHNESS_SENSOR,
        minimum_interval_seconds=EVALUATION_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Every {EVALUATION_INTERVAL_S // 60} minutes: is the latest due day archived? Records "
        f"the {FRESHNESS_CHECK} check's evaluation (no run) when the day, the outcome or the hours late change.",
    )
    def check_freshness(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        result = verdict(context.instance)
        cursor = verdict_cursor(result)
        if cursor == context.cursor:
            return dg.SensorResult(skip_reason=f"unchanged: {result.description}", cursor=cursor)
        return dg.SensorResult(asset_events=[as_evaluation(result)], cursor=cursor)

    return yesterday_archived, check_freshness


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    partitions = daily_partitions(settings.partitions)
    check, sensor = build_freshness(partitions, settings.automation, settings.partitions.timezone)
    return dg.Definitions(asset_checks=[check], sensors=[sensor])
