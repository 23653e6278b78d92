"""HTTP transport for the Platform API: auth, pacing, retries and typed errors in one place.

Every API call goes through ``Transport.api``; presigned media downloads go through
``Transport.open_media`` (no bearer token, not paced: they are not Platform API requests), on an httpx
client of their own whose connections are checked against the ``MediaPolicy`` (``netguard``).

Answers are untrusted too: each attempt of an API call has an overall deadline (``ApiLimits.deadline_s``:
headers and the whole body, so a trickling body cannot hold a call for ever), and its body is decoded
here, chunk by chunk, with the decoded bytes counted as they come (``ApiLimits.max_answer_bytes``), so
a gzip bomb is cut once the limit is passed instead of being inflated whole. A 2xx answer to a JSON
endpoint that is not JSON (a proxy's HTML page) is a ``MalformedAnswerError``, retried like a 500 when
the request is idempotent.
"""

from __future__ import annotations

import inspect
import json
import ssl
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from recording_assets.clock import Clock
from recording_assets.genesys.auth import ClientCredentialsAuth
from recording_assets.genesys.deadline import Deadline, DeadlineExpired
from recording_assets.genesys.errors import (
    AnswerTooLargeError,
    ApiDeadlineError,
    GenesysApiError,
    GenesysTransportError,
    MalformedAnswerError,
    MediaRefusedError,
    PermissionDeniedError,
    error_for_status,
)
from recording_assets.genesys.netguard import (
    MAX_MEDIA_REDIRECTS,
    GuardedTransport,
    MediaPolicy,
    PeerRefused,
    Target,
)
from recording_assets.genesys.pacing import Pacer
from recording_assets.genesys.redact import clean_text, install_log_redaction
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.genesys.secret import Secret

MIB = 1 << 20
ACCEPT_ENCODING = "gzip, deflate"  # what ``_Decoder`` can inflate with a bound on its output


@dataclass(frozen=True)
class ApiLimits:
    """Bounds on one Platform API answer. ``deadline_s``: one attempt, headers and whole body (the
    per-read timeout still applies within it). ``max_answer_bytes``: the decoded body (after gzip)."""

    deadline_s: float = 120.0
    max_answer_bytes: int = 16 * MIB

    def __post_init__(self) -> None:
        if self.deadline_s <= 0 or self.max_answer_bytes <= 0:
            raise ValueError("ApiLimits.deadline_s and max_answer_bytes must be positive")


@dataclass
class TransportStats:
    """What a run spent, for materialisation metadata and budget tests."""

    requests: Counter = field(default_factory=Counter)  # family -> API requests sent (retries included)
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> count
    rate_limited: int = 0
    retries: int = 0
    transport_errors: int = 0
    deadlines: int = 0  # API attempts cut at ApiLimits.deadline_s
    malformed: int = 0  # 2xx answers to JSON endpoints that were not JSON
    largest_answer_bytes: int = 0  # the largest decoded API answer body read (a cut one included)
    answers_cut: int = 0  # answers cut at ApiLimits.max_answer_bytes

    @property
    def api_requests(self) -> int:
        """Platform API requests, the budgeted kind (token requests and presigned media GETs excluded)."""
        return sum(n for family, n in self.requests.items() if family not in ("token", "media"))


MAX_RENEWALS = 3  # token renewals one request may trigger before its 401 surfaces
MAX_REJECTIONS = 4 * MAX_RENEWALS  # 401s one request may meet in all, renewals by other callers included
REDIRECTS = frozenset({301, 302, 303, 307, 308})
__all__ = ["MAX_MEDIA_REDIRECTS", "REDIRECTS", "ApiLimits", "ApiResponse", "Transport", "TransportStats"]


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


