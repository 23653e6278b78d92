"""The names endpoints: users and queues by id in bulk, the wrap-up codes listing.

Shapes as the SDK's ``get_users`` (``UserEntityListing``), ``get_routing_queues`` (``QueueEntityListing``)
and ``get_routing_wrapupcodes`` (``WrapupCodeEntityListing``): ``entities``, ``pageSize``, ``pageNumber``,
``total``, ``pageCount`` and the page URIs. ``id`` is taken both as the SDK sends it (one value, joined with
commas) and repeated (``id=a&id=b``). Users need no permission (the SDK documents none), queues
``routing:queue:view``, wrap-up codes ``routing:wrapupCode:view``. A deleted user is left out by default
(``deleted_users="listed"``: listed with ``state: deleted``), the deleted queue and wrap-up code never
appear, and ``malformed_names`` sends one queue's name as a number.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from recording_assets.sandbox.config import QUEUE_VIEW, WRAPUP_VIEW
from recording_assets.sandbox.errors import bad_request
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.org import DELETED_QUEUE, DELETED_WRAPUP
from recording_assets.sandbox.paging import entity_page
from recording_assets.sandbox.state import SandboxState

BULK_IDS_MAX = 100


def routes(state: SandboxState) -> list[Route]:
    directory, config = state.org.directory, state.config
    division = {"id": directory.division.id, "name": directory.division.name, "selfUri": ""}

    def user(agent) -> dict | None:
        deleted = directory.agent_deleted(agent)
        if deleted and config.deleted_users == "absent":
            return None
        return {
            "id": agent.id,
            "name": agent.name,
            "division": division,
            "email": directory.email_of(agent),
            "state": "deleted" if deleted else "active",
            "username": directory.email_of(agent),
            "version": 1,
            "selfUri": f"/api/v2/users/{agent.id}",
        }

    def queue(index: int, named) -> dict | None:
        if index == DELETED_QUEUE:
            return None
        malformed = config.malformed_names and index == 0
        return {
            "id": named.id,
            "name": 42 if malformed else named.name,
            "division": division,
            "memberCount": 5,
            "selfUri": f"/api/v2/routing/queues/{named.id}",
        }

    def listing(ctx: Ctx, path: str, entities: list[dict]) -> Response:
        return json_response(entity_page(ctx, path, entities, lambda made: made))

    def asked_ids(ctx: Ctx) -> set[str] | None:
        values = [
            part for value in ctx.request.query_params.getlist("id") for part in value.split(",") if part
        ]
        if len(values) > BULK_IDS_MAX:
            raise bad_request(f"at most {BULK_IDS_MAX} ids a request")
        return set(values) if values else None

    @api(state, "users")
    async def users(ctx: Ctx) -> Response:
        ids = asked_ids(ctx)
        found = [user(a) for a in directory.agents if ids is None or a.id in ids]
        return listing(ctx, "/api/v2/users", [u for u in found if u is not None])

    @api(state, "routing", any_of=(QUEUE_VIEW,))
    async def queues(ctx: Ctx) -> Response:
        ids = asked_ids(ctx)
        found = [queue(i, q) for i, q in enumerate(directory.queues) if ids is None or q.id in ids]
        return listing(ctx, "/api/v2/routing/queues", [q for q in found if q is not None])

    @api(state, "routing", any_of=(WRAPUP_VIEW,))
    async def wrapupcodes(ctx: Ctx) -> Response:
        codes = [
            {
                "id": w.id,
                "name": w.name,
                "division": division,
                "selfUri": f"/api/v2/routing/wrapupcodes/{w.id}",
            }
            for i, w in enumerate(directory.wrapups)
            if i != DELETED_WRAPUP
        ]
        return listing(ctx, "/api/v2/routing/wrapupcodes", codes)

    return [
        Route("/api/v2/users", users, methods=["GET"]),
        Route("/api/v2/routing/queues", queues, methods=["GET"]),
        Route("/api/v2/routing/wrapupcodes", wrapupcodes, methods=["GET"]),
    ]
