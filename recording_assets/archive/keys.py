"""Object keys for the archive and manifest buckets, built only from validated pieces.

Ids come from an external API, so every piece is checked against a small alphabet before it is joined:
a key can never escape its prefix, collide across conversations, or hide a ``..`` segment. The layout
is Hive-style (``year=/month=/day=``) so lifecycle rules, Athena and DuckDB can all prune by day.

    {prefix}recordings/year=2026/month=11/day=23/queue={queue}/{conversation}/{recording}.wav
    {prefix}recordings/year=2026/month=11/day=23/queue={queue}/{conversation}/{recording}_metadata.json
    {prefix}quarantine/year=2026/month=11/day=23/queue={queue}/{conversation}/{recording}.wav.{attempt}

The manifest bucket's documents use one ``date=YYYY-MM-DD`` directory per day:

    {prefix}metadata/date=2026-11-23/recording_metadata.parquet
    {prefix}outcomes/date=2026-11-23/outcomes.parquet
    {prefix}manifests/date=2026-11-23/manifest.parquet
    {prefix}audit/date=2026-11-23/run={run_id}/part-00001.parquet
    {prefix}control-audit/date=2026-11-23/{event_id}.json

No other module states these prefixes: they use the functions below (sidecars: ``sidecar_keys``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import NamedTuple

from recording_assets.archive.errors import InvalidIdentifierError

MAX_IDENTIFIER_CHARS = 128
NO_QUEUE = "none"
"""Queue segment for interactions that never reached a queue; reserved, so not accepted as a queue id."""

_RECORDINGS = "recordings"
_QUARANTINE = "quarantine"
_MANIFESTS = "manifests"
_METADATA = "metadata"
_OUTCOMES = "outcomes"
_AUDIT = "audit"
_CONTROL_AUDIT = "control-audit"
_IDENTIFIER = re.compile(r"[A-Za-z0-9._-]+")
_ATTEMPT_ID = re.compile(r"[A-Za-z0-9_-]+")  # no dots: the attempt is split off the last one
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9._=-]+")
_EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")
_MAX_PREFIX_CHARS = 256


class RecordingKeyParts(NamedTuple):
    day: date
    queue: str | None
    conversation_id: str
    recording_id: str
    ext: str


class QuarantineKeyParts(NamedTuple):
    day: date
    queue: str | None
    conversation_id: str
    recording_id: str
    ext: str
    attempt_id: str


def validate_identifier(value: object, *, field: str, pattern: re.Pattern[str] = _IDENTIFIER) -> str:
    """Return ``value`` if it is safe as one key segment, else raise ``InvalidIdentifierError``."""

    def refuse(reason: str) -> InvalidIdentifierError:
        return InvalidIdentifierError(field=field, value=value, reason=reason)

    if not isinstance(value, str):
        raise refuse(f"expected str, got {type(value).__name__}")
    if not value:
        raise refuse("it is empty")
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise refuse(f"it is {len(value)} characters long")
    if ".." in value or value == ".":
        raise refuse("it is or contains a relative path step")
    if not pattern.fullmatch(value):
        raise refuse(_describe_bad_character(value, pattern))
    return value


def validate_prefix(prefix: object) -> str:
    """A key prefix is empty or ``segment/.../``, each segment of A-Z a-z 0-9 . _ = -."""

    def refuse(reason: str) -> InvalidIdentifierError:
        return InvalidIdentifierError(field="prefix", value=prefix, reason=reason)

    if not isinstance(prefix, str):
        raise refuse(f"expected str, got {type(prefix).__name__}")
    if prefix == "":
        return prefix
    if not prefix.endswith("/"):
        raise refuse("a non-empty prefix must end with '/'")
    if len(prefix) > _MAX_PREFIX_CHARS:
        raise refuse(f"it is {len(prefix)} characters long")
    for segment in prefix[:-1].split("/"):
        if segment in ("", ".", "..") or ".." in segment:
            raise refuse("it has an empty, '.' or '..' segment (or a leading '/')")
        if not _PREFIX_SEGMENT.fullmatch(segment):
            raise refuse(_describe_bad_character(segment, _PREFIX_SEGMENT))
    return prefix


def validate_extension(ext: object) -> str:
    if not isinstance(ext, str) or not _EXTENSION.fullmatch(ext):
        raise InvalidIdentifierError(
            field="ext", value=ext, reason="expected '.' and 1-10 of a-z 0-9, e.g. from sniff.extension_for()"
        )
    return ext


def recording_day_prefix(*, prefix: str, day: date) -> str:
    """``{prefix}recordings/year=YYYY/month=MM/day=DD/`` — list this to see one archived day."""
    return f"{validate_prefix(prefix)}{_RECORDINGS}/{_day_path(day)}/"


def quarantine_day_prefix(*, prefix: str, day: date) -> str:
    return f"{validate_prefix(prefix)}{_QUARANTINE}/{_day_path(day)}/"


def recording_key(
    *, prefix: str, day: date, queue_id: str | None, conversation_id: str, recording_id: str, ext: str
) -> str:
    tail = _recording_tail(queue_id, conversation_id, recording_id, ext)
    return f"{recording_day_prefix(prefix=prefix, day=day)}{tail}"


def quarantine_key(
    *,
    prefix: str,
    day: date,
    queue_id: str | None,
    conversation_id: str,
    recording_id: str,
    ext: str,
    attempt_id: str,
) -> str:
    """Like ``recording_key`` under ``quarantine/``, suffixed per attempt so no evidence is overwritten."""
    tail = _recording_tail(queue_id, conversation_id, recording_id, ext)
    attempt = validate_identifier(attempt_id, field="attempt_id", pattern=_ATTEMPT_ID)
    return f"{quarantine_day_prefix(prefix=prefix, day=day)}{tail}.{attempt}"


def parse_recording_key(key: str, *, prefix: str | None = None) -> RecordingKeyParts:
    """Inverse of ``recording_key``; ``prefix``, when given, must be the key's prefix exactly."""
    day, queue, conversation_id, file_name = _parse_layout(key, area=_RECORDINGS, prefix=prefix)
    recording_id, ext = _split_extension(key, file_name)
    return RecordingKeyParts(day, queue, conversation_id, recording_id, ext)


