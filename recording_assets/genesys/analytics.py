"""Finding the conversations of a time window, completely.

Where the synchronous details query can reach, its first page is read first: a window that page holds
whole (an empty or quiet day) is settled by that one request. A larger window the data lake already
holds is read by the asynchronous details-jobs API (cursor paging, the cheaper route), the first page's
conversations handed on meanwhile; one it does not yet hold, or when its availability answer cannot be
trusted, by the synchronous details query (interval ≤ 7 days, start ≤ 35 days back, ≤ 10,000 rows per
query; larger windows are split). ``discovery_route`` chooses and says why; a job that fails or stops
short falls back to the query, saying so, wherever the query can reach. Pages may shift while we read
them (data still arriving, re-indexing), so results are
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

import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone

from recording_assets.clock import Clock
from recording_assets.genesys.analytics_jobs import JOBS_PATH, PERMISSION, page_results, wait_for_job
from recording_assets.genesys.discovery_route import Availability, Route, choose_route, read_availability
from recording_assets.genesys.errors import (
    AuthenticationError,
    GenesysApiError,
    JobFailedError,
    PermissionDeniedError,
)
from recording_assets.genesys.fields import ResponseFormatError, parse_count, required_dict, required_id
from recording_assets.genesys.found import Discovery, Seen, iso
from recording_assets.genesys.models import ConversationSummary
from recording_assets.genesys.transport import Transport

__all__ = ["Analytics", "Discovery", "ConversationSummary", "build_filters", "dimension_filter"]

QUERY_PATH = "/api/v2/analytics/conversations/details/query"

MAX_QUERY_INTERVAL = timedelta(days=7)
MAX_QUERY_LOOKBACK = timedelta(days=35)
MAX_QUERY_ROWS = 10_000
MEDIA_TYPES = ("callback", "chat", "cobrowse", "email", "message", "screenshare", "video", "voice")
PAGE_SLACK_FACTOR = 1.25  # totalHits is approximate (docs/genesys-api.md §3.1): room for it to be low
PAGE_SLACK = 2
MAX_REJECTS_NAMED = 3


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
        seen = Seen(start, end, on_new, found)
        # An hour of margin: the 35-day look-back is measured by the server's clock, not ours.
        in_query_reach = start >= now - MAX_QUERY_LOOKBACK + timedelta(hours=1)
        # The query's first page comes first where the query can read the window: one request settles a
        # window that fits in it (an empty or quiet day: no job, no poll wait), and on a larger day its
        # conversations are handed on while the job runs.
        probe = (
            await self._probe(start, end, filters, found)
            if in_query_reach and end - start <= MAX_QUERY_INTERVAL
            else None
        )
        route = _settled_by(probe, self._page_size)
        availability = Availability(None, "the first page of the details query holds the window")
        if route is None:
            # A window still open (live conversations, today) is never all in the data lake: no read for it.
            availability = (
                await read_availability(self._t, now=now)
                if end <= now or not in_query_reach
                else Availability(None, "the window has not ended yet")
            )
            route = choose_route(end=end, in_query_reach=in_query_reach, availability=availability)
        found.method, found.route_reason = route.name, route.reason
        if route.name == "jobs":
            if probe is not None:
                await _hand_on(probe, seen, found)
            fell_short = await self._by_job(start, end, filters, seen, found, availability, in_query_reach)
            if fell_short:
                # The query is complete where a job was not: read the window again by it. The conversations
                # handed on already are not handed on twice (``seen``).
                found.restart(
                    "query", f"{route.reason}; the jobs route {fell_short}: fell back to the details query"
                )
                seen.forget_rejected()
        if found.method == "query":
            first = probe  # its first page still: rows shifted since are what the repair passes are for
            window_start = start
            while window_start < end:
                window_end = min(end, window_start + MAX_QUERY_INTERVAL)
                await self._by_query(window_start, window_end, filters, seen, found, first=first)
                window_start, first = window_end, None
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

    async def _probe(self, start, end, filters, found: Discovery) -> dict | None:
        """The details query's first page of the window, or None when it cannot be read (the other route
        may still read the window; the query route reads the page again and meets the error itself)."""
        try:
            page = await self._page(start, end, filters, 1)
        except (AuthenticationError, PermissionDeniedError):
            raise
        except (GenesysApiError, ResponseFormatError):
            return None
        found.pages += 1
        return page

    async def _by_query(
        self, start, end, filters, seen, found: Discovery, *, first: dict | None = None
    ) -> None:
        found.windows += 1
        if first is None:
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
        # totalHits is approximate and may move between pages (docs/genesys-api.md §3.1), so pages are read until
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
                    found.incomplete(f"details query for {iso(start)}/{iso(end)} stopped paging: {stop}")
                    return
                page = None
            if attempt and len(window_ids) == before:
                return  # nothing new with other boundaries: the window is complete
            shifted = len(rows) > len(set(rows))  # a row came back twice within the pass
            short_of_a_steady_total = len(totals) == 1 and len(window_ids) < total
            if not shifted and not short_of_a_steady_total:
                return
        found.incomplete(
            f"details query for {iso(start)}/{iso(end)} reported {total} conversations but "
            f"{len(window_ids)} distinct ones were returned after {len(passes)} passes"
        )

    async def _page(
        self, start, end, filters, page_number: int, *, order: str = "asc", page_size: int | None = None
    ) -> dict:
        body = {
            "interval": f"{iso(start)}/{iso(end)}",
            "order": order,
            "orderBy": "conversationStart",
            "paging": {"pageSize": page_size or self._page_size, "pageNumber": page_number},
            **filters,
        }
        response = await self._t.api(
            "POST", QUERY_PATH, family="analytics.query", json=body, permission=PERMISSION, idempotent=True
        )
        return dict(required_dict(response.json(), field="details query answer"))

    async def _by_job(
        self, start, end, filters, seen, found: Discovery, availability: Availability, fallback: bool
    ) -> str | None:
        """Read the window by a details job. With ``fallback`` (the query can read the window too), a job
        that fails or whose results stop short returns why instead of marking the day incomplete."""
        if availability.date is not None and availability.date < end:
            found.incomplete(
                f"analytics data is only available up to {availability.date.isoformat()}; "
                "conversations after that will be picked up by a later run"
            )
        body = {
            "interval": f"{iso(start)}/{iso(end)}",
            "order": "asc",
            "orderBy": "conversationStart",
            "startOfDayIntervalMatching": True,
            **filters,
        }
        try:
            submitted = await self._t.api(
                "POST", JOBS_PATH, family="analytics.jobs", json=body, permission=PERMISSION
            )
            job_id = required_id(required_dict(submitted.json(), field="job").get("jobId"), field="jobId")
            found.windows += 1
            await wait_for_job(
                self._t,
                self._clock,
                job_id,
                initial_s=self._poll_initial,
                max_s=self._poll_max,
                timeout_s=self._job_timeout,
            )
            await page_results(
                self._t,
                job_id,
                page_size=self._job_page_size,
                max_pages=self._job_max_pages,
                seen=seen,
                found=found,
            )
        except (AuthenticationError, PermissionDeniedError):
            raise
        except (JobFailedError, GenesysApiError, ResponseFormatError) as error:
            if not fallback:
                raise
            return f"failed ({type(error).__name__}: {error})"
        if fallback and not found.complete:
            return f"stopped short ({found.incomplete_reason})"
        return None


def _settled_by(probe: dict | None, size: int) -> Route | None:
    """The query route when its first page holds the whole window: a short page (the documented end of
    the results) whose ``totalHits`` agrees that one page holds them all. A short page beside a larger
    count (a server that pages smaller than asked) settles nothing: the route is chosen as usual."""
    if probe is None:
        return None
    items = probe.get("conversations")
    count = len(items) if isinstance(items, list) else None if items is not None else 0
    try:
        total = parse_count(probe.get("totalHits"), field="totalHits")
    except ResponseFormatError:
        return None
    if count is None or count >= size or total > size:
        return None
    return Route("query", f"the details query's first page holds the whole window ({count} conversations)")


async def _hand_on(probe: dict, seen: Seen, found: Discovery) -> None:
    """The probe's conversations handed on while the job runs. The job reads the whole window, so the
    probe's rejections are not kept (the job's own pages list them)."""
    try:
        await seen.absorb(probe)
    except ResponseFormatError:
        pass
    found.rejected.clear()
    seen.forget_rejected()


def _page_bound(total: int, size: int) -> int:
    """Pages one pass may read for ``total`` (approximate) conversations at ``size`` a page."""
    return math.ceil(max(total, size) * PAGE_SLACK_FACTOR / size) + PAGE_SLACK
