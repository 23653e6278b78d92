"""Typed, frozen views of the Platform API responses the archiver uses.

Parsers are tolerant of absent optional fields (the API omits empty ones) and strict about the few
fields the archive cannot work without, raising ``ResponseFormatError`` that names the field.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recording_assets.genesys.fields import (
    ResponseFormatError,
    lenient_int,
    lenient_text,
    lenient_time,
    optional_time,
    parse_count,
    parse_time,
    required_dict,
    required_list,
    required_str,
)

__all__ = [
    "BatchResult",
    "BatchStatus",
    "ConversationSummary",
    "Recording",
    "RecordingMetadata",
    "ResponseFormatError",
    "parse_count",
    "parse_time",
    "shared_text",
]


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

    @property
    def primary_queue_id(self) -> str | None:
        return self.queue_ids[0] if self.queue_ids else None

    @classmethod
    def from_api(cls, raw: Any) -> ConversationSummary:
        body = required_dict(raw, field="conversations[]")
        agents: list[str] = []
        queues: list[str] = []
        wrapups: list[str] = []
        media: list[str] = []
        recorded = 0
        screen_recorded = 0
        for participant in required_list(body.get("participants"), field="participants"):
            participant = required_dict(participant, field="participants[]")
            if participant.get("purpose") == "agent" and participant.get("userId"):
                _add(agents, participant["userId"])
            if participant.get("screenRecording") is True:
                screen_recorded += 1
            for session in required_list(participant.get("sessions"), field="sessions"):
                session = required_dict(session, field="sessions[]")
                if session.get("mediaType"):
                    _add(media, session["mediaType"])
                if session.get("recording") is True:
                    recorded += 1
                for segment in required_list(session.get("segments"), field="segments"):
                    segment = required_dict(segment, field="segments[]")
                    if segment.get("queueId"):
                        _add(queues, segment["queueId"])
                    if segment.get("wrapUpCode"):
                        _add(wrapups, segment["wrapUpCode"])
        return cls(
            conversation_id=required_str(body.get("conversationId"), field="conversationId"),
            conversation_start=parse_time(body.get("conversationStart"), field="conversationStart"),
            conversation_end=optional_time(body.get("conversationEnd"), field="conversationEnd"),
            originating_direction=shared_text(body.get("originatingDirection")),
            division_ids=tuple(
                shared_text(d) for d in required_list(body.get("divisionIds"), field="divisionIds")
            ),
            media_types=tuple(media),
            agent_ids=tuple(agents),
            queue_ids=tuple(queues),
            wrap_up_codes=tuple(wrapups),
            # The larger, not the sum: a screen recording may also flag its agent session.
            recorded_sessions=max(recorded, screen_recorded),
        )


def _add(items: list[str], value: str) -> None:
    value = shared_text(value)
    if value not in items:
        items.append(value)


def shared_text(value: Any) -> Any:
    """One copy of a string that recurs across a day's conversations (agents, queues, divisions, wrap-up
    codes, media types): 100,000 conversations share a few hundred of them."""
    return sys.intern(value) if type(value) is str else value


@dataclass(frozen=True)
class RecordingMetadata:
    """``GET /api/v2/conversations/{id}/recordingmetadata`` item (no media URLs)."""

    recording_id: str
    conversation_id: str
    media: str | None
    media_subtype: str | None
    file_state: str | None
    start_time: datetime | None
    end_time: datetime | None
    archive_date: datetime | None
    delete_date: datetime | None
    export_date: datetime | None
    session_id: str | None
    remaining_restorations: int | None = None  # remainingRestorationsAllowedForOrg: restorations left

    @classmethod
    def from_api(cls, raw: Any) -> RecordingMetadata:
        body = required_dict(raw, field="recordingmetadata[]")
        return cls(
            recording_id=required_str(body.get("id"), field="id"),
            conversation_id=required_str(body.get("conversationId"), field="conversationId"),
            media=body.get("media"),
            media_subtype=body.get("mediaSubtype"),
            file_state=body.get("fileState"),
            start_time=lenient_time(body.get("startTime")),
            end_time=lenient_time(body.get("endTime")),
            archive_date=lenient_time(body.get("archiveDate")),
            delete_date=lenient_time(body.get("deleteDate")),
            export_date=lenient_time(body.get("exportDate")),
            session_id=body.get("sessionId"),
            remaining_restorations=lenient_int(body.get("remainingRestorationsAllowedForOrg")),
        )


@dataclass(frozen=True)
class BatchResult:
    """One ``results[]`` item of a batch download job. ``result_url`` is presigned: never persist it."""

    conversation_id: str
    recording_id: str | None
    result_url: str | None
    content_type: str | None
    error_msg: str | None

    def __repr__(self) -> str:  # keep presigned URLs out of logs and tracebacks
        return (
            f"BatchResult(conversation_id={self.conversation_id!r}, recording_id={self.recording_id!r}, "
            f"content_type={self.content_type!r}, error_msg={self.error_msg!r})"
        )

    @classmethod
    def from_api(cls, raw: Any) -> BatchResult:
        body = required_dict(raw, field="results[]")
        # Only the conversation is needed to place an item; a field of the wrong kind reads as absent (a
        # result without a recording id or URL is then looked up, never guessed at).
        return cls(
            conversation_id=required_str(body.get("conversationId"), field="conversationId"),
            recording_id=lenient_text(body.get("recordingId")),
            result_url=lenient_text(body.get("resultUrl")),
            content_type=lenient_text(body.get("contentType")),
            # An errorMsg that is not text still says the item failed.
            error_msg=lenient_text(body.get("errorMsg")) or ("errorMsg" if body.get("errorMsg") else None),
        )


@dataclass(frozen=True)
class BatchStatus:
    job_id: str
    status: str
    expected_result_count: int
    result_count: int
    error_count: int
    results: tuple[BatchResult, ...]

    @property
    def completed(self) -> bool:
        return self.status == "Completed"

    @classmethod
    def from_api(cls, raw: Any) -> BatchStatus:
        body = required_dict(raw, field="batch status")
        return cls(
            job_id=required_str(body.get("id") or body.get("jobId"), field="id"),
            status=required_str(body.get("status"), field="status"),
            expected_result_count=parse_count(body.get("expectedResultCount"), field="expectedResultCount"),
            result_count=parse_count(body.get("resultCount"), field="resultCount"),
            error_count=parse_count(body.get("errorCount"), field="errorCount"),
            results=tuple(_placeable(required_list(body.get("results"), field="results"))),
        )


def _placeable(items: list) -> list[BatchResult]:
    """The results that name their conversation. One that does not cannot be placed and is left out: its
    conversation then has no item, which the plan looks up when analytics says it was recorded."""
    results = []
    for item in items:
        try:
            results.append(BatchResult.from_api(item))
        except ResponseFormatError:
            continue
    return results


@dataclass(frozen=True)
class Recording:
    """``GET /api/v2/conversations/{cid}/recordings/{rid}``. ``media_uri`` is presigned: never persist it."""

    recording_id: str
    conversation_id: str
    media: str | None
    file_state: str | None
    media_uri: str | None
    output_size_bytes: int | None
    output_duration_ms: int | None
    estimated_transcode_ms: int | None
    transcoding: bool  # the API answered 202

    def __repr__(self) -> str:
        return (
            f"Recording(recording_id={self.recording_id!r}, conversation_id={self.conversation_id!r}, "
            f"file_state={self.file_state!r}, transcoding={self.transcoding})"
        )

    @classmethod
    def from_api(cls, raw: Any, *, transcoding: bool) -> Recording:
        body = required_dict(raw, field="recording")
        uris = body.get("mediaUris") or {}
        first = None
        if isinstance(uris, dict) and uris:
            # Keys are channel indexes ("0", "1"); "0" is the whole recording in public code.
            entry = uris.get("0") or next(iter(uris.values()))
            first = entry.get("mediaUri") if isinstance(entry, dict) else None
        return cls(
            recording_id=required_str(body.get("id"), field="id"),
            conversation_id=required_str(body.get("conversationId"), field="conversationId"),
            media=body.get("media"),
            file_state=body.get("fileState"),
            media_uri=first,
            output_size_bytes=lenient_int(body.get("outputSizeInBytes")),
            output_duration_ms=lenient_int(body.get("outputDurationMs")),
            estimated_transcode_ms=lenient_int(body.get("estimatedTranscodeTimeMs")),
            transcoding=transcoding,
        )