def parse_quarantine_key(key: str, *, prefix: str | None = None) -> QuarantineKeyParts:
    day, queue, conversation_id, file_name = _parse_layout(key, area=_QUARANTINE, prefix=prefix)
    stem, dot, attempt_id = file_name.rpartition(".")
    if not dot:
        raise InvalidIdentifierError(field="key", value=key, reason="quarantine key has no attempt suffix")
    validate_identifier(attempt_id, field="attempt_id", pattern=_ATTEMPT_ID)
    recording_id, ext = _split_extension(key, stem)
    return QuarantineKeyParts(day, queue, conversation_id, recording_id, ext, attempt_id)


# Manifest-bucket documents: one partition directory per day, Hive-style ``date=YYYY-MM-DD``.


def manifest_key(*, day: date, prefix: str = "") -> str:
    return f"{validate_prefix(prefix)}{_MANIFESTS}/{_date_partition(day)}/manifest.parquet"


def metadata_key(*, day: date, prefix: str = "") -> str:
    return f"{validate_prefix(prefix)}{_METADATA}/{_date_partition(day)}/recording_metadata.parquet"


def outcomes_key(*, day: date, prefix: str = "") -> str:
    return f"{validate_prefix(prefix)}{_OUTCOMES}/{_date_partition(day)}/outcomes.parquet"


def conversations_key(*, day: date, prefix: str = "") -> str:
    """Beside the outcomes: which conversations of the day are settled (their batch answered, every
    recording final), so a re-run spends no request on them."""
    return f"{validate_prefix(prefix)}{_OUTCOMES}/{_date_partition(day)}/conversations.parquet"


def audit_day_prefix(*, day: date, prefix: str = "") -> str:
    """``{prefix}audit/date=YYYY-MM-DD/`` — list this to see every run's audit trail of one day."""
    return f"{validate_prefix(prefix)}{_AUDIT}/{_date_partition(day)}/"


def audit_run_prefix(*, day: date, run_id: str, prefix: str = "") -> str:
    run = validate_identifier(run_id, field="run_id")
    return f"{audit_day_prefix(day=day, prefix=prefix)}run={run}/"


def audit_key(*, day: date, run_id: str, part: int, prefix: str = "") -> str:
    """One flushed part of a run's audit trail: ``.../run={run_id}/part-00001.parquet``, from part 1."""
    if not isinstance(part, int) or isinstance(part, bool) or part < 1:
        raise InvalidIdentifierError(field="part", value=part, reason="expected an int from 1")
    return f"{audit_run_prefix(day=day, run_id=run_id, prefix=prefix)}part-{part:05d}.parquet"


