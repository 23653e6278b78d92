"""Schedule and webhook sensor: deterministic run keys, a cursor that advances, at-least-once signed delivery.

Webhook signatures are verified by the independent ``standardwebhooks`` package, and the receiver is a real
HTTP server on loopback that is down, then up.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pyarrow as pa
from standardwebhooks import Webhook

from recording_assets.archive.keys import manifest_key
from recording_assets.defs.automation import DAYS_AT_RISK, PRIORITY, archive_job, archive_schedule
from recording_assets.defs.names import RADAR
from recording_assets.defs.resources import ArchiveResource
from recording_assets.defs.run_limits import PRIORITY_TAG, SCHEDULED_PRIORITY
from recording_assets.defs.webhook_outbox import S3Outbox
from recording_assets.defs.webhooks import WebhookResource, manifest_webhooks_tick
from recording_assets.pipeline.tables import MANIFEST, to_parquet_bytes
from recording_assets.settings import AutomationSettings

SECRET = "whsec_" + base64.b64encode(b"a-test-key-of-some-length-123456").decode()


def _schedule(resweep=3):
    partitions = dg.DailyPartitionsDefinition(start_date="2026-01-01")

    def stand_in(name):  # the archive job selects the day's three assets by key
        @dg.asset(partitions_def=partitions, name=name)
        def asset():
            return None

        return asset

    assets = [stand_in(name) for name in ("recording_metadata", "recording_audio", "recording_manifest")]
    # ... and so none of the checks of the external audit asset (defs/audit.py).
    assets.append(
        dg.AssetSpec("recording_archive_audit", deps=["recording_manifest"], partitions_def=partitions)
    )
    for check in ("yesterday_archived", "reverified_from_s3"):
        assets.append(
            dg.asset_check(asset="recording_archive_audit", name=check)(
                lambda: dg.AssetCheckResult(passed=True)
            )
        )
    job = archive_job()
    return archive_schedule(
        job, AutomationSettings(settle_lag_minutes=120, resweep_days=resweep), "UTC", partitions
    ), assets


def _tick(schedule, assets, when, instance=None):
    checks = [a for a in assets if isinstance(a, dg.AssetChecksDefinition)]
    assets = [a for a in assets if not isinstance(a, dg.AssetChecksDefinition)]
    defs = dg.Definitions(assets=assets, asset_checks=checks, schedules=[schedule])
    with dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def(), instance=instance
    ) as context:
        return list(defs.resolve_schedule_def(schedule.name).evaluate_tick(context).run_requests)


def test_schedule_requests_yesterday_and_resweeps_with_deterministic_keys():
    schedule, assets = _schedule()
    when = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    first = _tick(schedule, assets, when)
    assert [(r.run_key, r.partition_key) for r in first] == [
        ("archive:2026-11-22", "2026-11-22"),
        ("sweep:2026-11-21@2026-11-23T02:00", "2026-11-21"),
        ("sweep:2026-11-20@2026-11-23T02:00", "2026-11-20"),
        ("sweep:2026-11-19@2026-11-23T02:00", "2026-11-19"),
    ]
    # Every run of the tick goes before a backfill's runs (no priority) in the run queue and the pool.
    assert {r.tags[PRIORITY_TAG] for r in first} == {SCHEDULED_PRIORITY} and int(SCHEDULED_PRIORITY) > 0
    # The same tick again yields the same keys, so Dagster launches nothing new.
    assert [r.run_key for r in _tick(schedule, assets, when)] == [r.run_key for r in first]
    # The next day's tick re-sweeps with new keys but never re-requests the first archive of a day.
    later = _tick(schedule, assets, datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc))
    assert later[0].run_key == "archive:2026-11-23"
    assert "archive:2026-11-22" not in {r.run_key for r in later}


def test_a_tick_requests_each_day_once_even_when_the_radar_flags_it():
    # The expiry radar flags yesterday (whose first archive the tick requests anyway), a re-swept day and an
    # older day. Formerly yesterday got both expiry:{day} and archive:{day}: two runs of one day at once.
    schedule, assets = _schedule()
    when = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    with dg.instance_for_test() as instance:
        flagged = {"2026-11-22": 4, "2026-11-21": 2, "2026-11-02": 1}
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=RADAR, metadata={DAYS_AT_RISK: flagged})
        )
        requests = _tick(schedule, assets, when, instance=instance)
    days = [r.partition_key for r in requests]
    assert sorted(days) == sorted(set(days)), days
    assert sorted(days) == ["2026-11-02", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
    by_day = {r.partition_key: r for r in requests}
    assert by_day["2026-11-22"].run_key == "archive:2026-11-22"  # its once-ever key, with the priority
    assert by_day["2026-11-22"].tags["dagster/priority"] == PRIORITY
    assert int(PRIORITY) > int(SCHEDULED_PRIORITY)  # a day at risk goes before tonight's others
    assert by_day["2026-11-21"].run_key == "expiry:2026-11-21@2026-11-23T02:00"
    assert by_day["2026-11-02"].tags["recording_assets/kind"] == "expiry"
    assert by_day["2026-11-20"].run_key == "sweep:2026-11-20@2026-11-23T02:00"


def test_schedule_never_requests_days_before_the_first_partition():
    schedule, assets = _schedule(resweep=5)
    requests = _tick(schedule, assets, datetime(2026, 1, 3, 2, 0, tzinfo=timezone.utc))
    assert [r.partition_key for r in requests] == ["2026-01-02", "2026-01-01"]


class _Receiver:
    """A webhook receiver on loopback that can be down (503) and that de-duplicates by webhook-id."""

    def __init__(self):
        self.up = False
        self.seen: dict[str, dict] = {}
        self.deliveries = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries += 1
                if not receiver.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items()}
                payload = Webhook(SECRET).verify(body, headers)  # raises on a bad signature
                receiver.seen.setdefault(headers["webhook-id"], payload)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _manifest_rows():
    rows = [
        {
            "conversation_id": "c1",
            "recording_id": "r1",
            "state": "archived",
            "sha256": "a" * 64,
            "size_bytes": 10,
            "storage_uri": "s3://recording-archive/recordings/x/r1.wav",
        },
        {"conversation_id": "c1", "recording_id": "r2", "state": "deleted", "reason": "fileState DELETED"},
    ]
    return pa.Table.from_pylist(
        [{name: r.get(name) for name in MANIFEST.names} for r in rows], schema=MANIFEST
    )


def test_sensor_delivers_signed_events_at_least_once_across_an_outage(s3_client, bucket_names):
    from dagster_aws.s3 import S3Resource

    archive_bucket, manifest_bucket = bucket_names
    endpoint = s3_client.meta.endpoint_url
    archive = ArchiveResource(
        s3=S3Resource(
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ),
        archive_bucket=archive_bucket,
        manifest_bucket=manifest_bucket,
    )
    day = "2026-11-20"
    s3_client.put_object(
        Bucket=manifest_bucket,
        Key=manifest_key(day=datetime(2026, 11, 20).date()),
        Body=to_parquet_bytes(_manifest_rows()),
    )
    receiver = _Receiver()
    webhooks = WebhookResource(endpoints=receiver.url, secret=SECRET, per_recording=True)
    start = time.time()
    with dg.DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="recording_manifest", partition=day)
        )
        context = dg.build_sensor_context(instance=instance, cursor=None)
        cursor, summary = manifest_webhooks_tick(context, webhooks, archive, now=lambda: start)
        state = json.loads(cursor)
        outbox = S3Outbox(archive.manifest_store())
        assert state["after"] is not None and len(list(outbox.keys())) == 2  # day event + a recording's
        # The first 503 pauses the endpoint: the second event is not even tried in this tick.
        assert "1 failed, 2 owed (1 waiting)" in summary and receiver.seen == {} and receiver.deliveries == 1

        receiver.up = True
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        cursor2, summary2 = manifest_webhooks_tick(context, webhooks, archive, now=lambda: start + 31)
        assert json.loads(cursor2) == {"after": state["after"], "paused": {}} and list(outbox.keys()) == []
        assert "2 events delivered" in summary2

        # A repeated tick on the advanced cursor sends nothing new.
        before = receiver.deliveries
        context = dg.build_sensor_context(instance=instance, cursor=cursor2)
        manifest_webhooks_tick(context, webhooks, archive, now=lambda: start + 62)
        assert receiver.deliveries == before

    kinds = sorted(p["type"] for p in receiver.seen.values())
    assert kinds == ["recording.archived", "recording_day.archived"]
    day_event = next(p for p in receiver.seen.values() if p["type"] == "recording_day.archived")["data"]
    assert day_event["counts"] == {"archived": 1, "deleted": 1} and day_event["date"] == day
    assert "X-Amz" not in json.dumps(list(receiver.seen.values()))
    receiver.server.shutdown()
