"""The Starlette application: Genesys routes, presigned media, and the ``/__sandbox`` back door.

``/__sandbox/*`` is not Genesys: it lets out-of-process users (Dagster subprocess runs, benchmarks)
read counters and ground truth, and change faults. It is never rate-limited nor counted.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recording_assets.sandbox import (
    media,
    routes_analytics,
    routes_conversations,
    routes_divisions,
    routes_gdpr,
    routes_identity,
    routes_media,
    routes_names,
    routes_recordings,
    routes_retention,
)
from recording_assets.sandbox.errors import not_found
from recording_assets.sandbox.faults import Faults
from recording_assets.sandbox.gateway import error_body
from recording_assets.sandbox.ratelimit import RateLimiter
from recording_assets.sandbox.state import SandboxState


def build_app(state: SandboxState) -> Starlette:
    async def stats(request: Request) -> Response:
        raw = request.query_params.get("log")  # ?log=N: only the last N log entries (0 = none)
        limit = int(raw) if raw and raw.isdigit() else None
        return JSONResponse(state.stats.snapshot(limit))

    async def reset(request: Request) -> Response:
        state.stats.reset()
        return JSONResponse({"reset": True})

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(state.faults.faults.to_json())
        try:
            parsed = Faults.from_mapping(json.loads(await request.body() or b"{}"))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        state.set_faults(parsed)
        return JSONResponse(parsed.to_json())

    async def recording_truth(request: Request) -> Response:
        rec = state.org.recording(request.path_params["recordingId"])
        if rec is None:
            return JSONResponse({"error": "unknown recording"}, status_code=404)
        format_id = request.query_params.get("formatId")
        body = media.body_for(state.org.seed, rec, media.container_for(rec, format_id), state.org.media_scale)
        return JSONResponse(
            {
                "recordingId": rec.id,
                "conversationId": rec.conversation_id,
                "sha256": state.org.media_sha256(rec.id, format_id),
                "size": body.size,
                "fileState": rec.file_state_at(state.now_ms()),
                "sensitive": rec.sensitive,
                "contentType": body.content_type,
            }
        )

    async def hostile(request: Request) -> Response:
        """Which conversation plays each hostile item scenario on ``?day=YYYY-MM-DD``, and what was served."""
        raw = request.query_params.get("day")
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            return JSONResponse({"error": "day must be YYYY-MM-DD"}, status_code=400)
        return JSONResponse(state.hostile.snapshot(day))

    async def fallback(request: Request) -> Response:
        correlation_id = str(uuid.uuid4())
        error = not_found(f"No route matches {request.method} {request.url.path}.")
        state.stats.record(
            t=state.clock.time(),
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            family="other",
            status=404,
            token_id=None,
        )
        headers = {
            "inin-correlation-id": correlation_id,
            **RateLimiter.anonymous(state.config.rate_limit_per_minute).headers(),
        }
        return JSONResponse(error_body(error, correlation_id), status_code=404, headers=headers)

    admin = [
        Route("/__sandbox/stats", stats, methods=["GET"]),
        Route("/__sandbox/reset", reset, methods=["POST"]),
        Route("/__sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/__sandbox/recordings/{recordingId}", recording_truth, methods=["GET"]),
        Route("/__sandbox/hostile", hostile, methods=["GET"]),
    ]
    routes = [
        *admin,
        *routes_identity.routes(state),
        *routes_divisions.routes(state),
        *routes_names.routes(state),
        *routes_analytics.routes(state),
        *routes_conversations.routes(state),
        *routes_recordings.routes(state),
        *routes_retention.routes(state),
        *routes_gdpr.routes(state),
        *routes_media.routes(state),
        Route("/{path:path}", fallback, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    ]
    return Starlette(routes=routes)
