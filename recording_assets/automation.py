"""Running it like production: the daily schedule with late re-sweeps, backfill and freshness policies.

Pure settings are read from the environment once, when the code location loads:

| variable | default | meaning |
|---|---|---|
| RECORDING_SETTLE_LAG_MINUTES | 120 | how long after a day ends before it is archived |
| RECORDING_RESWEEP_DAYS | 3 | days before yesterday re-run each tick, for recordings that arrive late |
| RECORDING_FRESHNESS_DEADLINE | 06:00 | local time by which yesterday's manifest must exist |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg

JOB_NAME = "archive_day"


@dataclass(frozen=True)
class AutomationSettings:
    settle_lag_minutes: int = 120
    resweep_days: int = 3
    freshness_deadline: str = "06:00"

    @classmethod
    def from_env(cls, environ=None) -> AutomationSettings:
        env = os.environ if environ is None else environ

        def number(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            # ASCII digits only: str.isdigit() is also True for '²', which int() refuses.
            if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
                raise ValueError(f"{name}={raw!r}: use a whole number from {low} to {high}")
            return int(raw)

        deadline = env.get("RECORDING_FRESHNESS_DEADLINE", "").strip() or "06:00"
        try:
            datetime.strptime(deadline, "%H:%M")
        except ValueError:
            raise ValueError(f"RECORDING_FRESHNESS_DEADLINE={deadline!r}: use HH:MM, e.g. 06:00") from None
        return cls(
            settle_lag_minutes=number("RECORDING_SETTLE_LAG_MINUTES", 120, 0, 23 * 60),
            resweep_days=number("RECORDING_RESWEEP_DAYS", 3, 0, 30),
            freshness_deadline=deadline,
        )

    @property
    def cron(self) -> str:
        return f"{self.settle_lag_minutes % 60} {self.settle_lag_minutes // 60} * * *"


def backfill_policy() -> dg.BackfillPolicy:
    # One partition per run for every asset of the job (mixing policies makes Dagster pick the smallest);
    # the genesys_api pool then decides how many of those runs talk to Genesys at once.
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=1)


def freshness_policy(settings: AutomationSettings, timezone_name: str) -> dg.FreshnessPolicy:
    """'Yesterday archived by HH:MM local time': at the deadline the manifest must be under a day old."""
    hour, minute = (int(x) for x in settings.freshness_deadline.split(":"))
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"{minute} {hour} * * *",
        lower_bound_delta=timedelta(hours=24),
        timezone=timezone_name,
    )


def archive_job(assets) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.assets(*assets),
        description="Archive one day: metadata, audio objects, manifest.",
    )


def archive_schedule(job, settings: AutomationSettings, timezone_name: str, partitions) -> dg.ScheduleDefinition:
    """Each tick archives yesterday and re-sweeps the ``resweep_days`` days before it.

    Run keys are ``archive:{day}`` (yesterday's first archive, once ever) and ``sweep:{day}@{tick}``
    (once per day per tick), so a repeated tick requests nothing new.
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
        yield dg.RunRequest(
            run_key=f"archive:{yesterday.isoformat()}",
            partition_key=yesterday.isoformat(),
            tags={"recording_assets/kind": "archive"},
        )
        for back in range(1, settings.resweep_days + 1):
            day = yesterday - timedelta(days=back)
            if day < first:
                break
            day = day.isoformat()
            yield dg.RunRequest(
                run_key=f"sweep:{day}@{tick_label}",
                partition_key=day,
                tags={"recording_assets/kind": "resweep"},
            )

    return archive_daily