class Transport:
    def __init__(
        self,
        *,
        api_base_url: str,
        auth: ClientCredentialsAuth,
        clock: Clock,
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        timeout_s: float = 60.0,
        max_connections: int = 32,
        http: httpx.AsyncClient | None = None,
        media_policy: MediaPolicy | None = None,
        limits: ApiLimits | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._base = api_base_url.rstrip("/")
        self._auth = auth
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self.pacer = pacer or Pacer(clock)
        self.limits = limits or ApiLimits()
        # None: public media hosts only, and the API's own origin when that is loopback (the sandbox).
        self.media_policy = media_policy or MediaPolicy.for_api(api_base_url)
        install_log_redaction()  # before the first request: httpx logs each URL, presigned ones included
        timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        pool = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        verify = tls_context if tls_context is not None else True
        self._http = http or httpx.AsyncClient(
            timeout=timeout, limits=pool, follow_redirects=False, verify=verify
        )
        # Media on a client of its own: its connections are the guarded ones, no environment proxy or
        # .netrc applies, and it never holds the bearer token.
        self.media_transport = GuardedTransport(self.media_policy, limits=pool, ssl_context=tls_context)
        self._media_http = httpx.AsyncClient(
            transport=self.media_transport, timeout=timeout, follow_redirects=False, trust_env=False
        )
        self.stats = TransportStats()

    def __repr__(self) -> str:
        return f"Transport(api_base_url={self._base!r})"

    @property
    def clock(self) -> Clock:
        return self._clock

    async def aclose(self) -> None:
        try:
            await self._http.aclose()
        finally:
            await self._media_http.aclose()

    async def api(
        self,
        method: str,
        path: str,
        *,
        family: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        permission: str | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        idempotent: bool | None = None,
        background: bool = False,
        expect_json: bool = True,
    ) -> ApiResponse:
        """Send one Platform API request; return the response or raise a typed ``GenesysApiError``.

        ``permission`` names what a 403 means for this call, so the error tells the user which
        permission to grant instead of a bare "forbidden". ``idempotent`` (default: GET and HEAD) lets a
        500 be retried; a read sent as POST (an analytics query) says so itself. ``background``: the
        pacer lets every other waiting request go first (``Pacer.acquire``). ``expect_json``: a non-empty
        2xx body must be JSON (``MalformedAnswerError`` otherwise).
        """
        if idempotent is None:
            idempotent = method in ("GET", "HEAD")
        url = f"{self._base}{path}"
        renewals = 0
        used: list[Secret] = []

        async def build() -> httpx.Request:
            # The token is taken as the request leaves, after any pacing or back-off wait: one taken before
            # a long wait (a 429 pause) may have been renewed or revoked by then.
            token = await self._auth.token(self._http, self._send)
            used.append(token)
            headers = {"Authorization": f"Bearer {token.reveal()}", "Accept-Encoding": ACCEPT_ENCODING}
            return self._http.build_request(method, url, params=params, json=body, headers=headers)

        body = json
        rejected = 0
        while True:
            response = await self._send(
                build,
                family=family,
                path=path,
                paced=True,
                idempotent=idempotent,
                background=background,
                expect_json=expect_json,
            )
            if response.status_code == 401 and renewals < MAX_RENEWALS and rejected < MAX_REJECTIONS:
                # Expired or revoked early: renew and retry. Concurrent callers may each see a 401 for the
                # same stale token; the lock in auth makes them share one renewal, and only the caller that
                # dropped the token counts it (a token another caller already replaced says nothing about
                # our credentials).
                rejected += 1
                renewals += self._auth.invalidate(used[-1])
                continue
            if response.status_code in ok:
                return response
            raise api_error(response, method=method, path=path, permission=permission)

    async def _send(
        self,
        build: Callable[[], httpx.Request | Awaitable[httpx.Request]],
        *,
        family: str,
        path: str,
        paced: bool = False,
        idempotent: bool = False,
        background: bool = False,
        expect_json: bool = False,
    ) -> ApiResponse:
        """Send with retries on 429 / 502 / 503 / 504 / connection errors and deadlines (and 500 and a
        malformed 2xx answer when ``idempotent``); return the last response."""
        failures = 0
        rate_limited = 0
        while True:
            if paced:
                await self.pacer.acquire(background=background)
            request = build()
            if inspect.isawaitable(request):
                request = await request
            self.stats.requests[family] += 1
            try:
                response = await self._exchange(request, path=path)
                if expect_json and 200 <= response.status_code < 300:
                    _parse_json(response)
            except (httpx.TransportError, DeadlineExpired) as exc:
                expired = isinstance(exc, DeadlineExpired)
                self.stats.deadlines += expired
                self.stats.transport_errors += not expired
                failures += 1
                if failures >= self._retry.max_attempts:
                    if expired:
                        raise ApiDeadlineError(
                            f"{request.method} {path}: every one of {failures} attempts outlived its "
                            f"{self.limits.deadline_s:.0f}s deadline (headers and body)"
                        ) from None
                    raise GenesysTransportError(
                        f"{request.method} {path}: no answer after {failures} attempts "
                        f"({type(exc).__name__}); check network access to {request.url.host}"
                    ) from None
                self.stats.retries += 1
                await self._clock.sleep(self._retry.backoff_s(failures))
                continue
            except MalformedAnswerError:
                self.stats.malformed += 1
                failures += 1
                if not idempotent or failures >= self._retry.max_attempts:
                    raise
                self.stats.retries += 1
                await self._clock.sleep(self._retry.backoff_s(failures))
                continue
            self.stats.statuses[response.status_code] += 1
            self.pacer.observe(response.headers)
            status = response.status_code
            if status == 429:
                self.stats.rate_limited += 1
                rate_limited += 1
                wait = self._retry.retry_after_s(response.headers.get("Retry-After"))
                if rate_limited > self._retry.max_rate_limited or wait > self._retry.max_retry_after_s:
                    return response
                self.pacer.rate_limited(wait)  # everyone pauses; acquire() does the waiting
                self.stats.retries += 1
                if not paced:
                    await self._clock.sleep(wait)
                continue
            if self._retry.should_retry_status(status, idempotent=idempotent):
                failures += 1
                if failures >= self._retry.max_attempts:
                    return response
                self.stats.retries += 1
                await self._clock.sleep(self._retry.backoff_s(failures))
                continue
            return response

    async def _exchange(self, request: httpx.Request, *, path: str) -> ApiResponse:
        """One attempt: send, read and decode the body within ``limits`` (``DeadlineExpired`` when the
        attempt outlives ``deadline_s``, ``AnswerTooLargeError`` past ``max_answer_bytes``)."""
        async with Deadline(self.limits.deadline_s):
            response = await self._http.send(request, stream=True)
            try:
                body = await self._read_body(response, method=request.method, path=path)
            finally:
                await response.aclose()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
        answer = ApiResponse(
            response.status_code, headers=headers, content=body, request=request, extensions={}
        )
        answer._where = (request.method, path)
        return answer

    async def _read_body(self, response: httpx.Response, *, method: str, path: str) -> bytes:
        limit = self.limits.max_answer_bytes
        try:
            decoder = _Decoder(response.headers.get("Content-Encoding", ""))
        except ValueError as exc:
            raise malformed(response, method, path, str(exc)) from None
        parts: list[bytes] = []
        decoded = raw = 0
        try:
            chunks = response.aiter_raw()
            async for chunk in chunks:
                raw += len(chunk)
                for piece in decoder.feed(chunk, room=limit - decoded + 1):
                    decoded += len(piece)
                    if decoded > limit:
                        raise self._too_large(response, method, path, decoded, raw)
                    parts.append(piece)
            for piece in decoder.finish(room=limit - decoded + 1):
                decoded += len(piece)
                if decoded > limit:
                    raise self._too_large(response, method, path, decoded, raw)
                parts.append(piece)
        except httpx.StreamConsumed:
            # Read already, by a response hook of the caller's own client: httpx decoded it, unbounded.
            body = response.content
            if len(body) > limit:
                raise self._too_large(response, method, path, len(body), len(body)) from None
            return body
        except zlib.error:
            raise malformed(response, method, path, "a body that does not inflate") from None
        self.stats.largest_answer_bytes = max(self.stats.largest_answer_bytes, decoded)
        return b"".join(parts)

    def _too_large(self, response, method: str, path: str, decoded: int, raw: int) -> AnswerTooLargeError:
        self.stats.answers_cut += 1
        self.stats.largest_answer_bytes = max(self.stats.largest_answer_bytes, decoded)
        return AnswerTooLargeError(
            status=response.status_code,
            method=method,
            path=path,
            message=(
                f"the answer passed {self.limits.max_answer_bytes} decoded bytes and was cut "
                f"({decoded} decoded from {raw} received)"
            ),
            correlation_id=response.headers.get("inin-correlation-id"),
            decoded_bytes=decoded,
            raw_bytes=raw,
        )

    @asynccontextmanager
    async def open_media(self, target: Target):
        """Stream a presigned media URL: no bearer token (it would leak the token to the storage host),
        not paced (media GETs are not Platform API requests). Up to ``media_policy.max_redirects``
        redirects are followed (signed URLs may redirect to the storage host), each hop checked before it
        is sent (``MediaPolicy.next_hop``) and on its connection (``MediaPolicy.check_peer``), each a fresh
        GET with the same headers; past that the redirect itself is yielded for the caller to refuse."""
        policy = self.media_policy
        for hop in range(policy.max_redirects + 1):
            # identity: Content-Length must describe the bytes we hash and store, not a compressed form.
            request = self._media_http.build_request(
                "GET", target.url, headers={"Accept-Encoding": "identity"}
            )
            self.stats.requests["media"] += 1
            try:
                response = await self._media_http.send(request, stream=True)
            except PeerRefused as refused:
                raise MediaRefusedError(refused.reason, host=target.redacted) from None
            try:
                stream = response.extensions.get("network_stream")
                policy.check_peer(
                    target, stream.get_extra_info("server_addr") if stream is not None else None
                )
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


_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class _Decoder:
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


def _parse_json(response: ApiResponse) -> None:
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
    kwargs = dict(
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
