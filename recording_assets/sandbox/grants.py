"""The client's grant in the org's divisions (``OAuthClient.roleDivisions``).

Analytics answers only conversations in the divisions the grant covers (``SyntheticOrg.visible``). How a
grant in all divisions (``*``) shows in ``roleDivisions`` is open: ``Dialect.all_divisions_grant``.
"""

from __future__ import annotations

from recording_assets.sandbox.config import SandboxConfig
from recording_assets.sandbox.org import Directory

ALL_DIVISIONS = "*"


def covered_divisions(config: SandboxConfig, directory: Directory) -> frozenset[str] | None:
    """The ids of the divisions the client's role is granted in (None: all of them)."""
    if config.wildcard_grant or config.covered_divisions is None:
        return None
    return frozenset(d.id for d in directory.divisions[: config.covered_divisions])


def role_divisions(config: SandboxConfig, directory: Directory, role_id: str) -> list[dict]:
    """``roleDivisions`` of the OAuth client as the org shows it."""
    if config.wildcard_grant and config.dialect.all_divisions_grant == "star":
        return [{"roleId": role_id, "divisionId": ALL_DIVISIONS}]
    covered = covered_divisions(config, directory)
    return [
        {"roleId": role_id, "divisionId": d.id}
        for d in directory.divisions
        if covered is None or d.id in covered
    ]
