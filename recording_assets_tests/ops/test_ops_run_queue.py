"""The run queue and run monitoring of deploy/dagster.yaml, decided by Dagster itself.

An instance is built from the file's ``run_coordinator``, ``concurrency`` and ``run_monitoring`` sections
(its PostgreSQL storage and S3 logs are left out: a temporary SQLite instance stands in). Runs are put in
its run storage with the tags Dagster gives them (schedules, backfills, sensors, the Launchpad), and the
queued run coordinator daemon's own dequeue pass says which queued runs it would start now.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from recording_assets.defs.names import ARCHIVE_JOB, CONTROL_JOB
from recording_assets.defs.run_limits import (
    ARCHIVE_MAX_RUNTIME_S,
    CONTROL_MAX_RUNTIME_S,
    CONTROL_PRIORITY,
    MAX_RETRIES_TAG,
    MAX_RUNTIME_TAG,
    PRIORITY_TAG,
)
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.ops.ops_support import REPO

DEPLOYED = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
IN_PROGRESS = dg.DagsterRunStatus.STARTED
QUEUED = dg.DagsterRunStatus.QUEUED


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    sections = {name: DEPLOYED[name] for name in ("run_coordinator", "concurrency", "run_monitoring")}
    with dg.instance_for_test(overrides=sections) as instance:
        yield instance


def scheduled(day: str) -> dict[str, str]:
    return {"dagster/partition": day, "dagster/schedule_name": "archive_daily"}


def backfilled(day: str, backfill: str = "bf1") -> dict[str, str]:
    return {
        "dagster/backfill": backfill,
        "dagster/asset_partition_range_start": day,
        "dagster/asset_partition_range_end": day,
    }


def control() -> dict[str, str]:
    return dict(load_definitions().resolve_job_def(CONTROL_JOB).tags)


def add(instance, status, tags: dict[str, str], job_name: str = ARCHIVE_JOB) -> str:
    location = RegisteredCodeLocationOrigin("recording_assets")
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), job_name)
    run = create_run_for_test(instance, job_name=job_name, status=status, tags=tags, remote_job_origin=origin)
    return run.run_id


def would_start(instance) -> list[str]:
    """The queued runs Dagster's coordinator would launch in its next pass, in launch order."""
    daemon = QueuedRunCoordinatorDaemon(interval_seconds=5)
    runs = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), None)  # noqa: SLF001
    return [run.run_id for run in runs]


def test_one_run_per_day_at_a_time_from_schedules_ui_launches_and_backfills(instance):
    add(instance, IN_PROGRESS, scheduled("2026-11-20"))
    add(instance, IN_PROGRESS, backfilled("2026-10-01"))
    second_of_day = add(instance, QUEUED, {"dagster/partition": "2026-11-20", "dagster/user": "ops"})
    second_backfilled = add(instance, QUEUED, backfilled("2026-10-01", backfill="bf2"))
    other_day = add(instance, QUEUED, scheduled("2026-11-19"))
    other_backfilled = add(instance, QUEUED, backfilled("2026-10-02"))
    started = would_start(instance)
    assert second_of_day not in started and second_backfilled not in started
    assert set(started) == {other_day, other_backfilled}


def test_two_queued_runs_of_one_day_start_one_at_a_time(instance):
    first = add(instance, QUEUED, scheduled("2026-11-20"))
    second = add(instance, QUEUED, {"dagster/partition": "2026-11-20"})
    assert would_start(instance) == [first]
    assert second not in would_start(instance)


def test_a_full_queue_of_archive_runs_still_starts_a_control_run_first(instance):
    # As many backfill, scheduled and sensor runs in progress as the limits allow, and more queued.
    limits = {
        limit["key"]: limit["limit"] for limit in DEPLOYED["concurrency"]["runs"]["tag_concurrency_limits"]
    }
    days = iter(f"2025-{month:02d}-{day:02d}" for month in range(1, 13) for day in range(1, 29))
    for _ in range(limits["dagster/backfill"]):
        add(instance, IN_PROGRESS, backfilled(next(days)))
    for _ in range(limits["dagster/schedule_name"]):
        add(instance, IN_PROGRESS, scheduled(next(days)))
    for _ in range(limits["dagster/sensor_name"]):
        add(instance, IN_PROGRESS, {"dagster/partition": next(days), "dagster/sensor_name": "restored"})
    for _ in range(20):
        add(instance, QUEUED, backfilled(next(days)))
        add(instance, QUEUED, scheduled(next(days)))
    pause = add(instance, QUEUED, control(), job_name=CONTROL_JOB)
    assert would_start(instance) == [pause]


def test_control_runs_go_first_and_need_no_genesys_slot():
    tags = control()
    assert tags[PRIORITY_TAG] == CONTROL_PRIORITY and int(CONTROL_PRIORITY) > 10  # above the radar's days
    assert tags[MAX_RUNTIME_TAG] == str(CONTROL_MAX_RUNTIME_S)
    assert tags[MAX_RETRIES_TAG] == "0"  # run retries (runRetries in the Helm values) never relaunch it
    job = load_definitions().resolve_job_def(CONTROL_JOB)
    assert job.graph.node_named("control_recording").definition.pool is None


def test_archive_runs_carry_the_max_runtime_and_the_instance_bounds_the_rest(instance):
    job = load_definitions().resolve_job_def(ARCHIVE_JOB)
    assert job.tags[MAX_RUNTIME_TAG] == str(ARCHIVE_MAX_RUNTIME_S)
    # A backfill's runs of the same assets carry no job tags: the instance's default is the same bound.
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_max_runtime_seconds == ARCHIVE_MAX_RUNTIME_S


def test_helm_values_state_the_same_queue_and_monitoring():
    values = yaml.safe_load((REPO / "deploy" / "values.yaml").read_text())
    (location,) = values["dagster-user-deployments"]["deployments"]
    env = {e["name"]: e["value"] for e in location["env"]}
    assert env["RECORDING_CODE_URL"].startswith("https://")  # else code links point into the container
    runs = DEPLOYED["concurrency"]["runs"]
    assert values["concurrency"]["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] is True
    assert monitoring["maxRuntimeSeconds"] == DEPLOYED["run_monitoring"]["max_runtime_seconds"]
    assert monitoring["pollIntervalSeconds"] == DEPLOYED["run_monitoring"]["poll_interval_seconds"]
