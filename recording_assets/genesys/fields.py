"""Readers of single API fields: strict where the archive cannot work without a field (raising
``ResponseFormatError`` that names it), lenient where the SDK types a field loosely or the API omits it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from recording_assets.genesys.errors import GenesysError


class ResponseFormatError(GenesysError):
    """A response lacks a field the archiver relies on, or has it in an unexpected type."""


def parse_time(value: Any, *, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ResponseFormatError(f"expected an ISO-8601 timestamp in {field!r}, got {value!r:.80}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ResponseFormatError(f"{field!r} is not an ISO-8601 timestamp: {value!r:.80}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def optional_time(value: Any, *, field: str) -> datetime | None:
    return None if value in (None, "") else parse_time(value, field=field)


def lenient_time(value: Any) -> datetime | None:
    """A timestamp the archive does not need: any ISO-8601 form (with or without fractions, ``Z`` or an
    offset) is read; anything else is None, never an error (the SDK types these fields as plain strings)."""
    try:
        return None if value in (None, "") else parse_time(value, field="")
    except ResponseFormatError:
        return None


def lenient_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def lenient_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def required_str(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ResponseFormatError(f"expected a non-empty string in {field!r}, got {value!r:.80}")
    return value


def required_list(value: Any, *, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResponseFormatError(f"expected a list in {field!r}, got {type(value).__name__}")
    return value


def parse_count(value: Any, *, field: str) -> int:
    """A non-negative whole number; absent (None) is 0. A JSON number, never a string, bool or float."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ResponseFormatError(f"expected a non-negative integer in {field!r}, got {value!r:.80}")
    return value


def required_dict(value: Any, *, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ResponseFormatError(f"expected an object in {field!r}, got {type(value).__name__}")
    return value
