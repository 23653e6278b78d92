"""A backfill launched as the UI launches it (no run config) paces to the org's real limit.

The stack is the pieces of ``recording-assets ui``: the sandbox org and local S3 in this process, and
``dagster dev`` (webserver + daemon, SQLite instance) as a subprocess. The sandbox's org allows 120
requests/minute (not the documented 300, which the runs assume until an answer says otherwise), in both
readings of what the documentation leaves open: one window per token, or one window for all tokens of the
OAuth client (docs/genesys-behaviours.md). Every run is a client of the same OAuth client with its own token,
two at a time (the genesys_api pool's limit, stated to the runs as ``recording-assets ui`` does).

Nothing tells the runs the limit: they read it from the ``inin-ratelimit-*`` headers, and whether it is shared
from the count. The test launches a 5-partition backfill over GraphQL, waits for the daemon to finish it,
and checks the sandbox's own request log (at most 1 % of the requests answered 429) and what each run's
metadata says it learned: the limit and its source, and a share of it that fits the reading (the whole
limit for a token of its own: no slower than needed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta

import dagster as dg
import pytest
import yaml

from recording_assets.defs.names import GENESYS_POOL
from recording_assets.sandbox import Dialect
from recording_assets.settings import POOL_LIMIT as POOL_LIMIT_VARIABLE
from recording_assets.settings import SENSITIVE_CHECK
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
    wait_for,
    wait_for_location,
)

# Each reading in an xdist group of its own, not "serial": what it asserts is what the sandbox counted in
# each 60 s window, which a loaded machine only slows (the client paces by the clock, it never bursts to
# catch up), and its minutes of waiting at 120 requests/minute would otherwise lengthen the serial worker's
# share of the suite by about eight.
pytestmark = [pytest.mark.slow]
READINGS = [
    pytest.param(scope, marks=pytest.mark.xdist_group(f"backfill_budget_{scope}"))
    for scope in ("per_client", "per_token")
]

ORG_LIMIT = 120  # sandbox: requests per minute, per token or per client
POOL_LIMIT = 2
PARTITIONS = 5
INSTANCE = {
    "telemetry": {"enabled": False},
    "concurrency": {"runs": {"max_concurrent_runs": 4}, "pools": {"default_limit": POOL_LIMIT}},
}


@pytest.fixture(scope="module", params=READINGS)
def daemon_stack(request, tmp_path_factory):
    scope = request.param
    home = tmp_path_factory.mktemp(f"dagster-home-backfill-{scope}")
    (home / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE))
    out = artifacts(f"backfill-budget-{scope}")
    log = out / "dagster-dev.log"
    sandbox = {
        **FAST_SANDBOX,
        "conversations_per_day": 40,  # small days; with a look-up each, two at once want more than the limit
        "rate_limit_per_minute": ORG_LIMIT,
        "dialect": Dialect(rate_limit_scope=scope),
    }
    local = LocalStack(sandbox_config=sandbox).start()
    port = free_port()
    # The pool's limit stated twice, as operations/deploy docs ask: in dagster.yaml for the queue, and in
    # the environment for the runs' first guess at their share (Dagster has no public API that reads it).
    env = {**os.environ, **local.environment(), "DAGSTER_HOME": str(home)}
    env[POOL_LIMIT_VARIABLE] = str(POOL_LIMIT)
    # The deployment's, not run config: a recordingmetadata look-up per conversation, so that a small day
    # asks for more than a minute's budget.
    env[SENSITIVE_CHECK] = "lookup"
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
        yield scope, dagit, local, home, log, out
    finally:
        stop_process(process)
        local.stop()


def test_a_backfill_without_run_config_paces_to_the_limit_the_org_states(daemon_stack):
    scope, dagit, local, home, log, out = daemon_stack
    days = [(date.today() - timedelta(days=d)).isoformat() for d in range(PARTITIONS + 9, 9, -1)]
    local.sandbox.reset_stats()
    started = time.monotonic()
    backfill_id = dagit.launch_backfill(days, tags={"recording_assets/test": "budget"})  # the UI's inputs

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

    # One run per day (BackfillPolicy.multi_run(1)), none told a budget.
    ranges = sorted(
        {t["key"]: t["value"] for t in r["tags"]}.get("dagster/asset_partition_range_start") for r in runs
    )
    assert ranges == days
    for run in runs:
        config = yaml.safe_load(dagit.run(run["runId"])["runConfigYaml"]) or {}
        assert "org_requests_per_minute" not in str(config) and "requests_per_minute" not in str(config)
    for asset in ASSETS:
        stats = dagit.asset_node(asset)["partitionStats"]
        assert stats["numMaterialized"] == PARTITIONS and stats["numFailed"] == 0, (asset, stats)

    stats = local.sandbox.stats()
    api_log = rate_limited_log(stats["log"])
    refused = sum(1 for e in api_log if e["status"] == 429)
    tokens = sorted({e["token_id"] for e in api_log})
    assert len(tokens) >= PARTITIONS, tokens  # a client (and its token) per run's Genesys step

    with dg.DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(GENESYS_POOL)
        assert info.limit == POOL_LIMIT and not info.claimed_slots
        steps = [
            (s.start_time, s.end_time)
            for run in runs
            for s in instance.get_run_step_stats(run["runId"])
            if s.step_key == "recording_day" and s.start_time and s.end_time
        ]
        records = instance.fetch_materializations(dg.AssetKey("recording_audio"), limit=100).records
        budgets = [
            r.asset_materialization.metadata["request_budget"].value
            for r in records
            if r.asset_materialization is not None
        ]
    overlapping_steps = max(sum(1 for s, e in steps if s <= t0 < e) for t0, _ in steps)
    peaks = per_token_peaks(stats["log"])
    client_peak = max_in_window([e["t"] for e in api_log])
    report = (
        f"{scope}: backfill {backfill_id}: {PARTITIONS} days in {elapsed:.0f}s, {len(api_log)} API requests, "
        f"{refused} answered 429, {len(tokens)} tokens; busiest token {max(peaks.values())} requests in 60 s, "
        f"whole client {client_peak} (limit {ORG_LIMIT}); Genesys steps at once {overlapping_steps}; budgets "
        + "; ".join(f"{b['budget']}, least share {b['least_share']}" for b in budgets)
    )
    print("\n" + report)
    (out / "report.txt").write_text(report + "\n")

    assert overlapping_steps >= 2, steps  # runs of the backfill really talked to Genesys side by side
    assert refused <= 0.01 * len(api_log), report
    assert len(budgets) == PARTITIONS, budgets
    for budget in budgets:  # learned from the answers, never assumed
        assert budget["limit_per_minute"] == ORG_LIMIT, budget
        assert budget["limit_source"] == "inin-ratelimit-allowed header", budget
    if scope == "per_client":
        # Runs that overlapped saw the count rise faster than their own requests, and shared the limit.
        assert any(b["budget"] == "shared with other tokens" and b["least_share"] < 1 for b in budgets), (
            budgets
        )
    else:
        # Each token has the whole limit: no run divides it (the pool's 1/2 was only a first guess).
        assert all(b["budget"] == "this token's own" and b["share"] == 1.0 for b in budgets), budgets
        assert all(b["run_rate_per_minute"] == 0.9 * ORG_LIMIT for b in budgets), budgets
