"""The code location: the Dagster wing (``defs/``) merged once into one ``Definitions``: the assets and
their checks, the daily job and schedule, the control job, the webhook sensors and their delivery job, and
the resources.
Settings are read when the location loads, never at import."""

from __future__ import annotations

import warnings

import dagster as dg

from recording_assets.defs.automation import (
    archive_job,
    archive_schedule,
    backfill_policy,
    freshness_policy,
)
from recording_assets.defs.catalog import catalogued
from recording_assets.defs.control import recording_control
from recording_assets.defs.day import build_recording_day
from recording_assets.defs.freshness import build_freshness
from recording_assets.defs.manifest import build_recording_manifest
from recording_assets.defs.partitions import daily_partitions
from recording_assets.defs.resources import build_resources
from recording_assets.defs.retention import (
    build_expiry_radar,
    build_recording_orphans,
    build_restored_sensor,
    retention_jobs_and_schedules,
)
from recording_assets.defs.reverify import build_reverify
from recording_assets.defs.source import SOURCE_KEY, conversations_source
from recording_assets.defs.webhook_alerts import build_failure_webhook_sensor, webhook_delivery
from recording_assets.defs.webhooks import build_webhook_sensor
from recording_assets.operations_settings import OperationsSettings
from recording_assets.settings import AutomationSettings, PartitionSettings


def build_definitions(environ=None) -> dg.Definitions:
    partitioning = PartitionSettings.from_env(environ)
    automation = AutomationSettings.from_env(environ)
    partitions = daily_partitions(partitioning)
    policy = backfill_policy()
    with warnings.catch_warnings():
        # backfill_policy is a beta parameter; we rely on it knowingly (one policy for every asset of the
        # job, ../shared/dagster-notes.md §2.6), so its notice need not repeat at every code load.
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = [
            build_recording_day(partitions, policy),
            build_recording_manifest(partitions, policy, freshness_policy()),
        ]
        orphans = build_recording_orphans(partitions, policy)
    freshness_check, freshness_job, freshness_schedule = build_freshness(
        partitions, automation, partitioning.timezone
    )
    reverify_check, reverify_job, reverify_schedule = build_reverify(partitions)
    job = archive_job(assets, without_checks=(freshness_check, reverify_check))
    radar = build_expiry_radar(partitioning.timezone)
    watch_jobs, watch_schedules = retention_jobs_and_schedules(
        radar, orphans, automation.cron, partitioning.timezone
    )
    source = conversations_source(partitions)
    operations = OperationsSettings.from_env(environ)
    return dg.Definitions(
        assets=catalogued([source, *_fed_by(assets, SOURCE_KEY), radar, orphans], operations),
        asset_checks=[freshness_check, reverify_check],
        jobs=[job, recording_control, webhook_delivery, *watch_jobs, freshness_job, reverify_job],
        schedules=[
            archive_schedule(job, automation, partitioning.timezone, partitions),
            *watch_schedules,
            freshness_schedule,
            reverify_schedule,
        ],
        sensors=[build_webhook_sensor(), build_failure_webhook_sensor(), build_restored_sensor(job)],
        resources=build_resources(environ),
    )


def _fed_by(assets: list, source: dg.AssetKey) -> list:
    """``recording_metadata`` reads the org's conversations: lineage starts at the external source."""

    def fed(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.merge_attributes(deps=[source]) if spec.key == dg.AssetKey("recording_metadata") else spec

    return list(dg.map_asset_specs(fed, assets))


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
