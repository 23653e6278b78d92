"""Login (``POST /oauth/token``) and the introspection a client uses for preflight checks:
``/api/v2/tokens/me``, its OAuth client, and the role behind it (does it hold viewSensitiveData?)."""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from collections import defaultdict
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recording_assets.sandbox.config import OAUTH_CLIENT_VIEW, ROLE_VIEW
from recording_assets.sandbox.errors import not_found
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.grants import role_divisions
from recording_assets.sandbox.hostile import HTML_PAGE
from recording_assets.sandbox.ids import stable_uuid
from recording_assets.sandbox.state import SandboxState
from recording_assets.sandbox.timefmt import iso

CLIENT_NAME = "Recording exporter (sandbox)"
ROLE_NAME = "Recording Exporter"


def routes(state: SandboxState) -> list[Route]:
    config = state.config
    directory = state.org.directory
    role_id = stable_uuid(config.seed, "role", "exporter")
    created = iso(state.org.anchor_ms - 30 * 86_400_000)

    async def token(request: Request) -> Response:
        correlation_id = str(uuid.uuid4())
        response, token_id = await _token_response(request)
        response.headers["inin-correlation-id"] = correlation_id
        state.stats.record(
            t=state.clock.time(),
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            family="token",
            status=response.status_code,
            token_id=token_id,
        )
        return response

    async def _token_response(request: Request) -> tuple[Response, str | None]:
        client_id, secret = _basic_credentials(request.headers.get("authorization", ""))
        if not (
            hmac.compare_digest(client_id, config.client_id)
            and hmac.compare_digest(secret, config.client_secret)
        ):
            return _oauth_error(401, "invalid_client", "client not found"), None
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        grant = (form.get("grant_type") or [""])[0]
        if not grant:
            return _oauth_error(400, "invalid_request", "grant_type is required"), None
        if grant != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"unsupported grant type {grant}"), None
        if state.hostile.html_token_answer():
            state.hostile.played("html_token_answers")
            return Response(HTML_PAGE, status_code=200, media_type="text/html"), None
        override = state.faults.faults.token_ttl_override_s
        ttl = override if override is not None else config.token_ttl_s
        value, issued = state.tokens.issue(client_id, state.clock.time(), ttl)
        state.stats.token_issued()
        body = {"access_token": value, "token_type": "bearer", "expires_in": int(ttl)}
        claim = state.hostile.hostile.token_expires_in
        if claim is not None:  # hostile: a lifetime that cannot be right; the token itself lives ttl
            state.hostile.played("token_expires_in")
            body["expires_in"] = claim
        return JSONResponse(body), issued.token_id

    def oauth_client_body() -> dict:
        return {
            "id": config.client_id,
            "name": CLIENT_NAME,
            "authorizedGrantType": "CLIENT-CREDENTIALS",
            "roleDivisions": role_divisions(config, directory, role_id),
            "state": "active",
            "dateCreated": created,
        }

    @api(state, "tokens")
    async def tokens_me(ctx: Ctx) -> Response:
        organization = {"id": directory.organization.id, "name": directory.organization.name}
        client = oauth_client_body()
        client["organization"] = organization
        return json_response(
            {
                "organization": organization,
                "homeOrganization": organization,
                "authorizedScope": [],
                "OAuthClient": client,
            }
        )

    @api(state, "tokens")
    async def revoke_me(ctx: Ctx) -> Response:
        state.tokens.revoke(ctx.token_value)
        return Response(status_code=204)

    @api(state, "authorization", (OAUTH_CLIENT_VIEW,))
    async def oauth_client(ctx: Ctx) -> Response:
        if ctx.path("clientId") != config.client_id:
            raise not_found(f"OAuth client {ctx.path('clientId')} was not found.")
        body = oauth_client_body()
        body.update(
            {
                "accessTokenValiditySeconds": config.token_ttl_s,
                "roleIds": [role_id],
                "selfUri": f"/api/v2/oauth/clients/{config.client_id}",
            }
        )
        return json_response(body)

    @api(state, "authorization", (ROLE_VIEW,))
    async def role(ctx: Ctx) -> Response:
        if ctx.path("roleId") != role_id:
            raise not_found(f"Role {ctx.path('roleId')} was not found.")
        granted = sorted(state.permissions())
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for permission in granted:
            domain, entity, action = permission.split(":")
            grouped[(domain, entity)].append(action)
        return json_response(
            {
                "id": role_id,
                "name": ROLE_NAME,
                "description": "Reads conversation details and downloads recordings.",
                "permissions": granted,
                "permissionPolicies": [
                    {"domain": domain, "entityName": entity, "actionSet": actions, "allowConditions": False}
                    for (domain, entity), actions in sorted(grouped.items())
                ],
                "userCount": 0,
                "default": False,
                "base": False,
                "selfUri": f"/api/v2/authorization/roles/{role_id}",
            }
        )

    return [
        Route("/oauth/token", token, methods=["POST"]),
        Route("/api/v2/tokens/me", tokens_me, methods=["GET"]),
        Route("/api/v2/tokens/me", revoke_me, methods=["DELETE"]),
        Route("/api/v2/oauth/clients/{clientId}", oauth_client, methods=["GET"]),
        Route("/api/v2/authorization/roles/{roleId}", role, methods=["GET"]),
    ]


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "description": description, "error_description": description}, status_code=status
    )


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return client_id, secret
