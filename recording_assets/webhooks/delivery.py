"""One POST of one event: signed (Standard Webhooks) to a webhook endpoint, or an unsigned chat message
(``chat.py``) to a Slack or Teams endpoint; the endpoint's kind chooses the body and headers. A failure is reported, never raised: a receiver that is down must not
stop archiving. Retrying is the caller's: the outbox across sensor ticks, or a delivery run's retries.

The receiver is untrusted: a POST ends ``timeout_s`` after it began however slowly the receiver answers
(``transport.within``: every connect, write and read inside that total), and at most ``MAX_ANSWER_BYTES``
of its answer are read (only the status matters), so a slow or huge receiver cannot hold a sensor tick
past its budget. Send through ``transport.client()``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from recording_assets.webhooks import chat
from recording_assets.webhooks.events import Event
from recording_assets.webhooks.signing import headers
from recording_assets.webhooks.transport import within

MAX_ANSWER_BYTES = 4096  # of a receiver's answer read before the connection is dropped

# Statuses that say "not now" rather than "not this event": the endpoint is paused, not the event refused.
RETRY_LATER = frozenset({408, 425, 429})

SIGNED = "signed"  # the other kinds are chat.KINDS


@dataclass(frozen=True)
class DeliveryResult:
    msg_id: str
    ok: bool
    status: int | None
    error: str | None = None

    @property
    def endpoint_down(self) -> bool:
        """No answer, an overloaded answer or a server error: later events to this endpoint would fail too."""
        return not self.ok and (self.status is None or self.status >= 500 or self.status in RETRY_LATER)


def endpoint_id(url: str) -> str:
    """A stable name for an endpoint that does not reveal its URL (what stored state keys it by)."""
    return "ep_" + hashlib.sha256(url.encode()).hexdigest()[:16]


def where(url: str) -> str:
    """An endpoint as logs and errors name it: a webhook URL's query may carry the receiver's token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def post(
    http: httpx.Client,
    *,
    url: str,
    secret: str | None,
    event: Event,
    timestamp: int,
    timeout_s: float,
    kind: str = SIGNED,
):
    """POST ``event`` once, signed at ``timestamp`` (a fresh one per attempt: receivers reject stale ones;
    the ``webhook-id`` never changes, so a receiver de-duplicates what at-least-once delivery repeats).
    A chat ``kind`` gets its message unsigned (``secret`` unused): chat receivers verify no signature."""
    body, sent_headers = _request(kind, secret, event, timestamp)
    status: int | None = None
    try:
        with (
            within(timeout_s),
            http.stream("POST", url, content=body, headers=sent_headers, timeout=timeout_s) as answer,
        ):
            status = answer.status_code
            _read_at_most(answer, MAX_ANSWER_BYTES)
    except httpx.HTTPError as exc:
        if status is None:  # once the status is in, a body that stalls or breaks changes nothing
            return DeliveryResult(event.msg_id, False, None, type(exc).__name__)
    if 200 <= status < 300:
        return DeliveryResult(event.msg_id, True, status)
    return DeliveryResult(event.msg_id, False, status, f"HTTP {status}")


def _request(kind: str, secret: str | None, event: Event, timestamp: int) -> tuple[bytes, dict[str, str]]:
    if kind in chat.KINDS:
        return chat.body(kind, event), {"content-type": "application/json"}
    if kind != SIGNED or not secret:
        raise ValueError(f"endpoint kind {kind!r}: events are only sent signed, with a secret")
    body = event.payload()
    return body, headers(secret, msg_id=event.msg_id, timestamp=timestamp, body=body)


def _read_at_most(answer: httpx.Response, limit: int) -> None:
    """Read up to ``limit`` bytes of the answer (the rest is never read: closing drops the connection)."""
    seen = 0
    for chunk in answer.iter_raw(1024):
        seen += len(chunk)
        if seen >= limit:
            return
