"""Live calls and recording control: reads, state transitions, and every error path."""

from __future__ import annotations

import pytest

from recording_assets.sandbox.config import ALL_PERMISSIONS
from recording_assets.sandbox.timefmt import parse_iso
from recording_assets_tests.sandbox.test_sandbox_support import TODAY, YESTERDAY, Api

NOW_MS = parse_iso("2026-01-01T00:00:00Z")


@pytest.fixture
def api(sandbox_factory, fake_clock):
    fake_clock.advance(9 * 3600 + 1800)  # 09:30 on 2026-01-01, in business hours
    return Api(sandbox_factory(clock=fake_clock, conversations_per_day=300, live_calls=4))


def _call(api: Api, conv_id: str) -> dict:
    response = api.get(f"/api/v2/conversations/calls/{conv_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_live_calls_are_today_started_within_the_hour_and_recording(api, fake_clock):
    now = int(fake_clock.time() * 1000)
    live = api.sandbox.org.live_calls
    assert len(live) == 4
    for conv in live:
        assert now - 3_600_000 <= conv.start_ms <= now < conv.end_ms
        assert conv.media_type == "voice" and conv.recordings
        assert conv in api.sandbox.org.conversations_for_day(TODAY)
        call = _call(api, conv.id)
        assert call["recordingState"] == "active" and call["securePause"] is False
        purposes = {p["purpose"] for p in call["participants"]}
        assert {"customer", "agent"} <= purposes
        agent = next(p for p in call["participants"] if p["purpose"] == "agent")
        assert agent["recording"] is True and agent["state"] == "connected" and agent["user"]["id"]
        assert agent["recordersState"]["customerExperienceState"] == "ACTIVE"
        metadata = api.get(f"/api/v2/conversations/{conv.id}/recordingmetadata").json()
        assert metadata[0]["fileState"] == "UPLOADING"


def test_live_calls_at_midnight_still_have_an_agent(sandbox_factory, fake_clock):
    api = Api(sandbox_factory(clock=fake_clock, live_calls=2))
    for conv in api.sandbox.org.live_calls:
        assert conv.start_ms == NOW_MS  # "today" wins over "within the last hour" at exactly midnight
        assert {"customer", "agent"} <= {p["purpose"] for p in _call(api, conv.id)["participants"]}


def test_pause_resume_and_stop_transitions(api):
    conv = api.sandbox.org.live_calls[0]
    put_path = f"/api/v2/conversations/calls/{conv.id}/recordingstate"
    paused = api.put(put_path, json={"recordingState": "PAUSED"})
    assert paused.status_code == 200 and paused.json() == "PAUSED"
    call = _call(api, conv.id)
    assert call["recordingState"] == "paused" and call["securePause"] is True
    customer = next(p for p in call["participants"] if p["purpose"] == "customer")
    assert (
        customer["recordersState"]["customerExperienceState"] == "PAUSED" and customer["securePause"] is True
    )
    conversation = api.get(f"/api/v2/conversations/{conv.id}").json()
    assert conversation["recordingState"] == "PAUSED" and "endTime" not in conversation
    assert conversation["participants"][0]["calls"][0]["state"] == "connected"

    resumed = api.patch(f"/api/v2/conversations/{conv.id}/recordingstate", json={"recordingState": "ACTIVE"})
    assert resumed.status_code == 200 and resumed.json() == "ACTIVE"
    assert _call(api, conv.id)["recordingState"] == "active" and _call(api, conv.id)["securePause"] is False

    stopped = api.put(put_path, json={"recordingState": "NONE"})
    assert stopped.json() == "NONE"
    call = _call(api, conv.id)
    assert call["recordingState"] == "none"
    assert all(p["recording"] is False for p in call["participants"])
    other = _call(api, api.sandbox.org.live_calls[1].id)
    assert other["recordingState"] == "active"  # state is per conversation


def test_participant_ad_hoc_recording(api):
    conv = api.sandbox.org.live_calls[0]
    agent = next(p for p in _call(api, conv.id)["participants"] if p["purpose"] == "agent")
    path = f"/api/v2/conversations/calls/{conv.id}/participants/{agent['id']}"
    off = api.patch(path, json={"recording": False})
    assert off.status_code == 202 and off.content == b""
    agent_now = next(p for p in _call(api, conv.id)["participants"] if p["id"] == agent["id"])
    assert agent_now["recording"] is False and agent_now["recordersState"]["adhocState"] == "NONE"
    assert api.patch(path, json={"recording": True}).status_code == 202
    agent_now = next(p for p in _call(api, conv.id)["participants"] if p["id"] == agent["id"])
    assert agent_now["recording"] is True and agent_now["recordersState"]["adhocState"] == "ACTIVE"


def test_control_errors(api, fake_clock):
    org = api.sandbox.org
    live = org.live_calls[0]
    unknown = "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"
    assert (
        api.put(
            f"/api/v2/conversations/calls/{unknown}/recordingstate", json={"recordingState": "PAUSED"}
        ).status_code
        == 404
    )
    assert (
        api.patch(
            f"/api/v2/conversations/calls/{live.id}/participants/{unknown}", json={"recording": True}
        ).status_code
        == 404
    )
    bad_value = api.put(
        f"/api/v2/conversations/calls/{live.id}/recordingstate", json={"recordingState": "MUTED"}
    )
    assert bad_value.status_code == 400
    chat = next(c for c in org.conversations_for_day(YESTERDAY) if c.media_type == "chat")
    not_a_call = api.put(
        f"/api/v2/conversations/calls/{chat.id}/recordingstate", json={"recordingState": "PAUSED"}
    )
    assert not_a_call.status_code == 400
    ended = next(c for c in org.conversations_for_day(YESTERDAY)[:100] if c.media_type == "voice")
    response = api.put(
        f"/api/v2/conversations/calls/{ended.id}/recordingstate", json={"recordingState": "PAUSED"}
    )
    assert response.status_code == 400 and response.json()["code"] == "conversation.not.active"
    patch = api.patch(f"/api/v2/conversations/{ended.id}/recordingstate", json={"recordingState": "PAUSED"})
    assert patch.json()["code"] == "conversation.not.active"
    ended_call = _call(api, ended.id)
    assert ended_call["recordingState"] == "none"
    assert all(p["state"] == "disconnected" for p in ended_call["participants"])
    assert "endTime" in api.get(f"/api/v2/conversations/{ended.id}").json()
    # The live call ends when the clock passes its end; control then refuses.
    fake_clock.advance((live.end_ms - int(fake_clock.time() * 1000)) / 1000 + 1)
    after = api.put(
        f"/api/v2/conversations/calls/{live.id}/recordingstate", json={"recordingState": "PAUSED"}
    )
    assert after.status_code == 400 and after.json()["code"] == "conversation.not.active"
    assert api.get(f"/api/v2/conversations/{live.id}/recordingmetadata").json()[0]["fileState"] == "AVAILABLE"


def test_control_permissions(sandbox_factory, fake_clock):
    only_record = Api(sandbox_factory(clock=fake_clock, permissions=frozenset({"conversation:call:record"})))
    live = only_record.sandbox.org.live_calls[0]
    denied = only_record.put(
        f"/api/v2/conversations/calls/{live.id}/recordingstate", json={"recordingState": "PAUSED"}
    )
    assert denied.status_code == 403
    assert "conversation:recording:pauseOthers" in denied.json()["message"]
    agent = next(p for p in _call(only_record, live.id)["participants"] if p["purpose"] == "agent")
    allowed = only_record.patch(
        f"/api/v2/conversations/calls/{live.id}/participants/{agent['id']}", json={"recording": False}
    )
    assert allowed.status_code == 202
    no_participant = Api(
        sandbox_factory(
            clock=fake_clock,
            permissions=ALL_PERMISSIONS
            - {
                "conversation:participant:wrapup",
                "conversation:call:record",
                "conversation:communication:disconnect",
            },
        )
    )
    assert (
        no_participant.patch(
            f"/api/v2/conversations/calls/{live.id}/participants/{agent['id']}", json={"recording": False}
        ).status_code
        == 403
    )
