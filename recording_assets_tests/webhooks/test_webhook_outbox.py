"""The manifest webhooks' outbox lives in the manifest bucket (moto server), not in the sensor cursor: an
outage of any length leaves the cursor the same size, delivery resumes after it with nothing sent twice,
and an outbox object that is garbage is reported and skipped."""

from __future__ import annotations

import json
import time

import dagster as dg

from recording_assets.defs.resources import WebhookResource
from recording_assets.defs.webhook_outbox import PREFIX, S3Outbox
from recording_assets.webhooks.delivery import endpoint_id
from recording_assets_tests.webhooks import test_webhook_tick as ticks
from recording_assets_tests.webhooks.receivers import SECRET, Receiver

day_with_events = ticks.day_with_events  # the tick tests' fixture: one manifest materialised


def test_an_outage_of_many_events_keeps_the_cursor_size_and_delivery_resumes_once(day_with_events):
    receiver = Receiver(status=503)
    webhooks = WebhookResource(endpoints=receiver.url, secret=SECRET, per_recording=True)
    start = float(int(time.time()))  # whole seconds: pause times keep one printed length
    sizes, owed = [], []
    try:
        with ticks._ticks(day_with_events, webhooks, archived=20) as tick:
            at = start
            for _ in range(4):  # each tick a new day's manifest arrives and the receiver is still down
                tick.instance.report_runless_asset_event(
                    dg.AssetMaterialization(asset_key="recording_manifest", partition=ticks.DAY)
                )
                tick(at)
                sizes.append(len(tick._cursor or ""))  # noqa: SLF001
                owed.append(len(tick.owed()))
                at += 3600  # past any pause
            assert owed == [42, 63, 84, 105], owed  # 21 events per manifest, none delivered
            assert len(set(sizes)) == 1, sizes
            receiver.status = 204
            _, summary = tick(at)
            assert "105 events delivered, 0 failed, 0 owed" in summary and tick.owed() == []
            _, summary = tick(at + 3600)
            assert "0 new manifests; 0 events delivered" in summary
    finally:
        receiver.stop()
    assert len(receiver.seen) == 105 and set(receiver.seen.values()) == {1}
    assert len(sizes) == 4 and sizes[0] < 200


def test_garbage_in_the_outbox_is_reported_and_skipped(day_with_events, s3_client, bucket_names, caplog):
    receiver = Receiver()
    webhooks = WebhookResource(endpoints=receiver.url, secret=SECRET)
    endpoint = endpoint_id(receiver.url)
    _, manifest_bucket = bucket_names
    garbage = {
        f"{PREFIX}{endpoint}/000000000000-00000-msg_{'0' * 32}.json": b"\x00not json",
        f"{PREFIX}{endpoint}/000000000000-00001-msg_{'1' * 32}.json": json.dumps(
            {"endpoint": endpoint, "event": {"msg_id": "msg_other", "type": "x", "body": {}}}
        ).encode(),
        f"{PREFIX}{endpoint}/000000000000-00002-msg_{'2' * 32}.json": b"[1, 2]",
        f"{PREFIX}stray.txt": b"hello",
    }
    try:
        with ticks._ticks(day_with_events, webhooks, archived=0, log_handler=caplog.handler) as tick:
            for key, body in garbage.items():
                s3_client.put_object(Bucket=manifest_bucket, Key=key, Body=body)
            _, summary = tick(time.time())
            assert "1 events delivered, 0 failed" in summary and "3 unreadable" in summary, summary
            _, summary = tick(time.time())
            assert "0 events delivered" in summary and "3 unreadable" in summary, summary
    finally:
        receiver.stop()
    assert len(receiver.seen) == 1 and receiver.rejected == []
    skipped = [r.getMessage() for r in caplog.records if "outbox item skipped" in r.getMessage()]
    assert len(skipped) == 6 and all("not json" not in m for m in skipped), skipped
    assert any("not outbox items" in r.getMessage() for r in caplog.records)


def test_a_large_old_cursor_moves_over_several_ticks_and_every_event_arrives_once(day_with_events):
    receiver = Receiver(status=503)
    webhooks = WebhookResource(endpoints=receiver.url, secret=SECRET, per_recording=True, tick_budget_s=3)
    start = time.time()
    try:
        with ticks._ticks(day_with_events, webhooks, archived=299) as tick:
            state, _ = tick(start)
            outbox = S3Outbox(tick._archive.manifest_store())  # noqa: SLF001
            items = tick.owed()
            for item in items:  # the previous version kept these in its cursor
                outbox.remove(item.pop("key"))
            tick._cursor = json.dumps({**state, "owed": items, "paused": {}})  # noqa: SLF001
            # 20 ms an answer, one POST at a time: 300 take 6 s, more than a 3 s tick however fast the
            # machine that runs the test.
            receiver.status, receiver.delay_s = 204, 0.02
            left = []
            for n in range(60):
                state, _ = tick(start + n)
                left.append(len(state.get("owed", [])) + len(tick.owed()))  # the cursor's and the outbox's
                if not state.get("owed") and not tick.owed():
                    break
    finally:
        receiver.stop()
    assert len(items) == 300 and 0 < left[0] < 300, left  # half a 3 s tick cannot move 300 items
    assert left == sorted(left, reverse=True) and left[-1] == 0, left
    assert len(receiver.seen) == 300 and set(receiver.seen.values()) == {1}
