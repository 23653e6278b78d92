"""HTTP transport for the Platform API: auth, pacing, retries and typed errors in one place.

Every API call goes through ``Transport.api``; presigned media downloads (``media.open_media``) go over
``Transport.media_http``, an httpx client of their own whose connections are checked against the
``MediaPolicy`` (``netguard``), with no bearer token and no pacing (they are not Platform API requests).

Answers are untrusted too: each attempt of an API call has an overall deadline (``ApiLimits.deadline_s``:
headers and the whole body, so a trickling body cannot hold a call for ever), and its body is read within
``ApiLimits.max_answer_bytes`` decoded bytes (``answers``). A 2xx answer to a JSON endpoint that is not
JSON (a proxy's HTML page) is a ``MalformedAnswerError``, retried like a 500 when the request is
idempotent (and raised at once when it is not: a write may have been done).
"""

from __future__ import annotations

import inspect
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from recording_assets.clock import Clock
from recording_assets.genesys.answers import (
    ACCEPT_ENCODING,
    BODY_HEADERS,
    ApiLimits,
    ApiResponse,
    api_error,
    parse_json,
    read_body,
)
from recording_assets.genesys.auth import ClientCredentialsAuth
from recording_assets.genesys.deadline import Deadline, DeadlineExpired
from recording_assets.genesys.errors import (
    AnswerTooLargeError,
    ApiDeadlineError,
    GenesysTransportError,
    MalformedAnswerError,
)
from recording_assets.genesys.guarded_http import GuardedTransport
from recording_assets.genesys.netguard import MAX_MEDIA_REDIRECTS, MediaPolicy
from recording_assets.genesys.pacing import Pacer
from recording_assets.genesys.redact import install_log_redaction
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.genesys.secret import Secret


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
        # One TLS context for both clients: loading the CA bundle took 80-120 ms of CPU per context.
        verify = tls_context if tls_context is not None else httpx.create_ssl_context()
        self._http = http or httpx.AsyncClient(
            timeout=timeout, limits=pool, follow_redirects=False, verify=verify
        )
        # Media on a client of its own: its connections are the guarded ones, no environment proxy or
        # .netrc applies, and it never holds the bearer token.
        self.media_transport = GuardedTransport(self.media_policy, limits=pool, ssl_context=verify)
        self.media_http = httpx.AsyncClient(
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
            await self.media_http.aclose()

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
            sent_at = self._clock.time()
            try:
                response = await self._exchange(request, path=path)
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
            except MalformedAnswerError:  # an encoding not asked for, a body that does not inflate
                failures += 1
                if not await self._malformed_again(failures, idempotent):
                    raise
                continue
            self.stats.statuses[response.status_code] += 1
            self.pacer.observe(response.headers, sent_at=sent_at)
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
            if expect_json and 200 <= status < 300:
                try:
                    parse_json(response)
                except MalformedAnswerError:  # a proxy's HTML page, say: like a 500
                    failures += 1
                    if not await self._malformed_again(failures, idempotent):
                        raise
                    continue
            return response

    async def _malformed_again(self, failures: int, idempotent: bool) -> bool:
        """Whether to try again after a malformed answer (only an idempotent request, within the budget);
        waits the back-off first."""
        self.stats.malformed += 1
        if not idempotent or failures >= self._retry.max_attempts:
            return False
        self.stats.retries += 1
        await self._clock.sleep(self._retry.backoff_s(failures))
        return True

    async def _exchange(self, request: httpx.Request, *, path: str) -> ApiResponse:
        """One attempt: send, read and decode the body within ``limits`` (``DeadlineExpired`` when the
        attempt outlives ``deadline_s``, ``AnswerTooLargeError`` past ``max_answer_bytes``)."""
        limit = self.limits.max_answer_bytes
        async with Deadline(self.limits.deadline_s):
            response = await self._http.send(request, stream=True)
            try:
                body, decoded = await read_body(response, limit=limit, method=request.method, path=path)
            except AnswerTooLargeError as cut:
                self.stats.answers_cut += 1
                self.stats.largest_answer_bytes = max(self.stats.largest_answer_bytes, cut.decoded_bytes)
                raise
            finally:
                await response.aclose()
        self.stats.largest_answer_bytes = max(self.stats.largest_answer_bytes, decoded)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in BODY_HEADERS]
        answer = ApiResponse(
            response.status_code, headers=headers, content=body, request=request, extensions={}
        )
        answer._where = (request.method, path)
        return answer
