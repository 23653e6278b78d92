"""GDPR requests (GeneralDataProtectionRegulationApi): ``GET /api/v2/gdpr/requests`` (paged
``GDPRRequestEntityListing``) and ``GET /api/v2/gdpr/requests/{requestId}`` (``GDPRRequest``), both needing
``gdpr:request:view``; plus ``POST /__sandbox/gdpr/requests``, which plants a request as an org admin would
have submitted it (subject, type and status as given: the sandbox never decides what a subject matches).

The sandbox does not delete its own conversations for a planted GDPR_DELETE: whether Genesys' analytics
still lists them afterwards is not documented, and serving them is the harder case for the archive (a
re-run must not bring erased recordings back).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recording_assets.sandbox.config import GDPR_VIEW
from recording_assets.sandbox.errors import not_found
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.ids import stable_uuid
from recording_assets.sandbox.state import SandboxState
from recording_assets.sandbox.timefmt import iso

REQUEST_TYPES = ("GDPR_EXPORT", "GDPR_UPDATE", "GDPR_DELETE")  # GDPRRequest.requestType
STATUSES = ("INITIATED", "SEARCHING", "UPDATING", "DELETING", "COMPLETED", "ERROR", "FINALIZING")
SUBJECT_LISTS = ("addresses", "phoneNumbers", "emailAddresses")  # GDPRSubject's identifier lists
BASE = "/api/v2/gdpr/requests"


def routes(state: SandboxState) -> list[Route]:
    planted: dict[str, dict[str, Any]] = {}  # request id -> GDPRRequest JSON, in planting order

    async def plant(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("subject"), dict):
            return JSONResponse(
                {"error": "expected {subject: {...}, requestType?, status?}"}, status_code=400
            )
        kind = body.get("requestType", "GDPR_DELETE")
        status = body.get("status", "COMPLETED")
        if kind not in REQUEST_TYPES or status not in STATUSES:
            return JSONResponse({"error": f"requestType in {REQUEST_TYPES}, status in {STATUSES}"}, 400)
        subject = {k: v for k, v in body["subject"].items() if k in (*SUBJECT_LISTS, "name")}
        rid = body.get("id") or stable_uuid(state.org.seed, "gdpr", len(planted))
        planted[rid] = {
            "id": rid,
            "name": f"GDPR request {len(planted) + 1}",
            "createdBy": {"id": stable_uuid(state.org.seed, "gdpr-admin"), "selfUri": "/api/v2/users/admin"},
            "requestType": kind,
            "createdDate": iso(state.now_ms()),
            "status": status,
            "subject": subject,
            "selfUri": f"{BASE}/{rid}",
        }
        return JSONResponse(planted[rid])

    @api(state, "gdpr.requests", (GDPR_VIEW,))
    async def list_requests(ctx: Ctx) -> Response:
        size = max(1, min(ctx.query_int("pageSize", 25), 100))
        number = max(1, ctx.query_int("pageNumber", 1))
        items = list(planted.values())
        pages = max(1, math.ceil(len(items) / size))
        listing: dict[str, Any] = {
            "entities": items[(number - 1) * size : number * size],
            "pageSize": size,
            "pageNumber": number,
            "total": len(items),
            "pageCount": pages,
            "firstUri": f"{BASE}?pageSize={size}&pageNumber=1",
            "lastUri": f"{BASE}?pageSize={size}&pageNumber={pages}",
            "selfUri": f"{BASE}?pageSize={size}&pageNumber={number}",
        }
        if number < pages:
            listing["nextUri"] = f"{BASE}?pageSize={size}&pageNumber={number + 1}"
        return json_response(listing)

    @api(state, "gdpr.request", (GDPR_VIEW,))
    async def get_request(ctx: Ctx) -> Response:
        found = planted.get(ctx.path("requestId"))
        if found is None:
            raise not_found(f"GDPR request {ctx.path('requestId')} was not found.")
        return json_response(found)

    return [
        Route("/__sandbox/gdpr/requests", plant, methods=["POST"]),
        Route(BASE, list_requests, methods=["GET"]),
        Route(BASE + "/{requestId}", get_request, methods=["GET"]),
    ]
