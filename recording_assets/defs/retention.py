"""Retention watch: the expiry radar with its check, the daily orphans table, their jobs and
schedules. The archive schedule reads the radar's latest ``days_at_risk`` and runs those days first."""

import asyncio
import json
from datetime import datetime, timedelta, timezone

import dagster as dg

from recording_assets.defs import names
from recording_assets.defs.automation import known_beta_backfill_policy
from recording_assets.defs.catalog import catalogued, table_metadata
from recording_assets.defs.common import timezone_of, window_of
from recording_assets.defs.names import GENESYS_POOL, RETENTION_GROUP
from recording_assets.defs.partitions import daily_partitions
from recording_assets.defs.pool_limit import pool_limit as instance_pool_limit
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.genesys.errors import PermissionDeniedError
from recording_assets.pipeline.orphans import ORPHANS, orphan_rows, orphans_key
from recording_assets.pipeline.protection import ProtectionReport, lift_confirmed, protect_at_risk
from recording_assets.pipeline.radar import scan, unarchived
from recording_assets.pipeline.radar_table import radar_key, radar_table
from recording_assets.pipeline.table_io import write_table
from recording_assets.pipeline.tables import to_table
from recording_assets.settings import Settings

RADAR = names.RADAR.path[-1]
RADAR_CHECK = "no_unarchived_recording_expiring"
DAYS_AT_RISK = "days_at_risk"  # metadata: {day: recordings at risk}, read by the archive schedule
ORPHANS_ASSET = names.ORPHANS.path[-1]


def build_expiry_radar(timezone_name: str, *, pool_limit: int = 1) -> dg.AssetsDefinition:
    @dg.asset(
        name=RADAR,
        pool=GENESYS_POOL,
        group_name=RETENTION_GROUP,
        kinds={"genesys", "s3"},
        description="Recordings Genesys deletes within expiry_radar_days that the archive does not hold, per "
        "day (retention query, paged and bounded; an S3 listing per day). The archive schedule runs those "
        "days first; with protect_until_archived their conversations are protected (legal hold, within "
        "the org cap minus a reserve) and the product's own holds lifted once archived.",
        check_specs=[
            dg.AssetCheckSpec(
                RADAR_CHECK,
                asset=RADAR,
                description="No recording Genesys deletes within the horizon is missing from the archive.",
            )
        ],
    )
    def recording_expiry_radar(
        context: dg.AssetExecutionContext, genesys: GenesysCloudResource, archive: ArchiveResource
    ):
        config = archive.config()
        retention = config.retention
        days = retention.expiry_radar_days
        manifests = archive.manifest_store()
        protection = ProtectionReport()

        async def run():
            async with genesys.client(
                concurrent_runs=instance_pool_limit(context.instance, fallback=pool_limit).limit
            ) as client:
                now = datetime.fromtimestamp(client.clock.time(), timezone.utc)
                try:
                    found = await scan(
                        client.retention, horizon_days=days, max_pages=retention.radar_max_pages, now=now
                    )
                except PermissionDeniedError as exc:  # the radar's own read; protection's must not hide
                    return exc
                report = unarchived(
                    list(found.entries),
                    horizon_days=days,
                    archive=archive.archive_store(),
                    manifests=manifests,
                    timezone=timezone_name,
                    key_prefix=config.key_prefix,
                )
                if retention.protect_until_archived:  # lift ours first: it frees room for the new ones
                    await lift_confirmed(client.protection, manifests, report=protection)
                    at_risk = {e.conversation_id: day for day, es in report.at_risk.items() for e in es}
                    await protect_at_risk(
                        client.protection, manifests, at_risk, reserve=retention.protection_reserve,
                        run_id=context.run.run_id, now=now, report=protection,
                    )  # fmt: skip
                return found, report, client.stats, now

        done = asyncio.run(run())
        if isinstance(done, PermissionDeniedError):
            yield from _skipped(context, done)
            return
        found, report, stats, now = done
        per_day = report.per_day()
        soonest = report.soonest()
        table = radar_table(report)
        uri = write_table(manifests, radar_key(day=now.date()), table)
        entries = found.entries
        if report.total:
            context.log.warning(f"{report.total} recordings expire within {days} days unarchived: {per_day}")
        if not entries.complete:
            context.log.warning(f"expiry radar incomplete: {entries.incomplete_reason}")
        yield dg.MaterializeResult(
            metadata={
                "outcome": "complete" if entries.complete else f"incomplete: {entries.incomplete_reason}",
                "horizon_days": days,
                "recordings_within_horizon": report.checked,
                "at_risk": report.total,
                DAYS_AT_RISK: dg.MetadataValue.json(per_day),
                "soonest_delete_date": soonest.isoformat() if soonest else "none",
                # The cost, whatever retentionThresholdDays means to the org (docs/genesys-behaviours.md).
                "retention_pages": found.pages,
                "retention_entries_read": found.read,
                "rejected_entries": len(entries.rejected),
                "deletion_protection": protection.note() if retention.protect_until_archived else "off",
                "api_requests": stats.api_requests,
                **table_metadata(table, uri),
                "table_link": dg.MetadataValue.url(archive.links().browser_url(uri)),
            }
        )
        at_risk = [e for batch in report.at_risk.values() for e in batch]
        examples = [f"{e.conversation_id}/{e.recording_id}" for e in at_risk]
        problems = []
        if report.total:
            problems.append(
                f"{report.total} recordings expire within {days} days and are not archived: run those days "
                "(the archive schedule does so on its next tick); ARCHIVED ones need restore_archived"
            )
        if not entries.complete:
            problems.append(f"the radar did not read the whole answer ({entries.incomplete_reason})")
        yield dg.AssetCheckResult(
            check_name=RADAR_CHECK,
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(problems) or None,
            metadata={
                DAYS_AT_RISK: dg.MetadataValue.json(per_day),
                "examples": dg.MetadataValue.json(examples[:20]),
            },
        )

    return recording_expiry_radar


