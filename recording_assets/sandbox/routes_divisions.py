"""``GET /api/v2/authorization/divisions``: the org's divisions.

It pages as the SDK's ``get_authorization_divisions`` does (``pageSize`` default 25, ``pageNumber`` from
1; an ``AuthzDivisionEntityListing``) and, as the SDK says, requires no permission. ``division_listing``
of the config plays an answer the product cannot use: a 403, or entities that are not a list.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from recording_assets.sandbox.errors import ApiError, bad_request
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.state import SandboxState

PAGE_SIZE_MAX = 100  # not stated by the SDK; the product asks for 25


def routes(state: SandboxState) -> list[Route]:
    directory = state.org.directory
    listing = state.config.division_listing

    @api(state, "authorization")
    async def divisions(ctx: Ctx) -> Response:
        if listing == "forbidden":
            raise ApiError(403, "missing.permissions", "You are not authorized to list divisions.")
        page_size, page_number = ctx.query_int("pageSize", 25), ctx.query_int("pageNumber", 1)
        if not 1 <= page_size <= PAGE_SIZE_MAX or page_number < 1:
            raise bad_request(f"pageSize must be within 1..{PAGE_SIZE_MAX} and pageNumber at least 1")
        everything = directory.divisions
        page = everything[(page_number - 1) * page_size : page_number * page_size]
        page_count = max(1, -(-len(everything) // page_size))
        entities = [
            {
                "id": d.id,
                "name": d.name,
                "description": "",
                "homeDivision": d.id == directory.division.id,
                "selfUri": f"/api/v2/authorization/divisions/{d.id}",
            }
            for d in page
        ]
        uri = "/api/v2/authorization/divisions?pageSize={}&pageNumber={}"
        body: dict = {
            "entities": entities,
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": len(everything),
            "pageCount": page_count,
            "firstUri": uri.format(page_size, 1),
            "lastUri": uri.format(page_size, page_count),
            "selfUri": uri.format(page_size, page_number),
        }
        if page_number < page_count:
            body["nextUri"] = uri.format(page_size, page_number + 1)
        if listing == "malformed":  # an answer that is not a listing: entities not a list of divisions
            body["entities"] = {"id": "not-a-list"}
        return json_response(body)

    return [Route("/api/v2/authorization/divisions", divisions, methods=["GET"])]
