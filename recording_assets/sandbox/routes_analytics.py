"""``/api/v2/analytics/conversations/details/...``: the synchronous query and the async jobs."""

from __future__ import annotations

import dataclasses

from starlette.responses import Response
from starlette.routing import Route

from recording_assets.sandbox.analytics import (
    approximate_total,
    drift_for,
    parse_details_query,
    render_conversation,
)
from recording_assets.sandbox.config import ANALYTICS_VIEW
from recording_assets.sandbox.errors import bad_request, not_found
from recording_assets.sandbox.gateway import Ctx, api, json_response
from recording_assets.sandbox.hostile import conversation_answer
from recording_assets.sandbox.jobs import (
    DEFAULT_RESULTS_PAGE,
    MAX_RESULTS_PAGE,
    DetailsJob,
    decode_cursor,
    encode_cursor,
)
from recording_assets.sandbox.state import SandboxState
from recording_assets.sandbox.timefmt import DAY_MS, iso

_BASE = "/api/v2/analytics/conversations/details"


def routes(state: SandboxState) -> list[Route]:
    hostile = state.hostile.hostile

    def render(conv, now_ms: int) -> dict:
        scenario = state.hostile.scenario(conv)
        rendered = render_conversation(conv, now_ms)
        if scenario is None:
            return rendered
        state.hostile.played(scenario)
        return conversation_answer(scenario, rendered, state.hostile.field_override(scenario, "analytics"))

    @api(state, "analytics.query", ANALYTICS_VIEW)
    async def details_query(ctx: Ctx) -> Response:
        query = parse_details_query(await ctx.json(), ctx.now_ms)
        drift = drift_for(state.config.seed, query) if state.faults.faults.pagination_drift else 0
        if hostile.repeating_pages and query.page_number > 1:
            state.hostile.played("repeating_pages")
            query = dataclasses.replace(query, page_number=1)  # page 1 again, whatever was asked
        page, total = state.queries.page(query, ctx.now_ms, drift)
        if state.config.dialect.total_hits == "approximate":
            total = approximate_total(state.config.seed, query, total)
        if hostile.understated_total and total:
            state.hostile.played("understated_total")
            total = 1
        if not page:
            return json_response({"totalHits": total})  # the real API omits an empty conversations list
        return json_response({"conversations": [render(c, ctx.now_ms) for c in page], "totalHits": total})

    @api(state, "analytics.jobs", ANALYTICS_VIEW)
    async def submit_job(ctx: Ctx) -> Response:
        job = state.jobs.submit(
            ctx.token.client_id, await ctx.json(), ctx.now_ms, ends=state.faults.faults.details_job_ends
        )
        return json_response({"jobId": job.id}, 202)

    @api(state, "analytics.jobs", ANALYTICS_VIEW)
    async def availability(ctx: Ctx) -> Response:
        answer = state.faults.faults.availability_answer
        if answer == "missing":
            return json_response({})
        if answer == "malformed":
            return json_response({"dataAvailabilityDate": "yesterday, roughly"})
        ahead_ms = DAY_MS if answer == "future" else -state.jobs.data_lag_ms
        return json_response({"dataAvailabilityDate": iso(ctx.now_ms + ahead_ms)})

    @api(state, "analytics.jobs", ANALYTICS_VIEW)
    async def job_status(ctx: Ctx) -> Response:
        job = _own_job(ctx)
        status = job.state(ctx.now_ms)
        body = {
            "state": status,
            "submissionDate": iso(job.submitted_ms),
            "expirationDate": iso(job.expires_ms),
        }
        if status == "FULFILLED":
            body["completionDate"] = iso(job.fulfilled_ms)
        elif status == "FAILED":
            body["errorMessage"] = "The sandbox failed this job, as asked."
        return json_response(body)

    @api(state, "analytics.jobs", ANALYTICS_VIEW)
    async def job_results(ctx: Ctx) -> Response:
        job = _own_job(ctx)
        status = job.state(ctx.now_ms)
        if status != "FULFILLED":
            raise bad_request(f"Results are not available: job {job.id} is {status}, not FULFILLED.")
        page_size = ctx.query_int("pageSize", DEFAULT_RESULTS_PAGE)
        if page_size < 1:
            raise bad_request("pageSize must be 1 or greater")
        reading = state.config.dialect.job_results_page
        cap = MAX_RESULTS_PAGE if reading == "up_to_1000" else 100
        if reading == "refuses_over_100" and page_size > cap:
            raise bad_request(f"pageSize must be between 1 and {cap}")
        page_size = min(page_size, cap)
        cursor = ctx.query("cursor")
        offset = decode_cursor(cursor) if cursor else 0
        page = job.conversations[offset : offset + page_size]
        body: dict = {}
        if page:
            body["conversations"] = [render(c, ctx.now_ms) for c in page]
        if offset + page_size < len(job.conversations):
            body["cursor"] = encode_cursor(offset + page_size)
            if hostile.cycling_cursor and offset >= 2 * page_size:
                state.hostile.played("cycling_cursor")
                body["cursor"] = encode_cursor(page_size)  # back to the second page's cursor: A -> B -> A
        body["dataAvailabilityDate"] = iso(job.data_availability_ms)
        return json_response(body)

    @api(state, "analytics.jobs", ANALYTICS_VIEW)
    async def delete_job(ctx: Ctx) -> Response:
        job = _own_job(ctx)
        state.jobs.delete(job.id)
        return Response(status_code=204)

    def _own_job(ctx: Ctx) -> DetailsJob:
        job = state.jobs.get(ctx.path("jobId"))
        if job is None or job.client_id != ctx.token.client_id:
            raise not_found(f"Job {ctx.path('jobId')} was not found.")
        return job

    return [
        Route(f"{_BASE}/query", details_query, methods=["POST"]),
        Route(f"{_BASE}/jobs", submit_job, methods=["POST"]),
        Route(f"{_BASE}/jobs/availability", availability, methods=["GET"]),
        Route(f"{_BASE}/jobs/{{jobId}}", job_status, methods=["GET"]),
        Route(f"{_BASE}/jobs/{{jobId}}", delete_job, methods=["DELETE"]),
        Route(f"{_BASE}/jobs/{{jobId}}/results", job_results, methods=["GET"]),
    ]