def build_recording_orphans(
    partitions_def, backfill_policy=None, *, pool_limit: int = 1
) -> dg.AssetsDefinition:
    @dg.asset(
        name=ORPHANS_ASSET,
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        pool=GENESYS_POOL,
        group_name=RETENTION_GROUP,
        kinds={"genesys", "s3"},
        description="The day's orphan recordings (held by Genesys without a conversation, so invisible to "
        "discovery) as a Parquet table under orphans/date=YYYY-MM-DD/.",
    )
    def recording_orphans(
        context: dg.AssetExecutionContext, genesys: GenesysCloudResource, archive: ArchiveResource
    ) -> dg.MaterializeResult:
        window = window_of(context, timezone_of(context))

        async def run():
            async with genesys.client(
                concurrent_runs=instance_pool_limit(context.instance, fallback=pool_limit).limit
            ) as client:
                return await client.retention.orphans(), client.stats

        try:
            orphans, stats = asyncio.run(run())
        except PermissionDeniedError as exc:
            return dg.MaterializeResult(metadata=_skipped_metadata(context, exc))
        rows = orphan_rows(orphans, window)
        table = to_table(rows, ORPHANS)
        uri = write_table(archive.manifest_store(), orphans_key(day=window.day), table)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table, uri),
                "table_link": dg.MetadataValue.url(archive.links().browser_url(uri)),
                "outcome": "complete" if orphans.complete else f"incomplete: {orphans.incomplete_reason}",
                "orphans": len(rows),
                "orphans_listed": len(orphans),
                "uri": dg.MetadataValue.text(uri),
                "api_requests": stats.api_requests,
            }
        )

    return recording_orphans


