"""Typed, frozen views of the Platform API responses the archiver uses: the trust boundary for answers.

Parsers are tolerant of absent optional fields (the API omits empty ones) and strict about the few
fields the archive cannot work without, raising ``ResponseFormatError`` that names the field. Ids are
held to a key-safe alphabet, content types to ``type/subtype``, URLs to absolute http(s) without
userinfo or control characters (which hosts a URL may reach is ``netguard.MediaPolicy``'s to say, at
download time), enum-like fields to plain words. A field the archive can do without that fails its check
reads as absent and is named in the item's ``invalid_reason`` (field and problem, never the raw value),
so the caller can record it; an item that lacks what places it (its ids) is left out of its page and
listed in the page's ``rejected`` with why.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from recording_assets.genesys.fields import (
    ResponseFormatError,
    content_type,
    enum_text,
    lenient_int,
    lenient_time,
    optional_id,
    optional_time,
    parse_count,
    parse_time,
    reason,
    required_dict,
    required_id,
    required_list,
)
from recording_assets.genesys.netguard import url_problem
from recording_assets.genesys.redact import clean_text

T = TypeVar("T")

__all__ = [
    "BatchResult",
    "BatchStatus",
    "ConversationSummary",
    "Listing",
    "Recording",
    "RecordingMetadata",
    "Rejected",
    "ResponseFormatError",
    "parse_count",
    "parse_time",
    "shared_text",
]


@dataclass(frozen=True, slots=True)
class Rejected:
    """An answer item left out because it cannot be placed or trusted: what it was, its position in the
    answer, the id it named when that id is safe to repeat, and why (field and problem, never the raw value)."""

    what: str  # "conversation", "batch result", "recording metadata"
    index: int
    reason: str
    conversation_id: str | None = None


class Listing(list, Generic[T]):
    """Parsed items of one answer (or of all the pages of a listing), with what was left out and why
    (``rejected``) and whether paging stopped before its end (``complete`` / ``incomplete_reason``)."""

    def __init__(self, items: Iterable[T] = ()) -> None:
        super().__init__(items)
        self.rejected: list[Rejected] = []
        self.complete = True
        self.incomplete_reason: str | None = None

    def incomplete(self, reason: str) -> None:
        self.complete = False
        self.incomplete_reason = reason


def reject(what: str, index: int, raw: Any, error: ResponseFormatError) -> Rejected:
    """A ``Rejected`` for item ``index`` of an answer, naming its conversation when that id is safe."""
    cid = raw.get("conversationId") if isinstance(raw, dict) else None
    problems: list[str] = []
    safe = optional_id(cid, field="conversationId", problems=problems)
    return Rejected(what, index, clean_text(str(error)), safe)


def media_url(value: Any, *, field: str, problems: list[str]) -> str | None:
    """A presigned media URL: absolute http(s), no userinfo, no whitespace or control character; else None
    with its problem added to ``problems``. It stays a secret: never repeated in a problem."""
    if value is None or value == "":
        return None
    problem = url_problem(value)
    if problem:
        problems.append(f"{field}: {problem}")
        return None
    return value


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

    @property
    def primary_queue_id(self) -> str | None:
        return self.queue_ids[0] if self.queue_ids else None

    @classmethod
    def from_api(cls, raw: Any) -> ConversationSummary:
        """Raises ``ResponseFormatError`` when the conversation cannot be placed: no safe id, no readable
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
                if session.get("recording") is True:
                    recorded += 1
                for segment in required_list(session.get("segments"), field="segments"):
                    segment = required_dict(segment, field="segments[]")
                    _add(queues, optional_id(segment.get("queueId"), field="queueId", problems=problems))
                    code = optional_id(segment.get("wrapUpCode"), field="wrapUpCode", problems=problems)
                    _add(wrapups, code)
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
        return cls(
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
        )


def _add(items: list[str], value: str | None) -> None:
    if value is None:
        return
    value = shared_text(value)
    if value not in items:
        items.append(value)


def _dedup_reason(problems: list[str]) -> str | None:
    return reason(list(dict.fromkeys(problems)))


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
    invalid_reason: str | None = None  # optional fields dropped for failing their check (a numeric fileState)

    @classmethod
    def from_api(cls, raw: Any) -> RecordingMetadata:
        body = required_dict(raw, field="recordingmetadata[]")
        problems: list[str] = []
        return cls(
            recording_id=required_id(body.get("id"), field="id"),
            conversation_id=required_id(body.get("conversationId"), field="conversationId"),
            media=enum_text(body.get("media"), field="media", problems=problems),
            media_subtype=enum_text(body.get("mediaSubtype"), field="mediaSubtype", problems=problems),
            file_state=enum_text(body.get("fileState"), field="fileState", problems=problems),
            start_time=lenient_time(body.get("startTime")),
            end_time=lenient_time(body.get("endTime")),
            archive_date=lenient_time(body.get("archiveDate")),
            delete_date=lenient_time(body.get("deleteDate")),
            export_date=lenient_time(body.get("exportDate")),
            session_id=optional_id(body.get("sessionId"), field="sessionId", problems=problems),
            remaining_restorations=lenient_int(body.get("remainingRestorationsAllowedForOrg")),
            invalid_reason=reason(problems),
        )


