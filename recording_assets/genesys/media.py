"""Streaming a presigned media URL: chunk by chunk, counting, in constant memory, inside the trust boundary.

The URL and every redirect hop are checked before anything is sent to them, and the connected peer after
connecting (``netguard``); the GET as a whole has a deadline (``MediaPolicy.budget_s``) and a size cap
(``MediaPolicy.max_bytes``), so neither a trickling body nor an endless one can hold a download slot.

The bytes are hashed once, by the sink ``write`` hands them to (the archive's ``MediaSpool``), not here:
a second SHA-256 of the same bytes in the same process could never disagree with it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from recording_assets.genesys.deadline import Deadline, DeadlineExpired
from recording_assets.genesys.errors import (
    MediaDeadlineError,
    MediaExpiredError,
    MediaGoneError,
    MediaHttpError,
    MediaIncompleteError,
    MediaNotFoundError,
    MediaRefusedError,
    MediaTooLargeError,
)
from recording_assets.genesys.fields import content_type as read_content_type
from recording_assets.genesys.guarded_http import PeerRefused
from recording_assets.genesys.netguard import Target, parse_target, url_expires_at
from recording_assets.genesys.redact import redact_url
from recording_assets.genesys.transport import REDIRECTS, Transport


@dataclass(frozen=True)
class MediaDownload:
    size: int
    content_type: str | None  # lower-case type/subtype; None when absent or malformed
    content_length: int | None


async def stream_media(
    transport: Transport,
    url: str,
    write: Callable[[bytes], object],
    *,
    expected_size: int | None = None,
    expires_at: float | None = None,
) -> MediaDownload:
    """GET ``url`` and pass each chunk to ``write``. Raises a ``MediaError`` subclass on failure: a body
    shorter or longer than its Content-Length is an error, never a success; a refused URL or hop is a
    ``MediaRefusedError`` before anything is sent to it.

    ``expected_size``: what the recording's metadata says it holds (sizes the deadline when the answer has
    no Content-Length). ``expires_at``: when the URL stops working (epoch seconds, on the transport's
    clock); else read from the URL's own query (S3 ``X-Amz-Date`` + ``X-Amz-Expires``) when it has one."""
    policy = transport.media_policy
    target = parse_target(url)
    policy.check_target(target)
    where = redact_url(url)
    clock = transport.clock
    started = clock.time()
    expires = expires_at if expires_at is not None else url_expires_at(target.url)
    remaining = None if expires is None else expires - started
    basis = expected_size if expected_size is not None and expected_size >= 0 else None
    size = 0
    expected = None
    content_type = None

    def due() -> float:
        """When (on the transport's clock) the GET must be over, for what is known of its size now."""
        return started + policy.budget_s(
            size=basis if basis is not None else size, remaining_lifetime_s=remaining
        )

    deadline = Deadline(due() - started)
    try:
        async with deadline:
            async with open_media(transport, target) as response:
                status = response.status_code
                if status == 403:
                    raise MediaExpiredError(f"media URL refused with 403 (expired presigned URL): {where}")
                if status == 404:
                    raise MediaNotFoundError(
                        f"media answered 404: the recording may be gone (or not there yet): {where}"
                    )
                if status == 410:
                    raise MediaGoneError(f"media answered 410: the recording is gone: {where}")
                if status in REDIRECTS:
                    raise MediaHttpError(f"media redirected more than {policy.max_redirects} times: {where}")
                if status != 200:
                    raise MediaHttpError(f"media answered HTTP {status}: {where}")
                declared = response.headers.get("Content-Length")
                # ASCII digits only: str.isdigit() is also True for '²', which int() refuses.
                expected = int(declared) if declared and declared.isascii() and declared.isdigit() else None
                if expected is not None and expected > policy.max_bytes:
                    raise MediaTooLargeError(
                        f"media Content-Length {expected} is over the {policy.max_bytes}-byte limit: {where}"
                    )
                if expected is not None:
                    basis = expected
                deadline.move_to(due() - clock.time())
                # As the connection yields them (up to 64 KiB): re-chunking to 1 MiB in httpx copies every
                # byte twice more, and the sink takes chunks of any size.
                async for chunk in response.aiter_raw():
                    if size + len(chunk) > policy.max_bytes:
                        raise MediaTooLargeError(
                            f"media body passed the {policy.max_bytes}-byte limit: {where}"
                        )
                    size += len(chunk)
                    write(chunk)
                    now = clock.time()
                    if now > due():
                        raise DeadlineExpired
                    if basis is None:
                        deadline.move_to(due() - now)  # no size known: the deadline moves with the bytes
                problems: list[str] = []
                content_type = read_content_type(
                    response.headers.get("Content-Type"), field="Content-Type", problems=problems
                )
    except DeadlineExpired:
        raise MediaDeadlineError(
            f"media GET outlived its deadline ({due() - started:.1f}s for "
            f"{basis if basis is not None else size} bytes at {policy.min_bytes_per_s} B/s minimum "
            f"+ {policy.allowance_s:.0f}s) after {size} bytes: {where}"
        ) from None
    except httpx.TransportError as exc:
        raise MediaIncompleteError(
            f"media stream broke after {size} bytes ({type(exc).__name__}): {where}"
        ) from None
    if expected is not None and size != expected:
        raise MediaIncompleteError(f"media body was {size} bytes but Content-Length said {expected}: {where}")
    return MediaDownload(size=size, content_type=content_type, content_length=expected)


@asynccontextmanager
async def open_media(transport: Transport, target: Target):
    """Stream a presigned media URL: no bearer token (it would leak the token to the storage host), not
    paced (media GETs are not Platform API requests). Up to ``media_policy.max_redirects`` redirects are
    followed (signed URLs may redirect to the storage host), each hop checked before it is sent
    (``MediaPolicy.next_hop``) and on its connection (``MediaPolicy.check_peer``), each a fresh GET with the
    same headers; past that the redirect itself is yielded for the caller to refuse."""
    policy, http = transport.media_policy, transport.media_http
    for hop in range(policy.max_redirects + 1):
        # identity: Content-Length must describe the bytes we hash and store, not a compressed form.
        request = http.build_request("GET", target.url, headers={"Accept-Encoding": "identity"})
        transport.stats.requests["media"] += 1
        try:
            response = await http.send(request, stream=True)
        except PeerRefused as refused:
            raise MediaRefusedError(refused.reason, host=target.redacted) from None
        try:
            stream = response.extensions.get("network_stream")
            policy.check_peer(target, stream.get_extra_info("server_addr") if stream is not None else None)
            if response.status_code not in REDIRECTS or hop == policy.max_redirects:
                break
            target = policy.next_hop(target, response.headers.get("Location"))
        except BaseException:
            await response.aclose()
            raise
        await response.aclose()
    try:
        yield response
    finally:
        await response.aclose()
