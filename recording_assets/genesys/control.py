"""Live recording control (genesys-api.md §6): secure pause / resume, per-participant recording,
and finding live conversations org-wide with client credentials.

Every action reads the current state first, so asking for the state a conversation is already in is
a success that says so, and an ended conversation is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from recording_assets.clock import Clock
from recording_assets.genesys.analytics import Analytics
from recording_assets.genesys.errors import GenesysError
from recording_assets.genesys.models import ConversationSummary
from recording_assets.genesys.transport import Transport

PAUSE_PERMISSION = "conversation:recording:pauseOthers"
RECORD_PERMISSION = "conversation:call:record"
_MEDIA_KEYS = ("calls", "callbacks", "chats", "emails", "messages", "socials", "videos", "screenshares", "cobrowsesessions")


class ConversationEndedError(GenesysError):
    """The conversation is over; recording state can no longer change."""


@dataclass(frozen=True)
class LiveConversation:
    conversation_id: str
    is_call: bool
    ended: bool
    recording_state: str  # "active" | "paused" | "none"
    participants: dict[str, bool]  # participant id -> recording flag (calls only)


@dataclass(frozen=True)
class ControlResult:
    conversation_id: str
    action: str
    changed: bool
    state: str
    correlation_id: str | None
    message: str


class RecordingControl:
    def __init__(self, transport: Transport, analytics: Analytics, clock: Clock) -> None:
        self._t = transport
        self._analytics = analytics
        self._clock = clock

    async def active_conversations(
        self, *, since: timedelta, queue_id: str | None = None, user_id: str | None = None, media_types=("voice",)
    ):
        """Live conversations that started within ``since`` (details query, ``conversationEnd notExists``)."""
        now = datetime.fromtimestamp(self._clock.time(), tz=timezone.utc)
        predicates = []
        if queue_id:
            predicates.append({"type": "dimension", "dimension": "queueId", "operator": "matches", "value": queue_id})
        if user_id:
            predicates.append({"type": "dimension", "dimension": "userId", "operator": "matches", "value": user_id})
        extra = {"segmentFilters": [{"type": "and", "predicates": predicates}]} if predicates else None
        found = await self._analytics.conversations(
            start=now - since, end=now + timedelta(seconds=1), media_types=media_types, ended=False, extra_filters=extra
        )
        return [c for c in found.conversations if c.conversation_end is None]

    async def inspect(self, conversation_id: str) -> LiveConversation:
        body = (await self._t.api("GET", f"/api/v2/conversations/{conversation_id}", family="conversations")).json()
        participants = body.get("participants") or []
        is_call = any(p.get("calls") for p in participants)
        recording: dict[str, bool] = {}
        state = str(body.get("recordingState") or "none").lower()
        if is_call:
            call = (
                await self._t.api("GET", f"/api/v2/conversations/calls/{conversation_id}", family="conversations")
            ).json()
            state = str(call.get("recordingState") or state).lower()
            recording = {p["id"]: bool(p.get("recording")) for p in call.get("participants") or [] if p.get("id")}
        ended = bool(body.get("endTime"))
        return LiveConversation(conversation_id, is_call, ended, state, recording)

    async def set_recording_state(self, conversation_id: str, *, paused: bool) -> ControlResult:
        action = "pause" if paused else "resume"
        wanted = "paused" if paused else "active"
        live = await self.inspect(conversation_id)
        if live.ended:
            raise ConversationEndedError(f"conversation {conversation_id} has ended; its recording can no longer be {action}d")
        if live.recording_state == wanted:
            return ControlResult(conversation_id, action, False, wanted, None, f"recording already {wanted}; nothing changed")
        body = {"recordingState": "PAUSED" if paused else "ACTIVE"}
        if live.is_call:
            path, method = f"/api/v2/conversations/calls/{conversation_id}/recordingstate", "PUT"
        else:
            path, method = f"/api/v2/conversations/{conversation_id}/recordingstate", "PATCH"
        response = await self._t.api(method, path, family="recording.state", json=body, permission=PAUSE_PERMISSION)
        return ControlResult(
            conversation_id, action, True, wanted, response.headers.get("inin-correlation-id"), f"recording {wanted}"
        )

    async def set_participant_recording(self, conversation_id: str, participant_id: str, *, on: bool) -> ControlResult:
        action = "start" if on else "stop"
        live = await self.inspect(conversation_id)
        if live.ended:
            raise ConversationEndedError(f"conversation {conversation_id} has ended; recording can no longer be {action}ed")
        if not live.is_call:
            raise GenesysError(f"conversation {conversation_id} is not a call: per-participant recording applies to calls only")
        if participant_id not in live.participants:
            raise GenesysError(
                f"participant {participant_id} is not on conversation {conversation_id}; "
                f"participants: {', '.join(sorted(live.participants)) or 'none'}"
            )
        wanted = "recording" if on else "not recording"
        if live.participants[participant_id] == on:
            return ControlResult(conversation_id, action, False, wanted, None, f"participant already {wanted}; nothing changed")
        response = await self._t.api(
            "PATCH",
            f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}",
            family="recording.state",
            json={"recording": on},
            permission=RECORD_PERMISSION,
        )
        return ControlResult(
            conversation_id, action, True, wanted, response.headers.get("inin-correlation-id"), f"participant {wanted}"
        )


def summarise(conversation: ConversationSummary) -> dict:
    return {
        "conversationId": conversation.conversation_id,
        "conversationStart": conversation.conversation_start.isoformat(),
        "mediaTypes": list(conversation.media_types),
        "queueIds": list(conversation.queue_ids),
        "agentIds": list(conversation.agent_ids),
    }
