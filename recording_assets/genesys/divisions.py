"""Division coverage: does the client's grant let it see the whole org?

For the client-credentials grant, access comes from roles granted per division
(``OAuthClient.roleDivisions``), and analytics and recordings answer only conversations in the divisions
the client's roles cover: a client granted in some divisions archives part of the org without any error.
The org's divisions come from ``GET /api/v2/authorization/divisions`` (paged by ``pageSize`` and
``pageNumber``; the SDK names no permission for it). A grant with division ``*`` covers all divisions
(docs/genesys-behaviours.md). What cannot be read or compared is a warning, never a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

from recording_assets.genesys.errors import GenesysApiError
from recording_assets.genesys.fields import ResponseFormatError, describe, id_problem
from recording_assets.genesys.transport import Transport

ALL_DIVISIONS = "*"
PAGE_SIZE = 25
MAX_PAGES = 100  # 2,500 divisions: far above an org's limit; a listing that never ends stops here
NAMED_MAX = 10
COMPLETE, PARTIAL, UNKNOWN = (
    "complete",
    "partial",
    "unknown",
)  # the coverage preflight found  # uncovered divisions a warning names; the rest are counted


@dataclass(frozen=True)
class Division:
    id: str
    name: str


async def org_divisions(transport: Transport) -> list[Division]:
    """Every division of the org, all pages. Raises ``ResponseFormatError`` for an answer not a listing."""
    found: dict[str, Division] = {}
    for page_number in range(1, MAX_PAGES + 1):
        body = (
            await transport.api(
                "GET",
                "/api/v2/authorization/divisions",
                family="authorization",
                params={"pageSize": PAGE_SIZE, "pageNumber": page_number},
            )
        ).json()
        entities = body.get("entities") if isinstance(body, dict) else None
        if not isinstance(entities, list):
            raise ResponseFormatError(f"the divisions listing has no list of entities ({describe(entities)})")
        for entity in entities:
            problem = id_problem(entity.get("id")) if isinstance(entity, dict) else "not an object"
            if problem:
                raise ResponseFormatError(f"a division of the listing has no usable id ({problem})")
            name = entity.get("name")
            found[entity["id"]] = Division(entity["id"], name if isinstance(name, str) else "")
        page_count = body.get("pageCount")
        if not entities or not isinstance(page_count, int) or page_number >= page_count:
            return list(found.values())
    raise ResponseFormatError(f"the divisions listing did not end within {MAX_PAGES} pages")


def uncovered(divisions: list[Division], granted: set[str]) -> list[Division]:
    """The divisions ``granted`` (the division ids of the grants that matter) leaves out."""
    if ALL_DIVISIONS in granted:
        return []
    return [d for d in divisions if d.id not in granted]


def coverage_warning(missing: list[Division], total: int) -> str:
    named = ", ".join(f"{d.name or '(no name)'} ({d.id})" for d in missing[:NAMED_MAX])
    more = f" and {len(missing) - NAMED_MAX} more" if len(missing) > NAMED_MAX else ""
    return (
        f"the OAuth client's roles that view conversation details and recordings are not granted in "
        f"{len(missing)} of the org's {total} divisions: {named}{more}; their conversations are not "
        "archived. Grant the role in those divisions, or in all divisions (*)"
    )


async def division_coverage(
    transport: Transport, granted: set[str] | None
) -> tuple[str, tuple[Division, ...], list[str]]:
    """The coverage (``COVERAGE``), the uncovered divisions and the warnings to give. ``granted``: None
    when the roles were unreadable."""
    if granted is None:
        return (
            UNKNOWN,
            (),
            ["the OAuth client's roles are unreadable, so it is unknown whether they cover every division"],
        )
    if ALL_DIVISIONS in granted:
        return COMPLETE, (), []
    try:
        divisions = await org_divisions(transport)
    except ResponseFormatError as exc:
        return (
            UNKNOWN,
            (),
            [f"could not read the org's divisions ({exc}): whether the client covers them is unknown"],
        )
    except GenesysApiError as exc:
        return (
            UNKNOWN,
            (),
            [f"could not read the org's divisions ({exc.status}): whether the client covers them is unknown"],
        )
    missing = uncovered(divisions, granted)
    if not missing:
        return COMPLETE, (), []
    return PARTIAL, tuple(missing), [coverage_warning(missing, len(divisions))]
