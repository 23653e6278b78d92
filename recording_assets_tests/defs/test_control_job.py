"""The ``recording_control`` Dagster job in-process against the sandbox and moto: typed run config,
the same outcomes and audit records as the CLI, and a failed run (with the readable message) on refusal."""

from __future__ import annotations

import json
import threading

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from recording_assets import settings as cfg
from recording_assets.archive.store import ArchiveStore
from recording_assets.defs.control import RecordingControlConfig, recording_control
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.genesys.control import PAUSE_PERMISSION
from recording_assets.sandbox import Faults
from recording_assets_tests.conftest import S3_CREDENTIALS
from recording_assets_tests.definitions_env import load_definitions

UNKNOWN = "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"
HANG_GUARD_S = 120  # ends a test whose run would otherwise wait forever


@pytest.fixture
def sandbox(sandbox_factory, fake_clock):
    fake_clock.advance(9 * 3600 + 1800)
    return sandbox_factory(clock=fake_clock, conversations_per_day=300, live_calls=3, media_scale=0.002)


@pytest.fixture
def resources(sandbox, s3_endpoint, bucket_names):
    s3 = S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1", **S3_CREDENTIALS)
    return {
        "genesys": GenesysCloudResource(
            client_id=sandbox.config.client_id,
            client_secret=sandbox.config.client_secret,
            api_base_url=sandbox.base_url,
        ),
        "archive": ArchiveResource(s3=s3, archive_bucket=bucket_names[0], manifest_bucket=bucket_names[1]),
    }


def launch(resources, job=recording_control, **config):
    run_config = {"ops": {"control_recording": {"config": config}}}
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            run_config=run_config,
            resources=resources,
            instance=instance,
            tags={"dagster/user": "bob@example.com"},
            raise_on_error=False,
        )


def audit_records(s3_client, bucket) -> list[dict]:
    store = ArchiveStore(s3_client, bucket=bucket)
    return sorted(
        (json.loads(_listed(store, o.key)) for o in store.list_day("control-audit/")), key=lambda r: r["at"]
    )


def _listed(store: ArchiveStore, key: str) -> bytes:
    body = store.get_bytes(key)
    assert body is not None, f"{key} was listed, then could not be read"
    return body


def writes(sandbox):
    return [
        (e["method"], e["path"], e["status"])
        for e in sandbox.stats()["log"]
        if e["family"] == "recording.state"
    ]


def failure_message(result) -> str:
    return result.failure_data_for_node("control_recording").user_failure_data.description


def test_pause_then_noop_then_participant_stop(sandbox, resources, s3_client, bucket_names):
    conv = sandbox.org.live_calls[0]
    first = launch(resources, action="pause", conversation_id=conv.id, reason="PCI")
    assert first.success
    assert writes(sandbox) == [("PUT", f"/api/v2/conversations/calls/{conv.id}/recordingstate", 200)]
    output = first.output_for_node("control_recording")
    assert output["outcome"] == "changed" and output["run_id"] == first.run_id

    again = launch(resources, action="pause", conversation_id=conv.id)
    assert again.success and again.output_for_node("control_recording")["outcome"] == "already"
    assert len(writes(sandbox)) == 1

    agent = conv.participant_id("agent")
    stop = launch(resources, action="stop", conversation_id=conv.id, participant_id=agent)
    assert stop.success
    assert writes(sandbox)[-1] == (
        "PATCH",
        f"/api/v2/conversations/calls/{conv.id}/participants/{agent}",
        202,
    )

    records = audit_records(s3_client, bucket_names[1])
    assert [(r["action"], r["outcome"], r["run_id"]) for r in records] == [
        ("pause", "changed", first.run_id),
        ("pause", "already", again.run_id),
        ("stop", "changed", stop.run_id),
    ]
    assert all(r["source"] == "dagster" and r["launched_by"] == "user:bob@example.com" for r in records)
    assert records[0]["reason"] == "PCI" and records[0]["http_status"] == 200 and records[0]["correlation_id"]
    assert "sandbox-secret" not in json.dumps(records)


