"""Live conversations and recording control: Conversation / CallConversation reads, recordingstate
writes, and per-participant ad-hoc recording."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from recording_assets.sandbox.config import COMMUNICATION_VIEW, PARTICIPANT_RECORD, PAUSE_OTHERS
from recording_assets.sandbox.control import RECORDING_STATES, RecordingState
from recording_assets.sandbox.errors import ApiError, bad_request, not_found
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.org import Conversation
from recording_assets.sandbox.state import SandboxState
from recording_assets.sandbox.timefmt import iso
from recording_assets.sandbox.timeline import Participant, participants

_MEDIA_LISTS = {"voice": "calls", "chat": "chats", "email": "emails", "message": "messages"}


def routes(state: SandboxState) -> list[Route]:
    org = state.org

    def conversation(ctx: Ctx, *, call: bool) -> Conversation:
        conv = org.conversation(ctx.path("conversationId"))
        if conv is None or not conv.started(ctx.now_ms):
            raise not_found(f"Conversation {ctx.path('conversationId')} was not found.")
        if call and conv.media_type != "voice":
            raise bad_request(f"Conversation {conv.id} is a {conv.media_type} conversation, not a call.")
        return conv

    def visible(conv: Conversation, now_ms: int) -> list[tuple[Participant, int, int]]:
        """(participant, joined, left) for participants who have joined by now."""
        out = []
        for participant in participants(conv):
            segments = [seg for session in participant.sessions for seg in session.segments]
            joined, left = min(s.start_ms for s in segments), max(s.end_ms for s in segments)
            if joined <= now_ms:
                out.append((participant, joined, left))
        return out

    def participant_recording(
        conv: Conversation, recording: RecordingState, participant: Participant, now_ms: int
    ) -> dict[str, Any]:
        live = conv.is_live(now_ms)
        state_name = recording.state if live else "none"
        explicit = recording.participant_recording.get(participant.participant_id)
        default = (
            bool(conv.recordings) and participant.purpose in ("customer", "agent") and state_name != "none"
        )
        adhoc = live and (explicit if explicit is not None else default)
        customer_experience = {"active": "ACTIVE", "paused": "PAUSED"}.get(state_name, "NONE")
        return {
            "recording": adhoc,
            "recordingState": state_name,
            "securePause": recording.secure_pause and live,
            "recordersState": {
                "adhocState": "ACTIVE" if explicit and live else "NONE",
                "customerExperienceState": customer_experience,
                "agentExperienceState": "NONE",
                "snippetState": "NONE",
            },
        }

    def base_participant(
        conv: Conversation, participant: Participant, joined: int, left: int, now_ms: int
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": participant.participant_id,
            "name": participant.name,
            "startTime": iso(joined),
            "connectedTime": iso(joined),
        }
        if left <= now_ms:
            item["endTime"] = iso(left)
        item["purpose"] = participant.purpose
        session = participant.sessions[0]
        if session.ani:
            item["ani"] = session.ani
        if session.dnis:
            item["dnis"] = session.dnis
        return item

    @api(state, "conversations", (COMMUNICATION_VIEW,))
    async def get_conversation(ctx: Ctx) -> Response:
        conv = conversation(ctx, call=False)
        recording = state.control.state(conv)
        live = conv.is_live(ctx.now_ms)
        body: dict[str, Any] = {"id": conv.id, "startTime": iso(conv.start_ms)}
        if not live:
            body["endTime"] = iso(conv.end_ms)
        rendered = []
        for participant, joined, left in visible(conv, ctx.now_ms):
            item = base_participant(conv, participant, joined, left, ctx.now_ms)
            if participant.user_id:
                item["userId"] = participant.user_id
            if participant.queue_id:
                item["queueId"] = participant.queue_id
            flags = participant_recording(conv, recording, participant, ctx.now_ms)
            communication = {
                "id": participant.sessions[0].session_id,
                "state": "disconnected" if left <= ctx.now_ms else "connected",
                "direction": participant.sessions[0].direction,
            }
            if conv.media_type == "voice":
                communication.update(flags)
            item[_MEDIA_LISTS[conv.media_type]] = [communication]
            rendered.append(item)
        body["participants"] = rendered
        body["recordingState"] = (recording.state if live else "none").upper()
        body["securePause"] = recording.secure_pause and live
        body["divisions"] = [{"division": {"id": conv.division.id}, "entities": []}]
        body["selfUri"] = f"/api/v2/conversations/{conv.id}"
        return json_response(body)

    @api(state, "conversations")
    async def get_call(ctx: Ctx) -> Response:
        conv = conversation(ctx, call=True)
        recording = state.control.state(conv)
        live = conv.is_live(ctx.now_ms)
        rendered = []
        for participant, joined, left in visible(conv, ctx.now_ms):
            item = base_participant(conv, participant, joined, left, ctx.now_ms)
            item["state"] = "disconnected" if left <= ctx.now_ms else "connected"
            item["direction"] = participant.sessions[0].direction
            if participant.user_id:
                item["user"] = {"id": participant.user_id}
            if participant.queue_id:
                item["queue"] = {"id": participant.queue_id}
            item.update(participant_recording(conv, recording, participant, ctx.now_ms))
            rendered.append(item)
        return json_response(
            {
                "id": conv.id,
                "participants": rendered,
                "recordingState": recording.state if live else "none",
                "securePause": recording.secure_pause and live,
                "selfUri": f"/api/v2/conversations/calls/{conv.id}",
            }
        )

    async def set_recording_state(ctx: Ctx, *, call: bool) -> Response:
        if state.faults.on_control_call():
            raise ApiError(409, "conflict", "The conversation was modified concurrently. Please retry.")
        conv = conversation(ctx, call=call)
        body = await ctx.json()
        value = body.get("recordingState") if isinstance(body, dict) else None
        if not isinstance(value, str) or value.upper() not in RECORDING_STATES:
            raise bad_request(f"recordingState must be one of {list(RECORDING_STATES)}")
        ensure_active(ctx, conv)
        state.control.set_state(conv, value.upper())
        return Response(json.dumps(value.upper()), status_code=200, media_type="application/json")

    @api(state, "recording.state", (PAUSE_OTHERS,))
    async def put_call_recording_state(ctx: Ctx) -> Response:
        return await set_recording_state(ctx, call=True)

    @api(state, "recording.state", (PAUSE_OTHERS,))
    async def patch_recording_state(ctx: Ctx) -> Response:
        return await set_recording_state(ctx, call=False)

    @api(state, "recording.state", PARTICIPANT_RECORD)
    async def patch_participant(ctx: Ctx) -> Response:
        if state.faults.on_control_call():
            raise ApiError(409, "conflict", "The conversation was modified concurrently. Please retry.")
        conv = conversation(ctx, call=True)
        participant_id = ctx.path("participantId")
        if not any(p.participant_id == participant_id for p, _, _ in visible(conv, ctx.now_ms)):
            raise not_found(f"Participant {participant_id} was not found in conversation {conv.id}.")
        body = await ctx.json()
        recording = body.get("recording") if isinstance(body, dict) else None
        if not isinstance(recording, bool):
            raise bad_request('The sandbox supports only {"recording": true|false} on this endpoint.')
        ensure_active(ctx, conv)
        state.control.set_participant(conv, participant_id, recording)
        return Response(status_code=202)

    def ensure_active(ctx: Ctx, conv: Conversation) -> None:
        if not conv.is_live(ctx.now_ms):
            raise ApiError(400, "conversation.not.active", f"Conversation {conv.id} is not active.")

    return [
        Route("/api/v2/conversations/calls/{conversationId}", get_call, methods=["GET"]),
        Route(
            "/api/v2/conversations/calls/{conversationId}/recordingstate",
            put_call_recording_state,
            methods=["PUT"],
        ),
        Route(
            "/api/v2/conversations/calls/{conversationId}/participants/{participantId}",
            patch_participant,
            methods=["PATCH"],
        ),
        Route(
            "/api/v2/conversations/{conversationId}/recordingstate", patch_recording_state, methods=["PATCH"]
        ),
        Route("/api/v2/conversations/{conversationId}", get_conversation, methods=["GET"]),
    ]
