"""Finding the conversations of a time window, completely.

Recent windows use the synchronous details query (interval ≤ 7 days, start ≤ 35 days back, ≤ 10,000
rows per query); larger or older windows are split, or go to the asynchronous details-jobs API with
cursor paging. Pages may shift while we read them (data still arriving, re-indexing), so results are
de-duplicated by id and a short pass is repeated until the unique count reaches ``totalHits``. Each page's
conversations not seen before can be handed on as the page arrives (``on_new``), so work on them starts
while the rest of the day is still being read.

The pagers are bounded, since the answers are not trusted to end: a pass of the details query reads at
most ``totalHits`` (the largest seen) / page size x 1.25 + 2 pages, and stops at a full page that brings
no id the pass had not seen (the same page served again); the jobs pager stops at a cursor it was given
before (A -> B -> A), at a page without a new id, or after ``job_max_pages``. A stop is not an error that
loses the day: ``Discovery.complete`` turns False and ``incomplete_reason`` says why. A conversation that
cannot be placed (no safe id, no ``conversationStart``) is listed in ``Discovery.rejected``, with why,
and also marks the day incomplete; the rest of its page is read as usual.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from recording_assets.clock import Clock
from recording_assets.genesys.errors import JobFailedError
from recording_assets.genesys.fields import ResponseFormatError, enum_text, required_dict, required_id
from recording_assets.genesys.models import ConversationSummary, Rejected, parse_count, parse_time, reject
from recording_assets.genesys.redact import clean_text
from recording_assets.genesys.transport import Transport

QUERY_PATH = "/api/v2/analytics/conversations/details/query"
JOBS_PATH = "/api/v2/analytics/conversations/details/jobs"
PERMISSION = "analytics:conversationDetail:view"

MAX_QUERY_INTERVAL = timedelta(days=7)
MAX_QUERY_LOOKBACK = timedelta(days=35)
MAX_QUERY_ROWS = 10_000
MEDIA_TYPES = ("callback", "chat", "cobrowse", "email", "message", "screenshare", "video", "voice")
PAGE_SLACK_FACTOR = 1.25  # totalHits is approximate (docs/genesys-api.md §3.1): room for it to be low
PAGE_SLACK = 2
MAX_REJECTS_NAMED = 3


@dataclass
class Discovery:
    """The conversations found, and how: for metadata and for "is this day complete?"."""

    conversations: list[ConversationSummary] = field(default_factory=list)
    method: str = "query"  # "query" or "jobs"
    pages: int = 0
    windows: int = 0
    extra_passes: int = 0
    complete: bool = True
    incomplete_reason: str | None = None
    rejected: list[Rejected] = field(default_factory=list)  # conversations left out at the boundary

    def incomplete(self, reason: str) -> None:
        """Mark the discovery incomplete, adding ``reason`` to any given before."""
        self.complete = False
        if self.incomplete_reason and reason not in self.incomplete_reason:
            self.incomplete_reason = f"{self.incomplete_reason}; {reason}"
        else:
            self.incomplete_reason = reason


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def dimension_filter(dimension: str, operator: str, *values: str, match: str = "and") -> dict:
    """One details-query filter: ``dimension operator value`` for each value (none for exists /
    notExists), joined by ``match`` ("and" / "or")."""
    predicate = {"type": "dimension", "dimension": dimension, "operator": operator}
    predicates = [{**predicate, "value": value} for value in values] if values else [predicate]
    return {"type": match, "predicates": predicates}


def build_filters(*, media_types: Sequence[str] | None, ended: bool | None) -> dict:
    """Filters shared by the query and the job. ``ended``: True = ended only, False = live only."""
    body: dict = {}
    if ended is not None:
        operator = "exists" if ended else "notExists"
        body["conversationFilters"] = [dimension_filter("conversationEnd", operator)]
    if media_types:
        unknown = sorted(set(media_types) - set(MEDIA_TYPES))
        if unknown:
            raise ValueError(f"unknown media types {unknown}; choose from {', '.join(MEDIA_TYPES)}")
        body["segmentFilters"] = [dimension_filter("mediaType", "matches", *media_types, match="or")]
    return body


class Analytics:
    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        page_size: int = 100,
        job_page_size: int = 1000,
        job_poll_initial_s: float = 3.0,
        job_poll_max_s: float = 30.0,
        job_timeout_s: float = 3 * 3600.0,
        job_max_pages: int = 2000,
    ) -> None:
        self._t = transport
        self._clock = clock
        self._page_size = page_size
        self._job_page_size = job_page_size
        self._poll_initial = job_poll_initial_s
        self._poll_max = job_poll_max_s
        self._job_timeout = job_timeout_s
        self._job_max_pages = job_max_pages

    async def conversations(
        self,
        *,
        start: datetime,
        end: datetime,
        media_types: Sequence[str] | None = None,
        ended: bool | None = True,
        extra_filters: dict | None = None,
        on_new: Callable[[list[ConversationSummary]], Awaitable[None]] | None = None,
    ) -> Discovery:
        """Every conversation that started in [start, end), de-duplicated, in start order. ``on_new`` is
        given each page's conversations in that interval that no earlier page held, as the page arrives."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if end <= start:
            raise ValueError(f"empty window: {start.isoformat()} .. {end.isoformat()}")
        filters = build_filters(media_types=media_types, ended=ended)
        for key, value in (extra_filters or {}).items():
            filters[key] = filters.get(key, []) + value
        now = datetime.fromtimestamp(self._clock.time(), tz=timezone.utc)
        found = Discovery()
        seen = _Seen(start, end, on_new, found)
        # An hour of margin: the 35-day look-back is measured by the server's clock, not ours.
        if start < now - MAX_QUERY_LOOKBACK + timedelta(hours=1):
            found.method = "jobs"
            await self._by_job(start, end, filters, seen, found)
        else:
            window_start = start
            while window_start < end:
                window_end = min(end, window_start + MAX_QUERY_INTERVAL)
                await self._by_query(window_start, window_end, filters, seen, found)
                window_start = window_end
        found.conversations = sorted(
            (c for c in seen.values() if start <= c.conversation_start < end),
            key=lambda c: (c.conversation_start, c.conversation_id),
        )
        if found.rejected:
            named = "; ".join(r.reason for r in found.rejected[:MAX_REJECTS_NAMED])
            more = len(found.rejected) - MAX_REJECTS_NAMED
            found.incomplete(
                f"{len(found.rejected)} conversation(s) rejected at the API boundary ({named}"
                + (f"; and {more} more" if more > 0 else "")
                + ")"
            )
        return found

    async def _by_query(self, start, end, filters, seen, found: Discovery) -> None:
        found.windows += 1
        first = await self._page(start, end, filters, 1)
        found.pages += 1
        total = parse_count(first.get("totalHits"), field="totalHits")
        if total > MAX_QUERY_ROWS * 0.9 and end - start > timedelta(minutes=1):
            # totalHits is approximate; split well before the hard 10,000-row wall.
            found.windows -= 1
            middle = start + (end - start) / 2
            await self._by_query(start, middle, filters, seen, found)
            await self._by_query(middle, end, filters, seen, found)
            return
        window_ids: set[str] = set()
        # totalHits is approximate and may move between pages (genesys-api.md §3.1), so pages are read until
        # a short page and the count only hints. Pages shift while data arrives: a conversation that ends
        # mid-read is inserted and pushes the rest along, so earlier rows come back again (duplicates).
        # A repair pass with other page boundaries (descending, then half-size pages, so a skipped item
        # lands mid-page instead of on the same boundary again) runs when the pass saw duplicates, or when
        # a steady total says rows are missing; a repair pass that finds nothing new settles the window.
        passes = (("asc", self._page_size), ("desc", self._page_size), ("asc", max(1, self._page_size // 2)))
        for attempt, (order, size) in enumerate(passes):
            if attempt:
                found.extra_passes += 1
            before = len(window_ids)
            rows: list[str] = []
            totals: set[int] = set()
            page, page_number = (first, 2) if attempt == 0 else (None, 1)
            read = 0
            while True:
                if page is None:
                    page = await self._page(start, end, filters, page_number, order=order, page_size=size)
                    found.pages += 1
                    page_number += 1
                read += 1
                total = parse_count(page.get("totalHits"), field="totalHits") or total
                totals.add(total)
                pass_seen = set(rows)
                ids, count = await seen.absorb(page)
                rows += ids
                window_ids.update(ids)
                if count < size:  # items, rejected ones included: a rejection does not make a page short
                    break
                stop = None
                if not set(ids) - pass_seen:
                    stop = f"page {page_number - 1} brought no conversation the pass had not seen"
                elif read >= _page_bound(max(totals), size):
                    stop = f"{read} full pages of {size} for about {max(totals)} conversations (totalHits)"
                if stop:
                    found.incomplete(f"details query for {_iso(start)}/{_iso(end)} stopped paging: {stop}")
                    return
                page = None
            if attempt and len(window_ids) == before:
                return  # nothing new with other boundaries: the window is complete
            shifted = len(rows) > len(set(rows))  # a row came back twice within the pass
            short_of_a_steady_total = len(totals) == 1 and len(window_ids) < total
            if not shifted and not short_of_a_steady_total:
                return
        found.incomplete(
            f"details query for {_iso(start)}/{_iso(end)} reported {total} conversations but "
            f"{len(window_ids)} distinct ones were returned after {len(passes)} passes"
        )

    async def _page(
        self, start, end, filters, page_number: int, *, order: str = "asc", page_size: int | None = None
    ) -> dict:
        body = {
            "interval": f"{_iso(start)}/{_iso(end)}",
            "order": order,
            "orderBy": "conversationStart",
            "paging": {"pageSize": page_size or self._page_size, "pageNumber": page_number},
            **filters,
        }
        response = await self._t.api(
            "POST", QUERY_PATH, family="analytics.query", json=body, permission=PERMISSION, idempotent=True
        )
        return dict(required_dict(response.json(), field="details query answer"))

    async def _by_job(self, start, end, filters, seen, found: Discovery) -> None:
        availability = await self._t.api(
            "GET", f"{JOBS_PATH}/availability", family="analytics.jobs", permission=PERMISSION
        )
        available_raw = required_dict(availability.json(), field="availability").get("dataAvailabilityDate")
        if available_raw:
            available = parse_time(available_raw, field="dataAvailabilityDate")
            if available < end:
                found.incomplete(
                    f"analytics data is only available up to {available.isoformat()}; "
                    "conversations after that will be picked up by a later run"
                )
        body = {
            "interval": f"{_iso(start)}/{_iso(end)}",
            "order": "asc",
            "orderBy": "conversationStart",
            "startOfDayIntervalMatching": True,
            **filters,
        }
        submitted = await self._t.api(
            "POST", JOBS_PATH, family="analytics.jobs", json=body, permission=PERMISSION
        )
        job_id = required_id(required_dict(submitted.json(), field="job").get("jobId"), field="jobId")
        found.windows += 1
        delay = self._poll_initial
        deadline = self._clock.time() + self._job_timeout
        while True:
            await self._clock.sleep(delay)
            status = required_dict(
                (
                    await self._t.api(
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
            if self._clock.time() > deadline:
                raise JobFailedError(
                    f"analytics details job {job_id} still {state} after {self._job_timeout:.0f}s"
                )
            delay = min(self._poll_max, delay * 1.5)
        cursor = None
        cursors: set[str] = set()
        job_ids: set[str] = set()
        for number in range(1, self._job_max_pages + 1):
            params: dict[str, Any] = {"pageSize": self._job_page_size}
            if cursor:
                params["cursor"] = cursor
            page = required_dict(
                (
                    await self._t.api(
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
            if not isinstance(cursor, str) or len(cursor) > 4096:
                found.incomplete(f"details job {job_id} results: page {number} has an unusable cursor")
                return
            if cursor in cursors:
                found.incomplete(f"details job {job_id} results: page {number} repeats an earlier cursor")
                return
            if not new and not (count and len(ids) < count):  # a page of rejections is new all the same
                found.incomplete(f"details job {job_id} results: page {number} brought no new conversation")
                return
            cursors.add(cursor)
        found.incomplete(f"details job {job_id} results: stopped after {self._job_max_pages} pages")


def _page_bound(total: int, size: int) -> int:
    """Pages one pass may read for ``total`` (approximate) conversations at ``size`` a page."""
    return math.ceil(max(total, size) * PAGE_SLACK_FACTOR / size) + PAGE_SLACK


class _Seen(dict):
    """The conversations read so far, by id (a later copy replaces an earlier one), handing on the new ones
    and listing those that cannot be placed in ``found.rejected``."""

    def __init__(self, start: datetime, end: datetime, on_new, found: Discovery) -> None:
        super().__init__()
        self._start, self._end, self._on_new, self._found = start, end, on_new, found
        self._rejected: set[tuple] = set()

    async def absorb(self, page: dict) -> tuple[list[str], int]:
        """Take a page's conversations; return their ids, in page order (a rejected one has none), and how
        many items the page held."""
        ids, new = [], []
        items = page.get("conversations")
        if items is not None and not isinstance(items, list):
            raise ResponseFormatError(f"expected a list in 'conversations', got {type(items).__name__}")
        for index, raw in enumerate(items or []):
            try:
                conversation = ConversationSummary.from_api(raw)
            except ResponseFormatError as error:
                rejected = reject("conversation", index, raw, error)
                key = (rejected.reason, json.dumps(raw, sort_keys=True, default=str)[:4096])
                if key not in self._rejected:  # the same item on a page read again is one rejection
                    self._rejected.add(key)
                    self._found.rejected.append(rejected)
                continue
            cid = conversation.conversation_id
            if cid not in self and self._start <= conversation.conversation_start < self._end:
                new.append(conversation)
            self[cid] = conversation
            ids.append(cid)
        if new and self._on_new is not None:
            await self._on_new(new)
        return ids, len(items or [])
