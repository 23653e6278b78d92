"""The project's library loggers reach the run's event log under the shipped instance configuration
(deploy/dagster.yaml, the local instance of ``recording-assets ui`` and the demo, the Helm values)."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml

from recording_assets.settings import MANIFEST_BUCKET
from recording_assets.tools.ui import python_logs
from recording_assets_tests.definitions_env import load_definitions

REPO = Path(__file__).resolve().parents[2]
DAY = "2026-11-20"


def shipped_python_logs() -> dict:
    return yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["python_logs"]


def test_every_shipped_instance_config_routes_the_project_loggers():
    values = yaml.safe_load((REPO / "deploy" / "values.yaml").read_text())["pythonLogs"]
    shipped = shipped_python_logs()
    assert shipped == python_logs()  # the UI's and the demo's instance
    assert values == {
        "managedPythonLoggers": shipped["managed_python_loggers"],
        "pythonLogLevel": shipped["python_log_level"],
    }
    # httpx's INFO lines carry request URLs (presigned media URLs among them): never routed.
    assert shipped["managed_python_loggers"] == ["recording_assets"]


def test_tick_retention_is_set_in_the_deployment():
    instance = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["retention"]
    helm = yaml.safe_load((REPO / "deploy" / "values.yaml").read_text())["retention"]
    assert helm["enabled"] is True
    assert helm["sensor"]["purgeAfterDays"] == instance["sensor"]["purge_after_days"]
    assert helm["schedule"]["purgeAfterDays"] == instance["schedule"]["purge_after_days"]
    assert instance["sensor"]["purge_after_days"]["skipped"] <= 7


@pytest.mark.slow
def test_a_library_warning_lands_in_the_runs_event_log(local_stack, monkeypatch):
    local = local_stack(conversations_per_day=20)
    # A manifest bucket without versioning: archive/store.py warns through its module logger.
    unversioned = f"manifests-{uuid.uuid4().hex[:8]}"
    local.s3_client().create_bucket(Bucket=unversioned)
    monkeypatch.setenv(MANIFEST_BUCKET, unversioned)
    job = load_definitions().resolve_job_def("archive_day")
    with dg.instance_for_test(overrides={"python_logs": shipped_python_logs()}) as instance:
        result = job.execute_in_process(partition_key=DAY, instance=instance)
        logs = instance.all_logs(result.run_id)
    assert result.success
    warned = [e for e in logs if "keeps no object versions" in e.user_message]
    assert warned and warned[0].level == 30  # WARNING, as the library logged it
