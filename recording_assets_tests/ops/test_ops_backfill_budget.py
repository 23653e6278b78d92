"""A backfill run by a real daemon stays inside the request budget of one OAuth client.

The stack is the pieces of ``recording-assets ui``: the sandbox org and local S3 in this process, and
``dagster dev`` (webserver + daemon, SQLite instance) as a subprocess. The sandbox enforces a per-token
limit of 60 requests/minute (Genesys: 300); every run uses the same OAuth client, and the backfill
tells the runs the org budget is 60/minute too, through its run config, as an operator would.

With a genesys_api pool limit of 2, two runs' Genesys steps overlap and each must pace itself at
90% x 60 / 2 = 27 requests/minute (plus the client's burst). The test launches a 5-partition
backfill over GraphQL, waits for the daemon to finish it, and then checks the sandbox's own request
log: zero 429s, every token within the derived per-run budget, runs and Genesys steps overlapping.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from datetime import date, timedelta

import dagster as dg
import pytest
import yaml

from recording_assets.defs.names import GENESYS_POOL
from recording_assets.defs.resources import GenesysCloudResource
from recording_assets.genesys.pacing import Pacer
from recording_assets.settings import CLIENT_ID, CLIENT_SECRET
from recording_assets.settings import POOL_LIMIT as POOL_LIMIT_VARIABLE
from recording_assets.tools.local import LocalStack
from recording_assets_tests.conftest import FAST_SANDBOX
from recording_assets_tests.ops.ops_support import (
    ASSETS,
    REPO,
    Dagit,
    artifacts,
    free_port,
    max_in_window,
    per_token_peaks,
    rate_limited_log,
    start_process,
    stop_process,
    tail,
    token_bucket_excess,
    wait_for,
    wait_for_location,
)

# One at a time with the other tests of the "serial" xdist group (the daemon's request rate is the assertion).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serial")]

TOKEN_LIMIT = 60  # sandbox: requests per token per minute
POOL_LIMIT = 2
PARTITIONS = 5
INSTANCE = {
    "telemetry": {"enabled": False},
    "concurrency": {"runs": {"max_concurrent_runs": 4}, "pools": {"default_limit": POOL_LIMIT}},
}
RUN_CONFIG = {
    "resources": {
        "genesys": {
            "config": {
                "client_id": {"env": CLIENT_ID},
                "client_secret": {"env": CLIENT_SECRET},
                "org_requests_per_minute": TOKEN_LIMIT,
            }
        }
    }
}


@pytest.fixture(scope="module")
def daemon_stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster-home-backfill")
    (home / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE))
    out = artifacts("backfill-budget")
    log = out / "dagster-dev.log"
    local = LocalStack(
        sandbox_config={**FAST_SANDBOX, "conversations_per_day": 150, "rate_limit_per_minute": TOKEN_LIMIT}
    ).start()
    port = free_port()
    # The pool's limit stated twice, as operations/deploy docs ask: in dagster.yaml for the queue, and in
    # the environment for each run's share of the token (Dagster has no public API that reads it).
    env = {**os.environ, **local.environment(), "DAGSTER_HOME": str(home)}
    env[POOL_LIMIT_VARIABLE] = str(POOL_LIMIT)
    # The daily schedule runs by default; a tick during the test (02:00 UTC) would add runs of other days.
    workspace = ["-w", str(REPO / "workspace.yaml")]
    stop = [sys.executable, "-m", "dagster", "schedule", "stop", "archive_daily", *workspace]
    subprocess.run(stop, env=env, check=True, capture_output=True, timeout=120)
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(REPO / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    process = start_process(command, env=env, log=log)
    dagit = Dagit(f"http://127.0.0.1:{port}")
    try:
        wait_for_location(dagit, process, log)
        yield dagit, local, home, log, out
    finally:
        stop_process(process)
        local.stop()


def test_backfill_of_five_days_runs_in_parallel_within_one_clients_budget(daemon_stack):
    dagit, local, home, log, out = daemon_stack
    days = [(date.today() - timedelta(days=d)).isoformat() for d in range(PARTITIONS + 9, 9, -1)]
    local.sandbox.reset_stats()
    started = time.monotonic()
    backfill_id = dagit.launch_backfill(days, run_config=RUN_CONFIG, tags={"recording_assets/test": "budget"})

    def finished():
        backfill = dagit.backfill(backfill_id)
        return backfill if backfill["status"] not in ("REQUESTED", "CANCELING") else None

    backfill = wait_for(
        finished,
        timeout_s=900,
        interval_s=3,
        what=f"backfill {backfill_id}",
        on_timeout=lambda: f"{dagit.backfill(backfill_id)}\n{tail(log)}",
    )
    elapsed = time.monotonic() - started
    runs = backfill["runs"]
    failures = {r["runId"]: dagit.run_failure_messages(r["runId"]) for r in runs if r["status"] != "SUCCESS"}
    assert backfill["status"] == "COMPLETED_SUCCESS", (backfill["status"], failures, tail(log))
    assert len(runs) == PARTITIONS and not failures, failures

    # One run per day (BackfillPolicy.multi_run(1)), each with the operator's budget in its run config.
    ranges = sorted(
        {t["key"]: t["value"] for t in r["tags"]}.get("dagster/asset_partition_range_start") for r in runs
    )
    assert ranges == days
    for run in runs:
        config = yaml.safe_load(dagit.run(run["runId"])["runConfigYaml"])
        assert config["resources"]["genesys"]["config"]["org_requests_per_minute"] == TOKEN_LIMIT
    for asset in ASSETS:
        stats = dagit.asset_node(asset)["partitionStats"]
        assert stats["numMaterialized"] == PARTITIONS and stats["numFailed"] == 0, (asset, stats)

    # The runs overlapped: the pool let two of them talk to Genesys at once.
    intervals = [(r["startTime"], r["endTime"]) for r in runs]
    overlapping_runs = max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)
    assert overlapping_runs >= 2, intervals

    # What the sandbox saw: zero 429s, and every token (one per Genesys step, all of the same OAuth
    # client) inside the budget each run derives from the pool limit.
    stats = local.sandbox.stats()
    assert stats["rate_limited"] == 0 and "429" not in stats["statuses"], stats["statuses"]
    api_log = rate_limited_log(stats["log"])
    tokens = sorted({e["token_id"] for e in api_log})
    assert len(tokens) >= PARTITIONS, tokens  # a client (and its token) per run's Genesys step

    with dg.DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(GENESYS_POOL)
        assert info.limit == POOL_LIMIT and not info.claimed_slots
        # The pool-holding (Genesys) steps of each run, start to end: a step holds its slot throughout.
        steps = [
            (s.start_time, s.end_time)
            for run in runs
            for s in instance.get_run_step_stats(run["runId"])
            if s.step_key == "recording_day" and s.start_time and s.end_time
        ]
    resource = GenesysCloudResource(client_id="-", client_secret="-", org_requests_per_minute=TOKEN_LIMIT)
    per_run = resource.run_budget(POOL_LIMIT)
    assert per_run == pytest.approx(0.9 * TOKEN_LIMIT / POOL_LIMIT)
    burst = inspect.signature(Pacer).parameters["burst"].default

    by_token: dict[str, list[float]] = {}
    for entry in api_log:
        by_token.setdefault(entry["token_id"], []).append(entry["t"])
    peaks = per_token_peaks(stats["log"])
    excess = {t: token_bucket_excess(times, per_minute=per_run, burst=burst) for t, times in by_token.items()}
    undivided = {
        t: token_bucket_excess(times, per_minute=0.9 * TOKEN_LIMIT, burst=burst)
        for t, times in by_token.items()
    }
    spans = {t: (min(ts), max(ts)) for t, ts in by_token.items()}
    overlapping_tokens = max(sum(1 for s, e in spans.values() if s <= t0 <= e) for t0, _ in spans.values())
    overlapping_steps = max(sum(1 for s, e in steps if s <= t0 < e) for t0, _ in steps)
    client_peak = max_in_window([e["t"] for e in api_log])
    report = (
        f"backfill {backfill_id}: {PARTITIONS} days in {elapsed:.0f}s, {len(api_log)} API requests, "
        f"{len(tokens)} tokens; per-run budget {per_run:.0f}/min + burst {burst}; busiest token "
        f"{max(peaks.values())} requests in 60 s (limit {TOKEN_LIMIT}); token-bucket excess at the per-run "
        f"budget {max(excess.values()):+.1f} (at the undivided budget {max(undivided.values()):+.1f}); "
        f"tokens active at once {overlapping_tokens}; Genesys steps at once {overlapping_steps}; whole "
        f"client's busiest 60 s {client_peak} requests"
    )
    print("\n" + report)
    (out / "report.txt").write_text(report + "\n")
    # Genesys steps of different runs really ran side by side. (Measured on the steps, which hold their pool
    # slot throughout: a step's first-to-last request span is too short to show it since a step needs
    # only a few dozen requests.)
    assert overlapping_steps >= 2, (steps, spans)
    assert max(peaks.values()) <= per_run + burst + 1 < TOKEN_LIMIT, peaks
    assert max(excess.values()) <= 2.0, excess  # 2 requests of slack: server-side times jitter under load