def _skipped_metadata(context: dg.AssetExecutionContext, exc: PermissionDeniedError) -> dict:
    """A permission the org did not grant (these features are optional): a visible, successful skip."""
    outcome = f"skipped: permission missing ({exc.permission or 'unknown'})"
    context.log.warning(f"{context.asset_key.to_user_string()} {outcome}: grant it to use this feature")
    return {"outcome": outcome}


def _skipped(context: dg.AssetExecutionContext, exc: PermissionDeniedError):
    metadata = _skipped_metadata(context, exc)
    yield dg.MaterializeResult(metadata=metadata)
    yield dg.AssetCheckResult(
        check_name=RADAR_CHECK,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"the radar could not look: {metadata['outcome']}",
        metadata=metadata,
    )


def retention_jobs_and_schedules(radar, orphans, cron: str, timezone_name: str):
    """The radar job and the orphans job, each with a daily schedule (the radar's on the archive schedule's
    cron: each archive tick reads the radar's latest result)."""
    radar_job = dg.define_asset_job(names.RADAR_JOB, selection=dg.AssetSelection.assets(radar))
    orphans_job = dg.define_asset_job(names.ORPHANS_JOB, selection=dg.AssetSelection.assets(orphans))
    radar_schedule = dg.ScheduleDefinition(
        name="expiry_radar_daily",
        job=radar_job,
        cron_schedule=cron,
        execution_timezone=timezone_name,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )

    @dg.schedule(
        name="orphans_daily",
        job=orphans_job,
        cron_schedule=cron,
        execution_timezone=timezone_name,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def orphans_schedule(context: dg.ScheduleEvaluationContext):
        day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
        return dg.RunRequest(run_key=f"orphans:{day}", partition_key=day)

    return [radar_job, orphans_job], [radar_schedule, orphans_schedule]


RESTORED_SENSOR = "restored_recordings"
RESTORED_CHECK_EVERY_S = 3 * 3600  # Genesys takes hours to restore; each check re-runs the day (cheaply)


def build_restored_sensor() -> dg.SensorDefinition:
    """Runs again the days whose latest audio materialisation left recordings ``restoring``, every few hours,
    until a run finds them RESTORED and archives them. Cursor: the last materialisation read and the days
    still restoring, so each tick reads only new materialisations."""

    @dg.sensor(
        name=RESTORED_SENSOR,
        job_name=names.ARCHIVE_JOB,
        minimum_interval_seconds=RESTORED_CHECK_EVERY_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def restored_recordings(context: dg.SensorEvaluationContext):
        state = json.loads(context.cursor) if context.cursor else {"after": None, "days": []}
        days = set(state["days"])
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(names.AUDIO, after_storage_id=state["after"]),
            limit=1000,
            ascending=True,
        ).records
        for record in records:
            materialization = record.asset_materialization
            restoring = materialization.metadata.get("state_restoring") if materialization else None
            if materialization and materialization.partition:
                still = restoring is not None and restoring.value
                (days.add if still else days.discard)(materialization.partition)
            state["after"] = record.storage_id
        bucket = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H")
        for day in sorted(days):
            yield dg.RunRequest(
                run_key=f"restored:{day}@{bucket}",
                partition_key=day,
                tags={"recording_assets/kind": "restored"},
            )
        context.update_cursor(json.dumps({"after": state["after"], "days": sorted(days)}))

    return restored_recordings


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    timezone_name, pool_limit = settings.partitions.timezone, settings.operations.pool_limit
    radar = build_expiry_radar(timezone_name, pool_limit=pool_limit)
    with known_beta_backfill_policy() as policy:
        orphans = build_recording_orphans(
            daily_partitions(settings.partitions), policy, pool_limit=pool_limit
        )
    jobs, schedules = retention_jobs_and_schedules(radar, orphans, settings.automation.cron, timezone_name)
    return dg.Definitions(
        assets=catalogued([radar, orphans], settings.operations),
        jobs=jobs,
        schedules=schedules,
        sensors=[build_restored_sensor()],
    )
