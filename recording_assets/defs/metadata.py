"""``recording_metadata``: the conversations of the day and what is known before any download."""


import asyncio
from collections import Counter

import dagster as dg

from recording_assets.archive.keys import metadata_key
from recording_assets.defs.catalog import table_metadata
from recording_assets.defs.common import (
    GENESYS_POOL,
    GROUP,
    concurrent_runs,
    run_includes,
    timezone_of,
    window_of,
    with_preflight,
    write_table,
)
from recording_assets.genesys.errors import PermissionDeniedError
from recording_assets.genesys.preflight import PreflightReport
from recording_assets.pipeline.discovery import discover_day, metadata_table
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.defs.source import source_observation


NO_PREFLIGHT = PreflightReport(sensitive_data=None)  # a metadata-only run: nothing to check beyond discovery


def build_recording_metadata(partitions_def, backfill_policy=None):
    @dg.asset(
        name="recording_metadata",
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        pool=GENESYS_POOL,
        group_name=GROUP,
        kinds={"genesys", "parquet", "s3"},
        description="Ended conversations that started this day (in the partition time zone), with agents, "
        "queues, wrap-up codes, direction, media types and how many recorded sessions analytics reports.",
    )
    def recording_metadata(
        context: dg.AssetExecutionContext, genesys: GenesysCloudResource, archive: ArchiveResource
    ) -> dg.MaterializeResult:
        window = window_of(context, timezone_of(context))
        media_types = archive.media_types

        # Once per run, and only when this run also archives the audio (its step reuses the result): the
        # recording permission and whether sensitive recordings are visible. The analytics permission needs
        # no probe: discovery's first page names it when it is missing.
        archives_audio = run_includes(context, "recording_audio")

        async def run():
            async with genesys.client(concurrent_runs=concurrent_runs(context)) as client:
                permissions = archive.preflight_permissions()
                report = NO_PREFLIGHT
                if archives_audio:
                    report = await client.preflight(("recording",), permissions)
                discovery = await discover_day(client, window, media_types=media_types)
                return report, discovery, client.stats

        try:
            report, discovery, stats = asyncio.run(run())
        except PermissionDeniedError as exc:
            raise dg.Failure(description=f"Preflight failed: {exc}") from None
        for warning in report.warnings:
            context.log.warning(warning)
        if not discovery.complete:
            context.log.warning(f"discovery incomplete: {discovery.incomplete_reason}")
        table = with_preflight(metadata_table(discovery.conversations), report, context.run.run_id)
        uri = write_table(archive.manifest_store(), metadata_key(day=window.day), table)
        day = window.day.isoformat()
        context.log_event(source_observation(day, discovery.conversations, complete=discovery.complete))
        media = Counter(m for c in discovery.conversations for m in c.media_types)
        return dg.MaterializeResult(
            metadata={
                "conversations": len(discovery.conversations),
                "recorded_sessions": sum(c.recorded_sessions for c in discovery.conversations),
                "by_media_type": dg.MetadataValue.json(dict(sorted(media.items()))),
                "discovery_method": discovery.method,
                "discovery_pages": discovery.pages,
                "discovery_complete": discovery.complete,
                "api_requests": stats.api_requests,
                "rate_limited_429": stats.rate_limited,
                "table_uri": dg.MetadataValue.url(uri),
                **table_metadata(table, uri),
                **window.metadata(),
            }
        )

    return recording_metadata
