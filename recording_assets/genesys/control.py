"""Live recording control (docs/genesys-api.md §6): secure pause / resume and per-participant recording.
Finding live conversations and reading their state is ``live_conversations``.

Conversation and participant ids are checked to be GUIDs before any request (``InvalidIdError``).

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

from collections.abc import Callable
from dataclasses import dataclass

from recording_assets.genesys.errors import BadRequestError, ConflictError, GenesysError, NotFoundError
from recording_assets.genesys.fields import caller_id
from recording_assets.genesys.live_conversations import LiveConversation, LiveConversations

PAUSE_PERMISSION = "conversation:recording:pauseOthers"
RECORD_PERMISSION = (
    "conversation:call:record"  # any of: participant:wrapup, call:record, communication:disconnect
)
_PAST = {"pause": "paused", "resume": "resumed", "start": "started", "stop": "stopped"}
_NOT_ACTIVE_CODE = (
    "conversation.not.active"  # the sandbox's code; the live API's code for this is unconfirmed
)
CONFLICT_RETRY_DELAY_S = 0.5


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


@dataclass(frozen=True)
class _Write:
    """The request that brings a conversation to the wanted state, and what to report once it is sent."""

    method: str
    path: str
    body: dict
    permission: str
    state: str
    message: str
    participant_id: str | None = None
    gone: str | None = None  # a 404 to the write means this left between our read and the write


class RecordingControl(LiveConversations):
    """Reads (``LiveConversations``) and the recording-state writes, each checked against a fresh read."""

    async def set_recording_state(self, conversation_id: str, *, paused: bool) -> ControlResult:
        """Secure pause (``paused=True``) or resume all recording of a conversation."""
        action = "pause" if paused else "resume"
        wanted = "paused" if paused else "active"

        def plan(live: LiveConversation) -> _Write | ControlResult:
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
            if live.is_call:
                path, method = f"/api/v2/conversations/calls/{conversation_id}/recordingstate", "PUT"
            else:
                path, method = f"/api/v2/conversations/{conversation_id}/recordingstate", "PATCH"
            body = {"recordingState": "PAUSED" if paused else "ACTIVE"}
            return _Write(method, path, body, PAUSE_PERMISSION, wanted, f"recording {wanted}")

        return await self._change(conversation_id, action, plan)

    async def set_participant_recording(
        self, conversation_id: str, participant_id: str, *, on: bool
    ) -> ControlResult:
        """Start (``on=True``) or stop ad-hoc recording of one participant of a call."""
        participant_id = caller_id(participant_id, what="participant id", guid=True)
        action = "start" if on else "stop"
        wanted = "recording" if on else "not recording"

        def plan(live: LiveConversation) -> _Write | ControlResult:
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
                return _unchanged(live, action, wanted, f"already {wanted}; nothing changed", participant_id)
            return _Write(
                "PATCH",
                f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}",
                {"recording": on},
                RECORD_PERMISSION,
                wanted,
                f"recording {'started' if on else 'stopped'}",
                participant_id=participant_id,
                gone=f"participant {participant_id} is no longer on conversation {conversation_id}",
            )

        return await self._change(conversation_id, action, plan)

    async def _change(
        self, conversation_id: str, action: str, plan: Callable[[LiveConversation], _Write | ControlResult]
    ) -> ControlResult:
        """Read the conversation, let ``plan`` refuse, answer a no-op or name the write, and send it.
        A 409 re-reads and plans again once (the state may now be what was asked for)."""
        conversation_id = caller_id(conversation_id, what="conversation id", guid=True)
        for attempt in (1, 2):
            live = await self.inspect(conversation_id)
            _refuse_if_ended(live, action)
            write = plan(live)
            if isinstance(write, ControlResult):
                return write
            try:
                response = await self._t.api(
                    write.method,
                    write.path,
                    family="recording.state",
                    json=write.body,
                    permission=write.permission,
                    expect_json=False,  # only the status and headers are read: the write is done either way
                )
            except ConflictError as exc:
                if attempt == 2:
                    raise _conflict_twice(exc) from None
                await self._clock.sleep(CONFLICT_RETRY_DELAY_S)
                continue
            except BadRequestError as exc:
                raise _ended_or_same(exc, conversation_id, action) from None
            except NotFoundError as exc:
                if write.gone is None:
                    raise
                raise ControlRefusedError(
                    f"{write.gone} ({exc})", status=exc.status, correlation_id=exc.correlation_id
                ) from None
            return ControlResult(
                conversation_id,
                action,
                True,
                write.state,
                response.headers.get("inin-correlation-id"),
                write.message,
                http_status=response.status_code,
                participant_id=write.participant_id,
                attempts=attempt,
            )
        raise AssertionError("unreachable")


def _refuse_if_ended(live: LiveConversation, action: str) -> None:
    if live.ended:
        raise ConversationEndedError(
            f"conversation {live.conversation_id} has ended; its recording can no longer be {_PAST[action]}",
            correlation_id=live.correlation_id,
        )


def _unchanged(
    live: LiveConversation, action: str, state: str, message: str, participant_id: str | None = None
) -> ControlResult:
    return ControlResult(
        live.conversation_id,
        action,
        False,
        state,
        live.correlation_id,
        message,
        http_status=live.http_status,
        participant_id=participant_id,
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
