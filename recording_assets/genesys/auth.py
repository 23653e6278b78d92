"""OAuth client credentials: one cached token, renewed before it expires and once after a 401.

Concurrent callers share one renewal (a lock around the token request). Client-credentials grants
have no refresh token, so "renewal" means requesting a new token (docs/genesys-api.md §2.2).

The token answer is checked like any other: one that is not JSON (a login page, a proxy's error page) or
lacks a usable ``access_token`` is an ``AuthenticationError`` saying so; an ``expires_in`` that is not a
lifetime the documentation allows (300..172800 s, docs/genesys-api.md §2.2: zero, negative, absurdly
long, not a number) is read as a short fixed lifetime, ``FALLBACK_LIFETIME_S``, rather than renewing
before every request or never.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
from dataclasses import dataclass

import httpx

from recording_assets.clock import Clock
from recording_assets.genesys.errors import AuthenticationError, GenesysApiError, error_for_status
from recording_assets.genesys.secret import Secret

DEFAULT_LIFETIME_S = 86400.0  # no expires_in at all: the documented default lifetime
FALLBACK_LIFETIME_S = 60.0  # an expires_in that cannot be right
MIN_LIFETIME_S, MAX_LIFETIME_S = 60.0, 172800.0
# RFC 6750 b64token: what may follow "Bearer " in a header (no CR/LF, no space, no control character).
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN_CHARS = 8192
HINT = (
    "Check GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET, that the OAuth client "
    "uses the Client Credentials grant, and that GENESYSCLOUD_REGION is the org's region"
)


def token_lifetime_s(value: object) -> float:
    """The lifetime to plan renewals by, from the answer's ``expires_in``."""
    if value is None:
        return DEFAULT_LIFETIME_S
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return FALLBACK_LIFETIME_S
    if value <= 0 or value > MAX_LIFETIME_S:
        return FALLBACK_LIFETIME_S
    return max(MIN_LIFETIME_S, float(value))


@dataclass
class _Token:
    value: Secret
    renew_at: float


class ClientCredentialsAuth:
    def __init__(
        self,
        *,
        login_base_url: str,
        client_id: str,
        client_secret: Secret,
        clock: Clock,
        renew_fraction: float = 0.8,
    ) -> None:
        self._url = f"{login_base_url.rstrip('/')}/oauth/token"
        self._client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._renew_fraction = renew_fraction
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.tokens_requested = 0

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(url={self._url!r}, client_id={self._client_id!r})"

    async def token(self, http: httpx.AsyncClient, send) -> Secret:
        """The current token, requesting a new one first if it is due for renewal.

        ``send`` is the transport's retrying sender, so token requests get the same handling of
        429, 5xx and connection errors as API calls.
        """
        current = self._token
        if current and self._clock.time() < current.renew_at:
            return current.value
        async with self._lock:
            current = self._token
            if current and self._clock.time() < current.renew_at:
                return current.value  # another caller renewed while we waited
            self._token = await self._request(http, send)
            return self._token.value

    def invalidate(self, token: Secret) -> bool:
        """Drop ``token`` after a 401, unless another caller already replaced it; True when this call did."""
        if self._token and self._token.value == token:
            self._token = None
            return True
        return False

    async def _request(self, http: httpx.AsyncClient, send) -> _Token:
        basic = base64.b64encode(f"{self._client_id}:{self._secret.reveal()}".encode()).decode()
        self.tokens_requested += 1

        def build() -> httpx.Request:
            return http.build_request(
                "POST",
                self._url,
                # only what the transport inflates with a bound (answers.ACCEPT_ENCODING)
                headers={"Authorization": f"Basic {basic}", "Accept-Encoding": "gzip, deflate"},
                data={"grant_type": "client_credentials"},
            )

        response = await send(build, family="token", path="/oauth/token")
        if response.status_code != 200:
            raise _token_error(response)
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type") or "no Content-Type"
            raise _unusable(
                response, f"the token endpoint answered something that is not JSON ({kind})"
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise _unusable(response, "the token endpoint's answer has no access_token")
        if len(token) > MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token):
            raise _unusable(response, "the token endpoint's access_token is not a bearer token")
        lifetime = token_lifetime_s(body.get("expires_in"))
        return _Token(Secret(token), self._clock.time() + lifetime * self._renew_fraction)


def _unusable(response: httpx.Response, message: str) -> AuthenticationError:
    return AuthenticationError(
        status=response.status_code,
        method="POST",
        path="/oauth/token",
        message=message,
        correlation_id=response.headers.get("inin-correlation-id"),
        hint="a proxy or captive portal may be answering for the login host; " + HINT[0].lower() + HINT[1:],
    )


def _token_error(response: httpx.Response) -> GenesysApiError:
    try:
        body = json.loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    code = body.get("error") or body.get("code") if isinstance(body, dict) else None
    status = response.status_code
    cls = AuthenticationError if status in (400, 401, 403) else error_for_status(status)
    return cls(
        status=status,
        method="POST",
        path="/oauth/token",
        code=code,
        message="the OAuth token request was refused",
        correlation_id=response.headers.get("inin-correlation-id"),
        hint=HINT,
    )
