"""The ``manifest_webhooks`` sensor: after each ``recording_manifest`` materialisation, post signed
events to every configured endpoint.

The cursor holds the last materialisation read and each paused endpoint's back-off; every delivery still
owed, with its retry state, is an object in the manifest bucket (``defs/webhook_outbox.py``), so the
cursor stays the same size however long a receiver is down. A tick spends at most ``tick_budget_s`` delivering and always stores
the cursor, so what was delivered is never sent again by design and what was not waits for a later
tick; a dead receiver pauses its endpoint instead of holding the tick. New manifests are read only while
the outbox is below ``BACKLOG``: during a long outage they stay in Dagster's event log, not in the bucket.
Delivery is at least once with stable ``webhook-id``s, so receivers de-duplicate. The sensor never
launches runs and never fails a run; what happened shows in its tick logs and skip messages.
"""

import json
import time
from collections.abc import Callable
from datetime import date

import dagster as dg
import httpx

from recording_assets.archive.keys import manifest_key
from recording_assets.defs.names import MANIFEST
from recording_assets.defs.resources import ArchiveResource, WebhookResource
from recording_assets.defs.webhook_outbox import PREFIX, BadItemError, OwedKey, S3Outbox, item_key
from recording_assets.pipeline.table_io import require_table
from recording_assets.webhooks.delivery import endpoint_id, post, where
from recording_assets.webhooks.events import Event, day_event, recording_events
from recording_assets.webhooks.outbox import MIN_REQUEST_S, drain, owed_item
from recording_assets.webhooks.transport import client as webhook_client

# Owed deliveries (one outbox object each, all listed every tick) above which no new manifest is read until
# receivers catch up.
BACKLOG = 5_000
MANIFESTS_PER_TICK = 10


def _events_for(record, archive: ArchiveResource, per_recording: bool) -> list[Event]:
    day = record.partition_key
    store = archive.manifest_store()
    key = manifest_key(day=date.fromisoformat(day))
    rows = require_table(store, key).to_pylist()
    uri = f"s3://{store.bucket}/{key}"
    events = [day_event(day=day, materialization_id=record.storage_id, manifest_uri=uri, rows=rows)]
    if per_recording:
        events += recording_events(day=day, materialization_id=record.storage_id, rows=rows)
    return events


def sender(webhooks: WebhookResource, client: httpx.Client):
    """(endpoint id, event, seconds left) -> DeliveryResult: one signed POST, never longer than what is left."""

    urls = {endpoint_id(url): url for url in webhooks.urls}

    def send(endpoint: str, event: Event, seconds_left: float):
        timeout = min(webhooks.timeout_s, seconds_left)
        return post(
            client,
            url=urls[endpoint],
            secret=webhooks.secret or "",
            event=event,
            timestamp=int(time.time()),
            timeout_s=timeout,
        )

    return send


def _migrate(state: dict, outbox: S3Outbox, *, more: Callable[[], bool]) -> None:
    """A cursor written before the outbox moved to S3 carried the owed items itself: move them while
    ``more()`` says the tick may, and keep the rest in the cursor for the next tick. A failed write
    raises, so the old cursor stays. An item's key depends only on it (not on its place in the list), so
    an item moved by a tick whose cursor was lost is found owed already, not owed twice; moved items sort
    before every newer one, among themselves by id."""
    owed = state.pop("owed", [])
    while owed and more():
        item = owed[0]
        if "url" in item:  # a cursor written before endpoints were named by id
            item["endpoint"] = endpoint_id(item.pop("url"))
        outbox.add(item_key(item["endpoint"], position=0, index=0, msg_id=item["event"]["msg_id"]), item)
        owed.pop(0)
    if owed:
        state["owed"] = owed
    state["paused"] = {endpoint_id(k) if "://" in k else k: v for k, v in state.get("paused", {}).items()}


def _settle(context, change, target) -> bool:
    try:
        change(target)
    except Exception as exc:  # noqa: BLE001 - an S3 error names bucket and key, never an endpoint
        context.log.error(f"webhook outbox: {exc}")
        return False
    return True


