"""Reading live conversations (docs/genesys-api.md §6): finding them org-wide with client credentials, and
the recording state and participants of one. The writes that change recording state are in ``control``.

Conversation and participant ids go into request paths: each is refused as an ``InvalidIdError`` before
any request unless it is a GUID (``A/../B`` never reaches the API). The answers' ids are read the same
way: a participant whose id is not a GUID is left out of what ``inspect`` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from recording_assets.clock import Clock
from recording_assets.genesys.analytics import Analytics, dimension_filter
from recording_assets.genesys.fields import caller_id, id_problem, required_dict
from recording_assets.genesys.models import ConversationSummary
from recording_assets.genesys.redact import clean_text
from recording_assets.genesys.transport import Transport

_MEDIA_KEYS = (
    "calls",
    "callbacks",
    "chats",
    "emails",
    "messages",
    "socials",
    "videos",
    "screenshares",
    "cobrowsesessions",
)
_ENDED_STATES = ("disconnected", "terminated")
MAX_ACTIVE_WINDOW = timedelta(days=30)  # the details query looks back at most 35 days


@dataclass(frozen=True)
class LiveParticipant:
    participant_id: str
    purpose: str | None
    name: str | None
    user_id: str | None
    connected: bool
    recording: bool | None  # calls only: the participant's ``recording`` flag


@dataclass(frozen=True)
class LiveConversation:
    conversation_id: str
    media: tuple[str, ...]  # participant media lists present: "calls", "chats", ...
    is_call: bool
    ended: bool
    recording_state: str  # "active" | "paused" | "none"
    secure_pause: bool
    participants: tuple[LiveParticipant, ...]
    http_status: int | None = None  # of the last read
    correlation_id: str | None = None  # of the last read

    def participant(self, participant_id: str) -> LiveParticipant | None:
        return next((p for p in self.participants if p.participant_id == participant_id), None)

    def describe_participants(self) -> str:
        return (
            ", ".join(
                f"{p.participant_id} ({p.purpose or '?'}{'' if p.connected else ', left'})"
                for p in self.participants
            )
            or "none"
        )


class LiveConversations:
    """The read side of live recording control (``GenesysClient.control`` adds the writes)."""

    def __init__(self, transport: Transport, analytics: Analytics, clock: Clock) -> None:
        self._t = transport
        self._analytics = analytics
        self._clock = clock

    async def active_conversations(
        self,
        *,
        since: timedelta,
        queue_id: str | None = None,
        user_id: str | None = None,
        media_types: Sequence[str] | None = ("voice",),
    ) -> list[ConversationSummary]:
        """Live conversations that started within ``since`` (details query, ``conversationEnd notExists``).

        ``media_types=None`` means every media type. Queue and user are separate segment filters (both
        must match some segment of the conversation, not necessarily the same one)."""
        if since <= timedelta(0) or since > MAX_ACTIVE_WINDOW:
            raise ValueError(f"since must be within 1 second .. {MAX_ACTIVE_WINDOW.days} days, got {since}")
        queue_id = queue_id and caller_id(queue_id, what="queue id", guid=True)
        user_id = user_id and caller_id(user_id, what="user id", guid=True)
        now = datetime.fromtimestamp(self._clock.time(), tz=timezone.utc)
        segment_filters = [
            dimension_filter(dimension, "matches", value)
            for dimension, value in (("queueId", queue_id), ("userId", user_id))
            if value
        ]
        extra = {"segmentFilters": segment_filters} if segment_filters else None
        found = await self._analytics.conversations(
            start=now - since,
            end=now + timedelta(seconds=1),
            media_types=media_types,
            ended=False,
            extra_filters=extra,
        )
        return [c for c in found.conversations if c.conversation_end is None]

    async def inspect(self, conversation_id: str) -> LiveConversation:
        """The conversation's recording state and participants (``GET conversations/{id}``, plus
        ``GET conversations/calls/{id}`` for calls, the documented read side of call recording state)."""
        conversation_id = caller_id(conversation_id, what="conversation id", guid=True)
        response = await self._t.api(
            "GET",
            f"/api/v2/conversations/{conversation_id}",
            family="conversations",
            permission="conversation:communication:view",  # what a 403 here means (docs/genesys-api.md §12)
        )
        body = required_dict(response.json(), field="conversation")
        raw_participants = _dicts(body.get("participants"))
        media = tuple(k for k in _MEDIA_KEYS if any(p.get(k) for p in raw_participants))
        is_call = "calls" in media
        state = _state(body.get("recordingState"), "none")
        secure_pause = body.get("securePause") is True
        participants = tuple(_participant(p, call=False) for p in raw_participants if _has_id(p))
        if is_call:
            response = await self._t.api(
                "GET", f"/api/v2/conversations/calls/{conversation_id}", family="conversations"
            )
            call = required_dict(response.json(), field="call")
            state = _state(call.get("recordingState"), state)
            secure_pause = call.get("securePause", secure_pause) is True
            participants = tuple(
                _participant(p, call=True) for p in _dicts(call.get("participants")) if _has_id(p)
            )
        return LiveConversation(
            conversation_id=conversation_id,
            media=media,
            is_call=is_call,
            ended=bool(body.get("endTime")),
            recording_state=state,
            secure_pause=secure_pause,
            participants=participants,
            http_status=response.status_code,
            correlation_id=response.headers.get("inin-correlation-id"),
        )


def _dicts(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _has_id(raw: dict) -> bool:
    return id_problem(raw.get("id")) is None


def _state(value, default: str) -> str:
    """A recording state as a lower-case word; anything else (a number, an object) reads as ``default``."""
    if isinstance(value, str) and value.isascii() and value.isalpha() and len(value) <= 32:
        return value.lower()
    return default


def _text(value) -> str | None:
    return clean_text(value, 200) if isinstance(value, str) and value else None


def _participant(raw: dict, *, call: bool) -> LiveParticipant:
    """One participant of ``GET conversations/calls/{id}`` (``call=True``) or ``GET conversations/{id}``."""
    if call:
        states = [raw.get("state")]
    else:
        states = [c.get("state") for k in _MEDIA_KEYS for c in raw.get(k) or [] if isinstance(c, dict)]
    states = [str(s).lower() for s in states if s]
    left = bool(raw.get("endTime")) or (bool(states) and all(s in _ENDED_STATES for s in states))
    given = raw.get("user")
    user = given if isinstance(given, dict) else {}
    user_id = raw.get("userId") or user.get("id")
    return LiveParticipant(
        participant_id=raw["id"],
        purpose=_text(raw.get("purpose")),
        name=_text(raw.get("name")),
        user_id=user_id if id_problem(user_id) is None else None,
        connected=not left,
        recording=(raw.get("recording") is True) if call else None,
    )


def summarise(conversation: ConversationSummary) -> dict:
    return {
        "conversationId": conversation.conversation_id,
        "conversationStart": conversation.conversation_start.isoformat(),
        "mediaTypes": list(conversation.media_types),
        "queueIds": list(conversation.queue_ids),
        "agentIds": list(conversation.agent_ids),
    }
