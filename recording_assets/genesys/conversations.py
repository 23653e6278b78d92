"""An analytics conversation (docs/genesys-api.md §3.1), read at the trust boundary: placed by a safe
``conversationId`` and a readable ``conversationStart`` (else ``ResponseFormatError``), every other id
and enum field checked, the ones that fail dropped and named in ``invalid_reason``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recording_assets.genesys.fields import (
    ResponseFormatError,
    enum_text,
    id_problem,
    lenient_time,
    optional_id,
    optional_time,
    parse_time,
    reason,
    required_dict,
    required_id,
    required_list,
)
from recording_assets.genesys.participant_addresses import session_addresses


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One analytics session of a participant: its media, messaging channel, direction and span (its first
    ``segmentStart`` to its last ``segmentEnd``). Descriptive only (no key, header or request is built from
    it), so a value that fails its check is left out (None), never a reason to fail the recordings."""

    session_id: str | None
    media_type: str | None
    # Messaging's channel: AnalyticsSession.messageType, free text in the SDK ("sms, facebook, twitter,
    # line": https://github.com/MyPureCloud/platform-client-sdk-java/blob/master/build/docs/AnalyticsSession.md).
    message_type: str | None
    direction: str | None
    start: datetime | None
    end: datetime | None  # None while any segment is open
    recorded: bool  # its ``recording`` flag: an audio recording was started

    @classmethod
    def from_api(cls, session: Mapping[str, Any], segments: list[Mapping[str, Any]]) -> SessionSummary:
        starts = [t for segment in segments if (t := lenient_time(segment.get("segmentStart")))]
        ends = [t for segment in segments if (t := lenient_time(segment.get("segmentEnd")))]
        session_id = session.get("sessionId")
        return cls(
            session_id=session_id if id_problem(session_id) is None else None,
            media_type=_word(session.get("mediaType")),
            message_type=_word(session.get("messageType")),
            direction=_word(session.get("direction")),
            start=min(starts, default=None),
            end=max(ends) if segments and len(ends) == len(segments) else None,
            recorded=session.get("recording") is True,
        )


@dataclass(frozen=True, slots=True)  # 100,000 a day at most: no per-instance __dict__
class ConversationSummary:
    """One conversation from an analytics details query, reduced to what the archive records."""

    conversation_id: str
    conversation_start: datetime
    conversation_end: datetime | None
    originating_direction: str | None
    division_ids: tuple[str, ...]
    media_types: tuple[str, ...]
    agent_ids: tuple[str, ...]
    queue_ids: tuple[str, ...]
    wrap_up_codes: tuple[str, ...]
    # An estimate of how many recordings exist: the field semantics are unconfirmed, so it only decides
    # whether one recordingmetadata look-up is worth spending, never what is archived.
    recorded_sessions: int
    # Optional fields that failed their check and were dropped (a queueId of ``../../x``, a numeric
    # originatingDirection ...): field and problem, for the caller to record. None: every field was fine.
    invalid_reason: str | None = None
    # Participant addresses (ANI/DNIS, e-mail and message addresses): personal data, never logged; what an
    # erasure matches a data subject against (``participant_addresses.py``).
    addresses: tuple[str, ...] = ()

    @property
    def primary_queue_id(self) -> str | None:
        return self.queue_ids[0] if self.queue_ids else None

    @classmethod
    def parse(cls, raw: Any) -> tuple[ConversationSummary, tuple[SessionSummary, ...]]:
        """The conversation, and every session of its participants in the answer's order (kept apart: a
        day's run holds its conversations, the sessions only go to the metadata table, ``SessionLog``).

        Raises ``ResponseFormatError`` when the conversation cannot be placed: no safe id, no readable
        ``conversationStart`` (or an unreadable ``conversationEnd``), or a broken structure."""
        body = required_dict(raw, field="conversations[]")
        conversation_id = required_id(body.get("conversationId"), field="conversationId")
        if body.get("conversationStart") in (None, ""):
            raise ResponseFormatError("conversation without 'conversationStart': its day cannot be known")
        start = parse_time(body.get("conversationStart"), field="conversationStart")
        end = optional_time(body.get("conversationEnd"), field="conversationEnd")
        problems: list[str] = []
        agents: list[str] = []
        queues: list[str] = []
        wrapups: list[str] = []
        media: list[str] = []
        addresses: list[str] = []
        sessions: list[SessionSummary] = []
        recorded = 0
        screen_recorded = 0
        for participant in required_list(body.get("participants"), field="participants"):
            participant = required_dict(participant, field="participants[]")
            if participant.get("purpose") == "agent":
                _add(agents, optional_id(participant.get("userId"), field="userId", problems=problems))
            if participant.get("screenRecording") is True:
                screen_recorded += 1
            for session in required_list(participant.get("sessions"), field="sessions"):
                session = required_dict(session, field="sessions[]")
                _add(media, enum_text(session.get("mediaType"), field="mediaType", problems=problems))
                session_addresses(session, addresses, problems)
                if session.get("recording") is True:
                    recorded += 1
                segments = [
                    required_dict(segment, field="segments[]")
                    for segment in required_list(session.get("segments"), field="segments")
                ]
                for segment in segments:
                    _add(queues, optional_id(segment.get("queueId"), field="queueId", problems=problems))
                    code = optional_id(segment.get("wrapUpCode"), field="wrapUpCode", problems=problems)
                    _add(wrapups, code)
                sessions.append(SessionSummary.from_api(session, segments))
        divisions: list[str] = []
        raw_divisions = body.get("divisionIds")
        if raw_divisions is not None and not isinstance(raw_divisions, list):
            problems.append(f"divisionIds: expected a list, got {type(raw_divisions).__name__}")
            raw_divisions = None
        for division in raw_divisions or ():
            _add(divisions, optional_id(division, field="divisionIds[]", problems=problems))
        direction = enum_text(
            body.get("originatingDirection"), field="originatingDirection", problems=problems
        )
        summary = cls(
            conversation_id=conversation_id,
            conversation_start=start,
            conversation_end=end,
            originating_direction=shared_text(direction),
            division_ids=tuple(divisions),
            media_types=tuple(media),
            agent_ids=tuple(agents),
            queue_ids=tuple(queues),
            wrap_up_codes=tuple(wrapups),
            # The larger, not the sum: a screen recording may also flag its agent session.
            recorded_sessions=max(recorded, screen_recorded),
            invalid_reason=_dedup_reason(problems),
            addresses=tuple(addresses),
        )
        return summary, tuple(sessions)


def _add(items: list[str], value: str | None) -> None:
    if value is None:
        return
    value = shared_text(value)
    if value not in items:
        items.append(value)


def _word(value: Any) -> str | None:
    """A plain word (``voice``, ``sms``, ``inbound``), shared; anything else None (see ``SessionSummary``)."""
    return shared_text(value) if enum_text(value, field="", problems=[]) else None


def _dedup_reason(problems: list[str]) -> str | None:
    return reason(list(dict.fromkeys(problems)))


def shared_text(value: Any) -> Any:
    """One copy of a string that recurs across a day's conversations (agents, queues, divisions, wrap-up
    codes, media types): 100,000 conversations share a few hundred of them."""
    return sys.intern(value) if type(value) is str else value
