"""Discovery: the day's ended conversations from the sandbox, and the metadata table there and back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

from recording_assets.archive.keys import metadata_key
from recording_assets.archive.store import ArchiveStore
from recording_assets.genesys.listing import Rejected
from recording_assets.genesys.models import ConversationSummary, SessionSummary
from recording_assets.genesys.session_log import SessionLog
from recording_assets.pipeline.day import DayStores, archive_day
from recording_assets.pipeline.discovery import (
    conversations_from_table,
    discover_day,
    metadata_table,
    rejected_from_table,
)
from recording_assets.pipeline.table_io import require_table, write_table
from recording_assets.pipeline.tables import METADATA
from recording_assets.pipeline.window import day_window
from recording_assets.sandbox.hostile import Hostile
from recording_assets_tests.pipeline.support import DAY, genesys_client, requests_by_family, run_settings

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
    sessions = (
        SessionSummary("s1", "message", "sms", "inbound", START, START + timedelta(seconds=90), True),
        SessionSummary(None, "message", None, "outbound", START, None, False),  # a segment still open
    )
    end = START + timedelta(minutes=5, milliseconds=250)
    log = SessionLog()
    log.put("c1", sessions)
    table = metadata_table([summary("c1", end)], sessions=log)
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
            "invalid_reason": None,
            "participant_addresses": ["tel:+15551234567"],
            # named once the day's ids are known (pipeline/names.py), not by discovery
            **dict.fromkeys(
                ("agent_names", "agent_emails", "queue_names", "wrap_up_names", "division_names")
            ),
            "sessions": [
                {
                    "session_id": "s1",
                    "media_type": "message",
                    "message_type": "sms",
                    "direction": "inbound",
                    "session_start": START,
                    "session_end": START + timedelta(seconds=90),
                    "duration_ms": 90_000,
                    "recorded": True,
                },
                {
                    "session_id": None,
                    "media_type": "message",
                    "message_type": None,
                    "direction": "outbound",
                    "session_start": START,
                    "session_end": None,
                    "duration_ms": None,
                    "recorded": False,
                },
            ],
        }
    ]


def test_an_open_conversation_has_no_duration():
    assert metadata_table([summary("c2", None)]).to_pylist()[0]["duration_ms"] is None


def test_table_round_trip_gives_the_same_conversations():
    conversations = [
        summary("c1", START + timedelta(seconds=30)),
        summary("c2", None, queue_ids=(), recorded_sessions=0),
        summary("c3", None, queue_ids=(), invalid_reason="queueId: it contains '/'"),
    ]
    assert conversations_from_table(metadata_table(conversations)) == conversations
    assert conversations_from_table(metadata_table([])) == []


def test_a_rejected_conversation_is_kept_as_its_id_and_why():
    rejected = [
        Rejected("conversation", 3, "conversation without 'conversationStart'", "c9"),
        Rejected("conversation", 4, "no id"),
    ]
    table = metadata_table([summary("c1", None)], [*rejected, Rejected("conversation", 5, "again", "c1")])
    assert table.num_rows == 2  # no row without a safe id, none for a conversation that has one
    assert conversations_from_table(table) == [summary("c1", None)]
    assert rejected_from_table(table) == [
        Rejected("conversation", 0, "conversation without 'conversationStart'", "c9")
    ]


def test_a_table_written_before_the_flag_column_reads_as_nothing_flagged():
    table = metadata_table([summary("c1", None)]).drop_columns(["invalid_reason"])
    assert conversations_from_table(table) == [summary("c1", None)]


def test_audio_from_the_stored_table_fails_what_the_one_step_run_fails(
    sandbox_factory, s3_client, fake_clock
):
    """The two ways ``recording_audio`` is materialised (``defs/day.py``): with discovery's conversations, or
    alone, from the stored metadata table. The conversations the client flagged or discovery rejected end
    the same either way."""
    scenarios = {
        "queue_traversal": "analytics conversation: queueId",
        "numeric_direction": "analytics conversation: originatingDirection",
        "no_conversation_start": "analytics conversation rejected: conversation without 'conversationStart'",
    }
    sb = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=30,
        media_scale=0.002,
        hostile=Hostile(items=frozenset(scenarios)),
    )

    async def run(given, suffix):
        buckets = (f"archive-{suffix}", f"manifest-{suffix}")
        for bucket in buckets:
            s3_client.create_bucket(Bucket=bucket)
        archive, manifests = (ArchiveStore(s3_client, bucket=b) for b in buckets)
        async with genesys_client(sb, fake_clock) as client:
            conversations, rejected = given(await discover_day(client, day_window(DAY, "UTC")), manifests)
            return await archive_day(
                client,
                DayStores(archive=archive, manifests=manifests),
                DAY,
                **run_settings(sensitive_permission=True),
                run_id=f"run-{suffix}",
                launched_by="test",
                clock=fake_clock,
                conversations=conversations,
                rejected=lambda: rejected,
            )

    def discovered(found, _):
        return found.conversations, found.rejected

    def stored(found, manifests):  # what defs/metadata.py writes and defs/day.py reads when audio runs alone
        write_table(manifests, metadata_key(day=DAY), metadata_table(found.conversations, found.rejected))
        table = require_table(manifests, metadata_key(day=DAY))
        return conversations_from_table(table), rejected_from_table(table)

    suffix = uuid.uuid4().hex[:8]
    one_step = asyncio.run(run(discovered, f"a{suffix}"))
    from_table = asyncio.run(run(stored, f"b{suffix}"))

    targets = sb.hostile_targets(DAY)
    assert set(targets) == set(scenarios)
    for result in (one_step, from_table):
        rows = {(r["conversation_id"], r["recording_id"]): r for r in result.outcomes.to_pylist()}
        for scenario, words in scenarios.items():  # recorded with why, never archived
            row = rows[(targets[scenario].conversation_id, targets[scenario].recording_id)]
            assert row["state"] == "failed" and row["reason"].startswith(words), (scenario, row)
    states = [
        sorted(
            (r["conversation_id"], r["recording_id"], r["state"], r["reason"])
            for r in res.outcomes.to_pylist()
        )
        for res in (one_step, from_table)
    ]
    assert states[0] == states[1]


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
    # A quiet day: the details query's first page holds it all, so no job is submitted.
    assert requests_by_family(sandbox) == {"token": 1, "analytics.query": 1}
