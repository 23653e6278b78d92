"""Delivering signed events with bounded, backed-off retries. A failure is reported, never raised:
a receiver that is down must not stop archiving."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from recording_assets.webhooks.events import Event
from recording_assets.webhooks.signing import headers


@dataclass(frozen=True)
class DeliveryResult:
    url: str
    msg_id: str
    ok: bool
    status: int | None
    attempts: int
    error: str | None = None


def deliver(
    http: httpx.Client,
    *,
    url: str,
    secret: str,
    event: Event,
    attempts: int = 3,
    backoff_s: float = 0.5,
    now=time.time,
    sleep=time.sleep,
) -> DeliveryResult:
    body = event.payload()
    status = None
    error = None
    for attempt in range(1, attempts + 1):
        # A fresh timestamp per attempt: receivers reject stale ones; the id stays the same.
        signed = headers(secret, msg_id=event.msg_id, timestamp=int(now()), body=body)
        try:
            response = http.post(url, content=body, headers=signed)
            status = response.status_code
            if 200 <= status < 300:
                return DeliveryResult(url, event.msg_id, True, status, attempt)
            error = f"HTTP {status}"
            if 400 <= status < 500 and status not in (408, 409, 425, 429):
                break  # the receiver refuses this event; retrying now will not help
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        if attempt < attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    return DeliveryResult(url, event.msg_id, False, status, attempt, error)
