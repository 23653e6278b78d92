"""HTTP transport for the Platform API: auth, pacing, retries and typed errors in one place.

Every API call goes through ``Transport.api``; presigned media downloads go through
``Transport.open_media`` (no bearer token, not paced: they are not Platform API requests).
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from recording_assets.clock import Clock
from recording_assets.genesys.auth import ClientCredentialsAuth
from recording_assets.genesys.errors import (
    GenesysApiError,
    GenesysTransportError,
    PermissionDeniedError,
    error_for_status,
)
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

    @property
    def api_requests(self) -> int:
        """Platform API requests, the budgeted kind (token requests and presigned media GETs excluded)."""
        return sum(n for family, n in self.requests.items() if family not in ("token", "media"))


MAX_RENEWALS = 3  # token renewals one request may trigger before its 401 surfaces
MAX_REJECTIONS = 4 * MAX_RENEWALS  # 401s one request may meet in all, renewals by other callers included
MAX_MEDIA_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})


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
    ) -> None:
        self._base = api_base_url.rstrip("/")
        self._auth = auth
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self.pacer = pacer or Pacer(clock)
        install_log_redaction()  # before the first request: httpx logs each URL, presigned ones included
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
        )
        self.stats = TransportStats()

    def __repr__(self) -> str:
        return f"Transport(api_base_url={self._base!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

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
    ) -> httpx.Response:
        """Send one Platform API request; return the response or raise a typed ``GenesysApiError``.

        ``permission`` names what a 403 means for this call, so the error tells the user which
        permission to grant instead of a bare "forbidden". ``idempotent`` (default: GET and HEAD) lets a
        500 be retried; a read sent as POST (an analytics query) says so itself. ``background``: the
        pacer lets every other waiting request go first (``Pacer.acquire``).
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
            headers = {"Authorization": f"Bearer {token.reveal()}"}
            return self._http.build_request(method, url, params=params, json=json, headers=headers)

        rejected = 0
        while True:
            response = await self._send(
                build, family=family, path=path, paced=True, idempotent=idempotent, background=background
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
    ) -> httpx.Response:
        """Send with retries on 429 / 502 / 503 / 504 / connection errors (and 500 when ``idempotent``);
        return the last response."""
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
                response = await self._http.send(request)
                await response.aread()
            except httpx.TransportError as exc:
                self.stats.transport_errors += 1
                failures += 1
                if failures >= self._retry.max_attempts:
                    raise GenesysTransportError(
                        f"{request.method} {path}: no answer after {failures} attempts "
                        f"({type(exc).__name__}); check network access to {request.url.host}"
                    ) from None
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

    @asynccontextmanager
    async def open_media(self, url: str):
        """Stream a presigned media URL: no bearer token (it would leak the token to the storage host),
        not paced (media GETs are not Platform API requests). Up to ``MAX_MEDIA_REDIRECTS`` redirects are
        followed (signed URLs may redirect to the storage host), each a fresh GET with the same headers;
        past that the redirect itself is yielded for the caller to refuse."""
        for hop in range(MAX_MEDIA_REDIRECTS + 1):
            # identity: Content-Length must describe the bytes we hash and store, not a compressed form.
            request = self._http.build_request("GET", url, headers={"Accept-Encoding": "identity"})
            self.stats.requests["media"] += 1
            response = await self._http.send(request, stream=True)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECTS or not location or hop == MAX_MEDIA_REDIRECTS:
                break
            await response.aclose()
            url = str(response.url.join(location))
        try:
            yield response
        finally:
            await response.aclose()


def api_error(
    response: httpx.Response, *, method: str, path: str, permission: str | None = None
) -> GenesysApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    kwargs: dict[str, Any] = dict(
        status=status,
        method=method,
        path=path,
        code=body.get("code"),
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
    return text if len(text) <= limit else text[:limit] + "…"
