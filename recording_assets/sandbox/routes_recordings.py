"""Recording metadata, single/plural recording fetches, batch downloads and the retention query."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from recording_assets.sandbox import hostile as hostile_answers
from recording_assets.sandbox import media
from recording_assets.sandbox.batch import ERROR_TRANSIENT, BatchJob, BatchOutcome, content_type
from recording_assets.sandbox.config import RECORDING_VIEW, VIEW_SENSITIVE
from recording_assets.sandbox.errors import ApiError, bad_request, not_found
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.ids import stable_uuid
from recording_assets.sandbox.org import ARCHIVED, DELETED, RETENTION_DAYS, UPLOADING, Conversation, Recording
from recording_assets.sandbox.presign import MediaGrant
from recording_assets.sandbox.retention import RESTORATIONS_REPORTED, RESTORING
from recording_assets.sandbox.state import SandboxState
from recording_assets.sandbox.timefmt import DAY_MS, iso, stamp

REGION = "us-east-1"
_FORMAT_PARAMS: dict[str, tuple[str, str, frozenset[str] | set[str]]] = {
    "chat": ("chatFormatId", "ZIP", {"ZIP", "NONE"}),
    "message": ("messageFormatId", "ZIP", {"ZIP", "NONE"}),
    "email": ("emailFormatId", "EML", {"EML", "NONE"}),
}


def metadata(rec: Recording, now_ms: int, times: str = "millis") -> dict[str, Any]:
    """RecordingMetadata as ``GET .../recordingmetadata`` returns it, timestamps in the dialect's form.

    The SDK documents its ``startTime`` as "for screen recordings. Null for other types", and gives it a
    ``region`` (where the file is stored) that the ``Recording`` model does not have."""
    out = recording_fields(rec, now_ms, times)
    if rec.media != "screen":
        del out["startTime"]
    out["region"] = REGION
    return out


def recording_fields(rec: Recording, now_ms: int, times: str) -> dict[str, Any]:
    """The fields RecordingMetadata and Recording have in common."""
    state = rec.file_state_at(now_ms)
    out: dict[str, Any] = {
        "id": rec.id,
        "conversationId": rec.conversation_id,
        "startTime": stamp(rec.start_ms, times),
    }
    if state != UPLOADING:
        out["endTime"] = stamp(rec.end_ms, times)
    out["media"] = rec.media
    if rec.subtype:
        out["mediaSubtype"] = rec.subtype
    out["fileState"] = state
    if rec.restore_expiration_ms is not None:
        out["restoreExpirationTime"] = stamp(rec.restore_expiration_ms, times)
    if rec.archive_date_ms is not None:
        out["archiveDate"] = stamp(rec.archive_date_ms, times)
        out["archiveMedium"] = "CLOUDARCHIVE"
    if rec.delete_date_ms is not None:
        out["deleteDate"] = stamp(rec.delete_date_ms, times)
    out["sessionId"] = rec.session_id
    # Deprecated counters: "Always returns 10000 since the restoration limit is no longer enforced" (SDK).
    out["maxAllowedRestorationsForOrg"] = RESTORATIONS_REPORTED
    out["remainingRestorationsAllowedForOrg"] = RESTORATIONS_REPORTED
    out["selfUri"] = f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}"
    return out


def routes(state: SandboxState) -> list[Route]:
    org = state.org

    def conversation(ctx: Ctx) -> Conversation:
        conv = org.conversation(ctx.path("conversationId"))
        if conv is None or not conv.started(ctx.now_ms):
            raise not_found(f"Conversation {ctx.path('conversationId')} was not found.")
        return conv

    def requested_format(ctx: Ctx, rec: Recording) -> str | None:
        if rec.media in _FORMAT_PARAMS:
            name, default, allowed = _FORMAT_PARAMS[rec.media]
        elif rec.media == "audio":
            name, default, allowed = "formatId", "WEBM", media.AUDIO_FORMAT_IDS
        else:
            return None  # screen recordings come as they are
        value = (ctx.query(name) or default).upper()
        if value not in allowed:
            raise bad_request(f"{name} must be one of {sorted(allowed)}")
        return value

    def recording_view(ctx: Ctx, rec: Recording) -> tuple[int, dict[str, Any]]:
        """(status, Recording body) for one recording as the single/plural GETs show it."""
        body = recording_fields(rec, ctx.now_ms, state.config.dialect.timestamps)
        body["recordingFileRole"] = "CUSTOMER_EXPERIENCE"
        created = rec.end_ms if body["fileState"] != UPLOADING else rec.start_ms
        body["creationTime"] = stamp(created, state.config.dialect.timestamps)
        body["outputDurationMs"] = rec.duration_ms
        if body["fileState"] in (ARCHIVED, DELETED, UPLOADING, RESTORING):
            # No playable media: the SDK documents startTime and endTime as null then.
            body.pop("startTime")
            body.pop("endTime", None)
            return 200, body
        container = media.container_for(rec, requested_format(ctx, rec))
        if (
            media.is_transcode(rec, container)
            and state.transcode_poll(rec.id, container) <= state.config.transcode_polls
        ):
            body["estimatedTranscodeTimeMs"] = max(500, rec.duration_ms // 20)
            return 202, body
        size = media.body_for(org.seed, rec, container, org.media_scale).size
        grant = MediaGrant(rec.id, container, ctx.query_bool("download"))
        url = state.signer.sign(ctx.base_url(), grant, ctx.now_ms, state.config.url_ttl_s)
        body["mediaUris"] = {"0": {"mediaUri": url}}
        body["outputSizeInBytes"] = size
        body["estimatedTranscodeTimeMs"] = 0
        body["actualTranscodeTimeMs"] = (
            max(200, rec.duration_ms // 20) if media.is_transcode(rec, container) else 0
        )
        return 200, body

    @api(state, "recording.metadata", RECORDING_VIEW)
    async def recording_metadata(ctx: Ctx) -> Response:
        conv = conversation(ctx)
        scenario = state.hostile.scenario(conv)
        if scenario == "html_metadata":
            state.hostile.played(scenario)
            return Response(hostile_answers.HTML_PAGE, status_code=200, media_type="text/html")
        if scenario == "gzip_bomb":
            state.hostile.played(scenario)
            # built once per size, off the event loop (seconds for hundreds of MiB)
            bomb = await asyncio.to_thread(hostile_answers.gzip_bomb, state.hostile.hostile.gzip_bomb_bytes)
            headers = {"content-encoding": "gzip"}
            return Response(bomb, status_code=200, media_type="application/json", headers=headers)
        items = [metadata(rec, ctx.now_ms, state.config.dialect.timestamps) for rec in conv.recordings]
        override = state.hostile.field_override(scenario, "metadata")
        if scenario is not None and (scenario == "numeric_file_state" or override is not None):
            state.hostile.played(scenario)
            items = [hostile_answers.metadata_item(scenario, item, override) for item in items]
        return json_response(items)

    @api(state, "recording.get", RECORDING_VIEW)
    async def recordings(ctx: Ctx) -> Response:
        conv = conversation(ctx)
        views = [recording_view(ctx, rec) for rec in conv.recordings]
        status = 202 if any(s == 202 for s, _ in views) else 200
        return json_response([body for _, body in views], status)

    @api(state, "recording.get", RECORDING_VIEW)
    async def one_recording(ctx: Ctx) -> Response:
        conv = conversation(ctx)
        rec = next((r for r in conv.recordings if r.id == ctx.path("recordingId")), None)
        if rec is None:
            raise not_found(f"Recording {ctx.path('recordingId')} was not found.")
        if rec.file_state_at(ctx.now_ms) == DELETED:
            status = state.faults.faults.deleted_status
            raise ApiError(
                status, "not.found" if status == 404 else "gone", f"Recording {rec.id} has been deleted."
            )
        status, body = recording_view(ctx, rec)
        return json_response(body, status)

    @api(state, "recording.batch.submit", RECORDING_VIEW)
    async def submit_batch(ctx: Ctx) -> Response:
        job = state.batches.submit(ctx.token.client_id, await ctx.json(), ctx.now_ms, ctx.has(VIEW_SENSITIVE))
        return json_response({"id": job.id, "selfUri": f"/api/v2/recording/batchrequests/{job.id}"})

    @api(state, "recording.batch.poll")
    async def poll_batch(ctx: Ctx) -> Response:
        job = state.batches.get(ctx.path("jobId"))
        if job is None or job.client_id != ctx.token.client_id:
            raise not_found(f"Batch download job {ctx.path('jobId')} was not found.")
        if job.broken:
            raise ApiError(
                503, "service.unavailable", "The service is temporarily unavailable. Please retry."
            )
        return json_response(batch_status(ctx, job))

    def batch_status(ctx: Ctx, job: BatchJob) -> dict[str, Any]:
        results = []
        for outcome in job.ready(ctx.now_ms):
            item: dict[str, Any] = {"conversationId": outcome.conversation_id}
            if outcome.recording_id:
                item["recordingId"] = outcome.recording_id
            if outcome.container:
                grant = MediaGrant(outcome.recording_id or "", outcome.container, True)
                # Signed when the result was produced: a late poll can hand out an already-expired link.
                item["resultUrl"] = state.signer.sign(
                    ctx.base_url(), grant, outcome.ready_ms, state.config.url_ttl_s
                )
                item["contentType"] = content_type(outcome.container)
            else:
                item["errorMsg"] = outcome.error_msg
            scenario = state.hostile.scenario(org.conversation(outcome.conversation_id))
            if scenario == "unasked_retry_results" and "resultUrl" in item:
                results += unasked_retry_results(ctx, job, outcome, item)
                continue
            if scenario is not None and "resultUrl" in item:
                override = state.hostile.field_override(scenario, "batch")
                changed = hostile_answers.batch_item(scenario, dict(item), override)
                if changed != item:
                    state.hostile.played(scenario)
                item = changed
            results.append(item)
        return {
            "id": job.id,
            "jobId": job.id,
            "expectedResultCount": len(job.outcomes),
            "resultCount": len(results),
            "errorCount": sum(1 for r in results if "errorMsg" in r),
            "status": "Completed" if job.completed(ctx.now_ms) else "InProgress",
            "results": results,
            "selfUri": f"/api/v2/recording/batchrequests/{job.id}",
        }

    def unasked_retry_results(
        ctx: Ctx, job: BatchJob, outcome: BatchOutcome, item: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The first job holding the recording answers it with an error (so the archiver asks again for it
        alone); a later job answers it, plus a result for a recording of the conversation nobody asked for
        (the recording's own URL) and one for a conversation of another day, each with a working URL."""
        state.hostile.played("unasked_retry_results")
        if state.hostile.first_batch_job(item["recordingId"], job.id):
            return [{**{k: item[k] for k in ("conversationId", "recordingId")}, "errorMsg": ERROR_TRANSIENT}]
        conversation = org.conversation(outcome.conversation_id)
        assert conversation is not None
        stranger = state.hostile.stranger(conversation)
        grant = MediaGrant(stranger.id, stranger.codec, True)
        unasked = {**item, "recordingId": stable_uuid(org.seed, "unasked", item["recordingId"])}
        other_day = {
            "conversationId": stranger.conversation_id,
            "recordingId": stranger.id,
            "resultUrl": state.signer.sign(ctx.base_url(), grant, ctx.now_ms, state.config.url_ttl_s),
            "contentType": content_type(stranger.codec),
        }
        return [item, unasked, other_day]

    @api(state, "recording.retention", ("recording:recording:view",))
    async def retention_query(ctx: Ctx) -> Response:
        threshold = ctx.query("retentionThresholdDays")
        if threshold is None or not threshold.isdigit():
            raise bad_request("retentionThresholdDays is required and must be a whole number of days")
        page_size = ctx.query_int("pageSize", 25)
        if not 1 <= page_size <= 500:
            raise bad_request("pageSize must be between 1 and 500")
        days = int(threshold)
        retained_longer = state.config.dialect.retention_threshold == "retained_longer"
        if retained_longer:
            # The SDK's words: recordings "retained for more days than the provided value", i.e. created
            # more than N days ago and not deleted yet: most of the org's retained history for a small N.
            start, end = ctx.now_ms - (RETENTION_DAYS + 1) * DAY_MS, ctx.now_ms - days * DAY_MS
        else:  # the other reading: deleteDate within the next N days (conversations about RETENTION_DAYS old)
            start = ctx.now_ms - RETENTION_DAYS * DAY_MS
            end = min(start + days * DAY_MS, ctx.now_ms)
        cursor_ms, _, cursor_skip = (ctx.query("cursor") or "").partition(".")
        resume_ms = int(cursor_ms) if cursor_ms.isdigit() else start
        skip = int(cursor_skip) if cursor_skip.isdigit() else 0
        entities: list[dict[str, Any]] = []
        next_cursor = None
        run_ms, run_count = -1, 0  # recordings seen of conversations starting at run_ms (the cursor's unit)
        for conv in org.conversations_between(max(start, resume_ms), max(end, start + 1)):
            for rec in conv.recordings:
                if conv.start_ms != run_ms:
                    run_ms, run_count = conv.start_ms, 0
                run_count += 1
                if conv.start_ms == resume_ms and run_count <= skip:
                    continue
                delete_ms = rec.delete_date_ms
                gone = rec.file_state_at(ctx.now_ms) == DELETED or (
                    delete_ms is not None and delete_ms <= ctx.now_ms
                )
                if gone or (retained_longer and rec.end_ms > end):
                    continue  # deleted (by a sweep, or its deleteDate passed), or not retained that long yet
                if len(entities) == page_size:
                    next_cursor = f"{run_ms}.{run_count - 1}"
                    break
                entities.append(
                    {
                        "conversationId": rec.conversation_id,
                        "recordingId": rec.id,
                        "archiveDate": iso(rec.archive_date_ms) if rec.archive_date_ms else None,
                        "archiveMedium": "CLOUDARCHIVE" if rec.archive_date_ms else None,
                        "deleteDate": iso(delete_ms) if delete_ms is not None else None,
                        "creationTime": iso(rec.end_ms),
                    }
                )
            if next_cursor:
                break
        body: dict[str, Any] = {"entities": [{k: v for k, v in e.items() if v is not None} for e in entities]}
        base = f"/api/v2/recordings/retention/query?retentionThresholdDays={threshold}&pageSize={page_size}"
        body["selfUri"] = base
        if next_cursor:
            body["nextUri"] = f"{base}&cursor={next_cursor}"
        return json_response(body)

    return [
        Route(
            "/api/v2/conversations/{conversationId}/recordingmetadata", recording_metadata, methods=["GET"]
        ),
        Route("/api/v2/conversations/{conversationId}/recordings", recordings, methods=["GET"]),
        Route(
            "/api/v2/conversations/{conversationId}/recordings/{recordingId}", one_recording, methods=["GET"]
        ),
        Route("/api/v2/recording/batchrequests", submit_batch, methods=["POST"]),
        Route("/api/v2/recording/batchrequests/{jobId}", poll_batch, methods=["GET"]),
        Route("/api/v2/recordings/retention/query", retention_query, methods=["GET"]),
    ]
