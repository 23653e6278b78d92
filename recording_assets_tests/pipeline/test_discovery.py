"""Discovery: the day's ended conversations from the sandbox, and the metadata table there and back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from recording_assets.genesys.models import ConversationSummary
from recording_assets.pipeline.discovery import conversations_from_table, discover_day, metadata_table
from recording_assets.pipeline.tables import METADATA
from recording_assets.pipeline.window import day_window
from recording_assets_tests.pipeline.support import DAY, genesys_client, requests_by_family

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def summary(cid: str, end: datetime | None, **kwargs) -> ConversationSummary:
    values = dict(
        conversation_id=cid,
        conversation_start=START,
        conversation_end=end,
        originating_direction="inbound",
        division_ids=("d1",),
        media_types=("voice",),
        agent_ids=("a1", "a2"),
        queue_ids=("q1",),
        wrap_up_codes=(),
        recorded_sessions=2,
        addresses=("tel:+15551234567",),
    )
    return ConversationSummary(**{**values, **kwargs})


def test_metadata_table_row_and_duration():
    table = metadata_table([summary("c1", START + timedelta(minutes=5, milliseconds=250))])
    assert table.schema == METADATA
    assert table.to_pylist() == [
        {
            "conversation_id": "c1",
            "conversation_start": START,
            "conversation_end": START + timedelta(minutes=5, milliseconds=250),
            "duration_ms": 300_250,
            "originating_direction": "inbound",
            "media_types": ["voice"],
            "agent_ids": ["a1", "a2"],
            "queue_ids": ["q1"],
            "wrap_up_codes": [],
            "division_ids": ["d1"],
            "recorded_sessions": 2,
            "participant_addresses": ["tel:+15551234567"],
        }
    ]


def test_an_open_conversation_has_no_duration():
    assert metadata_table([summary("c2", None)]).to_pylist()[0]["duration_ms"] is None


def test_table_round_trip_gives_the_same_conversations():
    conversations = [
        summary("c1", START + timedelta(seconds=30)),
        summary("c2", None, queue_ids=(), recorded_sessions=0),
    ]
    assert conversations_from_table(metadata_table(conversations)) == conversations
    assert conversations_from_table(metadata_table([])) == []


def test_discover_day_returns_the_ended_conversations_of_the_window(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=30, media_scale=0.002)
    window = day_window(DAY, "UTC")

    async def discover():
        async with genesys_client(sandbox, fake_clock) as client:
            return await discover_day(client, window)

    found = asyncio.run(discover()).conversations
    lo, hi = (int(t.timestamp() * 1000) for t in (window.start, window.end))
    truth = {c.id for c in sandbox.org.conversations_for_day(DAY) if lo <= c.start_ms < hi}
    assert {c.conversation_id for c in found} == truth and len(truth) > 0
    assert all(window.start <= c.conversation_start < window.end and c.conversation_end for c in found)
    assert requests_by_family(sandbox)["analytics.query"] == 1
