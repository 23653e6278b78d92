"""The day's step: ``recording_metadata`` and ``recording_audio`` as one multi-asset.

Together (the daily job), discovery's pages feed the archive as they arrive, so bytes flow while the day is
still being read, with one client, one preflight and one pacer for the token's budget. Either asset can
still be materialised alone (``can_subset``): metadata alone is discovery and its table; audio alone
archives from the stored table (a re-run that need not read the day again). The day itself is the
library's ``pipeline.day.archive_day``; this module turns resources into its arguments and its result into
Dagster events.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from recording_assets.archive.keys import metadata_key
from recording_assets.clock import SystemClock
from recording_assets.defs.audio import (
    STRAYS_SHOWN,
    audio_results,
    audio_spec,
    budget_line,
    check_specs,
    object_lock_line,
    sensitive_check_line,
)
from recording_assets.defs.automation import known_beta_backfill_policy
from recording_assets.defs.catalog import catalogued
from recording_assets.defs.common import launched_by, timezone_of, window_of
from recording_assets.defs.metadata import DISCOVERY_FAMILIES, metadata_result, metadata_spec
from recording_assets.defs.names import AUDIO, GENESYS_POOL, METADATA
from recording_assets.defs.partitions import daily_partitions
from recording_assets.defs.pool_limit import pool_limit as instance_pool_limit
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.genesys.analytics import Discovery
from recording_assets.genesys.errors import PermissionDeniedError
from recording_assets.genesys.redact import clean_text
from recording_assets.genesys.transport import TransportStats
from recording_assets.pipeline.day import DayResult, DayStores, archive_day
from recording_assets.pipeline.discovery import (
    READ_BACK_COLUMNS,
    conversations_from_table,
    discover_day,
    pages_as_found,
    rejected_from_table,
)
from recording_assets.pipeline.names import DayNames, day_names, ids_of
from recording_assets.pipeline.table_io import MissingTableError, require_table
from recording_assets.pipeline.window import DayWindow
from recording_assets.settings import Settings


@dataclass(frozen=True)
class _Step:
    discovery: Discovery | None  # None when only the audio was selected
    names: DayNames | None  # the names of the discovered ids; None when discovery did not run
    day: DayResult | None  # None when only the metadata was selected
    stats: TransportStats
    elapsed_s: float
    budget: dict  # what the client learned of the request budget (budget.RequestBudget.report)


def build_recording_day(partitions_def, backfill_policy=None, *, pool_limit: int = 1):
    """``pool_limit``: the genesys_api pool's limit, how many runs share the token's budget at once."""

    @dg.multi_asset(
        name="recording_day",
        specs=[metadata_spec(), audio_spec()],
        check_specs=check_specs(partitions_def),
        can_subset=True,
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        pool=GENESYS_POOL,
    )
    def recording_day(
        context: dg.AssetExecutionContext, genesys: GenesysCloudResource, archive: ArchiveResource
    ):
        window = window_of(context, timezone_of(context))
        try:
            step = asyncio.run(_run(context, genesys, archive, window, pool_limit))
        except PermissionDeniedError as exc:
            raise dg.Failure(description=f"Preflight failed: {exc}") from None
        except MissingTableError as exc:
            raise dg.Failure(description=str(exc)) from None
        context.log.info(budget_line(step.budget))
        if step.discovery is not None:
            yield metadata_result(
                context,
                archive.manifest_store(),
                window,
                step.discovery,
                step.stats,
                step.names,
                archive.links(),
            )
        if step.day is not None and (strays := step.day.report.stray_keys):
            shown = ", ".join(clean_text(k) for k in strays[:STRAYS_SHOWN])
            context.log.warning(
                f"{len(strays)} key(s) under the day's prefix are not recordings, skipped: {shown}"
            )
        if step.day is not None:
            # Discovery's requests are the metadata's when both ran in this step.
            exclude = DISCOVERY_FAMILIES if step.discovery is not None else ()
            api = {**_spent(step.stats, exclude=exclude), "request_budget": step.budget}
            yield from audio_results(
                step.day,
                api=api,
                elapsed=step.elapsed_s,
                launched_by=launched_by(context),
                links=archive.links(),
            )

    return recording_day


async def _run(
    context, genesys: GenesysCloudResource, archive: ArchiveResource, window: DayWindow, pool_limit
):
    selected, config, clock = context.selected_asset_keys, archive.config(), SystemClock()
    start = clock.time()
    if AUDIO in selected and config.object_lock is not None:
        # Before any request to Genesys: a bucket that cannot lock would refuse every write of the day.
        context.log.info(object_lock_line(archive.archive_store(), config.object_lock))
    share = instance_pool_limit(context.instance, fallback=pool_limit)
    context.log.info(share.line())
    async with genesys.client(concurrent_runs=share.limit) as client:
        if AUDIO not in selected:
            discovery = await discover_day(client, window, media_types=config.media_types)
            names = await _names(client, archive, discovery, clock)
            return _Step(discovery, names, None, client.stats, clock.time() - start, client.request_budget)
        preflight = await client.preflight(
            ("recording",), config.preflight_permissions(), config.retention.wanted_permissions
        )
        for warning in preflight.warnings:
            context.log.warning(warning)
        context.log.info(
            sensitive_check_line(
                config.sensitive_check_for(preflight.sensitive_data), preflight.sensitive_data
            )
        )
        stores = DayStores(archive=archive.archive_store(), manifests=archive.manifest_store())
        run = {
            "run_id": context.run.run_id,
            "launched_by": launched_by(context),
            "clock": clock,
            "progress": context.log.info,
        }
        the_day = (client, stores, window.day, config, preflight)
        if METADATA not in selected:
            table = require_table(stores.manifests, metadata_key(day=window.day), columns=READ_BACK_COLUMNS)
            day = await archive_day(
                *the_day,
                conversations=conversations_from_table(table),
                rejected=lambda: rejected_from_table(table),  # as the one-step run meets them
                **run,
            )
            return _Step(None, None, day, client.stats, clock.time() - start, client.request_budget)
        pages, discovering = await pages_as_found(client, window, media_types=config.media_types)

        async def names_once_discovered() -> DayNames:
            return await _names(client, archive, await discovering, clock)

        # Read as soon as discovery ends, while the day downloads: its sidecars need them (sidecar_feed.py).
        naming = asyncio.ensure_future(names_once_discovered())
        try:
            day = await archive_day(
                *the_day,
                pages=pages,
                rejected=lambda: discovering.result().rejected,  # discovery has ended with the pages
                names=naming,
                **run,
            )
        except BaseException:
            naming.cancel()
            raise
        finally:
            discovering.cancel()  # done by now, unless the archive failed first
        discovery = discovering.result()
        names = await naming
        return _Step(discovery, names, day, client.stats, clock.time() - start, client.request_budget)


async def _names(client, archive: ArchiveResource, discovery: Discovery, clock) -> DayNames:
    """The names of the day's ids: from the dimension tables, Genesys asked only for what they lack."""
    now = datetime.fromtimestamp(clock.time(), UTC)
    ids = ids_of(discovery.conversations)
    return await day_names(client.transport, archive.manifest_store(), ids, now=now)


def _spent(stats: TransportStats, *, exclude: tuple[str, ...]) -> dict:
    """The budgeted requests of the archive's part of the step."""
    requests = {f: n for f, n in stats.requests.items() if f not in ("token", "media", *exclude)}
    return {"requests": requests, "rate_limited": stats.rate_limited}


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    with known_beta_backfill_policy() as policy:
        day = build_recording_day(
            daily_partitions(settings.partitions),
            policy,
            pool_limit=settings.operations.pool_limit,
        )
    return dg.Definitions(assets=catalogued([day], settings.operations))
