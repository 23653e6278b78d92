"""``genesys_conversations``: the org's conversations, the external source at the head of the lineage.

Dagster does not materialise it; every discovery of a day (each archive run and each re-sweep) records an
observation of that day's partition: how many ended conversations analytics lists and how many recorded
sessions it flags, with a data version over both. A recording that arrives after the day was archived
shows on the source's partition as a new observation whose data version differs from the one the
archived metadata was built from.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from recording_assets.defs.catalog import catalogued
from recording_assets.defs.names import ARCHIVE_GROUP, SOURCE
from recording_assets.defs.partitions import daily_partitions
from recording_assets.genesys.models import ConversationSummary
from recording_assets.settings import Settings

SOURCE_KEY = SOURCE
DATA_VERSION_TAG = "dagster/data_version"  # Dagster's tag for an observation's data version


def conversations_source(partitions_def) -> dg.AssetSpec:
    return dg.AssetSpec(
        SOURCE_KEY,
        partitions_def=partitions_def,
        group_name=ARCHIVE_GROUP,
        kinds={"genesys"},
        description="The Genesys Cloud org's ended conversations, by the local day they started (analytics "
        "conversation details). External: observed by every discovery, never materialised here.",
    )


def source_observation(
    day: str, conversations: list[ConversationSummary], *, complete: bool = True
) -> dg.AssetObservation:
    """What discovery saw of the source for ``day``; the data version changes when a conversation or a
    recorded session is added. ``complete=False`` (discovery stopped early) says the counts are partial."""
    digest = hashlib.sha256()
    for conversation_id, sessions in sorted((c.conversation_id, c.recorded_sessions) for c in conversations):
        digest.update(f"{conversation_id}:{sessions}\n".encode())
    return dg.AssetObservation(
        asset_key=SOURCE_KEY,
        partition=day,
        metadata={
            "conversations": len(conversations),
            "recorded_sessions": sum(c.recorded_sessions for c in conversations),
            "conversations_with_recordings": sum(1 for c in conversations if c.recorded_sessions),
            "discovery_complete": complete,
        },
        tags={DATA_VERSION_TAG: digest.hexdigest()[:16]},
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    source = conversations_source(daily_partitions(settings.partitions))
    return dg.Definitions(assets=catalogued([source], settings.operations))
