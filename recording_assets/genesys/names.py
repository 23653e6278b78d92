"""Names of the ids analytics gives: users (agents), queues, wrap-up codes and divisions.

Four listings of the Platform API, each answered as an entity listing (``entities``, ``pageSize``,
``pageNumber``, ``pageCount``):

- users in bulk, ``GET /api/v2/users?id=a,b,..`` (the SDK's ``get_users`` joins a list with commas), at
  most ``BULK_IDS`` ids a request; the SDK documents no permission for it;
- queues in bulk, ``GET /api/v2/routing/queues?id=..``, ``routing:queue:view``;
- wrap-up codes, ``GET /api/v2/routing/wrapupcodes``, paged, ``routing:wrapupCode:view``;
- divisions, ``GET /api/v2/authorization/divisions``, paged; the SDK documents no permission.

Everything that arrives is untrusted: an entity without a usable id is dropped, one whose name is not text
is that id's reason, an id the answer lacks is that id's reason (a deleted user is not listed by default;
when one is, its ``state`` says ``deleted`` and its name is kept), and a refusal (403) or an unusable answer
is the reason of every id it was asked for. Nothing here raises for a name: a day never fails for one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from recording_assets.genesys.errors import GenesysError, PermissionDeniedError
from recording_assets.genesys.fields import describe, id_problem
from recording_assets.genesys.transport import Transport

BULK_IDS = 100  # ids per users or queues request: the documented bulk size
PAGE_SIZE = 100  # the largest page the sandbox accepts; the SDK states no bound
MAX_PAGES = 50  # 5,000 wrap-up codes or divisions: far above an org's; a listing that never ends stops here
NAME_CHARS = 256  # a longer "name" is not a name: kept as that id's reason

USERS, QUEUES, WRAP_UP_CODES, DIVISIONS = "users", "queues", "wrap_up_codes", "divisions"
KINDS = (USERS, QUEUES, WRAP_UP_CODES, DIVISIONS)
PERMISSIONS = {QUEUES: "routing:queue:view", WRAP_UP_CODES: "routing:wrapupCode:view"}
_PATHS = {
    USERS: "/api/v2/users",
    QUEUES: "/api/v2/routing/queues",
    WRAP_UP_CODES: "/api/v2/routing/wrapupcodes",
    DIVISIONS: "/api/v2/authorization/divisions",
}
_FAMILIES = {USERS: "users", QUEUES: "routing", WRAP_UP_CODES: "routing", DIVISIONS: "authorization"}
BULK = (USERS, QUEUES)  # asked by id; the others are listed whole


@dataclass(frozen=True)
class Name:
    id: str
    name: str | None  # None: unresolved, ``reason`` says why
    email: str | None = None  # users only
    state: str | None = None  # users only: active, inactive, deleted
    reason: str | None = None


@dataclass
class Answer:
    """What one kind's requests gave: a ``Name`` for every id asked (resolved or with its reason), the
    others a listing named too, and the requests spent."""

    names: dict[str, Name] = field(default_factory=dict)
    requests: int = 0
    refused: str | None = None  # why the kind's requests were refused or unusable, once


async def resolve(transport: Transport, kind: str, ids: Iterable[str]) -> Answer:
    """Names of ``ids`` of ``kind`` (``KINDS``). Bulk kinds ask for these ids only, ``BULK_IDS`` a request;
    the listed kinds read the whole listing once, so every id they hold is named at once."""
    wanted = sorted(set(ids))
    answer = Answer()
    if not wanted:
        return answer
    if kind in BULK:
        for start in range(0, len(wanted), BULK_IDS):
            await _read(transport, kind, answer, wanted[start : start + BULK_IDS])
    else:
        await _read(transport, kind, answer, None)
    for id_ in wanted:
        if id_ not in answer.names:
            why = answer.refused or "not in the answer (deleted, or not visible to the client)"
            answer.names[id_] = Name(id_, None, reason=why)
    return answer


async def _read(transport: Transport, kind: str, answer: Answer, ids: list[str] | None) -> None:
    """Every page of one request (a bulk chunk, or the whole listing) into ``answer``."""
    for page_number in range(1, MAX_PAGES + 1):
        params: dict[str, Any] = {"pageSize": PAGE_SIZE, "pageNumber": page_number}
        if ids is not None:
            params["id"] = ",".join(ids)
        answer.requests += 1
        try:
            body = (
                await transport.api(
                    "GET",
                    _PATHS[kind],
                    family=_FAMILIES[kind],
                    params=params,
                    permission=PERMISSIONS.get(kind),
                )
            ).json()
        except PermissionDeniedError:
            answer.refused = f"permission missing (403{_needs(kind)})"
            return
        except GenesysError as exc:  # after the transport's retries: these ids stay ids this run
            answer.refused = f"{type(exc).__name__}: {exc}"
            return
        entities = body.get("entities") if isinstance(body, dict) else None
        if not isinstance(entities, list):
            answer.refused = f"the {kind} answer has no list of entities ({describe(entities)})"
            return
        for entity in entities:
            if isinstance(entity, dict) and id_problem(entity.get("id")) is None:
                answer.names[entity["id"]] = _name(kind, entity)
        page_count = body.get("pageCount")
        if not entities or not isinstance(page_count, int) or page_number >= page_count:
            return
    answer.refused = answer.refused or f"the {kind} listing did not end within {MAX_PAGES} pages"


def _needs(kind: str) -> str:
    return f": {PERMISSIONS[kind]}" if kind in PERMISSIONS else ""


def _name(kind: str, entity: dict) -> Name:
    name, id_ = entity.get("name"), entity["id"]
    if not _usable(name):
        return Name(id_, None, reason=f"the answer's name is not usable text ({describe(name)})")
    if kind != USERS:
        return Name(id_, name)
    email, state = entity.get("email"), entity.get("state")
    return Name(
        id_,
        name,
        email=email if _usable(email) else None,
        state=state if state in ("active", "inactive", "deleted") else None,
    )


def _usable(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= NAME_CHARS
        and value.isprintable()
        and value.strip() == value
    )
