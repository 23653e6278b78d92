"""``check_alert_webhooks`` through Dagster's own APIs: real check evaluations in an ephemeral instance (a
failed ``yesterday_archived``, a warned ``failure_rate_below_threshold``, a failed radar check, and
evaluations that must not alert), the sensor's ticks, the ``webhook_delivery`` runs it requests executed,
and loopback receivers that verify each event with ``standardwebhooks``."""

from __future__ import annotations

import dagster as dg
import pytest

from recording_assets.defs.check_alerts import build_check_alert_sensor
from recording_assets.defs.names import AUDIT, MANIFEST, RADAR
from recording_assets.defs.resources import WebhookResource
from recording_assets.defs.webhook_alerts import webhook_delivery
from recording_assets_tests.webhooks.receivers import SECRET, Receiver

TOKEN_URL_PART = "token=s3cr3t"


@dg.asset_check(asset=AUDIT, name="yesterday_archived")
def missing_day():
    return dg.AssetCheckResult(
        passed=False, description="no manifest for 2026-11-19", metadata={"day": "2026-11-19"}
    )


@dg.asset_check(asset=MANIFEST, name="failure_rate_below_threshold")
def warned_rate():
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"failure_rate": 0.12}
    )


@dg.asset_check(asset=RADAR, name="no_unarchived_recording_expiring")
def expiring():
    return dg.AssetCheckResult(passed=False, metadata={"at_risk": 7})


@dg.asset_check(asset=AUDIT, name="reverified_from_s3")
def not_alerting():
    return dg.AssetCheckResult(passed=False)


@dg.asset_check(asset=RADAR, name="no_unarchived_recording_expiring", description="passes")
def radar_passes():
    return dg.AssetCheckResult(passed=True)


@pytest.fixture
def receivers():
    started = [Receiver(), Receiver()]
    yield started
    for receiver in started:
        receiver.stop()


def _defs(checks, webhooks: WebhookResource) -> dg.Definitions:
    return dg.Definitions(
        assets=[dg.AssetSpec(MANIFEST), dg.AssetSpec(RADAR), dg.AssetSpec(AUDIT)],
        asset_checks=checks,
        jobs=[
            webhook_delivery,
            dg.define_asset_job("checks", selection=dg.AssetSelection.all_asset_checks()),
        ],
        sensors=[build_check_alert_sensor()],
        resources={"webhooks": webhooks},
    )


def _tick(defs: dg.Definitions, instance, cursor):
    sensor = defs.resolve_sensor_def("check_alert_webhooks")
    assert defs.resources is not None
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=defs.get_repository_def(),
        resources={"webhooks": defs.resources["webhooks"]},
    ) as context:
        data = sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.cursor


def test_each_failed_or_warned_alerting_check_is_one_signed_event_per_endpoint(receivers):
    webhooks = WebhookResource(
        endpoints=",".join(f"{r.url}?{TOKEN_URL_PART}" for r in receivers), secret=SECRET
    )
    defs = _defs([missing_day, warned_rate, expiring, not_alerting], webhooks)
    with dg.DagsterInstance.ephemeral() as instance:
        requests, cursor = _tick(defs, instance, None)  # the first tick only sets the cursor
        assert requests == []
        result = defs.resolve_job_def("checks").execute_in_process(instance=instance, raise_on_error=False)
        assert len(result.get_asset_check_evaluations()) == 4
        requests, cursor = _tick(defs, instance, cursor)
        assert len(requests) == 3 * 2  # three alerting evaluations, two endpoints; not reverified_from_s3
        assert len({r.run_key for r in requests}) == 6
        assert all(TOKEN_URL_PART not in str(r.run_config) for r in requests)
        again, _ = _tick(defs, instance, cursor)
        assert again == []  # a later tick requests nothing again
        for request in requests:
            delivery = webhook_delivery.execute_in_process(
                run_config=request.run_config, resources={"webhooks": webhooks}, instance=instance
            )
            assert delivery.success

    for receiver in receivers:
        assert receiver.rejected == [] and sorted(receiver.seen.values()) == [1, 1, 1]
        bodies = {p["data"]["check"]: p["data"] for p in receiver.payloads.values()}
        assert {p["type"] for p in receiver.payloads.values()} == {"recording.check.failed"}
        assert bodies["yesterday_archived"]["severity"] == "ERROR"
        assert bodies["yesterday_archived"]["details"] == {"day": "2026-11-19"}
        assert bodies["failure_rate_below_threshold"]["severity"] == "WARN"
        assert bodies["failure_rate_below_threshold"]["details"] == {"failure_rate": 0.12}
        assert bodies["no_unarchived_recording_expiring"]["asset"] == "recording_expiry_radar"
        assert all(b["run_id"] == result.run_id for b in bodies.values())
    assert receivers[0].payloads.keys() == receivers[1].payloads.keys()  # one id per event, both endpoints


def test_a_passed_check_and_a_delivery_run_naming_one_are_refused(receivers):
    webhooks = WebhookResource(endpoints=receivers[0].url, secret=SECRET)
    defs = _defs([radar_passes], webhooks)
    with dg.DagsterInstance.ephemeral() as instance:
        _, cursor = _tick(defs, instance, None)
        defs.resolve_job_def("checks").execute_in_process(instance=instance)
        requests, _ = _tick(defs, instance, cursor)
        assert requests == []
        records = instance.get_records_for_run(
            instance.get_runs()[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        forged = {
            "ops": {"deliver_webhook": {"config": {"endpoint": 0, "check_evaluation": records[0].storage_id}}}
        }
        delivery = webhook_delivery.execute_in_process(
            run_config=forged, resources={"webhooks": webhooks}, instance=instance, raise_on_error=False
        )
        assert not delivery.success
    assert receivers[0].payloads == {}
