"""What every ``/api/v2`` request goes through before its handler: the Genesys platform gateway.

Order: correlation id -> slow-response fault -> bearer token (401) -> per-token rate window (429)
-> count-based faults (429 burst, 5xx, token revocation) -> permissions (403) -> handler. Every
answer, errors included, carries ``inin-correlation-id`` and the ``inin-ratelimit-*`` headers, and
is counted in the stats under its family.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from recording_assets.sandbox.errors import ApiError, bad_request
from recording_assets.sandbox.ratelimit import RateLimiter
from recording_assets.sandbox.state import SandboxState
from recording_assets.sandbox.tokens import Token

_5XX_CODES = {
    500: "internal.server.error",
    502: "bad.gateway",
    503: "service.unavailable",
    504: "gateway.timeout",
}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def error_body(error: ApiError, correlation_id: str) -> dict[str, Any]:
    return {
        "message": error.message,
        "code": error.code,
        "status": error.status,
        "contextId": correlation_id,
        "details": [],
        "errors": [],
    }


@dataclass
class Ctx:
    request: Request
    state: SandboxState
    token: Token
    token_value: str
    now_ms: int
    correlation_id: str

    def path(self, name: str) -> str:
        return self.request.path_params[name]

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def query_int(self, name: str, default: int) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise bad_request(f"query parameter {name} must be an integer") from None

    def query_bool(self, name: str) -> bool:
        return (self.request.query_params.get(name) or "").lower() == "true"

    async def json(self) -> Any:
        raw = await self.request.body()
        if not raw:
            raise bad_request("a JSON request body is required")
        try:
            return json.loads(raw)
        except ValueError:
            raise bad_request("The request body could not be parsed as JSON.") from None

    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")

    def has(self, permission: str) -> bool:
        return permission in self.state.permissions()


Handler = Callable[[Ctx], Awaitable[Response]]


def api(
    state: SandboxState, family: str, any_of: tuple[str, ...] | None = None
) -> Callable[[Handler], Callable]:
    """Wrap a handler in the gateway pipeline. ``any_of``: the permissions of which one is needed."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            correlation_id = str(uuid.uuid4())
            headers = {"inin-correlation-id": correlation_id}
            token_id = None
            slow = state.faults.faults.slow_response_s
            if slow > 0:
                await asyncio.sleep(slow)
            try:
                value, token = _authenticate(state, request)
                token_id = token.token_id
                decision = state.limiter.hit(token.token_id, token.client_id, state.clock.time())
                headers.update(decision.headers(state.faults.faults.rate_limit_headers))
                if decision.limited:
                    raise ApiError(
                        429,
                        "too.many.requests.retry.after",
                        f"Rate limit exceeded the maximum. Retry the request in "
                        f"[{decision.retry_after_s}] seconds",
                        {"Retry-After": str(decision.retry_after_s)},
                    )
                gate = state.faults.on_api_request()
                try:
                    if gate.status == 429:
                        raise ApiError(
                            429,
                            "too.many.requests.retry.after",
                            f"Rate limit exceeded the maximum. Retry the request in "
                            f"[{gate.retry_after_s}] seconds",
                            {"Retry-After": str(gate.retry_after_s)},
                        )
                    if gate.status:
                        extra = {"Retry-After": str(gate.retry_after_s)} if gate.retry_after_s else {}
                        raise ApiError(
                            gate.status,
                            _5XX_CODES[gate.status],
                            "The service is temporarily unavailable. Please retry.",
                            extra,
                        )
                    if any_of is not None and not state.permissions().intersection(any_of):
                        raise ApiError(403, "missing.any.permissions", missing_permissions_message(any_of))
                    ctx = Ctx(request, state, token, value, state.now_ms(), correlation_id)
                    response = await handler(ctx)
                finally:
                    if gate.revoke_after:
                        state.tokens.revoke(value)
            except ApiError as error:
                headers.update(error.headers)
                response = json_response(error_body(error, correlation_id), error.status)
            for name, header_value in headers.items():
                response.headers[name] = header_value
            state.stats.record(
                t=state.clock.time(),
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                family=family,
                status=response.status_code,
                token_id=token_id,
            )
            return response

        return endpoint

    return wrap


def missing_permissions_message(any_of: tuple[str, ...]) -> str:
    return (
        "Unable to perform the requested action. You must have at least one of the following permissions "
        f"assigned: [{', '.join(any_of)}]"
    )


def _authenticate(state: SandboxState, request: Request) -> tuple[str, Token]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token = state.tokens.lookup(value.strip(), state.clock.time()) if scheme.lower() == "bearer" else None
    if token is None:
        anonymous = RateLimiter.anonymous(state.config.rate_limit_per_minute)
        raise ApiError(401, "bad.credentials", "Invalid login credentials.", anonymous.headers())
    return value.strip(), token
