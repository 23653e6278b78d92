"""The outbox: events owed to endpoints, carried between sensor ticks, drained within a time budget.

Where the owed items are kept is the caller's business (the manifest sensor keeps one object per item in
S3, ``defs/webhook_outbox.py``); ``drain`` says which were delivered, which changed and which to give up.

A tick never waits on a dead receiver: each POST is bounded by what is left of the tick's budget, the
first sign that an endpoint is down (no answer, 5xx, 408/425/429) pauses that endpoint with back-off and
every other event to it simply waits, and nothing sleeps. An event leaves the outbox only when a receiver
answered 2xx or, after ``give_up_after_s``, loudly (the caller logs each one). Delivery is at least
once: a POST that timed out may have arrived, so the same event (same ``webhook-id``) can come again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from recording_assets.webhooks.delivery import DeliveryResult
from recording_assets.webhooks.events import Event

BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0
MIN_REQUEST_S = 1.0  # less budget than this left: the rest waits for the next tick


def backoff_s(failures: int) -> float:
    """30 s, 1 min, 2 min, ... capped at an hour, after the ``failures``-th failure in a row."""
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, failures - 1))


def owed_item(endpoint: str, event: Event, *, now: float) -> dict:
    """``endpoint``: the endpoint's id (``delivery.endpoint_id``), never its URL: the outbox is stored, and
    a URL may carry the receiver's token."""
    return {"endpoint": endpoint, "event": event.to_json(), "queued": now, "tries": 0, "due": now}


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    given_up: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)  # answered 2xx: owed no more
    retried: list[dict] = field(default_factory=list)  # failed: their retry state changed


Send = Callable[[str, Event, float], DeliveryResult]  # (endpoint id, event, seconds it may take) -> result


def drain(
    owed: Iterable[dict],
    paused: dict[str, dict],
    send: Send,
    *,
    now: float,
    remaining: Callable[[], float],
    give_up_after_s: float,
) -> tuple[list[dict], Tally]:
    """Try what is due, in ``owed``'s order, while the budget lasts; returns what is still owed and a tally.

    ``paused`` (endpoint -> {"until", "failures"}) is updated in place; ``now`` is wall-clock seconds
    (due times survive restarts), ``remaining`` the budget left on a monotonic clock."""
    kept: list[dict] = []
    tally = Tally()
    for item in owed:
        item.setdefault("queued", now)
        endpoint = item["endpoint"]
        if now - item["queued"] >= give_up_after_s:
            tally.given_up.append(item)
            continue
        left = remaining()
        if item.get("due", 0) > now or paused.get(endpoint, {}).get("until", 0) > now or left < MIN_REQUEST_S:
            tally.waiting += 1
            kept.append(item)
            continue
        result = send(endpoint, Event.from_json(item["event"]), left)
        if result.ok:
            tally.delivered += 1
            tally.sent.append(item)
            paused.pop(endpoint, None)
            continue
        tally.failed += 1
        item["tries"] = item.get("tries", 0) + 1
        item["error"] = result.error
        if result.endpoint_down:
            failures = paused.get(endpoint, {}).get("failures", 0) + 1
            paused[endpoint] = {"until": now + backoff_s(failures), "failures": failures}
        else:  # the receiver refused this one event: only it waits
            item["due"] = now + backoff_s(item["tries"])
        tally.retried.append(item)
        kept.append(item)
    return kept, tally
