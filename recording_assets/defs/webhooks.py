"""The ``manifest_webhooks`` sensor: after each ``recording_manifest`` materialisation, post signed
events to every configured endpoint.

At-least-once: the cursor holds the last materialisation handled and every delivery still owed, so
a restart or a receiver that is down only delays events; their ids never change, so receivers
de-duplicate. The sensor never launches runs and never fails a run; failures show in its tick logs
and skip messages.
"""


import json
from datetime import date

import dagster as dg
import httpx

from recording_assets.archive.keys import manifest_key
from recording_assets.defs.common import read_table
from recording_assets.defs.resources import ArchiveResource, WebhookResource
from recording_assets.genesys.redact import install_log_redaction
from recording_assets.webhooks.delivery import deliver
from recording_assets.webhooks.events import Event, day_event, recording_events

MANIFEST = dg.AssetKey("recording_manifest")
MAX_OWED = 20_000  # deliveries kept in the cursor; beyond this the oldest are dropped, loudly


def _events_for(record, archive: ArchiveResource, per_recording: bool) -> list[Event]:
    day = record.partition_key
    store = archive.manifest_store()
    key = manifest_key(day=date.fromisoformat(day))
    rows = read_table(store, key).to_pylist()
    uri = f"s3://{store.bucket}/{key}"
    events = [day_event(day=day, materialization_id=record.storage_id, manifest_uri=uri, rows=rows)]
    if per_recording:
        events += recording_events(day=day, materialization_id=record.storage_id, rows=rows)
    return events


def manifest_webhooks_tick(context, webhooks: WebhookResource, archive: ArchiveResource, *, http=None, sleep=None):
    """One sensor evaluation; returns (new cursor, summary). Kept separate from the decorator for tests."""
    state = json.loads(context.cursor) if context.cursor else {"after": None, "owed": []}
    owed: list[dict] = state["owed"]
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=MANIFEST, after_storage_id=state["after"]), limit=50, ascending=True
    ).records
    for record in records:
        for event in _events_for(record, archive, webhooks.per_recording):
            owed.extend({"url": url, "event": event.to_json()} for url in webhooks.urls)
        state["after"] = record.storage_id
    delivered = failed = 0
    still_owed = []
    options = {} if sleep is None else {"sleep": sleep}
    install_log_redaction()  # httpx logs each request's URL; a webhook URL's query may carry a token
    with (http or httpx.Client(timeout=webhooks.timeout_s)) as client:
        for item in owed:
            result = deliver(
                client,
                url=item["url"],
                secret=webhooks.secret or "",
                event=Event.from_json(item["event"]),
                attempts=webhooks.attempts,
                **options,
            )
            if result.ok:
                delivered += 1
            else:
                failed += 1
                still_owed.append(item)
                context.log.warning(f"webhook {result.msg_id} to {item['url']} failed ({result.error}); will retry")
    if len(still_owed) > MAX_OWED:
        context.log.error(f"{len(still_owed) - MAX_OWED} undelivered webhook events dropped (receiver down too long)")
        still_owed = still_owed[-MAX_OWED:]
    state["owed"] = still_owed
    summary = f"{len(records)} new manifests; {delivered} events delivered, {failed} failed and owed"
    return json.dumps(state), summary


def build_webhook_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="manifest_webhooks",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="POST signed (Standard Webhooks) events when a day's manifest is materialised.",
    )
    def manifest_webhooks(context: dg.SensorEvaluationContext, webhooks: WebhookResource, archive: ArchiveResource):
        if not webhooks.urls:
            return dg.SkipReason("no webhook endpoints configured (RECORDING_WEBHOOK_URLS)")
        if not webhooks.secret:
            return dg.SkipReason("RECORDING_WEBHOOK_SECRET is not set: events are only sent signed")
        cursor, summary = manifest_webhooks_tick(context, webhooks, archive)
        context.update_cursor(cursor)
        return dg.SkipReason(summary)

    return manifest_webhooks
