"""``GET /media/<opaque>``: the presigned download, S3-style.

No bearer token and no rate limit, like a real presigned S3 URL; expiry and signature failures
answer 403 with an S3 XML error. Bodies stream chunk by chunk (constant memory at 2 GB), through
the shared bandwidth budget, and the media faults are played here: an HTML page instead of media,
garbage magic bytes, a clean close after half the promised body, or a TCP reset.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from recording_assets.sandbox import media
from recording_assets.sandbox.faults import MediaFault
from recording_assets.sandbox.org import AVAILABLE
from recording_assets.sandbox.retention import RESTORED
from recording_assets.sandbox.state import SandboxState

TRANSPORT_SCOPE_KEY = "recording_assets.sandbox.transport"  # set by server.SandboxHttpProtocol
_EXTENSIONS = {
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/webm": "webm",
    "audio/mpeg": "mp3",
    "video/webm": "webm",
    "application/json": "json",
    "application/zip": "zip",
    "message/rfc822": "eml",
}
_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><h1>Service Temporarily Unavailable</h1><p>The server is temporarily unable to service "
    b"your request. Please try again later.</p></body></html>"
)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def s3_error(status: int, code: str, message: str) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"</Error>"
    ).encode()
    return Response(body, status_code=status, media_type="application/xml")


class MediaStream(Response):
    """Streams a MediaBody (or a byte range of it), applying at most one media fault."""

    def __init__(
        self,
        state: SandboxState,
        body: media.MediaBody,
        fault: MediaFault | None,
        start: int,
        end: int,
        status: int,
        headers: dict[str, str],
        head_only: bool,
        *,
        untyped: bool = False,
        trickle_s: float = 0.0,
    ) -> None:
        super().__init__(
            status_code=status, headers=headers, media_type=None if untyped else body.content_type
        )
        self._state = state
        self._body = body
        self._fault = fault
        self._start = start
        self._end = end  # exclusive
        self._head_only = head_only
        self._trickle_s = trickle_s  # hostile: one byte every this many (real) seconds
        self.headers["content-length"] = str(end - start)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self._head_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        disconnected = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, disconnected))
        try:
            await self._stream(scope, send, disconnected)
        except asyncio.CancelledError:
            # The sandbox is stopping mid-stream: drop the connection quietly instead of a traceback.
            transport = scope.get(TRANSPORT_SCOPE_KEY)
            if transport is not None:
                transport.abort()
                await asyncio.sleep(0)  # let the server see the connection is gone
        finally:
            watcher.cancel()

    async def _stream(self, scope: Scope, send: Send, disconnected: asyncio.Event) -> None:
        kind = self._fault.kind if self._fault else None
        length = self._end - self._start
        cut = length // 2 if kind in ("reset", "truncate") else None
        sent = 0
        piece_limit = 1 if self._trickle_s else self._state.bandwidth.chunk_limit
        for chunk in self._body.chunks(self._start):
            chunk = chunk[: length - sent]
            if kind == "corrupt_magic" and sent == 0 and self._start == 0:
                garbage = b"\x00\xde\xad\xbe\xefGARBAGE\x00\x00\x00\x00"
                chunk = garbage[: len(chunk)] + chunk[len(garbage) :]
            if cut is not None and sent + len(chunk) >= cut:
                chunk = chunk[: cut - sent]
            for offset in range(0, len(chunk), piece_limit):
                if disconnected.is_set():
                    return
                piece = chunk[offset : offset + piece_limit]
                if self._trickle_s:
                    await asyncio.sleep(self._trickle_s)
                await self._state.bandwidth.take(len(piece))
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                self._state.stats.media_sent(len(piece))
            sent += len(chunk)
            if cut is not None and sent >= cut:
                await _drop_connection(scope, abortive=kind == "reset")
                return
            if sent >= length:
                break
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _watch_disconnect(receive: Receive, disconnected: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected.set()
            return


async def _drop_connection(scope: Scope, *, abortive: bool) -> None:
    """Cut the connection mid-body: a TCP RST (``abortive``) or a clean FIN short of Content-Length."""
    transport = scope.get(TRANSPORT_SCOPE_KEY)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: dropping the connection mid-body")
    if abortive:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0 turns close() into a reset: what a crashed proxy or a flaky NAT looks like.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    await asyncio.sleep(0)  # let the server notice the connection is gone before this response returns


def routes(state: SandboxState) -> list[Route]:
    org = state.org

    async def serve(request: Request) -> Response:
        if "authorization" in request.headers:
            state.stats.media_authorization_seen()
        hop = request.query_params.get(_HOP, "0")
        if hop.isdigit() and int(hop) < state.config.dialect.media_redirects:
            response = _redirect_to_other_host(request, int(hop) + 1)
        else:
            response = _media_response(request)
        state.stats.record(
            t=state.clock.time(),
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            family="media",
            status=response.status_code,
            token_id=None,
        )
        return response

    def _media_response(request: Request) -> Response:
        grant, error = state.signer.verify(
            request.path_params["opaque"], dict(request.query_params), state.now_ms()
        )
        if error == "AccessDenied:expired":
            return s3_error(403, "AccessDenied", "Request has expired")
        if error == "SignatureDoesNotMatch":
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if error or grant is None:
            return s3_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the X-Amz-Signature, "
                "X-Amz-Date and X-Amz-Expires parameters",
            )
        rec = org.recording(grant.recording_id)
        if rec is None or rec.file_state_at(state.now_ms()) not in (AVAILABLE, RESTORED):
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        scenario = state.hostile.recording_scenario(rec)
        hostile = _hostile_answer(scenario, rec.id)
        if hostile is not None and scenario is not None:
            state.hostile.played(scenario)
            return hostile
        body = media.body_for(org.seed, rec, grant.container, org.media_scale)
        head_only = request.method == "HEAD"
        fault = None if head_only else state.faults.on_media_get(rec.id)
        if fault is not None and fault.kind == "wrong_content_type":
            return Response(_ERROR_PAGE, status_code=200, media_type="text/html")
        headers = {"accept-ranges": "bytes", "etag": f'"{rec.id}-{grant.container}"'}
        if grant.download:
            extension = _EXTENSIONS.get(body.content_type, "bin")
            headers["content-disposition"] = f'attachment; filename="{rec.id}.{extension}"'
        start, end, status = 0, body.size, 200
        ranged = _parse_range(request.headers.get("range"), body.size)
        if ranged == "invalid":
            return Response(status_code=416, headers={"content-range": f"bytes */{body.size}"})
        if ranged is not None:
            start, end = ranged
            status = 206
            headers["content-range"] = f"bytes {start}-{end - 1}/{body.size}"
        if scenario in ("untyped_media", "trickle_media") and not head_only:
            state.hostile.played(scenario)
        trickle = state.config.hostile.trickle_interval_s if scenario == "trickle_media" else 0.0
        return MediaStream(
            state, body, fault, start, end, status, headers, head_only,
            untyped=scenario == "untyped_media", trickle_s=trickle,
        )  # fmt: skip

    def _hostile_answer(scenario: str | None, recording_id: str) -> Response | None:
        """The answer a hostile media scenario gives instead of the bytes, if it does."""
        canary = state.config.hostile.canary_url
        if scenario == "canary_redirect":
            return Response(status_code=302, headers={"location": canary})
        if scenario == "downgrade_redirect":
            plain = "http://" + canary.partition("://")[2] if "://" in canary else canary
            return Response(status_code=302, headers={"location": plain})
        if scenario == "transient_media_404" and state.hostile.first_media_get(recording_id):
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return None

    return [Route("/media/{opaque}", serve, methods=["GET", "HEAD"])]


_HOP = "sandbox-hop"


def _redirect_to_other_host(request: Request, hop: int) -> Response:
    """302 to the same object on the other loopback name: another origin, as a storage redirect would be."""
    host = "localhost" if request.url.hostname != "localhost" else "127.0.0.1"
    query = "&".join(p for p in request.url.query.split("&") if p and not p.startswith(f"{_HOP}="))
    url = request.url.replace(hostname=host, query=f"{query}&{_HOP}={hop}" if query else f"{_HOP}={hop}")
    return Response(status_code=302, headers={"location": str(url)})


def _parse_range(header: str | None, size: int) -> Any:
    """(start, end_exclusive), None for no/ignored Range, or "invalid" for an unsatisfiable one."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if match.group(1):
        start = int(match.group(1))
        end = min(size, int(match.group(2)) + 1) if match.group(2) else size
    else:
        start, end = max(0, size - int(match.group(2))), size
    if start >= size or start >= end:
        return "invalid"
    return start, end