def manifest_webhooks_tick(context, webhooks: WebhookResource, archive: ArchiveResource, *, now=time.time):
    """One sensor evaluation; returns (new cursor, summary). Kept separate from the decorator for tests;
    ``now`` is the wall clock for due times, the budget always runs on the real monotonic clock."""
    started = time.monotonic()
    outbox = S3Outbox(archive.manifest_store())
    wall = now()

    def remaining() -> float:
        return webhooks.tick_budget_s - (time.monotonic() - started)

    def first_half() -> bool:  # housekeeping may use half the budget; delivery keeps the rest
        return remaining() > webhooks.tick_budget_s / 2

    state = json.loads(context.cursor) if context.cursor else {}
    _migrate(state, outbox, more=first_half)
    after, paused = state.get("after"), state.get("paused", {})
    urls = {endpoint_id(url): url for url in webhooks.urls}  # stored state names endpoints by id, never URL
    paused = {endpoint: pause for endpoint, pause in paused.items() if endpoint in urls}

    # An endpoint taken out of the configuration gets nothing more; what it was owed is dropped, loudly.
    listed, removed, strays = [], 0, 0
    for owed_key in outbox.keys():
        if isinstance(owed_key, str):
            strays += 1
        elif owed_key.endpoint not in urls:
            if first_half():  # the rest goes on a later tick
                outbox.remove(owed_key.key)
                removed += 1
        else:
            listed.append(owed_key)
    if removed:
        context.log.warning(f"{removed} owed webhook events dropped: endpoint no longer configured")
    if strays:
        context.log.warning(f"{strays} objects under {PREFIX} are not outbox items; left alone")

    records: list = []
    if len(listed) < BACKLOG and "owed" not in state:  # an old cursor is moved before anything new
        unread = dg.AssetRecordsFilter(asset_key=MANIFEST, after_storage_id=after)
        found = context.instance.fetch_materializations(unread, limit=MANIFESTS_PER_TICK, ascending=True)
        for record in found.records:
            if records and remaining() < webhooks.tick_budget_s / 2:
                break  # reading manifests may use half the budget; the rest are read next tick
            try:
                events = _events_for(record, archive, webhooks.per_recording)
                for index, event in enumerate(events):
                    for endpoint in urls:
                        key = item_key(endpoint, position=record.storage_id, index=index, msg_id=event.msg_id)
                        outbox.add(key, owed_item(endpoint, event, now=wall))
                        listed.append(OwedKey(key, endpoint))
            except Exception as exc:  # noqa: BLE001 - S3 down or the manifest gone: deliver what is owed
                context.log.error(f"manifest of {record.partition_key} not read, retried next tick: {exc!r}")
                break
            after = record.storage_id
            records.append(record)
        listed = list(dict.fromkeys(listed))  # a re-read manifest's items are owed once

    bad: list[str] = []

    def due_items():
        # Items of a paused endpoint are not even read; the rest only while the budget lasts.
        for owed_key in listed:
            if paused.get(owed_key.endpoint, {}).get("until", 0) > wall or remaining() < MIN_REQUEST_S:
                continue
            try:
                yield outbox.read(owed_key)
            except BadItemError as error:
                bad.append(str(error))

    with webhook_client() as client:
        _, tally = drain(
            due_items(),
            paused,
            sender(webhooks, client),
            now=wall,
            remaining=remaining,
            give_up_after_s=webhooks.give_up_after_hours * 3600,
        )
    unsettled = 0  # a 2xx is not undone by S3 failing now: log it and store the cursor all the same
    for item in tally.sent + tally.given_up:
        unsettled += not _settle(context, outbox.remove, item["key"])
    for item in tally.retried:
        unsettled += not _settle(context, outbox.update, item)
    if unsettled:
        context.log.error(
            f"{unsettled} outbox items not deleted or updated: delivered ones will be sent again; the role "
            f"needs s3:DeleteObject and s3:PutObject on {PREFIX} in the manifest bucket"
        )
    for message in bad:
        context.log.error(f"webhook outbox item skipped: {message}")
    for endpoint, pause in paused.items():
        context.log.warning(
            f"webhook endpoint {where(urls[endpoint])} paused: {pause['failures']} failures in a row"
        )
    for item in tally.given_up:
        context.log.error(
            f"webhook {item['event']['msg_id']} ({item['event']['type']}) to {where(urls[item['endpoint']])} dropped: "
            f"undelivered after {webhooks.give_up_after_hours:g} h, {item.get('tries', 0)} tries, "
            f"last error {item.get('error')}"
        )
    owed = len(listed) - tally.delivered - len(tally.given_up)
    cursor = json.dumps(
        {"after": after, "paused": paused, **({"owed": state["owed"]} if "owed" in state else {})}
    )
    summary = (
        f"{len(records)} new manifests; {tally.delivered} events delivered, {tally.failed} failed, "
        f"{owed} owed ({owed - tally.failed} waiting), {len(tally.given_up)} given up, "
        f"{len(bad)} unreadable, {time.monotonic() - started:.1f} s"
    )
    return cursor, summary


def build_webhook_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="manifest_webhooks",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="POST signed (Standard Webhooks) events when a day's manifest is materialised.",
    )
    def manifest_webhooks(
        context: dg.SensorEvaluationContext, webhooks: WebhookResource, archive: ArchiveResource
    ):
        if not webhooks.urls:
            return dg.SkipReason("no webhook endpoints configured (RECORDING_WEBHOOK_URLS)")
        if not webhooks.secret:
            return dg.SkipReason("RECORDING_WEBHOOK_SECRET is not set: events are only sent signed")
        cursor, summary = manifest_webhooks_tick(context, webhooks, archive)
        context.update_cursor(cursor)
        return dg.SkipReason(summary)

    return manifest_webhooks


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[build_webhook_sensor()])
