"""Live recording control in the Genesys client (``GenesysClient.control``) against the sandbox over
real HTTP: every action, its no-op, each refusal and fault, asserted on the requests the sandbox saw.

The client and the sandbox share a FakeClock at 09:30 UTC on 2026-01-01, when the org has live calls
(``SandboxConfig.live_calls``) and, in business hours, live chats and messages too.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from recording_assets.control.actions import ControlRequest, ControlUsageError, perform
from recording_assets.genesys.control import (
    PAUSE_PERMISSION,
    RECORD_PERMISSION,
    ControlRefusedError,
    ConversationEndedError,
)
from recording_assets.genesys.errors import ConflictError, NotFoundError, PermissionDeniedError
from recording_assets.sandbox import Faults
from recording_assets_tests.genesys.test_genesys_client import make_client

TODAY = date(2026, 1, 1)
YESTERDAY = date(2025, 12, 31)
UNKNOWN = "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"
RECORD_PERMISSIONS = {
    "conversation:participant:wrapup",
    "conversation:call:record",
    "conversation:communication:disconnect",
}


@pytest.fixture
def clock(fake_clock):
    fake_clock.advance(9 * 3600 + 1800)
    return fake_clock


@pytest.fixture
def sandbox(sandbox_factory, clock):
    return sandbox_factory(clock=clock, conversations_per_day=300, live_calls=3, media_scale=0.002)


def act(sandbox, clock, call):
    """Run ``call(control)`` with a fresh client; return its result (or raise)."""

    async def go():
        async with make_client(sandbox, clock) as client:
            return await call(client.control)

    return asyncio.run(go())


def requests(sandbox) -> list[tuple[str, str, int]]:
    """(method, path, status) of every API request the sandbox received (token requests excluded)."""
    return [(e["method"], e["path"], e["status"]) for e in sandbox.stats()["log"] if e["family"] != "token"]


def writes(sandbox) -> list[tuple[str, str, int]]:
    return [
        (e["method"], e["path"], e["status"])
        for e in sandbox.stats()["log"]
        if e["family"] == "recording.state"
    ]


def call_state(sandbox, conv) -> str:
    return sandbox.state.control.state(conv).state


def agent_id(conv) -> str:
    return conv.participant_id("agent")


def live_non_call(sandbox, clock):
    now_ms = int(clock.time() * 1000)
    return next(
        c for c in sandbox.org.conversations_for_day(TODAY) if c.is_live(now_ms) and c.media_type != "voice"
    )


def ended_call(sandbox):
    return next(c for c in sandbox.org.conversations_for_day(YESTERDAY)[:100] if c.media_type == "voice")


# ---- pause / resume ------------------------------------------------------------------------------


def test_pause_and_resume_a_call_use_put_calls_recordingstate(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    paused = act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=True))
    assert paused.changed and paused.state == "paused" and paused.http_status == 200 and paused.correlation_id
    assert requests(sandbox) == [
        ("GET", f"/api/v2/conversations/{conv.id}", 200),
        ("GET", f"/api/v2/conversations/calls/{conv.id}", 200),
        ("PUT", f"/api/v2/conversations/calls/{conv.id}/recordingstate", 200),
    ]
    assert call_state(sandbox, conv) == "paused" and sandbox.state.control.state(conv).secure_pause

    sandbox.reset_stats()
    again = act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=True))
    assert not again.changed and "already paused" in again.message and again.attempts == 0
    assert writes(sandbox) == []  # the no-op reads, never writes

    sandbox.reset_stats()
    resumed = act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=False))
    assert resumed.changed and resumed.state == "active"
    assert writes(sandbox) == [("PUT", f"/api/v2/conversations/calls/{conv.id}/recordingstate", 200)]
    assert call_state(sandbox, conv) == "active"
    assert not act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=False)).changed


def test_pause_and_resume_other_media_use_patch_conversations_recordingstate(sandbox, clock):
    conv = live_non_call(sandbox, clock)
    paused = act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=True))
    assert paused.changed
    assert requests(sandbox) == [
        ("GET", f"/api/v2/conversations/{conv.id}", 200),
        ("PATCH", f"/api/v2/conversations/{conv.id}/recordingstate", 200),
    ]
    assert call_state(sandbox, conv) == "paused"
    assert act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=False)).changed
    assert call_state(sandbox, conv) == "active"


def test_nothing_recorded_pause_is_a_no_op_and_resume_is_refused(sandbox, clock):
    conv = sandbox.org.live_calls[1]
    sandbox.state.control.set_state(conv, "NONE")  # recording stopped, e.g. by policy
    assert not act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=True)).changed
    with pytest.raises(ControlRefusedError, match="no paused recording to resume"):
        act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=False))
    assert writes(sandbox) == []


# ---- participant start / stop --------------------------------------------------------------------


def test_stop_and_start_one_participant_patch_the_participant(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    agent = agent_id(conv)
    path = f"/api/v2/conversations/calls/{conv.id}/participants/{agent}"
    stopped = act(sandbox, clock, lambda c: c.set_participant_recording(conv.id, agent, on=False))
    assert stopped.changed and stopped.state == "not recording" and stopped.http_status == 202
    assert stopped.participant_id == agent
    assert writes(sandbox) == [("PATCH", path, 202)]
    assert sandbox.state.control.state(conv).participant_recording == {agent: False}

    sandbox.reset_stats()
    again = act(sandbox, clock, lambda c: c.set_participant_recording(conv.id, agent, on=False))
    assert not again.changed and "already not recording" in again.message and again.participant_id == agent
    assert writes(sandbox) == []

    started = act(sandbox, clock, lambda c: c.set_participant_recording(conv.id, agent, on=True))
    assert started.changed and writes(sandbox) == [("PATCH", path, 202)]
    assert sandbox.state.control.state(conv).participant_recording == {agent: True}


def test_participant_refusals_are_made_before_any_write(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    with pytest.raises(ControlRefusedError, match=f"participant {UNKNOWN} is not on conversation") as info:
        act(sandbox, clock, lambda c: c.set_participant_recording(conv.id, UNKNOWN, on=True))
    assert agent_id(conv) in str(info.value)  # the message lists who is on the call
    acd = conv.participant_id("acd")  # the queue leg has left once the agent answered
    with pytest.raises(ControlRefusedError, match="has left conversation"):
        act(sandbox, clock, lambda c: c.set_participant_recording(conv.id, acd, on=True))
    chat = live_non_call(sandbox, clock)
    with pytest.raises(ControlRefusedError, match="is not a call"):
        act(sandbox, clock, lambda c: c.set_participant_recording(chat.id, UNKNOWN, on=True))
    assert writes(sandbox) == []


# ---- ended / unknown conversations ---------------------------------------------------------------


def test_ended_and_unknown_conversations_are_refused_without_writes(sandbox, clock):
    ended = ended_call(sandbox)
    for call in (
        lambda c: c.set_recording_state(ended.id, paused=True),
        lambda c: c.set_participant_recording(ended.id, agent_id(ended), on=True),
    ):
        with pytest.raises(ConversationEndedError, match="has ended"):
            act(sandbox, clock, call)
    with pytest.raises(NotFoundError) as info:
        act(sandbox, clock, lambda c: c.set_recording_state(UNKNOWN, paused=True))
    assert info.value.status == 404 and info.value.correlation_id
    assert writes(sandbox) == []


def test_a_live_call_that_ends_is_refused(sandbox, clock):
    conv = sandbox.org.live_calls[2]
    clock.advance((conv.end_ms - int(clock.time() * 1000)) / 1000 + 1)
    with pytest.raises(ConversationEndedError):
        act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=True))
    assert writes(sandbox) == []


# ---- permissions, conflicts, rate limits ---------------------------------------------------------


def test_403_names_the_missing_permission(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    sandbox.set_faults(Faults(deny_permissions=frozenset({PAUSE_PERMISSION})))
    with pytest.raises(PermissionDeniedError) as info:
        act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=True))
    assert info.value.permission == "conversation:recording:pauseOthers"
    assert "conversation:recording:pauseOthers" in str(info.value) and info.value.status == 403
    assert writes(sandbox) == [("PUT", f"/api/v2/conversations/calls/{conv.id}/recordingstate", 403)]

    sandbox.set_faults(Faults(deny_permissions=frozenset(RECORD_PERMISSIONS)))
    with pytest.raises(PermissionDeniedError) as info:
        act(sandbox, clock, lambda c: c.set_participant_recording(conv.id, agent_id(conv), on=False))
    assert info.value.permission == RECORD_PERMISSION == "conversation:call:record"
    assert call_state(sandbox, conv) == "active"


def test_one_409_rereads_and_retries_once(sandbox, clock):
    conv, other = sandbox.org.live_calls[0], sandbox.org.live_calls[1]
    sandbox.set_faults(Faults(conflict_409_every=2))
    # The first control write of this fault setting passes; the next one (ours) meets a 409.
    assert act(sandbox, clock, lambda c: c.set_recording_state(other.id, paused=True)).changed
    sandbox.reset_stats()
    result = act(sandbox, clock, lambda c: c.set_recording_state(conv.id, paused=True))
    assert result.changed and result.attempts == 2
    put = f"/api/v2/conversations/calls/{conv.id}/recordingstate"
    assert requests(sandbox) == [
        ("GET", f"/api/v2/conversations/{conv.id}", 200),
        ("GET", f"/api/v2/conversations/calls/{conv.id}", 200),
        ("PUT", put, 409),
        ("GET", f"/api/v2/conversations/{conv.id}", 200),  # read-modify again
        ("GET", f"/api/v2/conversations/calls/{conv.id}", 200),
        ("PUT", put, 200),
    ]
    assert call_state(sandbox, conv) == "paused"


def test_two_409s_give_up_with_a_clear_message(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    agent = agent_id(conv)
    sandbox.set_faults(Faults(conflict_409_every=1))
    with pytest.raises(ConflictError, match="changed concurrently twice.*nothing was changed") as info:
        act(sandbox, clock, lambda c: c.set_participant_recording(conv.id, agent, on=False))
    assert info.value.status == 409 and info.value.correlation_id
    path = f"/api/v2/conversations/calls/{conv.id}/participants/{agent}"
    assert writes(sandbox) == [("PATCH", path, 409), ("PATCH", path, 409)]
    assert sandbox.state.control.state(conv).participant_recording == {}


def test_429_on_the_write_is_retried_by_the_shared_transport(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    # API requests of one pause: GET conversation (1), GET call (2), PUT (3) -> the PUT meets one 429.
    sandbox.set_faults(Faults(burst_429_every=3, burst_429_length=1, burst_retry_after_s=7))

    async def go():
        async with make_client(sandbox, clock) as client:
            result = await client.control.set_recording_state(conv.id, paused=True)
            return result, client.stats

    result, stats = asyncio.run(go())
    assert result.changed and stats.rate_limited == 1
    put = f"/api/v2/conversations/calls/{conv.id}/recordingstate"
    assert writes(sandbox) == [("PUT", put, 429), ("PUT", put, 200)]
    assert clock.sleeps == [7.0]  # Retry-After honoured (on the fake clock), nothing else waited


# ---- live conversations ----------------------------------------------------------------------------


def test_active_conversations_are_the_live_ones_with_filters(sandbox, clock):
    now_ms = int(clock.time() * 1000)
    window_start = now_ms - 2 * 3600 * 1000
    truth = {
        c.id: c
        for c in sandbox.org.conversations_for_day(TODAY)
        if c.is_live(now_ms) and c.start_ms >= window_start
    }
    found = act(sandbox, clock, lambda c: c.active_conversations(since=timedelta(hours=2), media_types=None))
    assert {c.conversation_id for c in found} == set(truth)
    assert {c.id for c in sandbox.org.live_calls} <= set(truth)
    assert {m for c in found for m in c.media_types} > {"voice"}  # not only calls
    assert all(c.conversation_end is None for c in found)
    assert [(e["method"], e["path"]) for e in sandbox.stats()["log"] if e["family"] != "token"] == [
        ("POST", "/api/v2/analytics/conversations/details/query")
    ]

    voice = act(sandbox, clock, lambda c: c.active_conversations(since=timedelta(hours=2)))
    assert {c.conversation_id for c in voice} == {i for i, c in truth.items() if c.media_type == "voice"}

    sample = next(c for c in found if c.queue_ids and c.agent_ids)
    by_queue = act(
        sandbox,
        clock,
        lambda c: c.active_conversations(
            since=timedelta(hours=2), queue_id=sample.queue_ids[0], media_types=None
        ),
    )
    assert sample.conversation_id in {c.conversation_id for c in by_queue}
    assert all(sample.queue_ids[0] in c.queue_ids for c in by_queue)
    by_both = act(
        sandbox,
        clock,
        lambda c: c.active_conversations(
            since=timedelta(hours=2),
            queue_id=sample.queue_ids[0],
            user_id=sample.agent_ids[0],
            media_types=None,
        ),
    )
    assert sample.conversation_id in {c.conversation_id for c in by_both}
    assert all(sample.agent_ids[0] in c.agent_ids for c in by_both)

    short = act(
        sandbox, clock, lambda c: c.active_conversations(since=timedelta(minutes=10), media_types=None)
    )
    assert {c.conversation_id for c in short} == {
        i for i, c in truth.items() if c.start_ms >= now_ms - 600_000
    }
    with pytest.raises(ValueError):
        act(sandbox, clock, lambda c: c.active_conversations(since=timedelta(days=31)))


def test_inspect_reports_state_and_participants(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    live = act(sandbox, clock, lambda c: c.inspect(conv.id))
    assert live.is_call and not live.ended and live.recording_state == "active" and not live.secure_pause
    purposes = {p.purpose: p for p in live.participants}
    assert {"customer", "agent", "acd"} <= set(purposes)
    assert purposes["agent"].connected and purposes["agent"].recording is True and purposes["agent"].user_id
    assert not purposes["acd"].connected
    chat = act(sandbox, clock, lambda c: c.inspect(live_non_call(sandbox, clock).id))
    assert not chat.is_call and chat.media and all(p.recording is None for p in chat.participants)


def test_reading_a_conversation_needs_communication_view_and_a_403_names_it(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    sandbox.set_faults(Faults(deny_permissions=frozenset({"conversation:communication:view"})))
    with pytest.raises(PermissionDeniedError) as info:
        act(sandbox, clock, lambda c: c.inspect(conv.id))
    assert info.value.permission == "conversation:communication:view" and info.value.status == 403
    assert writes(sandbox) == []


# ---- outcomes (recording_assets.control.actions) ---------------------------------------------------


def outcome(sandbox, clock, request):
    async def go():
        async with make_client(sandbox, clock) as client:
            return await perform(client, request)

    return asyncio.run(go())


def test_outcomes_changed_already_refused_failed(sandbox, clock):
    conv = sandbox.org.live_calls[0]
    changed = outcome(sandbox, clock, ControlRequest("pause", conv.id))
    assert (changed.outcome, changed.ok, changed.state, changed.http_status) == (
        "changed",
        True,
        "paused",
        200,
    )
    already = outcome(sandbox, clock, ControlRequest("pause", conv.id))
    assert (already.outcome, already.ok) == ("already", True) and already.correlation_id
    refused = outcome(sandbox, clock, ControlRequest("stop", conv.id, UNKNOWN))
    assert (refused.outcome, refused.error_type) == ("refused", "ControlRefusedError")
    sandbox.set_faults(Faults(error_5xx_every=1))  # every request answers 502/503/504: retries run out
    failed = outcome(sandbox, clock, ControlRequest("resume", conv.id))
    assert failed.outcome == "failed" and not failed.ok and failed.http_status in (502, 503, 504)
    assert failed.message.startswith("failed: GET /api/v2/conversations/")
    assert writes(sandbox) == [("PUT", f"/api/v2/conversations/calls/{conv.id}/recordingstate", 200)]


@pytest.mark.parametrize(
    "args, problem",
    [
        (("mute", "c1"), "not one of pause, resume, start, stop"),
        (("start", "c1"), "start needs a participant id"),
        (("pause", "c1", "p1"), "only for start/stop"),
        (("pause", " "), "conversation_id is required"),
    ],
)
def test_malformed_requests_are_usage_errors(args, problem):
    with pytest.raises(ControlUsageError, match=problem):
        ControlRequest(*args)
