"""A backfill launched as docs/operations.md §2 says runs only the archive's checks and does not crowd out
tonight's archive: a run of ``archive_daily`` queued behind it starts before the backfill's queued runs.

The stack is the pieces of ``recording-assets ui``: the sandbox org (tiny days) and local S3 in this
process, ``dagster dev`` (webserver + daemon: backfill daemon, queued run coordinator) as a subprocess. One
run at a time (``max_concurrent_runs: 1``), so the order the coordinator picks is the order runs start. The
schedule's run is what the schedule requests for a tick, read through the UI's *Test schedule*
(GraphQL ``scheduleDryRun``) and launched with the schedule's tags, as the scheduler daemon launches it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
import yaml

from recording_assets.defs.names import ARCHIVE_JOB
from recording_assets.defs.run_limits import PRIORITY_TAG, SCHEDULED_PRIORITY
from recording_assets.tools.local import LocalStack
from recording_assets_tests.conftest import FAST_SANDBOX
from recording_assets_tests.ops.ops_support import (
    LOCATION,
    REPO,
    REPOSITORY,
    Dagit,
    artifacts,
    free_port,
    start_process,
    stop_process,
    tail,
    wait_for,
    wait_for_location,
)

# Its own xdist group, not "serial": what it asserts is the run queue's order, which load does not change,
# and its ten tiny runs would otherwise lengthen the serial worker's share of the suite by minutes.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("backfill_priority")]

DAYS = 10
SCHEDULE = "archive_daily"
INSTANCE = {
    "telemetry": {"enabled": False},
    "concurrency": {"runs": {"max_concurrent_runs": 1}, "pools": {"default_limit": 1}},
}
# What each backfill run executes: the three assets' steps write these, and nothing else runs.
ARCHIVE_CHECKS = {
    ("recording_audio", "sha256_verified"),
    ("recording_audio", "container_matches_content_type"),
    ("recording_manifest", "manifest_complete"),
    ("recording_manifest", "failure_rate_below_threshold"),
}


@pytest.fixture(scope="module")
def queue_stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster-home-priority")
    (home / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE))
    out = artifacts("backfill-priority")
    log = out / "dagster-dev.log"
    local = LocalStack(sandbox_config={**FAST_SANDBOX, "conversations_per_day": 3}).start()
    env = {**os.environ, **local.environment(), "DAGSTER_HOME": str(home)}
    # The schedule's own tick (02:00 UTC) must not add runs: the test takes its run from a dry run.
    workspace = ["-w", str(REPO / "workspace.yaml")]
    stop = [sys.executable, "-m", "dagster", "schedule", "stop", SCHEDULE, *workspace]
    subprocess.run(stop, env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    command = [sys.executable, "-m", "dagster", "dev", *workspace, "-h", "127.0.0.1", "-p", str(port)]
    process = start_process(command, env=env, log=log)
    dagit = Dagit(f"http://127.0.0.1:{port}")
    try:
        wait_for_location(dagit, process, log)
        yield dagit, log
    finally:
        stop_process(process)
        local.stop()


def scheduled_run_request(dagit: Dagit, tick: datetime) -> dict:
    """The first run request of the schedule's tick at ``tick`` (yesterday's archive), as Test schedule shows."""
    data = dagit.graphql(
        """mutation D($s: ScheduleSelector!, $t: Float) { scheduleDryRun(selectorData: $s, timestamp: $t) {
             __typename ... on DryRunInstigationTick { evaluationResult {
               runRequests { runKey jobName tags { key value } } error { message } } }
             ... on PythonError { message } } }""",
        {
            "s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "scheduleName": SCHEDULE},
            "t": tick.timestamp(),
        },
    )
    result = data["scheduleDryRun"]
    assert result["__typename"] == "DryRunInstigationTick", result
    evaluation = result["evaluationResult"]
    assert not evaluation["error"], evaluation
    return evaluation["runRequests"][0]


def launch(dagit: Dagit, job: str, tags: dict[str, str]) -> str:
    data = dagit.graphql(
        """mutation L($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
             ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
             ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }""",
        {
            "p": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": REPOSITORY,
                    "jobName": job,
                },
                "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
                "runConfigData": {},
            }
        },
    )
    result = data["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def test_a_scheduled_run_starts_before_a_queued_backfill_and_the_backfill_runs_only_archive_checks(
    queue_stack,
):
    dagit, log = queue_stack
    today = date.today()
    days = [(today - timedelta(days=d)).isoformat() for d in range(DAYS + 20, 20, -1)]
    backfill_id = dagit.launch_backfill(days)  # the three assets, as the docs' GraphQL example

    def queued_backfill_runs():
        runs = dagit.backfill(backfill_id)["runs"]
        queued = [r for r in runs if r["status"] == "QUEUED"]
        return queued if len(queued) >= 3 else None  # several still waiting behind the one in progress

    waiting = wait_for(
        queued_backfill_runs,
        timeout_s=300,
        interval_s=1,
        what="backfill runs waiting in the queue",
        on_timeout=lambda: f"{dagit.backfill(backfill_id)}\n{tail(log)}",
    )
    # Tonight's tick: yesterday's archive, with the tags the schedule gives it.
    tick = datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc).replace(hour=2)
    request = scheduled_run_request(dagit, tick)
    tags = {t["key"]: t["value"] for t in request["tags"]}
    assert tags[PRIORITY_TAG] == SCHEDULED_PRIORITY, tags
    yesterday = (today - timedelta(days=1)).isoformat()
    tags.setdefault("dagster/partition", yesterday)
    tags["dagster/schedule_name"] = SCHEDULE  # what the scheduler daemon adds to a tick's runs
    scheduled = launch(dagit, request["jobName"] or ARCHIVE_JOB, tags)
    still_waiting = {r["runId"] for r in dagit.backfill(backfill_id)["runs"] if r["status"] == "QUEUED"}
    assert still_waiting & {r["runId"] for r in waiting}, "the backfill drained before the scheduled run"

    def done():
        backfill = dagit.backfill(backfill_id)
        run = dagit.run(scheduled)
        finished = backfill["status"] not in ("REQUESTED", "CANCELING") and run["status"] in (
            "SUCCESS",
            "FAILURE",
        )
        return (backfill, run) if finished else None

    backfill, run = wait_for(
        done,
        timeout_s=900,
        interval_s=3,
        what="the backfill and the scheduled run",
        on_timeout=lambda: f"{dagit.backfill(backfill_id)}\n{tail(log)}",
    )
    assert run["status"] == "SUCCESS", dagit.run_failure_messages(scheduled)
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    runs = {r["runId"]: r for r in backfill["runs"]}
    assert len(runs) == DAYS
    # The scheduled run started before the backfill runs that were still queued when it was launched, but
    # at most one: the daemon may have been dequeuing one of them (still QUEUED when read) as the scheduled
    # run arrived, and with one run at a time (the pool) no other can start before it.
    later = {run_id: runs[run_id]["startTime"] for run_id in still_waiting}
    before = [run_id for run_id, start in later.items() if start < run["startTime"]]
    assert len(before) <= 1 and len(later) - len(before) >= 1, (run["startTime"], later)
    print(f"\nscheduled run started before {len(later)} queued backfill runs")

    # Every backfill run executed the archive's own checks, and yesterday_archived / reverified_from_s3 none.
    for run_id in runs:
        assert dagit.checks_run_by(run_id) == ARCHIVE_CHECKS, run_id
