"""A day's conversations, as the ``recording_metadata`` table and back."""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from recording_assets.genesys import GenesysClient
from recording_assets.genesys.analytics import Discovery
from recording_assets.genesys.listing import Rejected
from recording_assets.genesys.models import ConversationSummary, shared_text
from recording_assets.genesys.session_log import ABSENT, SessionLog
from recording_assets.pipeline.tables import METADATA, SESSION, TS, table_of
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


def metadata_table(
    conversations: Iterable[ConversationSummary],
    rejected: Iterable[Rejected] = (),
    sessions: SessionLog | None = None,
) -> pa.Table:
    """The ``recording_metadata`` table, built in record batches (no row dicts): a row per conversation, and
    one per conversation discovery ``rejected`` whose id is safe (no ``conversationStart``, say): its id and
    why, nothing else, so that ``recording_audio`` run from this table meets it as the one-step run does."""
    conversations = list(conversations)
    known = {c.conversation_id for c in conversations}
    left_out = {
        r.conversation_id: r for r in rejected if r.conversation_id and r.conversation_id not in known
    }
    rows: list[ConversationSummary | Rejected] = [*conversations, *left_out.values()]
    table = table_of(rows, METADATA, _metadata_values)
    ids = [c.conversation_id for c in conversations]
    column = _sessions_column(sessions or SessionLog(), ids, rejected=len(left_out))
    return table.set_column(METADATA.get_field_index("sessions"), METADATA.field("sessions"), column)


def _sessions_column(log: SessionLog, conversation_ids: list[str], *, rejected: int) -> pa.Array:
    """The ``sessions`` column, built from the log's columns in Arrow (no object per session): a list per
    conversation, then a null per rejected one (nothing is known of it)."""
    offsets, rows = log.spans(conversation_ids)
    offsets.extend([offsets[-1]] * rejected)
    columns = log.columns()
    take = _int64s(rows)

    def words(name: str) -> pa.Array:
        return pa.array(columns[name], pa.string()).take(take)

    def ids() -> pa.Array:
        data, ends, present = columns["session_id"]
        strings = pa.LargeStringArray.from_buffers(len(present), pa.py_buffer(ends), pa.py_buffer(data))
        return pc.if_else(_flags(present), strings, None).take(take).cast(pa.string())

    def times(name: str) -> pa.Array:
        micros = _int64s(columns[name]).take(take)
        return pc.if_else(pc.equal(micros, ABSENT), None, micros).cast(TS)

    start, end = times("start"), times("end")
    values = pa.StructArray.from_arrays(
        [
            ids(),
            words("media_type"),
            words("message_type"),
            words("direction"),
            start,
            end,
            pc.cast(pc.milliseconds_between(start, end), pa.int64()),
            _flags(columns["recorded"]).take(take),
        ],
        fields=list(SESSION),
    )
    mask = pa.array([False] * len(conversation_ids) + [True] * rejected, pa.bool_())
    return pa.ListArray.from_arrays(_int32s(offsets), values, type=METADATA.field("sessions").type, mask=mask)


def _flags(values: bytearray) -> pa.Array:
    """Bytes 0/1 as booleans."""
    return pc.not_equal(pa.Array.from_buffers(pa.uint8(), len(values), [None, pa.py_buffer(values)]), 0)


def _int64s(values: array) -> pa.Array:
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _int32s(values: array) -> pa.Array:
    return pc.cast(_int64s(values), pa.int32())


def _metadata_values(c: ConversationSummary | Rejected) -> tuple:
    if isinstance(c, Rejected):
        values: list = [None] * len(METADATA)  # its id and why, by column name: nothing else is known
        values[0], values[METADATA.get_field_index("invalid_reason")] = c.conversation_id, c.reason
        return tuple(values)
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
        c.invalid_reason,  # the client's flag: audio run from this table fails what the one-step run fails
        c.addresses,
        *_UNNAMED,  # the names: set once the day's ids are known (``pipeline/names.py``)
        None,  # the sessions: set from the day's log, column-wise (``_sessions_column``)
    )


_UNNAMED = (None,) * 5


# What ``conversations_from_table`` and ``rejected_from_table`` read: not the names or the sessions, which
# only the tables carry (a 100,000-conversation day's sessions are some 350,000 structs).
READ_BACK_COLUMNS = (
    "conversation_id",
    "conversation_start",
    "conversation_end",
    "originating_direction",
    "division_ids",
    "media_types",
    "agent_ids",
    "queue_ids",
    "wrap_up_codes",
    "recorded_sessions",
    "invalid_reason",
    "participant_addresses",
)


def conversations_from_table(table: pa.Table) -> list[ConversationSummary]:
    """The conversations back (from ``READ_BACK_COLUMNS``), a record batch at a time (never the whole table
    as row dicts); the rows of rejected conversations (no start) are ``rejected_from_table``'s."""
    table = table.select([name for name in READ_BACK_COLUMNS if name in table.column_names])
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
            invalid_reason=row.get("invalid_reason"),  # absent from a table written before the column
            addresses=tuple(row.get("participant_addresses") or ()),
        )
        for batch in table.to_batches(max_chunksize=8192)
        for row in batch.to_pylist()
        if row["conversation_start"] is not None
    ]


def rejected_from_table(table: pa.Table) -> list[Rejected]:
    """The conversations discovery rejected, as ``metadata_table`` kept them (the rows without a start)."""
    rows = table.filter(pc.is_null(table["conversation_start"])).to_pylist()
    return [
        Rejected("conversation", index, row.get("invalid_reason") or "rejected", row["conversation_id"])
        for index, row in enumerate(rows)
    ]


def _shared_all(values: list[str] | None) -> tuple[str, ...]:
    """The table holds a copy of each agent, queue ... id per row: one copy each for the whole day."""
    return tuple(shared_text(value) for value in values or ())
