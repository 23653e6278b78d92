"""``archive_failure_webhooks`` through Dagster's own APIs: a real failed run in an ephemeral instance, the
sensor's ticks as the daemon evaluates them, the ``webhook_delivery`` run it requests executed, and a
loopback receiver that verifies the event with ``standardwebhooks``."""

from __future__ import annotations

import dagster as dg
import pytest

from recording_assets.defs.automation import JOB_NAME
from recording_assets.defs.resources import WebhookResource
from recording_assets.defs.webhook_alerts import (
    WebhookDeliveryConfig,
    build_failure_webhook_sensor,
    deliver_webhook,
    webhook_delivery,
)
from recording_assets.webhooks.events import archive_failed_event
from recording_assets_tests.webhooks.receivers import SECRET, Receiver, refused_port

DAY = "2026-11-20"
PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=PARTITIONS, name="recording_audio")
def failing_audio():
    raise RuntimeError("upload refused for https://bucket.s3.example/r1.wav?X-Amz-Signature=abcdef (403)")


@dg.op
def failing_op():
    raise RuntimeError("not an archive step")


@dg.job(name="some_other_job")
def other_job():
    failing_op()


@pytest.fixture
def receivers():
    started = [Receiver(), Receiver()]
    yield started
    for receiver in started:
        receiver.stop()


def _defs(webhooks: WebhookResource) -> dg.Definitions:
    archive = dg.define_asset_job(JOB_NAME, selection=[failing_audio])
    return dg.Definitions(
        assets=[failing_audio],
        jobs=[archive, other_job, webhook_delivery],
        sensors=[build_failure_webhook_sensor()],
        resources={"webhooks": webhooks},
    )


def _tick(defs: dg.Definitions, instance, cursor):
    sensor = defs.resolve_sensor_def("archive_failure_webhooks")
    repository = defs.get_repository_def()
    assert defs.resources is not None
    resources = {"webhooks": defs.resources["webhooks"]}
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=repository, resources=resources
    ) as context:
        data = sensor.evaluate_tick(context)
    return data, data.cursor