def control_audit_prefix(*, prefix: str = "") -> str:
    """``{prefix}control-audit/`` — every control event, all days."""
    return f"{validate_prefix(prefix)}{_CONTROL_AUDIT}/"


def control_audit_key(*, day: date, event_id: str, prefix: str = "") -> str:
    event = validate_identifier(event_id, field="event_id")
    return f"{control_audit_prefix(prefix=prefix)}{_date_partition(day)}/{event}.json"


def _check_day(day: object) -> date:
    # A datetime is a date subclass, but its calendar day depends on a time zone the caller must choose.
    if not isinstance(day, date) or isinstance(day, datetime):
        raise TypeError(f"day must be a datetime.date (not datetime), got {type(day).__name__}")
    return day


def _day_path(day: date) -> str:
    day = _check_day(day)
    return f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}"


def _date_partition(day: date) -> str:
    day = _check_day(day)
    return f"date={day.year:04d}-{day.month:02d}-{day.day:02d}"


def _recording_tail(queue_id: str | None, conversation_id: str, recording_id: str, ext: str) -> str:
    queue = _queue_segment(queue_id)
    conversation = validate_identifier(conversation_id, field="conversation_id")
    recording = validate_identifier(recording_id, field="recording_id")
    return f"queue={queue}/{conversation}/{recording}{validate_extension(ext)}"


def _queue_segment(queue_id: str | None) -> str:
    if queue_id is None:
        return NO_QUEUE
    if queue_id == NO_QUEUE:
        raise InvalidIdentifierError(
            field="queue_id", value=queue_id, reason=f"{NO_QUEUE!r} is reserved for 'no queue'; pass None"
        )
    return validate_identifier(queue_id, field="queue_id")


def _parse_layout(key: str, *, area: str, prefix: str | None) -> tuple[date, str | None, str, str]:
    segments = key.split("/") if isinstance(key, str) else []
    if len(segments) < 7 or segments[-7] != area:
        raise InvalidIdentifierError(
            field="key", value=key, reason=f"expected ...{area}/year=/month=/day=/queue=/conversation/file"
        )
    found_prefix = "".join(f"{segment}/" for segment in segments[:-7])
    validate_prefix(found_prefix)
    if prefix is not None and found_prefix != prefix:
        raise InvalidIdentifierError(field="key", value=key, reason=f"it is not under prefix {prefix!r}")
    year, month, day_of_month, queue_part, conversation_id, file_name = segments[-6:]
    day = _parse_day(key, year, month, day_of_month)
    if not queue_part.startswith("queue="):
        raise InvalidIdentifierError(field="key", value=key, reason="missing the queue= segment")
    queue_text = queue_part[len("queue=") :]
    queue = None if queue_text == NO_QUEUE else validate_identifier(queue_text, field="queue_id")
    return day, queue, validate_identifier(conversation_id, field="conversation_id"), file_name


def _parse_day(key: str, year: str, month: str, day_of_month: str) -> date:
    parts = (
        re.fullmatch(r"year=([0-9]{4})", year),
        re.fullmatch(r"month=([0-9]{2})", month),
        re.fullmatch(r"day=([0-9]{2})", day_of_month),
    )
    numbers = [int(part.group(1)) for part in parts if part]
    if len(numbers) != 3:
        raise InvalidIdentifierError(field="key", value=key, reason="malformed year=/month=/day= segments")
    try:
        return date(*numbers)
    except ValueError as error:
        raise InvalidIdentifierError(field="key", value=key, reason=f"not a calendar day ({error})") from None


def _split_extension(key: str, file_name: str) -> tuple[str, str]:
    # Recording ids may contain dots, the extension never does, so the last dot separates them.
    recording_id, dot, extension = file_name.rpartition(".")
    if not dot:
        raise InvalidIdentifierError(field="key", value=key, reason="the file name has no extension")
    return validate_identifier(recording_id, field="recording_id"), validate_extension(f".{extension}")


def _describe_bad_character(value: str, pattern: re.Pattern[str]) -> str:
    for character in value:
        if pattern.fullmatch(character):
            continue
        if character in "/\\":
            return "it contains a path separator"
        if ord(character) < 32 or ord(character) == 127:
            return "it contains a control character"
        if character.isspace():
            return "it contains whitespace"
        if ord(character) > 127:
            return "it contains non-ASCII characters"
        return f"it contains {character!r}"
    return "it does not match the allowed alphabet"
