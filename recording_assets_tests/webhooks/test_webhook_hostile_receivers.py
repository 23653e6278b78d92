"""A receiver that answers a byte at a time, or without end, cannot hold a webhook POST or the sensor tick:
real loopback servers (``receivers.py``) that record what they got out before the client hung up."""

from __future__ import annotations

import dagster as dg

from recording_assets.defs.resources import WebhookResource
from recording_assets.webhooks.delivery import MAX_ANSWER_BYTES, post
from recording_assets.webhooks.events import day_event
from recording_assets.webhooks.transport import client
from recording_assets_tests.webhooks import test_webhook_tick as ticks
from recording_assets_tests.webhooks.receivers import SECRET, HugeAnswerEndpoint, TricklingEndpoint

day_with_events = ticks.day_with_events  # the tick tests' fixture: one manifest materialised
EVENT = day_event(day="2026-11-20", materialization_id=7, manifest_uri="s3://m/x.parquet", rows=[])


def send(url: str, timeout_s: float):
    with client() as http:
        return post(http, url=url, secret=SECRET, event=EVENT, timestamp=1_800_000_000, timeout_s=timeout_s)


def test_a_trickling_answer_ends_at_the_posts_deadline():
    # A byte every 0.2 s never trips a 1 s read timeout; only the POST's total deadline ends it.
    endpoint = TricklingEndpoint(every_s=0.2, max_bytes=150)
    try:
        result = send(endpoint.url, timeout_s=1.0)
        endpoint.wait_for(1)
    finally:
        endpoint.stop()
    assert not result.ok and result.status is None and result.error == "ReadTimeout"
    # We hung up long before the endpoint ran out of bytes (150 bytes = 30 s of trickle).
    assert endpoint.client_hung_up == [True] and endpoint.sent[0] < 50


def test_a_huge_answer_is_read_only_a_few_kib_and_the_delivery_counts():
    endpoint = HugeAnswerEndpoint(size=64 * 1024 * 1024)
    try:
        result = send(endpoint.url, timeout_s=10.0)
        endpoint.wait_for(1)
    finally:
        endpoint.stop()
    assert result.ok and result.status == 200
    # Only the status matters: we read MAX_ANSWER_BYTES and closed; the rest never left the endpoint
    # (what it got out is what the kernel's socket buffers took before our close).
    assert MAX_ANSWER_BYTES <= 4096 and endpoint.client_hung_up == [True]
    assert endpoint.sent[0] < 16 * 1024 * 1024


def test_a_trickling_receiver_cannot_hold_the_sensor_tick(day_with_events):
    endpoint = TricklingEndpoint(every_s=0.2, max_bytes=150)
    webhooks = WebhookResource(endpoints=endpoint.url, secret=SECRET, timeout_s=1.0, tick_budget_s=3.0)
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            archive = day_with_events(instance, archived=0)
            cursor, summary, _ = ticks._tick(  # noqa: SLF001
                instance, None, webhooks, archive
            )
            [owed] = ticks.owed_items(archive)
        endpoint.wait_for(1)
    finally:
        endpoint.stop()
    # The day's event failed at its deadline and is owed to a later tick; the endpoint was left at once.
    assert owed["error"] == "ReadTimeout" and ", 1 failed," in summary, summary
    assert endpoint.client_hung_up[0] and endpoint.sent[0] < 50