def test_a_failed_archive_run_sends_a_signed_event_to_every_endpoint(receivers):
    webhooks = WebhookResource(endpoints=",".join(r.url for r in receivers), secret=SECRET)
    defs = _defs(webhooks)
    with dg.DagsterInstance.ephemeral() as instance:
        _, cursor = _tick(defs, instance, None)  # the first tick only sets the cursor, as in the daemon
        failed = defs.resolve_job_def(JOB_NAME).execute_in_process(
            instance=instance, partition_key=DAY, raise_on_error=False
        )
        other = defs.resolve_job_def("some_other_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not failed.success and not other.success

        data, cursor = _tick(defs, instance, cursor)
        requests = list(data.run_requests)
        assert [r.run_key for r in requests] == [f"{requests[0].run_key[:-2]}:{i}" for i in range(2)]
        assert [r.run_config["ops"]["deliver_webhook"]["config"]["endpoint"] for r in requests] == [0, 1]
        # Run config is visible in the UI: it carries neither the failure's URL query nor the endpoint URL.
        configs = [str(r.run_config) for r in requests]
        assert all("X-Amz" not in c and "127.0.0.1" not in c for c in configs)
        # The other job's failure was seen and skipped; nothing more is requested on the next tick.
        again, _ = _tick(defs, instance, cursor)
        assert list(again.run_requests) == []

        for request in requests:
            delivery = webhook_delivery.execute_in_process(
                run_config=request.run_config, resources={"webhooks": webhooks}, instance=instance
            )
            assert delivery.success

    for receiver in receivers:
        assert receiver.rejected == [] and list(receiver.seen.values()) == [1]
        (payload,) = receiver.payloads.values()
        assert payload["type"] == "recording.archive.failed"
        data = payload["data"]
        assert data["run_id"] == failed.run_id and data["job_name"] == JOB_NAME and data["partition"] == DAY
        assert data["error"].startswith("recording_audio: RuntimeError: upload refused for https://bucket")
        assert "X-Amz" not in data["error"] and "abcdef" not in data["error"]
    assert receivers[0].payloads.keys() == receivers[1].payloads.keys()  # one event id, both endpoints


def test_without_endpoints_the_sensor_requests_nothing():
    defs = _defs(WebhookResource())
    with dg.DagsterInstance.ephemeral() as instance:
        _, cursor = _tick(defs, instance, None)
        archive = defs.resolve_job_def(JOB_NAME)
        run = archive.execute_in_process(instance=instance, partition_key=DAY, raise_on_error=False)
        assert not run.success
        data, _ = _tick(defs, instance, cursor)
    assert list(data.run_requests) == []


def test_a_delivery_to_a_dead_endpoint_fails_the_attempt_so_dagster_retries_it():
    url = f"http://127.0.0.1:{refused_port()}/hook?token=receiver-token"
    webhooks = WebhookResource(endpoints=url, secret=SECRET)
    with dg.DagsterInstance.ephemeral() as instance:
        failed = (
            _defs(webhooks)
            .resolve_job_def(JOB_NAME)
            .execute_in_process(instance=instance, partition_key=DAY, raise_on_error=False)
        )
        context = dg.build_op_context(resources={"webhooks": webhooks}, instance=instance)
        with pytest.raises(dg.Failure) as caught:
            deliver_webhook(context, WebhookDeliveryConfig(endpoint=0, failed_run=failed.run_id))
        message = str(caught.value)
        assert caught.value.allow_retries and "ConnectError" in message and "token" not in message
        # An endpoint removed since the run was requested cannot succeed by retrying: it says so at once.
        with pytest.raises(dg.Failure, match="endpoint 1 is not configured") as caught:
            deliver_webhook(context, WebhookDeliveryConfig(endpoint=1, failed_run=failed.run_id))
        assert not caught.value.allow_retries


def test_a_delivery_run_signs_only_what_the_instance_says_failed(receivers):
    """Run config names a run, never an event: a run that did not fail, or that archives nothing, or that
    does not exist is refused before anything is signed or sent."""
    webhooks = WebhookResource(endpoints=receivers[0].url, secret=SECRET)
    defs = _defs(webhooks)
    with dg.DagsterInstance.ephemeral() as instance:
        other = defs.resolve_job_def("some_other_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        context = dg.build_op_context(resources={"webhooks": webhooks}, instance=instance)
        for run_id in (other.run_id, "no-such-run"):
            with pytest.raises(dg.Failure, match="is not a failed archive run") as caught:
                deliver_webhook(context, WebhookDeliveryConfig(endpoint=0, failed_run=run_id))
            assert not caught.value.allow_retries
        with pytest.raises(dg.DagsterInvalidConfigError, match="event"):
            forged = {"endpoint": 0, "failed_run": other.run_id, "event": '{"type": "recording.archived"}'}
            webhook_delivery.execute_in_process(
                run_config={"ops": {"deliver_webhook": {"config": forged}}},
                resources={"webhooks": webhooks},
                instance=instance,
            )
    assert receivers[0].payloads == {}


def test_a_failed_ui_launch_of_an_archive_asset_counts_as_an_archive_run():
    defs = _defs(WebhookResource(endpoints="http://127.0.0.1:9/hook", secret=SECRET))
    with dg.DagsterInstance.ephemeral() as instance:
        _, cursor = _tick(defs, instance, None)
        # What the UI's Materialize launches: Dagster's implicit asset job with an asset selection.
        implicit = defs.resolve_implicit_global_asset_job_def()
        run = implicit.execute_in_process(
            instance=instance, partition_key=DAY, asset_selection=[failing_audio.key], raise_on_error=False
        )
        data, _ = _tick(defs, instance, cursor)
    assert run.dagster_run.job_name != JOB_NAME and not run.success
    expected = archive_failed_event(run_id=run.run_id, job_name="__ASSET_JOB", partition=DAY, error="")
    assert [r.run_key for r in data.run_requests] == [f"{expected.msg_id}:0"]
