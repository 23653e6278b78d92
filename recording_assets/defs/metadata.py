"""``recording_metadata``: the conversations of the day and what is known before any download.

Materialised by the day's step (``day.py``): alone, it is discovery and its table; with ``recording_audio``,
discovery feeds the archive page by page and this table is written when the last page is in.
"""

from collections import Counter

import dagster as dg

from recording_assets.archive.keys import metadata_key
from recording_assets.archive.links import ObjectLinks
from recording_assets.defs.catalog import table_metadata
from recording_assets.defs.names import ARCHIVE_GROUP, METADATA, SOURCE
from recording_assets.defs.source import source_observation
from recording_assets.genesys.analytics import Discovery
from recording_assets.genesys.transport import TransportStats
from recording_assets.pipeline.discovery import metadata_table
from recording_assets.pipeline.names import DayNames, with_names
from recording_assets.pipeline.table_io import write_table
from recording_assets.pipeline.window import DayWindow

METADATA_KEY = METADATA
DISCOVERY_FAMILIES = ("analytics.query", "analytics.jobs")


def metadata_spec() -> dg.AssetSpec:
    """``recording_metadata`` (a function: a spec at module level would load as an asset of its own)."""
    return dg.AssetSpec(
        METADATA_KEY,
        deps=[SOURCE],  # lineage starts at the org's conversations
        group_name=ARCHIVE_GROUP,
        kinds={"genesys", "parquet", "s3"},
        description="Ended conversations that started this day (in the partition time zone), with agents, "
        "queues, wrap-up codes, direction, media types and how many recorded sessions analytics reports.",
    )


def metadata_result(
    context: dg.AssetExecutionContext,
    manifest_store,
    window: DayWindow,
    discovery: Discovery,
    stats: TransportStats,
    names: DayNames | None,
    links: ObjectLinks,
) -> dg.MaterializeResult:
    """Write the day's metadata table, with the names of its ids, and say what discovery found."""
    if not discovery.complete:
        context.log.warning(f"discovery incomplete: {discovery.incomplete_reason}")
    table = metadata_table(discovery.conversations, discovery.rejected, discovery.sessions)
    if names is not None:
        table = with_names(table, names)
    uri = write_table(manifest_store, metadata_key(day=window.day), table)
    day = window.day.isoformat()
    context.log_event(source_observation(day, discovery.conversations, complete=discovery.complete))
    media = Counter(m for c in discovery.conversations for m in c.media_types)
    return dg.MaterializeResult(
        asset_key=METADATA_KEY,
        metadata={
            "conversations": len(discovery.conversations),
            "recorded_sessions": sum(c.recorded_sessions for c in discovery.conversations),
            "by_media_type": dg.MetadataValue.json(dict(sorted(media.items()))),
            "discovery_method": discovery.method,
            "discovery_route_reason": discovery.route_reason or "",
            "discovery_pages": discovery.pages,
            "discovery_complete": discovery.complete,
            "api_requests": sum(stats.requests.get(f, 0) for f in DISCOVERY_FAMILIES),
            "rate_limited_429": stats.rate_limited,
            **_names_metadata(names),
            "table_link": dg.MetadataValue.url(links.browser_url(uri)),  # s3:// opens nothing in a browser
            **table_metadata(table, uri),
            **window.metadata(),
        },
    )


def _names_metadata(names: DayNames | None) -> dict:
    """What naming the day's ids cost and which ids stay ids, with why (deleted, refused, malformed)."""
    if names is None:
        return {}
    return {
        "name_requests": dg.MetadataValue.json(names.requests),
        "names_unresolved": dg.MetadataValue.json(names.unresolved_counts()),
        "names_unresolved_reasons": dg.MetadataValue.json(names.unresolved()),
        "names_refused": dg.MetadataValue.json(names.refused),
    }
