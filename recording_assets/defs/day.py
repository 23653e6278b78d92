"""The day's step: ``recording_metadata`` and ``recording_audio`` as one multi-asset.

Together (the daily job), discovery's pages feed the archive as they arrive, so bytes flow while the day is
still being read, with one client, one preflight and one pacer for the token's budget. Either asset can
still be materialised alone (``can_subset``): metadata alone is discovery and its table; audio alone
archives from the stored table (a re-run that need not read the day again).
"""

import asyncio

import dagster as dg

from recording_assets.archive.keys import metadata_key
from recording_assets.clock import SystemClock
from recording_assets.defs.audio import AUDIO_KEY, AUDIO_SPEC, CHECK_SPECS, DayAudio
from recording_assets.defs.common import GENESYS_POOL, concurrent_runs, read_table, timezone_of, window_of
from recording_assets.defs.metadata import (
    DISCOVERY_FAMILIES,
    METADATA_KEY,
    METADATA_SPEC,
    NO_PREFLIGHT,
    metadata_result,
)
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.genesys.errors import PermissionDeniedError
from recording_assets.genesys.transport import TransportStats
from recording_assets.pipeline.discovery import conversations_from_table, discover_day, pages_as_found


def build_recording_day(partitions_def, backfill_policy=None):
    @dg.multi_asset(
        name="recording_day",
        specs=[METADATA_SPEC, AUDIO_SPEC],
        check_specs=CHECK_SPECS,
        can_subset=True,
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        pool=GENESYS_POOL,
    )
    def recording_day(
        context: dg.AssetExecutionContext, genesys: GenesysCloudResource, archive: ArchiveResource
    ):
        window = window_of(context, timezone_of(context))
        selected = context.selected_asset_keys
        try:
            if AUDIO_KEY not in selected:
                yield from _metadata_alone(context, genesys, archive, window)
            elif METADATA_KEY not in selected:
                yield from _audio_alone(context, genesys, archive, window)
            else:
                yield from _discovered_and_archived(context, genesys, archive, window)
        except PermissionDeniedError as exc:
            raise dg.Failure(description=f"Preflight failed: {exc}") from None

    return recording_day


def _metadata_alone(context, genesys, archive, window):
    async def run():
        async with genesys.client(concurrent_runs=concurrent_runs(context)) as client:
            return await discover_day(client, window, media_types=archive.media_types), client.stats

    discovery, stats = asyncio.run(run())
    yield metadata_result(context, archive.manifest_store(), window, discovery, NO_PREFLIGHT, stats)


def _audio_alone(context, genesys, archive, window):
    audio = DayAudio(context, archive, window)
    conversations = conversations_from_table(read_table(audio.manifest_store, metadata_key(day=window.day)))

    async def run():
        async with genesys.client(concurrent_runs=concurrent_runs(context)) as client:
            report = await client.preflight(("recording",), archive.preflight_permissions())
            for warning in report.warnings:
                context.log.warning(warning)
            return *await audio.run(client, report, conversations), client.stats

    start = SystemClock().time()
    result, options, stats = asyncio.run(run())
    yield from audio.results(result, options, _spent(stats, exclude=()), SystemClock().time() - start)


def _discovered_and_archived(context, genesys, archive, window):
    audio = DayAudio(context, archive, window)

    async def run():
        async with genesys.client(concurrent_runs=concurrent_runs(context)) as client:
            report = await client.preflight(("recording",), archive.preflight_permissions())
            pages, discovery = await pages_as_found(client, window, media_types=archive.media_types)
            try:
                result, options = await audio.run(client, report, pages=pages)
            finally:
                discovery.cancel()  # done by now, unless the archive failed first
            return report, discovery.result(), result, options, client.stats

    start = SystemClock().time()
    report, discovery, result, options, stats = asyncio.run(run())
    yield metadata_result(context, audio.manifest_store, window, discovery, report, stats)
    elapsed = SystemClock().time() - start
    yield from audio.results(result, options, _spent(stats, exclude=DISCOVERY_FAMILIES), elapsed)


def _spent(stats: TransportStats, *, exclude: tuple[str, ...]) -> dict:
    """The budgeted requests of the archive's part of the step: discovery's are the metadata's."""
    requests = {f: n for f, n in stats.requests.items() if f not in ("token", "media", *exclude)}
    return {"requests": requests, "rate_limited": stats.rate_limited}
