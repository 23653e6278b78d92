"""Readers of single API fields: strict where the archive cannot work without a field (raising
``ResponseFormatError`` that names it), lenient where the SDK types a field loosely or the API omits it.

Everything here reads what arrived from Genesys, so nothing here trusts it: ids are held to a key-safe
alphabet (``id_problem``), content types to ``type/subtype`` (``content_type``), enum-like strings to a
short token (``enum_text``). What a reader refuses it describes by the field and the problem, never by the
raw value: that may hold control characters, or a secret a hostile answer copied in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from recording_assets.genesys.errors import GenesysError, InvalidIdError

MAX_ID_CHARS = 128
_SAFE_ID = re.compile(r"[A-Za-z0-9-]+")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
_MIME_PART = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MIME = re.compile(f"{_MIME_PART}/{_MIME_PART}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ResponseFormatError(GenesysError):
    """A response lacks a field the archiver relies on, or has it in an unexpected type."""


def describe(value: Any) -> str:
    """What kind of value arrived, for a message that must not repeat it."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return type(value).__name__


def parse_time(value: Any, *, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ResponseFormatError(f"expected an ISO-8601 timestamp in {field!r}, got {describe(value)}")
    if len(value) > 64 or _CONTROL.search(value):
        raise ResponseFormatError(f"{field!r} is not an ISO-8601 timestamp ({describe(value)})")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ResponseFormatError(f"{field!r} is not an ISO-8601 timestamp ({describe(value)})") from None
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


def checked_time(value: Any, *, field: str, problems: list[str]) -> datetime | None:
    """``lenient_time``, with a value that is there but not a timestamp named in ``problems``."""
    parsed = lenient_time(value)
    if parsed is None and value not in (None, ""):
        problems.append(f"{field}: not an ISO-8601 timestamp ({describe(value)})")
    return parsed


def lenient_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def lenient_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def required_str(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ResponseFormatError(f"expected a non-empty string in {field!r}, got {describe(value)}")
    return value


def id_problem(value: Any) -> str | None:
    """Why ``value`` is not a Genesys id fit for a URL path and an archive key (letters, digits and '-', at
    most ``MAX_ID_CHARS``), or None. Never repeats the value."""
    if not isinstance(value, str):
        return f"expected a string, got {describe(value)}"
    if not value:
        return "it is empty"
    if len(value) > MAX_ID_CHARS:
        return f"it is {len(value)} characters long (at most {MAX_ID_CHARS})"
    if _SAFE_ID.fullmatch(value):
        return None
    for needle, what in (("\x00", "NUL"), ("/", "'/'"), ("\\", "'\\'"), ("..", "'..'")):
        if needle in value:
            return f"it contains {what}"
    if any(c.isspace() for c in value):
        return "it contains whitespace"
    if _CONTROL.search(value):
        return "it contains a control character"
    return "it contains a character other than A-Z a-z 0-9 -"


def required_id(value: Any, *, field: str) -> str:
    """An id the archive cannot do without; ``ResponseFormatError`` naming ``field`` when it is unsafe."""
    problem = id_problem(value)
    if problem:
        raise ResponseFormatError(f"{field!r} is not a valid id: {problem}")
    return value


def optional_id(value: Any, *, field: str, problems: list[str]) -> str | None:
    """An id the archive can do without: absent is None; an unsafe one is None too, its problem added to
    ``problems`` (``field: problem``)."""
    if value is None or value == "":
        return None
    problem = id_problem(value)
    if problem:
        problems.append(f"{field}: {problem}")
        return None
    return value


def caller_id(value: Any, *, what: str, guid: bool = False) -> str:
    """An id a caller passes in (it goes into a request path): ``InvalidIdError`` before any request when
    it is not a Genesys id, or (``guid``) not a GUID."""
    problem = id_problem(value)
    if problem is None and guid and not _GUID.fullmatch(value):
        problem = "it is not a GUID (8-4-4-4-12 hexadecimal digits)"
    if problem:
        raise InvalidIdError(f"not a valid {what}: {problem}")
    return value


def enum_text(value: Any, *, field: str, problems: list[str]) -> str | None:
    """An enum-like string (``fileState``, ``media``, ``originatingDirection`` ...): absent is None; a
    number, an object or an odd string is None with its problem added to ``problems``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.append(f"{field}: expected a string, got {describe(value)}")
        return None
    if not _TOKEN.fullmatch(value):
        problems.append(f"{field}: not a plain word ({describe(value)})")
        return None
    return value


def content_type(value: Any, *, field: str, problems: list[str]) -> str | None:
    """A media type reduced to lower-case ``type/subtype`` (parameters dropped): absent is None; CR/LF,
    other control characters or anything that is not ``type/subtype`` is None with its problem added."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.append(f"{field}: expected a string, got {describe(value)}")
        return None
    if _CONTROL.search(value):
        problems.append(f"{field}: contains a control character (CR, LF or another)")
        return None
    main = value.split(";", 1)[0].strip().lower()
    if not _MIME.fullmatch(main):
        problems.append(f"{field}: not a type/subtype media type ({describe(value)})")
        return None
    return main


def reason(problems: list[str]) -> str | None:
    """The problems of one item as its ``invalid_reason`` (None when there are none)."""
    return "; ".join(problems) if problems else None


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
        shown = value if isinstance(value, int) and not isinstance(value, bool) else describe(value)
        raise ResponseFormatError(f"expected a non-negative integer in {field!r}, got {shown}")
    return value


def required_dict(value: Any, *, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ResponseFormatError(f"expected an object in {field!r}, got {type(value).__name__}")
    return value
