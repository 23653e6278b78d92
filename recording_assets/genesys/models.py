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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recording_assets.genesys.conversations import ConversationSummary, SessionSummary, shared_text
from recording_assets.genesys.fields import (
    ResponseFormatError,
    checked_time,
    content_type,
    enum_text,
    lenient_int,
    optional_id,
    parse_count,
    parse_time,
    reason,
    required_dict,
    required_id,
    required_list,
)
from recording_assets.genesys.listing import Listing, Rejected, reject
from recording_assets.genesys.redact import clean_text
from recording_assets.genesys.urls import url_problem

__all__ = [
    "BatchResult",
    "BatchStatus",
    "ConversationSummary",
    "SessionSummary",
    "Listing",
    "Recording",
    "RecordingMetadata",
    "Rejected",
    "ResponseFormatError",
    "parse_count",
    "parse_time",
    "shared_text",
]


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
            start_time=checked_time(body.get("startTime"), field="startTime", problems=problems),
            end_time=checked_time(body.get("endTime"), field="endTime", problems=problems),
            archive_date=checked_time(body.get("archiveDate"), field="archiveDate", problems=problems),
            delete_date=checked_time(body.get("deleteDate"), field="deleteDate", problems=problems),
            export_date=checked_time(body.get("exportDate"), field="exportDate", problems=problems),
            session_id=optional_id(body.get("sessionId"), field="sessionId", problems=problems),
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


# BatchDownloadJobStatusResult.status, the only values the API documents (docs/genesys-api.md §4.2).
BATCH_JOB_STATES = ("InProgress", "Completed")


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
        if status not in BATCH_JOB_STATES:
            # Polling a state that is neither would wait out the job's timeout: the job fails at once.
            raise ResponseFormatError(f"batch status {status!r}: not one of {', '.join(BATCH_JOB_STATES)}")
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
