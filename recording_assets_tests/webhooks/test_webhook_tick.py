"""The ``manifest_webhooks`` tick on the real clock: a dead receiver never holds it, the cursor always
advances, every event arrives once verified by ``standardwebhooks``, an outage pauses the endpoint,
and an event a receiver keeps refusing is dropped only after ``give_up_after_hours``, loudly."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import dagster as dg
import pyarrow as pa
import pytest
from dagster_aws.s3 import S3Resource

from recording_assets.archive.keys import manifest_key
from recording_assets.defs.resources import ArchiveResource, WebhookResource
from recording_assets.defs.webhook_outbox import OwedKey, S3Outbox
from recording_assets.defs.webhooks import manifest_webhooks_tick
from recording_assets.pipeline.tables import MANIFEST, to_parquet_bytes
from recording_assets.webhooks.delivery import endpoint_id
from recording_assets_tests.webhooks.receivers import SECRET, HangingEndpoint, Receiver, refused_port

DAY = "2026-11-20"


def _manifest(archived: int) -> pa.Table:
    rows = [
        {
            "conversation_id": f"c{i}",
            "recording_id": f"r{i}",
            "state": "archived",
            "sha256": f"{i:064x}",
            "size_bytes": 10,
            "storage_uri": f"s3://archive/recordings/c{i}/r{i}.wav",
        }
        for i in range(archived)
    ]
    columns = MANIFEST.names
    return pa.Table.from_pylist([{name: r.get(name) for name in columns} for r in rows], schema=MANIFEST)


@pytest.fixture
def day_with_events(s3_client, bucket_names):
    """An ephemeral instance with one manifest materialisation whose day gives ``archived + 1`` events."""

    def make(instance: dg.DagsterInstance, archived: int) -> ArchiveResource:
        archive_bucket, manifest_bucket = bucket_names
        key = manifest_key(day=date.fromisoformat(DAY))
        s3_client.put_object(Bucket=manifest_bucket, Key=key, Body=to_parquet_bytes(_manifest(archived)))
        materialised = dg.AssetMaterialization(asset_key="recording_manifest", partition=DAY)
        instance.report_runless_asset_event(materialised)
        s3 = S3Resource(
            endpoint_url=s3_client.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return ArchiveResource(s3=s3, archive_bucket=archive_bucket, manifest_bucket=manifest_bucket)

    return make


def owed_items(archive: ArchiveResource) -> list[dict]:
    """What the outbox in the manifest bucket holds, read as the sensor reads it."""
    outbox = S3Outbox(archive.manifest_store())
    return [outbox.read(key) for key in outbox.keys() if isinstance(key, OwedKey)]


def _tick(instance, cursor, webhooks, archive, **kwargs):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    started = time.monotonic()
    new_cursor, summary = manifest_webhooks_tick(context, webhooks, archive, **kwargs)
    return new_cursor, summary, time.monotonic() - started


@pytest.mark.parametrize("dead", ["hangs", "refuses"])
def test_200_events_to_a_dead_receiver_finish_the_tick_fast_and_advance_the_cursor(day_with_events, dead):
    hanging = HangingEndpoint() if dead == "hangs" else None
    port = int(hanging.url.split(":")[2].split("/")[0]) if hanging else refused_port()
    url = f"http://127.0.0.1:{port}/hook?token=receiver-token"
    alive = Receiver()  # a second endpoint, up all along: the dead one must not hold it back
    # The defaults: a POST may take 10 s, a tick delivers for 30 s.
    webhooks = WebhookResource(endpoints=f"{url},{alive.url}", secret=SECRET, per_recording=True)
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            archive = day_with_events(instance, archived=199)
            latest = instance.fetch_materializations(dg.AssetKey("recording_manifest"), limit=1).records[0]
            cursor, summary, elapsed = _tick(instance, None, webhooks, archive)
            state = json.loads(cursor)
            # Under the 60 s a sensor tick may take (measured: 1-2 s refused, ~15 s hanging on a busy machine,
            # 10 of them the one POST's timeout): one POST found the endpoint dead, its other 199 events waited.
            assert elapsed < 60, (elapsed, summary)
            owed = owed_items(archive)
            assert state["after"] == latest.storage_id and len(owed) == 200
            assert {item["endpoint"] for item in owed} == {endpoint_id(url)}
            assert url not in cursor, "the cursor names endpoints by id: a URL may carry a token"
            assert "200 events delivered, 1 failed, 200 owed (199 waiting)" in summary
            assert state["paused"][endpoint_id(url)]["failures"] == 1 and "token" not in summary
            assert len(alive.seen) == 200 and set(alive.seen.values()) == {1}

            # The receiver comes back on that port; once the pause is over, the next tick delivers the rest.
            if hanging:
                hanging.stop()
            receiver = Receiver(port=port)
            try:
                cursor, summary, _ = _tick(instance, cursor, webhooks, archive, now=lambda: time.time() + 31)
            finally:
                receiver.stop()
    finally:
        alive.stop()
    assert owed_items(archive) == []
    assert json.loads(cursor) == {"after": latest.storage_id, "paused": {}}
    assert "200 events delivered, 0 failed, 0 owed" in summary
    assert len(receiver.seen) == 200 and set(receiver.seen.values()) == {1} and receiver.rejected == []
    assert receiver.seen.keys() == alive.seen.keys() and alive.requests == 200  # the same ids, none twice
    kinds = sorted({p["type"] for p in receiver.payloads.values()})
    assert kinds == ["recording.archived", "recording_day.archived"]


def test_a_slow_receiver_gets_what_the_budget_allows_each_tick_and_nothing_twice(day_with_events):
    receiver = Receiver(delay_s=0.15)  # 60 events take 9 s: more than one tick's budget
    budget = 6
    webhooks = WebhookResource(
        endpoints=receiver.url, secret=SECRET, per_recording=True, tick_budget_s=budget
    )
    per_tick, summaries = [], []
    cursor = None
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            archive = day_with_events(instance, archived=59)
            while len(per_tick) < 10:
                before = receiver.requests
                cursor, summary, elapsed = _tick(instance, cursor, webhooks, archive)
                per_tick.append(receiver.requests - before)
                summaries.append(summary)
                assert elapsed < budget + 1.5, summary  # the budget, plus at most one last POST
                if not owed_items(archive):
                    break
    finally:
        receiver.stop()
    # The budget cut the first tick short; later ticks went on from there until nothing was owed.
    assert 0 < per_tick[0] < 60 and len(per_tick) >= 2 and sum(per_tick) == 60, (per_tick, summaries)
    assert all(", 0 failed," in summary for summary in summaries)
    assert len(receiver.seen) == 60 and set(receiver.seen.values()) == {1} and receiver.requests == 60


class _Ticks:
    """``tick(at)`` evaluates the sensor at wall-clock ``at`` on the cursor the previous tick left;
    returns (cursor state, summary). ``tick.instance`` is the instance it evaluates on."""

    def __init__(self, instance: dg.DagsterInstance, webhooks: WebhookResource, archive, log_handler) -> None:
        self.instance = instance
        self._webhooks = webhooks
        self._archive = archive
        self._log_handler = log_handler
        self._cursor: str | None = None

    def __call__(self, at: float):
        context = dg.build_sensor_context(instance=self.instance, cursor=self._cursor)
        if self._log_handler is not None:
            context.log.addHandler(self._log_handler)  # the sensor's own logger, as the daemon stores it
        cursor, summary = manifest_webhooks_tick(context, self._webhooks, self._archive, now=lambda: at)
        self._cursor = cursor
        return json.loads(cursor), summary

    def owed(self) -> list[dict]:
        return owed_items(self._archive)


@contextmanager
def _ticks(day_with_events, webhooks: WebhookResource, archived: int, log_handler=None) -> Iterator[_Ticks]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield _Ticks(instance, webhooks, day_with_events(instance, archived=archived), log_handler)


def test_an_endpoint_that_answers_503_is_paused_and_resumed(day_with_events):
    receiver = Receiver(status=503)
    webhooks = WebhookResource(endpoints=receiver.url, secret=SECRET, per_recording=True)
    start = time.time()
    try:
        with _ticks(day_with_events, webhooks, archived=4) as tick:
            _, summary = tick(start)
            assert receiver.requests == 1 and "1 failed, 5 owed (4 waiting)" in summary
            tick(start + 10)
            assert receiver.requests == 1, "a paused endpoint gets nothing before its pause ends"
            state, _ = tick(start + 31)
            assert receiver.requests == 2 and state["paused"][endpoint_id(receiver.url)]["failures"] == 2
            receiver.status = 204
            state, summary = tick(start + 31 + 61)
    finally:
        receiver.stop()
    assert "5 events delivered" in summary and tick.owed() == []
    assert len(receiver.seen) == 5 and set(receiver.seen.values()) == {1}


def test_events_a_receiver_refuses_are_retried_then_dropped_loudly(day_with_events, caplog):
    receiver = Receiver(status=410)
    webhooks = WebhookResource(
        endpoints=receiver.url, secret=SECRET, per_recording=True, give_up_after_hours=72
    )
    start = time.time()
    try:
        with _ticks(day_with_events, webhooks, archived=2, log_handler=caplog.handler) as tick:
            state, summary = tick(start)
            # A refusal is about one event, not the endpoint: each was tried, each waits for its own retry.
            assert receiver.requests == 3 and "3 failed, 3 owed" in summary and state["paused"] == {}
            tick(start + 10)
            assert receiver.requests == 3
            state, summary = tick(start + 72 * 3600)
    finally:
        receiver.stop()
    assert tick.owed() == [] and "3 given up" in summary and receiver.requests == 3
    dropped = [r.getMessage() for r in caplog.records if "dropped: undelivered after 72 h" in r.getMessage()]
    assert len(dropped) == 3 and all("HTTP 410" in m and "token" not in m for m in dropped), dropped


def test_a_manifest_that_cannot_be_read_holds_the_cursor_there_and_the_rest_is_still_delivered(
    day_with_events, caplog
):
    receiver = Receiver()
    webhooks = WebhookResource(endpoints=receiver.url, secret=SECRET)
    try:
        with _ticks(day_with_events, webhooks, archived=0, log_handler=caplog.handler) as tick:
            manifest = dg.AssetKey("recording_manifest")
            (readable,) = tick.instance.fetch_materializations(manifest, limit=1).records
            # A later day's materialisation whose manifest object is not in the bucket.
            missing = dg.AssetMaterialization(asset_key="recording_manifest", partition="2026-11-21")
            tick.instance.report_runless_asset_event(missing)
            first, summary = tick(time.time())
            assert first["after"] == readable.storage_id and "1 new manifests; 1 events delivered" in summary
            second, summary = tick(time.time())
    finally:
        receiver.stop()
    assert second["after"] == readable.storage_id and "0 new manifests" in summary
    errors = [r.getMessage() for r in caplog.records if "manifest of 2026-11-21 not read" in r.getMessage()]
    assert len(errors) == 2 and len(receiver.seen) == 1


def test_a_cursor_of_the_previous_version_has_its_owed_items_moved_to_the_bucket_once(day_with_events):
    receiver = Receiver(status=503)
    webhooks = WebhookResource(endpoints=receiver.url, secret=SECRET)
    start = time.time()
    try:
        with _ticks(day_with_events, webhooks, archived=2) as tick:
            state, _ = tick(start)
            [owed] = tick.owed()
            assert receiver.requests == 1
            # The cursor as the previous version stored it: the outbox itself, endpoints named by URL.
            S3Outbox(tick._archive.manifest_store()).remove(owed.pop("key"))  # noqa: SLF001
            owed["url"] = receiver.url
            del owed["endpoint"]
            paused = {receiver.url: state["paused"][endpoint_id(receiver.url)]}
            tick._cursor = json.dumps({**state, "owed": [owed], "paused": paused})  # noqa: SLF001
            state, summary = tick(start + 10)  # still paused: moved, not sent
            assert "owed" not in state and receiver.requests == 1 and "1 owed" in summary
            [moved] = tick.owed()
            assert moved["event"] == owed["event"] and moved["endpoint"] == endpoint_id(receiver.url)
            assert receiver.url not in json.dumps(state)
            receiver.status = 204
            state, summary = tick(start + 61)
            assert tick.owed() == [] and "1 events delivered, 0 failed, 0 owed" in summary
    finally:
        receiver.stop()
    assert len(receiver.seen) == 1 and receiver.requests == 2
