"""Preflight: one cheap call per endpoint family a run will use, before any bulk work, once per run.

A missing permission fails the run at once, naming it, instead of after thousands of requests. A family
whose first real request answers the same question needs no probe: the day's first analytics page names a
missing analytics permission as well as a probe would, so the assets ask only for the recording family
(whose first real request, a batch submission, comes after discovery). Whether the client may see
sensitive (redacted) recordings can only be read from its roles; when that cannot be read (the
introspection permissions are optional), say so rather than guess. The report (never a token) is small
and serialisable, so a run's later steps reuse it instead of asking again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError
from recording_assets.genesys.transport import Transport

ANALYTICS_VIEW = "analytics:conversationDetail:view"
RECORDING_VIEW = "recording:recording:view"
SENSITIVE_VIEW = "recording:recording:viewSensitiveData"


@dataclass(frozen=True)
class PreflightReport:
    sensitive_data: bool | None  # True / False when the roles could be read, None when unknown
    warnings: tuple[str, ...] = field(default=())
    families: tuple[str, ...] = ()  # the endpoint families whose permission was checked

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PreflightReport | None:
        """The report, or None when ``text`` is not one (an older or foreign file): then check again."""
        try:
            data = json.loads(text)
            sensitive = data["sensitive_data"]
            if sensitive not in (True, False, None):
                return None
            return cls(sensitive, tuple(map(str, data["warnings"])), tuple(map(str, data["families"])))
        except (ValueError, KeyError, TypeError):
            return None


async def preflight(transport: Transport, *, client_id: str, families: tuple[str, ...] = ("analytics", "recording")) -> PreflightReport:
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
    return PreflightReport(sensitive_data=sensitive, warnings=tuple(warnings), families=tuple(families))


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
