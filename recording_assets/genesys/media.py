"""Streaming a presigned media URL: chunk by chunk, counting, in constant memory.

The bytes are hashed once, by the sink ``write`` hands them to (the archive's ``MediaSpool``), not here:
a second SHA-256 of the same bytes in the same process could never disagree with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from recording_assets.genesys.errors import (
    MediaExpiredError,
    MediaGoneError,
    MediaHttpError,
    MediaIncompleteError,
)
from recording_assets.genesys.redact import redact_url
from recording_assets.genesys.transport import MAX_MEDIA_REDIRECTS, REDIRECTS, Transport


@dataclass(frozen=True)
class MediaDownload:
    size: int
    content_type: str | None
    content_length: int | None


async def stream_media(transport: Transport, url: str, write: Callable[[bytes], object]) -> MediaDownload:
    """GET ``url`` and pass each chunk to ``write``. Raises a ``MediaError`` subclass on failure;
    a body shorter or longer than its Content-Length is an error, never a success."""
    where = redact_url(url)
    size = 0
    try:
        async with transport.open_media(url) as response:
            status = response.status_code
            if status == 403:
                raise MediaExpiredError(f"media URL refused with 403 (expired presigned URL): {where}")
            if status in (404, 410):
                raise MediaGoneError(f"media answered {status}: the recording is gone: {where}")
            if status in REDIRECTS:
                raise MediaHttpError(f"media redirected more than {MAX_MEDIA_REDIRECTS} times: {where}")
            if status != 200:
                raise MediaHttpError(f"media answered HTTP {status}: {where}")
            declared = response.headers.get("Content-Length")
            # ASCII digits only: str.isdigit() is also True for '²', which int() refuses.
            expected = int(declared) if declared and declared.isascii() and declared.isdigit() else None
            # As the connection yields them (up to 64 KiB): re-chunking to 1 MiB in httpx copies every
            # byte twice more, and the sink takes chunks of any size.
            async for chunk in response.aiter_raw():
                size += len(chunk)
                write(chunk)
            content_type = response.headers.get("Content-Type")
    except httpx.TransportError as exc:
        raise MediaIncompleteError(
            f"media stream broke after {size} bytes ({type(exc).__name__}): {where}"
        ) from None
    if expected is not None and size != expected:
        raise MediaIncompleteError(f"media body was {size} bytes but Content-Length said {expected}: {where}")
    return MediaDownload(size=size, content_type=content_type, content_length=expected)
