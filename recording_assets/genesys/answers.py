"""Reading one Platform API answer within bounds: its body decoded here, chunk by chunk, with the decoded
bytes counted as they come (``ApiLimits.max_answer_bytes``), so a gzip bomb is cut once the limit is
passed instead of being inflated whole; a 2xx body parsed once as JSON, or a ``MalformedAnswerError``.
``transport`` sends, retries and applies ``ApiLimits.deadline_s``; this module only reads."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import httpx

from recording_assets.genesys.errors import (
    AnswerTooLargeError,
    GenesysApiError,
    MalformedAnswerError,
    PermissionDeniedError,
    error_for_status,
)
from recording_assets.genesys.redact import clean_text

MIB = 1 << 20
ACCEPT_ENCODING = "gzip, deflate"  # what ``Decoder`` can inflate with a bound on its output


@dataclass(frozen=True)
class ApiLimits:
    """Bounds on one Platform API answer. ``deadline_s``: one attempt, headers and whole body (the
    per-read timeout still applies within it). ``max_answer_bytes``: the decoded body (after gzip)."""

    deadline_s: float = 120.0
    max_answer_bytes: int = 16 * MIB

    def __post_init__(self) -> None:
        if self.deadline_s <= 0 or self.max_answer_bytes <= 0:
            raise ValueError("ApiLimits.deadline_s and max_answer_bytes must be positive")


class ApiResponse(httpx.Response):
    """An answer whose body was read (and decoded) by the transport; ``json()`` returns what the
    transport parsed, and raises ``MalformedAnswerError`` (not a bare ``JSONDecodeError``) when the body
    is empty or not JSON."""

    _where: tuple[str, str] = ("", "")
    _parsed: Any = None
    _has_parsed = False

    def json(self, **kwargs: Any) -> Any:
        if self._has_parsed and not kwargs:
            return self._parsed
        try:
            return super().json(**kwargs)
        except ValueError:
            raise malformed(
                self, *self._where, "an empty answer" if not self.content else "not JSON"
            ) from None


async def read_body(response: httpx.Response, *, limit: int, method: str, path: str) -> tuple[bytes, int]:
    """The decoded body and its size; ``AnswerTooLargeError`` once the decoded bytes pass ``limit``
    (``MalformedAnswerError`` for an encoding not asked for, or a body that does not inflate)."""
    try:
        decoder = Decoder(response.headers.get("Content-Encoding", ""))
    except ValueError as exc:
        raise malformed(response, method, path, str(exc)) from None
    parts: list[bytes] = []
    decoded = raw = 0
    try:
        async for chunk in response.aiter_raw():
            raw += len(chunk)
            for piece in decoder.feed(chunk, room=limit - decoded + 1):
                decoded += len(piece)
                if decoded > limit:
                    raise too_large(response, method, path, limit, decoded, raw)
                parts.append(piece)
        for piece in decoder.finish(room=limit - decoded + 1):
            decoded += len(piece)
            if decoded > limit:
                raise too_large(response, method, path, limit, decoded, raw)
            parts.append(piece)
    except httpx.StreamConsumed:
        # Read already, by a response hook of the caller's own client: httpx decoded it, unbounded.
        body = response.content
        if len(body) > limit:
            raise too_large(response, method, path, limit, len(body), len(body)) from None
        return body, len(body)
    except zlib.error:
        raise malformed(response, method, path, "a body that does not inflate") from None
    return b"".join(parts), decoded


def too_large(response, method: str, path: str, limit: int, decoded: int, raw: int) -> AnswerTooLargeError:
    return AnswerTooLargeError(
        status=response.status_code,
        method=method,
        path=path,
        message=f"the answer passed {limit} decoded bytes and was cut ({decoded} decoded from {raw} received)",
        correlation_id=response.headers.get("inin-correlation-id"),
        decoded_bytes=decoded,
        raw_bytes=raw,
    )


BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class Decoder:
    """Inflates a body as it streams, never more than ``room`` bytes per call beyond what was asked for,
    so a small compressed chunk cannot expand to gigabytes in one step."""

    STEP = 1 * MIB

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            self._kind = None
        elif codings in (["gzip"], ["x-gzip"]):
            self._kind = "gzip"
        elif codings == ["deflate"]:
            self._kind = "deflate"
        else:
            raise ValueError(
                f"a Content-Encoding that was not asked for ({clean_text(content_encoding, 40)})"
            )
        self._inflater: Any = None

    def _new(self, first: bytes) -> Any:
        if self._kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # deflate: zlib-wrapped as the RFC says, or raw as some servers send it
        zlib_header = len(first) >= 2 and (first[0] & 0x0F) == 8 and ((first[0] << 8) | first[1]) % 31 == 0
        return zlib.decompressobj() if zlib_header else zlib.decompressobj(-zlib.MAX_WBITS)

    def feed(self, data: bytes, *, room: int):
        """The decoded pieces of ``data``; stops early (the caller raises) once ``room`` is used up."""
        if self._kind is None:
            yield data
            return
        pending = data
        while pending:
            if self._inflater is None:
                self._inflater = self._new(pending)
            piece = self._inflater.decompress(pending, max(1, min(self.STEP, room)))
            pending = self._inflater.unconsumed_tail
            if self._inflater.eof:
                pending = self._inflater.unused_data + pending
                self._inflater = None  # a further gzip member, if any
                if pending and self._kind != "gzip":
                    break  # trailing bytes after a deflate stream: ignored, as zlib does
            room -= len(piece)
            if piece:
                yield piece
            if room <= 0:
                return

    def finish(self, *, room: int):
        if self._inflater is not None:
            rest = self._inflater.flush(max(1, room))
            if rest:
                yield rest


def parse_json(response: ApiResponse) -> None:
    """Parse a 2xx body once (``ApiResponse.json`` hands the result out); ``MalformedAnswerError`` when
    it is not JSON. An empty body (a 204, an empty 202) is not parsed here."""
    if not response.content:
        return
    try:
        response._parsed = json.loads(response.content)
    except ValueError:
        method, path = response._where
        kind = response.headers.get("Content-Type", "no Content-Type")
        raise malformed(response, method, path, f"not JSON ({clean_text(kind, 60)})") from None
    response._has_parsed = True


def json_or_none(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is not JSON (an error page)."""
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def malformed(response: httpx.Response, method: str, path: str, what: str) -> MalformedAnswerError:
    return MalformedAnswerError(
        status=response.status_code,
        method=method,
        path=path,
        message=f"the answer is {what}",
        correlation_id=response.headers.get("inin-correlation-id"),
        hint="a proxy or gateway in the way may have answered instead of Genesys Cloud",
    )


def api_error(
    response: httpx.Response, *, method: str, path: str, permission: str | None = None
) -> GenesysApiError:
    body = json_or_none(response)
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    code = body.get("code")
    kwargs: dict[str, Any] = dict(
        status=status,
        method=method,
        path=path,
        code=_clip(code, 100),
        message=_clip(body.get("message")),
        correlation_id=response.headers.get("inin-correlation-id") or body.get("contextId"),
    )
    if status == 403:
        hint = (
            f"Grant the permission {permission} to a role of this OAuth client"
            if permission
            else "The OAuth client's roles lack a permission this call needs"
        )
        return PermissionDeniedError(permission=permission, hint=hint, **kwargs)
    return error_for_status(status)(**kwargs)


def _clip(text: Any, limit: int = 500) -> str | None:
    if not isinstance(text, str):
        return None
    return clean_text(text, limit)
