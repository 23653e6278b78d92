"""Which route discovers a window: the asynchronous details jobs, or the synchronous details query.

Both are complete for what they can see. The jobs route is the cheaper (result pages of up to 1,000
conversations, against the query's 100), but jobs read the data lake, which lags (docs/genesys-api.md
§3.2: trust only intervals before `dataAvailabilityDate`). So the availability date is read once per
window (unless the query's first page, read first, holds the whole window: ``analytics``), and the jobs
route is taken for a window that ends by it; the query for a window the lake does not
yet hold, and for any answer that cannot be trusted (missing, malformed, later than now), so that a wrong
answer costs requests, never a day. A window that starts beyond the query's 35-day reach has only the jobs
route, whatever the answer. Conversations that end after the date the route reads up to (the lake's, or
now for the query) belong to a later sweep either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from recording_assets.genesys.analytics_jobs import JOBS_PATH, PERMISSION
from recording_assets.genesys.errors import AuthenticationError, GenesysApiError, PermissionDeniedError
from recording_assets.genesys.fields import ResponseFormatError, parse_time, required_dict
from recording_assets.genesys.found import iso
from recording_assets.genesys.transport import Transport

AVAILABILITY_PATH = f"{JOBS_PATH}/availability"
# Our clock and Genesys' differ a little; a date further ahead than this is not an answer to trust.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Availability:
    """The data lake's availability date, or None and why it is not trusted."""

    date: datetime | None
    distrust: str | None = None


@dataclass(frozen=True)
class Route:
    name: str  # "jobs" or "query"
    reason: str


def judge_availability(answer: Any, *, now: datetime) -> Availability:
    """An availability answer read as a date to trust, or the reason it is not."""
    try:
        raw = required_dict(answer, field="availability").get("dataAvailabilityDate")
        if raw in (None, ""):
            return Availability(None, "the availability answer has no dataAvailabilityDate")
        date = parse_time(raw, field="dataAvailabilityDate")
    except ResponseFormatError as error:
        return Availability(None, f"the availability answer is malformed ({error})")
    if date > now + CLOCK_SKEW:
        return Availability(None, f"dataAvailabilityDate {iso(date)} is later than now ({iso(now)})")
    return Availability(date)


async def read_availability(transport: Transport, *, now: datetime) -> Availability:
    """``GET .../jobs/availability``, judged. An error answer is distrust too; refused credentials or a
    missing permission are not (they end the run, as on every other request)."""
    try:
        response = await transport.api(
            "GET", AVAILABILITY_PATH, family="analytics.jobs", permission=PERMISSION
        )
        return judge_availability(response.json(), now=now)
    except (AuthenticationError, PermissionDeniedError):
        raise
    except (GenesysApiError, ValueError) as error:
        return Availability(None, f"the availability read failed ({type(error).__name__}: {error})")


def choose_route(*, end: datetime, in_query_reach: bool, availability: Availability) -> Route:
    """The cheapest route that is complete for the window ending at ``end``."""
    date = availability.date
    if not in_query_reach:
        return Route("jobs", "the window starts more than 35 days back, beyond the details query's reach")
    if date is None:
        return Route("query", f"{availability.distrust}: the details query, which needs no data lake")
    if date < end:
        return Route("query", f"the data lake holds data up to {iso(date)} only, before the window's end")
    return Route("jobs", f"the data lake holds the window (data available up to {iso(date)})")
