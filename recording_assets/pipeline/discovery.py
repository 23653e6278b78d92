"""A day's conversations, as the ``recording_metadata`` table and back."""

from __future__ import annotations

import pyarrow as pa

from recording_assets.genesys import GenesysClient
from recording_assets.genesys.analytics import Discovery
from recording_assets.genesys.models import ConversationSummary
from recording_assets.pipeline.window import DayWindow
from recording_assets.pipeline.tables import METADATA, to_table


async def discover_day(client: GenesysClient, window: DayWindow, *, media_types=None) -> Discovery:
    """Ended conversations that started in the local day; live ones belong to a later sweep."""
    return await client.analytics.conversations(start=window.start, end=window.end, media_types=media_types, ended=True)


def metadata_table(conversations: list[ConversationSummary]) -> pa.Table:
    rows = []
    for c in conversations:
        end = c.conversation_end
        rows.append(
            {
                "conversation_id": c.conversation_id,
                "conversation_start": c.conversation_start,
                "conversation_end": end,
                "duration_ms": int((end - c.conversation_start).total_seconds() * 1000) if end else None,
                "originating_direction": c.originating_direction,
                "media_types": list(c.media_types),
                "agent_ids": list(c.agent_ids),
                "queue_ids": list(c.queue_ids),
                "wrap_up_codes": list(c.wrap_up_codes),
                "division_ids": list(c.division_ids),
                "recorded_sessions": c.recorded_sessions,
            }
        )
    return to_table(rows, METADATA)


def conversations_from_table(table: pa.Table) -> list[ConversationSummary]:
    return [
        ConversationSummary(
            conversation_id=row["conversation_id"],
            conversation_start=row["conversation_start"],
            conversation_end=row["conversation_end"],
            originating_direction=row["originating_direction"],
            division_ids=tuple(row["division_ids"] or ()),
            media_types=tuple(row["media_types"] or ()),
            agent_ids=tuple(row["agent_ids"] or ()),
            queue_ids=tuple(row["queue_ids"] or ()),
            wrap_up_codes=tuple(row["wrap_up_codes"] or ()),
            recorded_sessions=int(row["recorded_sessions"] or 0),
        )
        for row in table.to_pylist()
    ]
