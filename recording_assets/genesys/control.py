"""Live recording control (genesys-api.md §6): secure pause / resume, per-participant recording,
and finding live conversations org-wide with client credentials.

Every action reads the current state first, so asking for the state a conversation is already in is
a success that says so (``changed=False``), and an ended conversation, an unknown participant or a
participant who has left is refused before anything is written. A 409 (someone else changed the
conversation at the same moment) re-reads the state and retries the write once; a second 409 raises a
``ConflictError`` that says nothing was changed. 429s are retried by the shared transport.

Endpoints (never ``/api/v2/recording/jobs``: that is the bulk export/delete job API):
- pause / resume a call: ``PUT /api/v2/conversations/calls/{id}/recordingstate``
- pause / resume any other media: ``PATCH /api/v2/conversations/{id}/recordingstate``
- start / stop one participant of a call: ``PATCH /api/v2/conversations/calls/{id}/participants/{pid}``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from recording_assets.clock import Clock
from recording_assets.genesys.analytics import Analytics
from recording_assets.genesys.errors import BadRequestError, ConflictError, GenesysError, NotFoundError
from recording_assets.genesys.models import ConversationSummary
from recording_assets.genesys.transport import Transport

PAUSE_PERMISSION = "conversation:recording:pauseOthers"
RECORD_PERMISSION = "conversation:call:record"  # any of: participant:wrapup, call:record, communication:disconnect
_MEDIA_KEYS = (
    "calls", "callbacks", "chats", "emails", "messages", "socials", "videos", "screenshares", "cobrowsesessions"
)
_ENDED_STATES = ("disconnected", "terminated")
_PAST = {"pause": "paused", "resume": "resumed", "start": "started", "stop": "stopped"}
_NOT_ACTIVE_CODE = "conversation.not.active"  # the sandbox's code; the live API's code for this is unconfirmed
CONFLICT_RETRY_DELAY_S = 0.5
MAX_ACTIVE_WINDOW = timedelta(days=30)  # the details query looks back at most 35 days


class ControlRefusedError(GenesysError):
    """The request cannot apply to the conversation as it is now (nothing was written).

    ``status``/``correlation_id``: of the API answer that showed it (None when our own read did)."""

    def __init__(self, message: str, *, status: int | None = None, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.correlation_id = correlation_id


class ConversationEndedError(ControlRefusedError):
    """The conversation is over; recording state can no longer change."""


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
                f"{p.participant_id} ({p.purpose or '?'}{'' if p.connected else ', left'})" for p in self.participants
            )
            or "none"
        )


@dataclass(frozen=True)
class ControlResult:
    conversation_id: str
    action: str
    changed: bool
    state: str
    correlation_id: str | None
    message: str
    http_status: int | None = None
    participant_id: str | None = None
    attempts: int = 1  # writes sent (2 after a 409 retry)


class RecordingControl:
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
        now = datetime.fromtimestamp(self._clock.time(), tz=timezone.utc)
        segment_filters = []
        for dimension, value in (("queueId", queue_id), ("userId", user_id)):
            if value:
                segment_filters.append(
                    {
                        "type": "and",
                        "predicates": [
                            {"type": "dimension", "dimension": dimension, "operator": "matches", "value": value}
                        ],
                    }
                )
        extra = {"segmentFilters": segment_filters} if segment_filters else None
        found = await self._analytics.conversations(
            start=now - since, end=now + timedelta(seconds=1), media_types=media_types, ended=False, extra_filters=extra
        )
        return [c for c in found.conversations if c.conversation_end is None]

    async def inspect(self, conversation_id: str) -> LiveConversation:
        """The conversation's recording state and participants (``GET conversations/{id}``, plus
        ``GET conversations/calls/{id}`` for calls, the documented read side of call recording state)."""
        response = await self._t.api("GET", f"/api/v2/conversations/{conversation_id}", family="conversations")
        body = response.json()
        raw_participants = body.get("participants") or []
        media = tuple(k for k in _MEDIA_KEYS if any(p.get(k) for p in raw_participants))
        is_call = "calls" in media
        state = str(body.get("recordingState") or "none").lower()
        secure_pause = bool(body.get("securePause"))
        participants = tuple(_participant(p, call=False) for p in raw_participants if p.get("id"))
        if is_call:
            response = await self._t.api(
                "GET", f"/api/v2/conversations/calls/{conversation_id}", family="conversations"
            )
            call = response.json()
            state = str(call.get("recordingState") or state).lower()
            secure_pause = bool(call.get("securePause", secure_pause))
            participants = tuple(_participant(p, call=True) for p in call.get("participants") or [] if p.get("id"))
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

    async def set_recording_state(self, conversation_id: str, *, paused: bool) -> ControlResult:
        """Secure pause (``paused=True``) or resume all recording of a conversation."""
        action = "pause" if paused else "resume"
        wanted = "paused" if paused else "active"
        for attempt in (1, 2):
            live = await self.inspect(conversation_id)
            _refuse_if_ended(live, action)
            if live.recording_state == wanted:
                return _unchanged(live, action, wanted, f"recording already {wanted}; nothing changed")
            if live.recording_state == "none":
                if paused:
                    message = "nothing is being recorded (recording state none); nothing to pause"
                    return _unchanged(live, action, "none", message)
                raise ControlRefusedError(
                    f"conversation {conversation_id} has no paused recording to resume (recording state none); "
                    "to record one participant of a call, set that participant's recording flag instead",
                    correlation_id=live.correlation_id,
                )
            body = {"recordingState": "PAUSED" if paused else "ACTIVE"}
            if live.is_call:
                path, method = f"/api/v2/conversations/calls/{conversation_id}/recordingstate", "PUT"
            else:
                path, method = f"/api/v2/conversations/{conversation_id}/recordingstate", "PATCH"
            try:
                response = await self._t.api(
                    method, path, family="recording.state", json=body, permission=PAUSE_PERMISSION
                )
            except ConflictError as exc:
                if attempt == 2:
                    raise _conflict_twice(exc) from None
                await self._clock.sleep(CONFLICT_RETRY_DELAY_S)
                continue
            except BadRequestError as exc:
                raise _ended_or_same(exc, conversation_id, action) from None
            return ControlResult(
                conversation_id,
                action,
                True,
                wanted,
                response.headers.get("inin-correlation-id"),
                f"recording {wanted}",
                http_status=response.status_code,
                attempts=attempt,
            )
        raise AssertionError("unreachable")

    async def set_participant_recording(self, conversation_id: str, participant_id: str, *, on: bool) -> ControlResult:
        """Start (``on=True``) or stop ad-hoc recording of one participant of a call."""
        action = "start" if on else "stop"
        wanted = "recording" if on else "not recording"
        for attempt in (1, 2):
            live = await self.inspect(conversation_id)
            _refuse_if_ended(live, action)
            if not live.is_call:
                raise ControlRefusedError(
                    f"conversation {conversation_id} is not a call ({', '.join(live.media) or 'no media'}): "
                    "per-participant recording applies to calls only; use pause/resume",
                    correlation_id=live.correlation_id,
                )
            participant = live.participant(participant_id)
            if participant is None:
                raise ControlRefusedError(
                    f"participant {participant_id} is not on conversation {conversation_id}; "
                    f"participants: {live.describe_participants()}",
                    correlation_id=live.correlation_id,
                )
            if not participant.connected:
                raise ControlRefusedError(
                    f"participant {participant_id} ({participant.purpose or '?'}) has left conversation "
                    f"{conversation_id}; its recording can no longer be {_PAST[action]}",
                    correlation_id=live.correlation_id,
                )
            if participant.recording == on:
                message = f"already {wanted}; nothing changed"
                return replace(_unchanged(live, action, wanted, message), participant_id=participant_id)
            try:
                response = await self._t.api(
                    "PATCH",
                    f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}",
                    family="recording.state",
                    json={"recording": on},
                    permission=RECORD_PERMISSION,
                )
            except ConflictError as exc:
                if attempt == 2:
                    raise _conflict_twice(exc) from None
                await self._clock.sleep(CONFLICT_RETRY_DELAY_S)
                continue
            except BadRequestError as exc:
                raise _ended_or_same(exc, conversation_id, action) from None
            except NotFoundError as exc:  # left between our read and the write
                raise ControlRefusedError(
                    f"participant {participant_id} is no longer on conversation {conversation_id} ({exc})",
                    status=exc.status,
                    correlation_id=exc.correlation_id,
                ) from None
            return ControlResult(
                conversation_id,
                action,
                True,
                wanted,
                response.headers.get("inin-correlation-id"),
                f"recording {'started' if on else 'stopped'}",
                http_status=response.status_code,
                participant_id=participant_id,
                attempts=attempt,
            )
        raise AssertionError("unreachable")


def _participant(raw: dict, *, call: bool) -> LiveParticipant:
    """One participant of ``GET conversations/calls/{id}`` (``call=True``) or ``GET conversations/{id}``."""
    if call:
        states = [raw.get("state")]
    else:
        states = [c.get("state") for k in _MEDIA_KEYS for c in raw.get(k) or [] if isinstance(c, dict)]
    states = [str(s).lower() for s in states if s]
    left = bool(raw.get("endTime")) or (bool(states) and all(s in _ENDED_STATES for s in states))
    user = raw.get("user") if isinstance(raw.get("user"), dict) else {}
    return LiveParticipant(
        participant_id=raw["id"],
        purpose=raw.get("purpose"),
        name=raw.get("name"),
        user_id=raw.get("userId") or user.get("id"),
        connected=not left,
        recording=bool(raw.get("recording")) if call else None,
    )


def _refuse_if_ended(live: LiveConversation, action: str) -> None:
    if live.ended:
        raise ConversationEndedError(
            f"conversation {live.conversation_id} has ended; its recording can no longer be {_PAST[action]}",
            correlation_id=live.correlation_id,
        )


def _unchanged(live: LiveConversation, action: str, state: str, message: str) -> ControlResult:
    return ControlResult(
        live.conversation_id,
        action,
        False,
        state,
        live.correlation_id,
        message,
        http_status=live.http_status,
        attempts=0,
    )


def _conflict_twice(exc: ConflictError) -> ConflictError:
    return ConflictError(
        status=exc.status,
        method=exc.method,
        path=exc.path,
        code=exc.code,
        message=exc.api_message,
        correlation_id=exc.correlation_id,
        hint="The conversation was changed concurrently twice (its state was re-read and the write retried "
        "once); nothing was changed. Read its state again and retry",
    )


def _ended_or_same(exc: BadRequestError, conversation_id: str, action: str) -> GenesysError:
    if exc.code == _NOT_ACTIVE_CODE:
        return ConversationEndedError(
            f"conversation {conversation_id} has ended; its recording can no longer be {_PAST[action]} "
            f"(HTTP 400 {exc.code}, correlation id {exc.correlation_id})",
            status=exc.status,
            correlation_id=exc.correlation_id,
        )
    return exc


def summarise(conversation: ConversationSummary) -> dict:
    return {
        "conversationId": conversation.conversation_id,
        "conversationStart": conversation.conversation_start.isoformat(),
        "mediaTypes": list(conversation.media_types),
        "queueIds": list(conversation.queue_ids),
        "agentIds": list(conversation.agent_ids),
    }