def test_refusals_fail_the_run_with_the_message_and_are_audited(sandbox, resources, s3_client, bucket_names):
    unknown = launch(resources, action="resume", conversation_id=UNKNOWN)
    assert not unknown.success
    assert f"conversation {UNKNOWN} was not found (HTTP 404" in failure_message(unknown)

    conv = sandbox.org.live_calls[0]
    sandbox.set_faults(Faults(deny_permissions=frozenset({PAUSE_PERMISSION})))
    denied = launch(resources, action="pause", conversation_id=conv.id)
    assert not denied.success
    assert "conversation:recording:pauseOthers" in failure_message(denied)

    records = audit_records(s3_client, bucket_names[1])
    assert [(r["outcome"], r["http_status"], r["run_id"]) for r in records] == [
        ("refused", 404, unknown.run_id),
        ("refused", 403, denied.run_id),
    ]
    assert records[1]["missing_permission"] == PAUSE_PERMISSION


def test_run_config_is_typed_and_checked_before_acting(sandbox, resources, s3_client, bucket_names):
    conv = sandbox.org.live_calls[0]
    with pytest.raises(dg.DagsterInvalidConfigError, match="action"):
        launch(resources, action="mute", conversation_id=conv.id)
    missing = launch(resources, action="start", conversation_id=conv.id)
    assert not missing.success and "start needs a participant id" in failure_message(missing)
    extra = launch(
        resources, action="pause", conversation_id=conv.id, participant_id=conv.participant_id("agent")
    )
    assert not extra.success and "a participant id is only for start/stop" in failure_message(extra)
    assert sandbox.stats()["log"] == [] and audit_records(s3_client, bucket_names[1]) == []
    schema = RecordingControlConfig.model_json_schema()
    assert schema["properties"]["action"]["enum"] == ["pause", "resume", "start", "stop"]


def test_job_is_in_the_code_location_with_env_resources_and_no_pool(
    sandbox, monkeypatch, s3_endpoint, bucket_names, s3_client
):
    for name, value in {
        cfg.API_BASE_URL: sandbox.base_url,
        cfg.CLIENT_ID: sandbox.config.client_id,
        cfg.CLIENT_SECRET: sandbox.config.client_secret,
        cfg.ARCHIVE_BUCKET: bucket_names[0],
        cfg.MANIFEST_BUCKET: bucket_names[1],
        cfg.AWS_ENDPOINT_URL: s3_endpoint,
        cfg.AWS_REGION: "us-east-1",
        "AWS_ACCESS_KEY_ID": S3_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": S3_CREDENTIALS["aws_secret_access_key"],
    }.items():
        monkeypatch.setenv(name, value)
    job = load_definitions().resolve_job_def("recording_control")
    assert job.graph.node_named("control_recording").definition.pool is None  # never waits for a slot
    conv = sandbox.org.live_calls[1]
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config={
                "ops": {"control_recording": {"config": {"action": "pause", "conversation_id": conv.id}}}
            },
            instance=instance,
        )
    assert result.success
    assert sandbox.state.control.state(conv).state == "paused"
    [record] = audit_records(s3_client, bucket_names[1])
    assert record["run_id"] == result.run_id and record["launched_by"] == "manual"


def test_an_occupied_genesys_slot_does_not_hold_up_a_pause(sandbox, resources, s3_client, bucket_names):
    # A backfill holds the only genesys_api slot; Dagster's executor would block a step of that pool until
    # the slot frees (it logs "Step blocked by limit for pool"). The pause runs at once all the same.
    conv = sandbox.org.live_calls[2]
    run_config = {"ops": {"control_recording": {"config": {"action": "pause", "conversation_id": conv.id}}}}
    with dg.instance_for_test() as instance:
        slots = instance.event_log_storage
        slots.set_concurrency_slots("genesys_api", 1)
        assert slots.claim_concurrency_slot("genesys_api", "a-backfill-run", "recording_day").is_claimed
        finished: list = []
        worker = threading.Thread(
            target=lambda: finished.append(
                recording_control.execute_in_process(
                    run_config=run_config, resources=resources, instance=instance, raise_on_error=False
                )
            ),
            daemon=True,
        )
        worker.start()
        worker.join(HANG_GUARD_S)  # not a timing claim: a step waiting for the slot would wait forever
        assert finished, "the control step waited for the genesys_api slot the backfill holds"
        [result] = finished
        assert result.success
        assert slots.get_concurrency_info("genesys_api").active_slot_count == 1  # still the backfill's
        blocked = [
            event
            for event in instance.all_logs(result.run_id)
            if "blocked by limit for pool" in (event.message or "")
        ]
        assert blocked == []
    assert sandbox.state.control.state(conv).state == "paused"
