"""Preflight: one cheap call per endpoint family a run will use, before any bulk work, once per run.

A missing permission fails the run at once, naming it, instead of after thousands of requests. A family
whose first real request answers the same question needs no probe: the day's first analytics page names a
missing analytics permission as well as a probe would, so the assets ask only for the recording family
(whose first real request, a batch submission, comes after discovery). Whether the client may see
sensitive (redacted) recordings can only be read from its roles; when that cannot be read (the
introspection permissions are optional), say so rather than guess. So with the divisions: a client whose
viewing roles are granted in only some of the org's divisions archives part of it (genesys/divisions.py),
which is a warning naming them, never a refusal; and so with the optional permissions that name queues and
wrap-up codes in the archive (genesys/names.py). The report (never a token) is small
and serialisable, so a run's later steps reuse it instead of asking again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from recording_assets.genesys.divisions import ALL_DIVISIONS, UNKNOWN, Division, division_coverage
from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError
from recording_assets.genesys.fields import ResponseFormatError, id_problem
from recording_assets.genesys.names import PERMISSIONS as NAME_PERMISSIONS
from recording_assets.genesys.retention import Retention
from recording_assets.genesys.transport import Transport

ANALYTICS_VIEW = "analytics:conversationDetail:view"
AGENT_ANALYTICS_VIEW = "analytics:agentConversationDetail:view"
RECORDING_VIEW = "recording:recording:view"
RECORDING_VIEWS = (
    RECORDING_VIEW,
    "recording:recordingSegment:view",
    "recording:snippetRecording:view",
    "recording:screenRecording:view",
)
SENSITIVE_VIEW = "recording:recording:viewSensitiveData"


@dataclass(frozen=True)
class PreflightReport:
    sensitive_data: bool | None  # True / False when the roles could be read, None when unknown
    warnings: tuple[str, ...] = field(default=())
    families: tuple[str, ...] = ()  # the endpoint families whose permission was checked
    confirmed: tuple[str, ...] = ()  # further permissions the run's options need, found in the roles
    batch_url_ttl_s: int | None = None  # recordingBatchDownloadUrlTtl (GET /api/v2/recording/settings)
    # (id, name) of the org's divisions the client's viewing roles are not granted in (genesys/divisions.py)
    divisions_not_covered: tuple[tuple[str, str], ...] = ()
    division_coverage: str = UNKNOWN  # complete, partial, or unknown (the roles or divisions unreadable)

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
            confirmed = tuple(map(str, data.get("confirmed", ())))
            ttl = data.get("batch_url_ttl_s")
            ttl = ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None
            warnings, families = tuple(map(str, data["warnings"])), tuple(map(str, data["families"]))
            uncovered = tuple((str(i), str(n)) for i, n in data.get("divisions_not_covered", ()))
            coverage = str(data.get("division_coverage", UNKNOWN))
            return cls(sensitive, warnings, families, confirmed, ttl, uncovered, coverage)
        except (ValueError, KeyError, TypeError):
            return None


async def preflight(
    transport: Transport,
    *,
    client_id: str,
    families: tuple[str, ...] = ("analytics", "recording"),
    permissions: tuple[str, ...] = (),
    wanted: tuple[str, ...] = (),
) -> PreflightReport:
    """``permissions``: what opt-in features need (restore, protection, screen recordings ...); their calls
    change the org, so no probe: they are looked for in the client's roles and a missing one fails here.
    ``wanted``: permissions whose absence only narrows what is kept (bookmark annotations): a warning."""
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
    granted, warnings, covered = await _granted(transport, client_id)
    coverage = UNKNOWN
    not_covered: tuple[Division, ...] = ()
    if granted is not None and covered is not None:  # unreadable roles: _granted has said so
        coverage, not_covered, more = await division_coverage(transport, covered)
        warnings += more
    if "recording" in families:
        if granted is None or not _holds(granted, RECORDING_VIEW):
            # The roles do not show the permission every download needs: a cheap read that needs it says
            # for certain (403 names it). Roles that hold it spare the request.
            await transport.api(
                "GET",
                "/api/v2/recordings/retention/query",
                family="recording.retention",
                params={"retentionThresholdDays": 1, "pageSize": 1},
                permission=RECORDING_VIEW,
            )
        ttl_s, more = await _batch_url_ttl(transport)
        warnings += more
    else:
        ttl_s = None
    sensitive = None if granted is None else _holds(granted, SENSITIVE_VIEW)
    if sensitive is False:
        warnings.append(
            f"the OAuth client lacks {SENSITIVE_VIEW}: recordings with sensitive data are excluded from "
            "batch downloads by Genesys and will be recorded as 'excluded'; grant it to archive them"
        )
    if permissions and granted is None:
        warnings.append(
            f"could not confirm {', '.join(permissions)} (the roles are unreadable): a missing one fails "
            "the run when it is first needed"
        )
    for permission in wanted:
        if granted is not None and not _holds(granted, permission):
            warnings.append(f"the OAuth client lacks {permission}: bookmark annotations are not archived")
    for kind, permission in NAME_PERMISSIONS.items():  # optional: without it those ids stay ids
        if granted is not None and not _holds(granted, permission):
            warnings.append(
                f"the OAuth client lacks {permission} (optional): {kind.replace('_', '-')} are archived as "
                "ids without their names; grant it to keep the names"
            )
    missing = [p for p in permissions if granted is not None and not _holds(granted, p)]
    if missing:
        raise PermissionDeniedError(
            status=403,
            method="GET",
            path=f"/api/v2/oauth/clients/{client_id}",
            permission=missing[0],
            message=f"the OAuth client's roles lack {', '.join(missing)}, which the run's options need: "
            "grant it or turn the option off",
        )
    confirmed = tuple(permissions) if granted is not None else ()
    uncovered = tuple((d.id, d.name) for d in not_covered)
    return PreflightReport(sensitive, tuple(warnings), tuple(families), confirmed, ttl_s, uncovered, coverage)


async def _batch_url_ttl(transport: Transport) -> tuple[int | None, list[str]]:
    """How long batch download URLs live (2..60 minutes), which sizes the run's download windows."""
    try:
        return await Retention(transport).batch_url_ttl_s(), []
    except GenesysApiError as exc:
        return None, [f"could not read the recording settings ({exc.status}): download windows are not sized"]


