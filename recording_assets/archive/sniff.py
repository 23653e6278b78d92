"""Which container do these bytes really hold? Decided from the first bytes, never from a file name.

Genesys hands us a content type and a pre-signed URL; an expired URL or a proxy answers with an HTML
or XML error page, and a cut connection leaves a truncated WAV. ``check_container`` catches all of
those before anything is archived under a final key.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD_BYTES = 64
"""How many leading bytes sniffing needs; ``MediaSpool`` keeps exactly this many."""

_EXTENSIONS = {
    "wav": ".wav",
    "ogg": ".ogg",
    "webm": ".webm",
    "mkv": ".mkv",
    "mp3": ".mp3",
    "mp4": ".mp4",
    "zip": ".zip",
    "json": ".json",
    "eml": ".eml",
    # Only ever used for quarantined evidence, never for an archived recording.
    "html": ".html",
    "unknown": ".bin",
}

_CONTAINERS_BY_CONTENT_TYPE = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "application/ogg": "ogg",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "video/mp4": "mp4",
    "audio/mp4": "mp4",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/json": "json",
    "text/json": "json",
    "message/rfc822": "eml",
}

# A missing or generic content type makes no claim, so only the bytes can be judged.
_NO_CLAIM_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})

_UTF8_BOM = b"\xef\xbb\xbf"
_ASCII_WHITESPACE = b" \t\r\n\x0b\x0c"

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE_ID = 0x4282
_DOCTYPES = {b"webm": "webm", b"matroska": "mkv"}

# Header fields that open real-world .eml files (RFC 5322 plus common transport headers).
_EMAIL_HEADER_NAMES = frozenset(
    {
        b"from",
        b"received",
        b"mime-version",
        b"date",
        b"subject",
        b"return-path",
        b"to",
        b"cc",
        b"message-id",
        b"delivered-to",
        b"reply-to",
        b"sender",
        b"content-type",
        b"dkim-signature",
        b"authentication-results",
        b"arc-seal",
        b"in-reply-to",
        b"references",
    }
)
_HTML_OPENINGS = (b"<!doctype html", b"<html")

_RIFF_SIZE_UNSET = (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class ContainerVerdict:
    container: str
    ok: bool
    reason: str | None = None


def extension_for(container: str) -> str:
    """File extension for a sniffed container (``.bin`` for ``unknown``)."""
    try:
        return _EXTENSIONS[container]
    except KeyError:
        raise ValueError(f"no extension for container {container!r}; sniff the bytes first") from None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def containers_for_content_type(content_type: str | None) -> frozenset[str]:
    """Containers a content type allows; parameters (``; codecs=opus``) and case are ignored."""
    container = _CONTAINERS_BY_CONTENT_TYPE.get(_media_type(content_type))
    return frozenset({container}) if container else frozenset()


def sniff(head: bytes) -> str:
    """Name the container from the first bytes (pass at least ``HEAD_BYTES`` when the file has them)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == _EBML_MAGIC:
        doctype = _ebml_doctype(head)
        return _DOCTYPES.get(doctype, "unknown") if doctype is not None else "unknown"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:3] == b"ID3" or _is_mpeg_audio_frame(head):
        return "mp3"
    text = _strip_text_opening(head)
    if text.lower().startswith(_HTML_OPENINGS):
        return "html"
    if text[:1] in (b"{", b"["):
        return "json"
    if _starts_with_email_header(text):
        return "eml"
    return "unknown"


def check_container(content_type: str | None, head: bytes, size: int) -> ContainerVerdict:
    """Is this a complete file of the container its content type claims?"""
    if size == 0:
        return ContainerVerdict("unknown", False, "zero bytes: the download produced an empty body")
    container = sniff(head)
    if container == "html":
        return ContainerVerdict(container, False, "an HTML page (an error or login page), not media")
    if container == "unknown":
        return ContainerVerdict(container, False, f"unrecognised leading bytes {head[:16]!r}")
    claim = claim_problem(content_type, container)
    if claim:
        return ContainerVerdict(container, False, claim)
    if container == "wav":
        truncation = _riff_size_problem(head, size)
        if truncation:
            return ContainerVerdict(container, False, truncation)
    return ContainerVerdict(container, True, None)


def claim_problem(content_type: str | None, container: str) -> str | None:
    """Why ``container`` (sniffed) is not what ``content_type`` claims; None if it is or nothing is claimed."""
    media_type = _media_type(content_type)
    if media_type in _NO_CLAIM_CONTENT_TYPES:
        return None
    allowed = containers_for_content_type(content_type)
    if not allowed:
        return f"content type {media_type!r} is not a recording type"
    if container not in allowed:
        return f"bytes are {container} but content type {media_type!r} claims {', '.join(sorted(allowed))}"
    return None


def _riff_size_problem(head: bytes, size: int) -> str | None:
    if len(head) < 8:
        return f"only {size} bytes: too short for a RIFF header"
    (declared,) = struct.unpack_from("<I", head, 4)
    if declared in _RIFF_SIZE_UNSET:
        return f"RIFF size field is {declared:#x}: the writer never finalised the header"
    expected = declared + 8
    # Some writers omit the pad byte after an odd-sized final chunk; one byte of slack either way.
    if size == expected or (declared % 2 == 1 and size == expected + 1):
        return None
    if size < expected:
        return f"truncated WAV: RIFF header declares {expected} bytes but only {size} arrived"
    return f"WAV has {size - expected} bytes beyond the {expected} its RIFF header declares"


def _is_mpeg_audio_frame(head: bytes) -> bool:
    # Frame sync is 11 set bits; also reject reserved version/layer/bitrate/sample-rate values so
    # AAC ADTS (layer 00) and random 0xFF bytes are not taken for MP3.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate_index = head[2] >> 4
    sample_rate_index = (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0b00 and bitrate_index != 0xF and sample_rate_index != 0b11


def _strip_text_opening(head: bytes) -> bytes:
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    return head.lstrip(_ASCII_WHITESPACE)


def _starts_with_email_header(text: bytes) -> bool:
    name, colon, _ = text.partition(b":")
    if not colon or not name or any(byte <= 32 or byte >= 127 for byte in name):
        return False
    name = name.lower()
    return name in _EMAIL_HEADER_NAMES or name.startswith(b"x-")


def _read_vint(data: bytes, offset: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """EBML variable-length integer at ``offset`` → (value, next offset), or None if cut off."""
    if offset >= len(data) or data[offset] == 0:
        return None
    first = data[offset]
    length = 8 - first.bit_length() + 1
    if offset + length > len(data):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[offset + 1 : offset + length]:
        value = (value << 8) | byte
    return value, offset + length


def _ebml_doctype(head: bytes) -> bytes | None:
    header_size = _read_vint(head, 4, keep_marker=False)
    if header_size is None:
        return None
    offset = header_size[1]
    end = min(len(head), offset + header_size[0])
    while offset < end:
        element_id = _read_vint(head, offset, keep_marker=True)
        if element_id is None:
            return None
        element_size = _read_vint(head, element_id[1], keep_marker=False)
        if element_size is None:
            return None
        data_start, data_end = element_size[1], element_size[1] + element_size[0]
        if element_id[0] == _EBML_DOCTYPE_ID:
            return head[data_start:data_end].rstrip(b"\x00") if data_end <= len(head) else None
        offset = data_end
    return None
