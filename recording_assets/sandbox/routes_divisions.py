"""``GET /api/v2/authorization/divisions``: the org's divisions.

It pages as the SDK's ``get_authorization_divisions`` does (``pageSize`` default 25, ``pageNumber`` from
1; an ``AuthzDivisionEntityListing``) and, as the SDK says, requires no permission. ``division_listing``
of the config plays an answer the product cannot use: a 403, or entities that are not a list.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from recording_assets.sandbox.errors import ApiError
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.paging import entity_page
from recording_assets.sandbox.state import SandboxState


def routes(state: SandboxState) -> list[Route]:
    directory = state.org.directory
    listing = state.config.division_listing

    @api(state, "authorization")
    async def divisions(ctx: Ctx) -> Response:
        if listing == "forbidden":
            raise ApiError(403, "missing.permissions", "You are not authorized to list divisions.")
        body = entity_page(
            ctx,
            "/api/v2/authorization/divisions",
            directory.divisions,
            lambda d: {
                "id": d.id,
                "name": d.name,
                "description": "",
                "homeDivision": d.id == directory.division.id,
                "selfUri": f"/api/v2/authorization/divisions/{d.id}",
            },
        )
        if listing == "malformed":  # an answer that is not a listing: entities not a list of divisions
            body["entities"] = {"id": "not-a-list"}
        return json_response(body)

    return [Route("/api/v2/authorization/divisions", divisions, methods=["GET"])]