def _dicts(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _holds(granted: set[str], permission: str) -> bool:
    domain, entity, _ = permission.split(":")
    return bool({permission, "*:*:*", f"{domain}:*:*", f"{domain}:{entity}:*"} & granted)


def _covered(analytics_in: set[str], recording_in: set[str]) -> set[str]:
    """Divisions where the client may both find conversations and fetch their recordings."""
    if ALL_DIVISIONS in analytics_in:
        return set(recording_in)
    if ALL_DIVISIONS in recording_in:
        return set(analytics_in)
    return analytics_in & recording_in


async def _role_permissions(transport: Transport, role_id: str) -> set[str]:
    role = (
        await transport.api("GET", f"/api/v2/authorization/roles/{role_id}", family="authorization")
    ).json()
    role = role if isinstance(role, dict) else {}
    permissions = {p for p in role.get("permissions") or [] if isinstance(p, str)}
    for policy in _dicts(role.get("permissionPolicies")):
        for action in policy.get("actionSet") or []:
            permissions.add(f"{policy.get('domain')}:{policy.get('entityName')}:{action}")
    return permissions


async def _granted(
    transport: Transport, client_id: str
) -> tuple[set[str] | None, list[str], set[str] | None]:
    """The permissions of the client's roles and the divisions where they view conversation details and
    recordings, or None (with why) when they cannot be read."""
    if id_problem(client_id):
        return (
            None,
            [f"the OAuth client id is not a Genesys id ({id_problem(client_id)}): its roles were not read"],
            None,
        )
    try:
        client = (
            await transport.api("GET", f"/api/v2/oauth/clients/{client_id}", family="authorization")
        ).json()
        permissions: set[str] = set()
        roles: dict[str, set[str]] = {}
        analytics_in, recording_in = set(), set()  # the divisions of grants that view each
        for role_division in _dicts(client.get("roleDivisions") if isinstance(client, dict) else None):
            role_id = role_division.get("roleId")
            if not isinstance(role_id, str) or id_problem(role_id):  # it goes into a path: a Genesys id
                continue
            if role_id not in roles:
                roles[role_id] = await _role_permissions(transport, role_id)
            permissions.update(roles[role_id])
            division = role_division.get("divisionId")
            if isinstance(division, str):
                if _holds(roles[role_id], ANALYTICS_VIEW) or _holds(roles[role_id], AGENT_ANALYTICS_VIEW):
                    analytics_in.add(division)
                if any(_holds(roles[role_id], p) for p in RECORDING_VIEWS):
                    recording_in.add(division)
        covered = _covered(analytics_in, recording_in)
    except ResponseFormatError as exc:
        return None, [f"could not read this OAuth client's roles ({exc}); {SENSITIVE_VIEW} is unknown"], None
    except PermissionDeniedError:
        return (
            None,
            [
                f"could not read this OAuth client's roles (needs oauth:client:view and authorization:role:view), "
                f"so it is unknown whether it has {SENSITIVE_VIEW}; recordings with sensitive data may be "
                "excluded from batch downloads and will be recorded as 'excluded'"
            ],
            None,
        )
    except GenesysApiError as exc:
        return (
            None,
            [f"could not read this OAuth client's roles ({exc.status}); {SENSITIVE_VIEW} is unknown"],
            None,
        )
    return permissions, [], covered