@dataclass(frozen=True)
class BatchResult:
    """One ``results[]`` item of a batch download job. ``result_url`` is presigned: never persist it."""

    conversation_id: str
    recording_id: str | None
    result_url: str | None
    content_type: str | None
    error_msg: str | None
    # Fields dropped for failing their check (a recordingId with '/', a resultUrl with NUL, a contentType
    # with CR/LF ...): field and problem. When the URL was dropped and Genesys gave no errorMsg,
    # ``error_msg`` says "invalid batch result: <reason>", so a caller that reads only errorMsg records why.
    invalid_reason: str | None = None

    def __repr__(self) -> str:  # keep presigned URLs out of logs and tracebacks
        return (
            f"BatchResult(conversation_id={self.conversation_id!r}, recording_id={self.recording_id!r}, "
            f"content_type={self.content_type!r}, error_msg={self.error_msg!r}, "
            f"invalid_reason={self.invalid_reason!r})"
        )

    @classmethod
    def from_api(cls, raw: Any) -> BatchResult:
        body = required_dict(raw, field="results[]")
        # Only the conversation is needed to place an item; a field of the wrong kind reads as absent (a
        # result without a recording id or URL is then looked up, never guessed at).
        problems: list[str] = []
        conversation_id = required_id(body.get("conversationId"), field="conversationId")
        recording_id = optional_id(body.get("recordingId"), field="recordingId", problems=problems)
        url = media_url(body.get("resultUrl"), field="resultUrl", problems=problems)
        kind = content_type(body.get("contentType"), field="contentType", problems=problems)
        raw_error = body.get("errorMsg")
        # An errorMsg that is not text still says the item failed.
        error = clean_text(raw_error) if isinstance(raw_error, str) and raw_error else None
        error = error or ("errorMsg" if raw_error else None)
        invalid = reason(problems)
        if invalid and url is None and error is None:
            error = f"invalid batch result: {invalid}"
        return cls(conversation_id, recording_id, url, kind, error, invalid)


@dataclass(frozen=True)
class BatchStatus:
    job_id: str
    status: str
    expected_result_count: int
    result_count: int
    error_count: int
    results: tuple[BatchResult, ...]
    rejected: tuple[Rejected, ...] = ()  # results left out: no safe conversation id to place them by

    @property
    def completed(self) -> bool:
        return self.status == "Completed"

    @classmethod
    def from_api(cls, raw: Any) -> BatchStatus:
        body = required_dict(raw, field="batch status")
        problems: list[str] = []
        status = enum_text(body.get("status"), field="status", problems=problems)
        if status is None:
            raise ResponseFormatError(
                f"batch status without a readable 'status' ({reason(problems) or 'absent'})"
            )
        results, rejected = _placeable(required_list(body.get("results"), field="results"))
        return cls(
            job_id=required_id(body.get("id") or body.get("jobId"), field="id"),
            status=status,
            expected_result_count=parse_count(body.get("expectedResultCount"), field="expectedResultCount"),
            result_count=parse_count(body.get("resultCount"), field="resultCount"),
            error_count=parse_count(body.get("errorCount"), field="errorCount"),
            results=tuple(results),
            rejected=tuple(rejected),
        )


def _placeable(items: list) -> tuple[list[BatchResult], list[Rejected]]:
    """The results that name their conversation. One that does not cannot be placed and is left out (and
    listed in ``rejected``): its conversation then has no item, which the plan looks up when analytics
    says it was recorded."""
    results, rejected = [], []
    for index, item in enumerate(items):
        try:
            results.append(BatchResult.from_api(item))
        except ResponseFormatError as error:
            rejected.append(reject("batch result", index, item, error))
    return results, rejected


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
    invalid_reason: str | None = None  # optional fields dropped for failing their check (a bad mediaUri)

    def __repr__(self) -> str:
        return (
            f"Recording(recording_id={self.recording_id!r}, conversation_id={self.conversation_id!r}, "
            f"file_state={self.file_state!r}, transcoding={self.transcoding}, "
            f"invalid_reason={self.invalid_reason!r})"
        )

    @classmethod
    def from_api(cls, raw: Any, *, transcoding: bool) -> Recording:
        body = required_dict(raw, field="recording")
        problems: list[str] = []
        uris = body.get("mediaUris") or {}
        first = None
        if isinstance(uris, dict) and uris:
            # Keys are channel indexes ("0", "1"); "0" is the whole recording in public code.
            entry = uris.get("0") or next(iter(uris.values()))
            raw_uri = entry.get("mediaUri") if isinstance(entry, dict) else None
            first = media_url(raw_uri, field="mediaUris.mediaUri", problems=problems)
        elif uris:
            problems.append(f"mediaUris: expected an object, got {type(uris).__name__}")
        size = lenient_int(body.get("outputSizeInBytes"))
        return cls(
            recording_id=required_id(body.get("id"), field="id"),
            conversation_id=required_id(body.get("conversationId"), field="conversationId"),
            media=enum_text(body.get("media"), field="media", problems=problems),
            file_state=enum_text(body.get("fileState"), field="fileState", problems=problems),
            media_uri=first,
            output_size_bytes=size if size is None or size >= 0 else None,
            output_duration_ms=lenient_int(body.get("outputDurationMs")),
            estimated_transcode_ms=lenient_int(body.get("estimatedTranscodeTimeMs")),
            transcoding=transcoding,
            invalid_reason=reason(problems),
        )
