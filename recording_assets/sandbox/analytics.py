"""Conversation detail queries: request validation, filter evaluation and the response shape.

Time matters everywhere here: a conversation is invisible before it starts, "live" (no
``conversationEnd``, open segments without ``segmentEnd``) until it ends, then complete.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from recording_assets.sandbox.errors import bad_request
from recording_assets.sandbox.ids import fraction
from recording_assets.sandbox.org import Conversation, SyntheticOrg
from recording_assets.sandbox.timefmt import DAY_MS, iso, parse_interval
from recording_assets.sandbox.timeline import Participant, Segment, Session, participants

MAX_INTERVAL_MS = 7 * DAY_MS
MAX_AGE_MS = 35 * DAY_MS
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
MAX_RESULTS = 10_000
_ORDERS = ("asc", "desc", "unordered")
_ORDER_BYS = ("conversationStart", "conversationEnd", "segmentStart", "segmentEnd")


# ---- rows the predicates look at ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SegmentRow:
    conv: Conversation
    participant: Participant
    session: Session
    segment: Segment
    now_ms: int

    @property
    def ended(self) -> bool:
        return self.segment.end_ms <= self.now_ms


def segment_rows(conv: Conversation, now_ms: int) -> Iterable[SegmentRow]:
    for participant in participants(conv):
        for session in participant.sessions:
            for segment in session.segments:
                if segment.start_ms <= now_ms:
                    yield SegmentRow(conv, participant, session, segment, now_ms)


def _flag(value: bool) -> bool | None:
    return True if value else None


_CONVERSATION_DIMENSIONS: dict[str, Callable[[Conversation, int], Any]] = {
    "conversationId": lambda c, now: c.id,
    "conversationStart": lambda c, now: iso(c.start_ms),
    "conversationEnd": lambda c, now: iso(c.end_ms) if c.ended(now) else None,
    "originatingDirection": lambda c, now: c.direction,
    "divisionId": lambda c, now: c.division.id,
}
_SEGMENT_DIMENSIONS: dict[str, Callable[[SegmentRow], Any]] = {
    "conversationId": lambda r: r.conv.id,
    "divisionId": lambda r: r.conv.division.id,
    "mediaType": lambda r: r.session.media_type,
    "recording": lambda r: _flag(r.session.recording),
    "screenRecording": lambda r: _flag(r.participant.screen_recording),
    "queueId": lambda r: r.segment.queue_id,
    "userId": lambda r: r.participant.user_id,
    "direction": lambda r: r.session.direction,
    "purpose": lambda r: r.participant.purpose,
    "wrapUpCode": lambda r: r.segment.wrap_up_code if r.ended else None,
    "segmentType": lambda r: r.segment.segment_type,
    "segmentStart": lambda r: iso(r.segment.start_ms),
    "segmentEnd": lambda r: iso(r.segment.end_ms) if r.ended else None,
    "disconnectType": lambda r: r.segment.disconnect_type if r.ended else None,
    "sessionId": lambda r: r.session.session_id,
    "participantId": lambda r: r.participant.participant_id,
    "participantName": lambda r: r.participant.name,
    "ani": lambda r: r.session.ani,
    "dnis": lambda r: r.session.dnis,
}
# Metric predicates support exists / notExists: does the session carry this metric?
_METRICS: dict[str, Callable[[SegmentRow], bool]] = {
    "tAlert": lambda r: r.segment.segment_type == "alert" and r.ended,
    "tAnswered": lambda r: r.participant.purpose == "agent" and r.segment.segment_type == "interact",
    "tTalk": lambda r: r.participant.purpose == "agent" and r.segment.segment_type == "interact",
    "tTalkComplete": lambda r: (
        r.participant.purpose == "agent" and r.segment.segment_type == "interact" and r.ended
    ),
    "tHandle": lambda r: r.participant.purpose == "agent" and r.segment.segment_type == "wrapup" and r.ended,
    "tAcw": lambda r: r.segment.segment_type == "wrapup" and r.ended,
    "tAcd": lambda r: r.participant.purpose == "acd" and r.ended,
    "tAbandon": lambda r: False,
}


def _matches(actual: Any, expected: Any) -> bool:
    if actual is None:
        return isinstance(expected, bool) and expected is False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    return str(actual).lower() == str(expected).lower()


def _compile_predicate(predicate: Any, getters: dict[str, Callable], where: str) -> Callable[..., bool]:
    if not isinstance(predicate, dict):
        raise bad_request(f"{where}: each predicate must be an object")
    kind = predicate.get("type", "dimension")
    operator = predicate.get("operator", "matches")
    if operator not in ("matches", "exists", "notExists"):
        raise bad_request(f"{where}: unknown operator {operator!r}")
    if predicate.get("range") is not None:
        raise bad_request(f"{where}: range predicates are not supported by the sandbox")
    if kind == "metric":
        metric = predicate.get("metric")
        if getters is _CONVERSATION_DIMENSIONS or metric not in _METRICS or operator == "matches":
            raise bad_request(f"{where}: unsupported metric predicate {metric!r} {operator!r}")
        test = _METRICS[metric]
        return test if operator == "exists" else (lambda *row: not test(*row))
    if kind != "dimension":
        raise bad_request(f"{where}: predicate type {kind!r} is not supported by the sandbox")
    dimension: Any = predicate.get("dimension")  # any JSON value: an unknown one finds no getter
    getter = getters.get(dimension)
    if getter is None:
        raise bad_request(f"{where}: unknown or unsupported dimension {dimension!r}")
    if operator == "exists":
        return lambda *row: getter(*row) is not None
    if operator == "notExists":
        return lambda *row: getter(*row) is None
    if "value" not in predicate:
        raise bad_request(f"{where}: a 'matches' predicate needs a value")
    value = predicate["value"]
    return lambda *row: _matches(getter(*row), value)


def _compile_filter(spec: Any, getters: dict[str, Callable], where: str) -> Callable[..., bool]:
    if not isinstance(spec, dict):
        raise bad_request(f"{where}: each filter must be an object")
    kind = spec.get("type", "and")
    if kind not in ("and", "or"):
        raise bad_request(f"{where}: filter type must be 'and' or 'or'")
    parts = [_compile_predicate(p, getters, where) for p in spec.get("predicates") or []]
    parts += [_compile_filter(c, getters, where) for c in spec.get("clauses") or []]
    if not parts:
        raise bad_request(f"{where}: a filter needs predicates or clauses")
    if kind == "and":
        return lambda *row: all(part(*row) for part in parts)
    return lambda *row: any(part(*row) for part in parts)


@dataclass(frozen=True)
class Matcher:
    conversation_filters: tuple[Callable[[Conversation, int], bool], ...]
    segment_filters: tuple[Callable[[SegmentRow], bool], ...]

    def __call__(self, conv: Conversation, now_ms: int) -> bool:
        if not all(f(conv, now_ms) for f in self.conversation_filters):
            return False
        if not self.segment_filters:
            return True
        rows = list(segment_rows(conv, now_ms))
        return all(any(f(row) for row in rows) for f in self.segment_filters)


def compile_matcher(body: dict) -> Matcher:
    for unsupported in ("evaluationFilters", "surveyFilters", "resolutionFilters"):
        if body.get(unsupported):
            raise bad_request(f"{unsupported} are not supported by the sandbox")
    conversation_filters = body.get("conversationFilters") or []
    segment_filters = body.get("segmentFilters") or []
    if not isinstance(conversation_filters, list) or not isinstance(segment_filters, list):
        raise bad_request("conversationFilters and segmentFilters must be arrays")
    return Matcher(
        tuple(
            _compile_filter(f, _CONVERSATION_DIMENSIONS, "conversationFilters") for f in conversation_filters
        ),
        tuple(_compile_filter(f, _SEGMENT_DIMENSIONS, "segmentFilters") for f in segment_filters),
    )


# ---- ordering -----------------------------------------------------------------------------------
def parse_order(body: dict) -> tuple[str, str]:
    order = body.get("order") or "asc"
    order_by = body.get("orderBy") or "conversationStart"
    if order not in _ORDERS:
        raise bad_request(f"order must be one of {list(_ORDERS)}")
    if order_by not in _ORDER_BYS:
        raise bad_request(f"orderBy must be one of {list(_ORDER_BYS)}")
    return order, order_by


def sort_conversations(
    convs: list[Conversation], order: str, order_by: str, now_ms: int
) -> list[Conversation]:
    if order_by in ("conversationEnd", "segmentEnd"):
        convs = sorted(convs, key=lambda c: c.end_ms if c.ended(now_ms) else float("inf"))
    if order == "desc":
        convs = convs[::-1]
    return convs


def parse_interval_field(body: dict) -> tuple[int, int]:
    interval = body.get("interval")
    if not isinstance(interval, str):
        raise bad_request("interval is required, e.g. 2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z")
    try:
        start_ms, end_ms = parse_interval(interval)
    except ValueError as exc:
        raise bad_request(f"interval {interval!r} is not a valid ISO-8601 interval: {exc}") from None
    if end_ms <= start_ms:
        raise bad_request("interval end must be after its start")
    return start_ms, end_ms


# ---- the synchronous query ----------------------------------------------------------------------
@dataclass(frozen=True)
class DetailsQuery:
    start_ms: int
    end_ms: int
    order: str
    order_by: str
    page_size: int
    page_number: int
    matcher: Matcher
    cache_key: str


def parse_details_query(body: Any, now_ms: int) -> DetailsQuery:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a ConversationQuery object")
    start_ms, end_ms = parse_interval_field(body)
    if end_ms - start_ms > MAX_INTERVAL_MS:
        raise bad_request("The query interval cannot exceed 7 days.")
    if start_ms < now_ms - MAX_AGE_MS:
        raise bad_request(
            "The query interval start cannot be more than 35 days in the past. Use the conversation details "
            "jobs API (POST /api/v2/analytics/conversations/details/jobs) for older data."
        )
    paging = body.get("paging") or {}
    if not isinstance(paging, dict):
        raise bad_request("paging must be an object")
    page_size = paging.get("pageSize", DEFAULT_PAGE_SIZE)
    page_number = paging.get("pageNumber", 1)
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise bad_request(f"paging.pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    if not isinstance(page_number, int) or page_number < 1:
        raise bad_request("paging.pageNumber must be 1 or greater.")
    if page_number * page_size > MAX_RESULTS:
        raise bad_request(
            f"Paging beyond {MAX_RESULTS} results is not allowed (pageNumber * pageSize > {MAX_RESULTS}). "
            "Narrow the interval or use the conversation details jobs API."
        )
    order, order_by = parse_order(body)
    matcher = compile_matcher(body)
    identity = {k: v for k, v in body.items() if k != "paging"}
    return DetailsQuery(
        start_ms,
        end_ms,
        order,
        order_by,
        page_size,
        page_number,
        matcher,
        json.dumps(identity, sort_keys=True, default=str),
    )


class QueryEngine:
    """Runs details queries with a small cache, so paging through one query filters the days once."""

    def __init__(self, org: SyntheticOrg, capacity: int = 16) -> None:
        self._org = org
        self._cache: OrderedDict[tuple[str, int], list[Conversation]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def matching(self, query: DetailsQuery, now_ms: int) -> list[Conversation]:
        key = (query.cache_key, now_ms // 1000)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        found = [
            conv
            for conv in self._org.conversations_between(query.start_ms, query.end_ms)
            if conv.start_ms <= now_ms and self._org.visible(conv) and query.matcher(conv, now_ms)
        ]
        found = sort_conversations(found, query.order, query.order_by, now_ms)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return found

    def page(self, query: DetailsQuery, now_ms: int, drift: int = 0) -> tuple[list[Conversation], int]:
        found = self.matching(query, now_ms)
        offset = max(0, (query.page_number - 1) * query.page_size + drift)
        return found[offset : offset + query.page_size], len(found)


def approximate_total(seed: int, query: DetailsQuery, exact: int) -> int:
    """``totalHits`` as an estimate: within ±10 % of the truth, a different value on every page."""
    spread = fraction(seed, "total-hits", query.cache_key, query.page_number) * 0.2 - 0.1
    return max(0, round(exact * (1 + spread)))


def drift_for(seed: int, query: DetailsQuery) -> int:
    """-3..+3 (never 0) for pages after the first, as if rows were inserted/removed ahead of the cursor."""
    if query.page_number <= 1:
        return 0
    steps = (-3, -2, -1, 1, 2, 3)
    return steps[int(fraction(seed, "drift", query.cache_key, query.page_number) * len(steps))]


# ---- response shape ------------------------------------------------------------------------------
def render_conversation(conv: Conversation, now_ms: int) -> dict[str, Any]:
    """AnalyticsConversationWithoutAttributes as the API returns it at ``now_ms``."""
    ended = conv.ended(now_ms)
    out: dict[str, Any] = {"conversationId": conv.id, "conversationStart": iso(conv.start_ms)}
    if ended:
        out["conversationEnd"] = iso(conv.end_ms)
    out["originatingDirection"] = conv.direction
    out["divisionIds"] = [conv.division.id]
    if ended and conv.media_type == "voice":
        out["mediaStatsMinConversationMos"] = round(3.6 + 0.8 * fraction(conv.org.seed, conv.id, "mos"), 3)
    rendered = []
    for participant in participants(conv):
        sessions = [s for s in (_render_session(session, now_ms) for session in participant.sessions) if s]
        if not sessions:
            continue
        item: dict[str, Any] = {
            "participantId": participant.participant_id,
            "participantName": participant.name,
            "purpose": participant.purpose,
        }
        if participant.user_id:
            item["userId"] = participant.user_id
        if participant.screen_recording:
            item["screenRecording"] = True
        item["sessions"] = sessions
        rendered.append(item)
    out["participants"] = rendered
    return out


def _render_session(session: Session, now_ms: int) -> dict[str, Any] | None:
    segments = []
    for segment in session.segments:
        if segment.start_ms > now_ms:
            continue
        item: dict[str, Any] = {"segmentStart": iso(segment.start_ms)}
        ended = segment.end_ms <= now_ms
        if ended:
            item["segmentEnd"] = iso(segment.end_ms)
        item["segmentType"] = segment.segment_type
        if segment.queue_id:
            item["queueId"] = segment.queue_id
        if segment.wrap_up_code and ended:
            item["wrapUpCode"] = segment.wrap_up_code
        if segment.disconnect_type and ended:
            item["disconnectType"] = segment.disconnect_type
        segments.append(item)
    if not segments:
        return None
    out: dict[str, Any] = {
        "sessionId": session.session_id,
        "mediaType": session.media_type,
        "direction": session.direction,
    }
    if session.ani:
        out["ani"] = session.ani
    if session.dnis:
        out["dnis"] = session.dnis
    if session.address_from:
        out["addressFrom"] = session.address_from
    if session.address_to:
        out["addressTo"] = session.address_to
    if session.message_type:
        out["messageType"] = session.message_type
    if session.recording:
        out["recording"] = True
    out["segments"] = segments
    return out
