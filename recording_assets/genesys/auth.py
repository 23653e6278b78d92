"""OAuth client credentials: one cached token, renewed before it expires and once after a 401.

Concurrent callers share one renewal (a lock around the token request). Client-credentials grants
have no refresh token, so "renewal" means requesting a new token (docs/genesys-api.md §2.2).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass

import httpx

from recording_assets.clock import Clock
from recording_assets.genesys.errors import AuthenticationError, GenesysApiError, error_for_status
from recording_assets.genesys.secret import Secret


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
                headers={"Authorization": f"Basic {basic}"},
                data={"grant_type": "client_credentials"},
            )

        response = await send(build, family="token", path="/oauth/token")
        if response.status_code != 200:
            raise _token_error(response)
        body = response.json()
        expires_in = float(body.get("expires_in") or 86400)
        return _Token(Secret(body["access_token"]), self._clock.time() + expires_in * self._renew_fraction)


def _token_error(response: httpx.Response) -> GenesysApiError:
    try:
        body = response.json()
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
        hint=(
            "Check GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET, that the OAuth client "
            "uses the Client Credentials grant, and that GENESYSCLOUD_REGION is the org's region"
        ),
    )
