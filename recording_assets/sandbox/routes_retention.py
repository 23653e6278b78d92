"""Retention routes (RecordingApi): restore an archived recording, deletion protection, orphan recordings,
recording settings and annotations; plus ``/__sandbox/retention/sweep``, the org's retention deleting.

Shapes: the SDK's ``Recording`` (the restore answer), ``ConversationDeletionProtectionQuery`` (the
protection body), ``ManageDeleteProtectionResult`` (its answer: ``failedUpdates`` for what the org
could not protect), ``AddressableEntityRef`` list (protected conversations), ``OrphanRecordingListing``,
``RecordingSettings`` and ``Annotation`` list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recording_assets.sandbox.config import (
    ANNOTATION_VIEW,
    EDIT_RETENTION,
    ORPHAN_VIEW,
    PROTECT,
    RECORDING_VIEW,
    RESTORE,
    SCREEN_RESTORE,
    UNPROTECT,
)
from recording_assets.sandbox.errors import ApiError, bad_request, not_found
from recording_assets.sandbox.gateway import Ctx, api, json_response, missing_permissions_message
from recording_assets.sandbox.org import Recording
from recording_assets.sandbox.orphans import ORPHAN_DAYS, annotations_for, has_conversation, orphans_for_day
from recording_assets.sandbox.retention import (
    ARCHIVED,
    CAP_REACHED,
    PROTECTION_CAP,
    RestoreRefused,
    policy_based,
)
from recording_assets.sandbox.routes_recordings import recording_fields
from recording_assets.sandbox.state import SandboxState
from recording_assets.sandbox.timefmt import day_of_ms, parse_iso, stamp

ORPHAN_CAP = 500  # without hasConversation=true, Genesys lists at most this many (docs/genesys-api.md §3.3)
PROTECTION_LIMIT = 100  # conversation ids per protection request


def routes(state: SandboxState) -> list[Route]:
    org = state.org

    def recording(ctx: Ctx) -> Recording:
        conv = org.conversation(ctx.path("conversationId"))
        rec = next((r for r in (conv.recordings if conv else ()) if r.id == ctx.path("recordingId")), None)
        if conv is None or rec is None or not conv.started(ctx.now_ms):
            raise not_found(f"Recording {ctx.path('recordingId')} was not found.")
        return rec

    def require(ctx: Ctx, *any_of: str) -> None:
        if not any(ctx.has(p) for p in any_of):
            raise ApiError(403, "missing.any.permissions", missing_permissions_message(any_of))

    @api(state, "recording.restore", RECORDING_VIEW)
    async def update_retention(ctx: Ctx) -> Response:
        rec = recording(ctx)
        body = await ctx.json()
        if not isinstance(body, dict) or not isinstance(body.get("archiveDate"), str):
            raise bad_request("archiveDate is required: the date until which the recording is restored")
        until_ms = _date(body, "archiveDate")
        current = rec.file_state_at(ctx.now_ms)
        restoring = current == ARCHIVED
        # The SDK: restore "is required when restoring an archived recording", per recording kind.
        require(ctx, (SCREEN_RESTORE if rec.media == "screen" else RESTORE) if restoring else EDIT_RETENTION)
        delete_ms = rec.delete_date_ms
        if "deleteDate" in body:
            asked = _date(body, "deleteDate") if body["deleteDate"] is not None else None
            if asked != delete_ms:
                require(ctx, EDIT_RETENTION)  # changing the delete date is editing retention
            delete_ms = asked
        elif state.config.dialect.restore_body == "replace":
            delete_ms = None  # a body without the date removes it (docs/genesys-behaviours.md)
        try:
            org.retention.restore(rec.id, current, until_ms, ctx.now_ms, delete_ms)
        except RestoreRefused as exc:
            raise bad_request(str(exc), "recording.restore.refused") from None
        if delete_ms != rec.delete_date_ms:
            org.retention.set_delete_date(rec.id, delete_ms)
        times = state.config.dialect.timestamps
        out = recording_fields(rec, ctx.now_ms, times)
        for name in ("startTime", "endTime"):
            out.pop(name, None)  # no playable media while restoring: the SDK documents them as null then
        out["recordingFileRole"] = "CUSTOMER_EXPERIENCE"
        out["creationTime"] = stamp(rec.end_ms, times)
        out["outputDurationMs"] = rec.duration_ms
        return json_response(out)

    def _date(body: dict, name: str) -> int:
        try:
            return parse_iso(str(body[name]))
        except ValueError:
            raise bad_request(f"{name} {body[name]!r} is not an ISO-8601 date-time") from None

    async def protection_ids(ctx: Ctx) -> list[str]:
        body = await ctx.json()
        ids = body.get("conversationIds") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad_request("conversationIds must be a list of conversation ids")
        if len(ids) > PROTECTION_LIMIT:
            raise bad_request(f"at most {PROTECTION_LIMIT} conversationIds per request")
        return ids

    def policy(conversation_id: str) -> bool:
        return org.conversation(conversation_id) is not None and policy_based(org.seed, conversation_id)

    @api(state, "recording.protection", (PROTECT, UNPROTECT))
    async def set_protection(ctx: Ctx) -> Response:
        raw = (ctx.query("protect") or "").lower()
        if raw not in ("true", "false"):
            raise bad_request("protect must be true (apply) or false (revoke)")
        protect = raw == "true"
        require(ctx, PROTECT if protect else UNPROTECT)
        ids = await protection_ids(ctx)
        ledger = org.retention
        if protect and state.config.dialect.protection_refusal == "error_400":
            new = [c for c in set(ids) - ledger.protected(ids) if policy(c)]
            if len(new) > ledger.room():
                raise bad_request(
                    f"At most {PROTECTION_CAP} conversations can be protected per organization.", CAP_REACHED
                )
        failed = ledger.protect(ids, protect, policy)
        return json_response({"failedUpdates": [f.to_json() for f in failed]})

    @api(state, "recording.protection", None)
    async def list_protected(ctx: Ctx) -> Response:
        """Protected by anyone: the product's holds and other parties' legal holds alike."""
        protected = sorted(org.retention.protected(await protection_ids(ctx)))
        return json_response([{"id": c, "selfUri": f"/api/v2/conversations/{c}"} for c in protected])

    @api(state, "recording.orphans", (ORPHAN_VIEW,))
    async def orphans(ctx: Ctx) -> Response:
        page_size, page_number = ctx.query_int("pageSize", 25), ctx.query_int("pageNumber", 1)
        if not 1 <= page_size <= 100 or page_number < 1:
            raise bad_request("pageSize must be within 1..100 and pageNumber at least 1")
        today = day_of_ms(ctx.now_ms)
        every = []
        for back in range(ORPHAN_DAYS, -1, -1):
            day = today - dt.timedelta(days=back)
            every += [o for o in orphans_for_day(org.seed, day, state.config.orphans_per_day)]
        every = [o for o in every if parse_iso(o["createdTime"]) <= ctx.now_ms]
        if ctx.query_bool("hasConversation"):
            every = [o for o in every if has_conversation(o)]
        else:
            every = every[-ORPHAN_CAP:]
        every.reverse()  # newest first
        page = every[(page_number - 1) * page_size : page_number * page_size]
        count = max(1, -(-len(every) // page_size))
        base = f"/api/v2/orphanrecordings?pageSize={page_size}"
        body: dict[str, Any] = {
            "entities": page,
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": len(every),
            "firstUri": f"{base}&pageNumber=1",
            "selfUri": f"{base}&pageNumber={page_number}",
            "lastUri": f"{base}&pageNumber={count}",
            "pageCount": count,
        }
        if page_number < count:
            body["nextUri"] = f"{base}&pageNumber={page_number + 1}"
        if page_number > 1:
            body["previousUri"] = f"{base}&pageNumber={page_number - 1}"
        return json_response(body)

    @api(state, "recording.settings", None)
    async def settings(ctx: Ctx) -> Response:
        ttl_minutes = max(2, min(60, state.config.url_ttl_s // 60))
        return json_response(
            {
                "maxSimultaneousStreams": 5,
                "maxConfigurableScreenRecordingStreams": 2,
                "regionalRecordingStorageEnabled": False,
                "recordingPlaybackUrlTtl": ttl_minutes,
                "recordingBatchDownloadUrlTtl": ttl_minutes,
            }
        )

    @api(state, "recording.annotations", (ANNOTATION_VIEW, *RECORDING_VIEW[:2]))
    async def annotations(ctx: Ctx) -> Response:
        return json_response(annotations_for(org.seed, recording(ctx)))

    async def sweep(request: Request) -> Response:
        """Not Genesys: the org's retention deletes these conversations' recordings now, but the protected."""
        body = await request.json() if await request.body() else {}
        ids = list(body.get("conversationIds") or [])
        if body.get("day"):
            ids += [c.id for c in org.conversations_for_day(dt.date.fromisoformat(body["day"]))]
        return JSONResponse(state.retention_sweep(ids).to_json())

    return [
        Route("/__sandbox/retention/sweep", sweep, methods=["POST"]),
        Route(
            "/api/v2/conversations/{conversationId}/recordings/{recordingId}",
            update_retention,
            methods=["PUT"],
        ),
        Route(
            "/api/v2/conversations/{conversationId}/recordings/{recordingId}/annotations",
            annotations,
            methods=["GET"],
        ),
        Route("/api/v2/recordings/deletionprotection", set_protection, methods=["PUT"]),
        Route("/api/v2/recordings/deletionprotection", list_protected, methods=["POST"]),
        Route("/api/v2/orphanrecordings", orphans, methods=["GET"]),
        Route("/api/v2/recording/settings", settings, methods=["GET"]),
    ]
