"""Running it like production: the daily schedule with late re-sweeps, backfill and freshness policies,
from ``AutomationSettings`` (settings.py: RECORDING_SETTLE_LAG_MINUTES, RECORDING_RESWEEP_DAYS). The
deadline (RECORDING_FRESHNESS_DEADLINE) is the ``yesterday_archived`` check's: defs/freshness.py."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import dagster as dg

from recording_assets.defs.names import ARCHIVE_ASSETS, ARCHIVE_JOB, RADAR
from recording_assets.defs.partitions import daily_partitions
from recording_assets.defs.run_limits import (
    ARCHIVE_MAX_RUNTIME_S,
    MAX_RUNTIME_TAG,
    PRIORITY_TAG,
    SCHEDULED_PRIORITY,
)
from recording_assets.settings import AutomationSettings, Settings

JOB_NAME = ARCHIVE_JOB
DAYS_AT_RISK = "days_at_risk"  # the radar's metadata: {day: recordings at risk} (defs/retention.py)
PRIORITY = "10"  # dagster/priority of a day the expiry radar flags: the run queue starts it first


def days_at_risk(context: dg.ScheduleEvaluationContext) -> list[str]:
    """The days the expiry radar's latest materialisation flags (recordings expiring unarchived)."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built in a test without an instance
        return []
    event = instance.get_latest_materialization_event(RADAR)
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get(DAYS_AT_RISK) if materialization else None
    return sorted(value.value) if value is not None and isinstance(value.value, dict) else []


@contextmanager
def known_beta_backfill_policy() -> Iterator[dg.BackfillPolicy]:
    """The policy, for assets decorated inside the block: ``backfill_policy=`` is a beta parameter in 1.13
    and warns at every load (docs/dagster-platform.md §4); we rely on it knowingly, so its notice need not
    repeat."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield backfill_policy()


def backfill_policy() -> dg.BackfillPolicy:
    # One partition per run for every asset of the job (mixing policies makes Dagster pick the smallest);
    # the genesys_api pool then decides how many of those runs talk to Genesys at once.
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=1)


def freshness_policy() -> dg.FreshnessPolicy:
    """'The daily schedule is alive': some day's manifest was written within the last 26 hours (one tick a
    day, two hours for its runs). It cannot say which day (a re-sweep of an older day satisfies it), so a
    given day's freshness is the ``yesterday_archived`` check's (defs/freshness.py)."""
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26))


def archive_job() -> dg.UnresolvedAssetJobDefinition:
    """The day's three assets with their own in-step checks (the freshness and re-verification checks
    target ``recording_archive_audit``, so no selection of these assets includes them: defs/audit.py)."""
    return dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.assets(*ARCHIVE_ASSETS),
        description="Archive one day: metadata, audio objects, manifest.",
        # Run monitoring fails a run past this (runs of the assets outside this job, e.g. a backfill's,
        # get the instance's run_monitoring.max_runtime_seconds: the same number, deploy/dagster.yaml).
        tags={MAX_RUNTIME_TAG: str(ARCHIVE_MAX_RUNTIME_S)},
    )


def archive_schedule(
    job, settings: AutomationSettings, timezone_name: str, partitions
) -> dg.ScheduleDefinition:
    """Each tick first runs the days the expiry radar flags (``expiry:{day}@{tick}``, higher priority), then
    archives yesterday and re-sweeps the ``resweep_days`` days before it.

    Every run carries ``dagster/priority`` (``SCHEDULED_PRIORITY``, the radar's days more), and a backfill's
    runs none, so the run queue and the genesys_api pool serve tonight's days before a queued backfill.

    Run keys are ``archive:{day}`` (yesterday's first archive, once ever) and ``sweep:{day}@{tick}``
    (once per day per tick), so a repeated tick requests nothing new. A tick requests each day at most
    once: a flagged yesterday is its ``archive:{day}`` run with the radar's priority, a flagged older day
    replaces its sweep (the run queue also runs one run per day at a time, deploy/dagster.yaml).
    """

    @dg.schedule(
        name="archive_daily",
        job=job,
        cron_schedule=settings.cron,
        execution_timezone=timezone_name,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Archive yesterday {settings.settle_lag_minutes} minutes after it ends, and re-sweep "
        f"the {settings.resweep_days} days before it for late recordings.",
    )
    def archive_daily(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time
        yesterday = (tick - timedelta(minutes=settings.settle_lag_minutes)).date() - timedelta(days=1)
        tick_label = tick.strftime("%Y-%m-%dT%H:%M")
        first = partitions.start.date()
        if yesterday < first:
            return
        flagged = [d for d in days_at_risk(context) if first.isoformat() <= d <= yesterday.isoformat()]
        expiry_tags = {"recording_assets/kind": "expiry", PRIORITY_TAG: PRIORITY}
        for day in flagged:
            if day == yesterday.isoformat():
                continue  # its first archive below is the one run of that day, with this priority
            yield dg.RunRequest(run_key=f"expiry:{day}@{tick_label}", partition_key=day, tags=expiry_tags)
        yield dg.RunRequest(
            run_key=f"archive:{yesterday.isoformat()}",
            partition_key=yesterday.isoformat(),
            tags=expiry_tags
            if yesterday.isoformat() in flagged
            else {"recording_assets/kind": "archive", PRIORITY_TAG: SCHEDULED_PRIORITY},
        )
        for back in range(1, settings.resweep_days + 1):
            earlier = yesterday - timedelta(days=back)
            if earlier < first:
                break
            day = earlier.isoformat()
            if day in flagged:
                continue  # already requested first, for the radar
            yield dg.RunRequest(
                run_key=f"sweep:{day}@{tick_label}",
                partition_key=day,
                tags={"recording_assets/kind": "resweep", PRIORITY_TAG: SCHEDULED_PRIORITY},
            )

    return archive_daily


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    job = archive_job()
    partitions = daily_partitions(settings.partitions)
    schedule = archive_schedule(job, settings.automation, settings.partitions.timezone, partitions)
    return dg.Definitions(jobs=[job], schedules=[schedule])
