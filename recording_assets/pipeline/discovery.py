"""A day's conversations, as the ``recording_metadata`` table and back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pyarrow as pa

from recording_assets.genesys import GenesysClient
from recording_assets.genesys.analytics import Discovery
from recording_assets.genesys.models import ConversationSummary, shared_text
from recording_assets.pipeline.tables import METADATA, table_of
from recording_assets.pipeline.window import DayWindow


async def discover_day(
    client: GenesysClient, window: DayWindow, *, media_types=None, on_new=None
) -> Discovery:
    """Ended conversations that started in the local day; live ones belong to a later sweep. ``on_new``: each
    page's conversations not seen before, as it arrives (``Analytics.conversations``)."""
    return await client.analytics.conversations(
        start=window.start, end=window.end, media_types=media_types, ended=True, on_new=on_new
    )


async def pages_as_found(client: GenesysClient, window: DayWindow, *, media_types=None):
    """Discovery as a stream: (an async iterator of pages of new conversations, a task that returns the
    whole ``Discovery``). The iterator ends when discovery does, raising discovery's error if it failed."""
    pages: asyncio.Queue = asyncio.Queue()

    async def discover() -> Discovery:
        try:
            return await discover_day(client, window, media_types=media_types, on_new=pages.put)
        finally:
            pages.put_nowait(None)

    task = asyncio.ensure_future(discover())

    async def found():
        while (page := await pages.get()) is not None:
            yield page
        await task  # a discovery that failed fails whoever reads its pages

    return found(), task


def metadata_table(conversations: Iterable[ConversationSummary]) -> pa.Table:
    """The ``recording_metadata`` table, built in record batches (no row dicts)."""
    return table_of(conversations, METADATA, _metadata_values)


def _metadata_values(c: ConversationSummary) -> tuple:
    end = c.conversation_end
    return (
        c.conversation_id,
        c.conversation_start,
        end,
        int((end - c.conversation_start).total_seconds() * 1000) if end else None,
        c.originating_direction,
        c.media_types,
        c.agent_ids,
        c.queue_ids,
        c.wrap_up_codes,
        c.division_ids,
        c.recorded_sessions,
        c.addresses,
    )


def conversations_from_table(table: pa.Table) -> list[ConversationSummary]:
    """The conversations back, a record batch at a time (never the whole table as row dicts)."""
    return [
        ConversationSummary(
            conversation_id=row["conversation_id"],
            conversation_start=row["conversation_start"],
            conversation_end=row["conversation_end"],
            originating_direction=shared_text(row["originating_direction"]),
            division_ids=_shared_all(row["division_ids"]),
            media_types=_shared_all(row["media_types"]),
            agent_ids=_shared_all(row["agent_ids"]),
            queue_ids=_shared_all(row["queue_ids"]),
            wrap_up_codes=_shared_all(row["wrap_up_codes"]),
            recorded_sessions=int(row["recorded_sessions"] or 0),
            addresses=tuple(row.get("participant_addresses") or ()),
        )
        for batch in table.to_batches(max_chunksize=8192)
        for row in batch.to_pylist()
    ]


def _shared_all(values: list[str] | None) -> tuple[str, ...]:
    """The table holds a copy of each agent, queue ... id per row: one copy each for the whole day."""
    return tuple(shared_text(value) for value in values or ())
