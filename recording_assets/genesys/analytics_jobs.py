"""The asynchronous details-jobs API (docs/genesys-api.md §3.2): waiting for a job, and its results pager,
bounded (a repeated cursor, a page without a new id, ``max_pages``: each a stop recorded on the
``Discovery``, not an error)."""

from __future__ import annotations

from typing import Any

from recording_assets.clock import Clock
from recording_assets.genesys.errors import JobFailedError
from recording_assets.genesys.fields import enum_text, required_dict
from recording_assets.genesys.found import Discovery, Seen
from recording_assets.genesys.redact import clean_text
from recording_assets.genesys.transport import Transport

JOBS_PATH = "/api/v2/analytics/conversations/details/jobs"
PERMISSION = "analytics:conversationDetail:view"
MAX_CURSOR_CHARS = 4096


async def wait_for_job(
    transport: Transport, clock: Clock, job_id: str, *, initial_s: float, max_s: float, timeout_s: float
) -> None:
    """Poll the job until FULFILLED (``JobFailedError`` when it fails, is cancelled, expires or times out)."""
    delay = initial_s
    deadline = clock.time() + timeout_s
    while True:
        await clock.sleep(delay)
        status = required_dict(
            (
                await transport.api(
                    "GET", f"{JOBS_PATH}/{job_id}", family="analytics.jobs", permission=PERMISSION
                )
            ).json(),
            field="job status",
        )
        state = enum_text(status.get("state"), field="state", problems=[])
        if state == "FULFILLED":
            break
        if state in ("FAILED", "CANCELLED", "EXPIRED"):
            why = clean_text(status.get("errorMessage") or "no reason given", 300)
            raise JobFailedError(f"analytics details job {job_id} ended {state}: {why}")
        if clock.time() > deadline:
            raise JobFailedError(f"analytics details job {job_id} still {state} after {timeout_s:.0f}s")
        delay = min(max_s, delay * 1.5)


async def page_results(
    transport: Transport, job_id: str, *, page_size: int, max_pages: int, seen: Seen, found: Discovery
) -> None:
    """Every page of the job's results into ``seen``, following the cursor within the bounds."""
    cursor = None
    cursors: set[str] = set()
    job_ids: set[str] = set()
    for number in range(1, max_pages + 1):
        params: dict[str, Any] = {"pageSize": page_size}
        if cursor:
            params["cursor"] = cursor
        page = required_dict(
            (
                await transport.api(
                    "GET",
                    f"{JOBS_PATH}/{job_id}/results",
                    family="analytics.jobs",
                    params=params,
                    permission=PERMISSION,
                )
            ).json(),
            field="job results page",
        )
        found.pages += 1
        ids, count = await seen.absorb(page)
        new = set(ids) - job_ids
        job_ids.update(ids)
        cursor = page.get("cursor")
        if not cursor:
            return
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
            found.incomplete(f"details job {job_id} results: page {number} has an unusable cursor")
            return
        if cursor in cursors:
            found.incomplete(f"details job {job_id} results: page {number} repeats an earlier cursor")
            return
        if not new and not (count and len(ids) < count):  # a page of rejections is new all the same
            found.incomplete(f"details job {job_id} results: page {number} brought no new conversation")
            return
        cursors.add(cursor)
    found.incomplete(f"details job {job_id} results: stopped after {max_pages} pages")
