"""Preflight: one cheap call per endpoint family a run will use, before any bulk work.

A missing permission fails the run at once, naming it, instead of after thousands of requests. Whether
the client may see sensitive (redacted) recordings can only be read from its roles; when that cannot
be read (the introspection permissions are optional), say so rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError
from recording_assets.genesys.transport import Transport

ANALYTICS_VIEW = "analytics:conversationDetail:view"
RECORDING_VIEW = "recording:recording:view"
SENSITIVE_VIEW = "recording:recording:viewSensitiveData"


@dataclass(frozen=True)
class PreflightReport:
    organization: str | None
    sensitive_data: bool | None  # True / False when the roles could be read, None when unknown
    warnings: tuple[str, ...] = field(default=())


async def preflight(transport: Transport, *, client_id: str, families: tuple[str, ...] = ("analytics", "recording")) -> PreflightReport:
    token_info = (await transport.api("GET", "/api/v2/tokens/me", family="tokens")).json()
    organization = (token_info.get("organization") or {}).get("name")
    if "analytics" in families:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        interval = f"{(now - timedelta(minutes=5)).isoformat()}/{now.isoformat()}".replace("+00:00", "Z")
        await transport.api(
            "POST",
            "/api/v2/analytics/conversations/details/query",
            family="analytics.query",
            json={"interval": interval, "paging": {"pageSize": 1, "pageNumber": 1}},
            permission=ANALYTICS_VIEW,
        )
    if "recording" in families:
        await transport.api(
            "GET",
            "/api/v2/recordings/retention/query",
            family="recording.retention",
            params={"retentionThresholdDays": 1, "pageSize": 1},
            permission=RECORDING_VIEW,
        )
    sensitive, warnings = await _sensitive_permission(transport, client_id)
    return PreflightReport(organization=organization, sensitive_data=sensitive, warnings=tuple(warnings))


async def _sensitive_permission(transport: Transport, client_id: str) -> tuple[bool | None, list[str]]:
    try:
        client = (await transport.api("GET", f"/api/v2/oauth/clients/{client_id}", family="authorization")).json()
        permissions: set[str] = set()
        for role_division in client.get("roleDivisions") or []:
            role = (
                await transport.api(
                    "GET", f"/api/v2/authorization/roles/{role_division['roleId']}", family="authorization"
                )
            ).json()
            permissions.update(role.get("permissions") or [])
            for policy in role.get("permissionPolicies") or []:
                for action in policy.get("actionSet") or []:
                    permissions.add(f"{policy.get('domain')}:{policy.get('entityName')}:{action}")
    except PermissionDeniedError:
        return None, [
            f"could not read this OAuth client's roles (needs oauth:client:view and authorization:role:view), "
            f"so it is unknown whether it has {SENSITIVE_VIEW}; recordings with sensitive data may be "
            "excluded from batch downloads and will be recorded as 'excluded'"
        ]
    except GenesysApiError as exc:
        return None, [f"could not read this OAuth client's roles ({exc.status}); {SENSITIVE_VIEW} is unknown"]
    wildcard = {"*:*:*", "recording:*:*", "recording:recording:*"}
    if SENSITIVE_VIEW in permissions or permissions & wildcard:
        return True, []
    return False, [
        f"the OAuth client lacks {SENSITIVE_VIEW}: recordings with sensitive data are excluded from batch "
        "downloads by Genesys and will be recorded as 'excluded'; grant it to archive them"
    ]
