"""Each day's truth in a real browser: ``recording-assets ui`` (sandbox org + local S3 + the Dagster UI),
three days archived one after the other with the sandbox's faults switched between runs:

- the first day is clean: every check passes;
- the second serves garbage magic bytes for half its recordings, every attempt: they end quarantined, the
  manifest's ``failure_rate_below_threshold`` warns, and the day's page lists them with their reasons;
- the third is refused at preflight (the client's roles lose every recording view permission): its run
  fails, and only that day's checks say so.

The checks are evaluated per day, so the second day's warning and the third day's failure leave the first
day's checks green. What the UI's pages read is asserted here over the webserver's GraphQL; the
Playwright walk through each check's page and the partition list is still to come.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from recording_assets.sandbox.config import RECORDING_VIEW
from recording_assets_tests.ops.ops_support import (
    CHROMIUM,
    LOCATION,
    REPOSITORY,
    SYSTEM_DEPS_HINT,
    Dagit,
    artifacts,
    cli_executable,
    free_port,
    parse_ui_banner,
    start_process,
    stop_process,
    tail,
    wait_for,
    wait_for_location,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serial")]

TODAY = date.today()
CLEAN, WARNED, REFUSED = ((TODAY - timedelta(days=n)).isoformat() for n in (9, 8, 7))
FAULTS = {
    CLEAN: {},
    WARNED: {"corrupt_magic_rate": 0.5, "corrupt_magic_persistent": True},
    REFUSED: {"deny_permissions": list(RECORDING_VIEW)},
}
CHECKS = {
    "recording_audio": ("sha256_verified", "container_matches_content_type"),
    "recording_manifest": ("manifest_complete", "failure_rate_below_threshold"),
}
INSTANCE = {
    "telemetry": {"enabled": False},
    "concurrency": {"runs": {"max_concurrent_runs": 4}, "pools": {"default_limit": 2}},
}


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory):
    """``recording-assets ui --empty``: the stack without a day archived at start-up."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: {SYSTEM_DEPS_HINT}")
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE))
    port = free_port()
    out = artifacts("ui-day-truth")
    log = out / "recording-assets-ui.log"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    command = [
        cli_executable("recording-assets"),
        "ui",
        "--empty",
        "--port",
        str(port),
        "--home",
        str(home),
        "--conversations",
        "24",
        "--media-scale",
        "0.002",
    ]
    process = start_process(command, env=env, log=log)
    dagit = Dagit(f"http://127.0.0.1:{port}")
    try:
        wait_for_location(dagit, process, log)
        dagit.set_nux_seen()
        yield dagit, log, out
    finally:
        stop_process(process)


def _launch(dagit: Dagit, day: str) -> str:
    data = dagit.graphql(
        """mutation L($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
             ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
             ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }""",
        {
            "p": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": REPOSITORY,
                    "jobName": "archive_day",
                },
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]},
                "runConfigData": {},
            }
        },
    )
    launched = data["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _ended(dagit: Dagit, run_id: str):
    run = dagit.run(run_id)
    return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None


def _step_failures(dagit: Dagit, run_id: str) -> list[str]:
    data = dagit.graphql(
        """query L($id: ID!) { logsForRun(runId: $id, limit: 5000) { ... on EventConnection {
             events { __typename ... on ExecutionStepFailureEvent { error { message } }
               ... on MessageEvent { message } } } } }""",
        {"id": run_id},
    )
    events = data["logsForRun"]["events"]
    return [(e.get("error") or {}).get("message") or e.get("message") or "" for e in events]


def _check_executions(dagit: Dagit, asset: str, check: str) -> dict[str, tuple[str, str | None]]:
    """partition -> (execution status, severity of its evaluation), the latest execution of each day."""
    data = dagit.graphql(
        """query C($key: AssetKeyInput!, $name: String!) {
             assetCheckExecutions(assetKey: $key, checkName: $name, limit: 50) {
               partition status evaluation { severity } } }""",
        {"key": {"path": [asset]}, "name": check},
    )
    latest: dict[str, tuple[str, str | None]] = {}
    for execution in data["assetCheckExecutions"]:  # newest first
        if execution["partition"] is not None and execution["partition"] not in latest:
            evaluation = execution["evaluation"] or {}
            latest[execution["partition"]] = (execution["status"], evaluation.get("severity"))
    return latest


def _latest_metadata(dagit: Dagit, asset: str, day: str) -> dict[str, dict]:
    data = dagit.graphql(
        """query M($key: AssetKeyInput!, $p: [String!]) { assetOrError(assetKey: $key) { ... on Asset {
             assetMaterializations(partitions: $p, limit: 1) { partition metadataEntries { __typename label
               ... on TableMetadataEntry { table { records schema { columns { name } } } }
               ... on IntMetadataEntry { intValue } ... on UrlMetadataEntry { url }
               ... on TextMetadataEntry { text } } } } } }""",
        {"key": {"path": [asset]}, "p": [day]},
    )
    (materialization,) = data["assetOrError"]["assetMaterializations"]
    return {e["label"]: e for e in materialization["metadataEntries"]}


def test_each_day_shows_its_own_checks_and_its_failed_recordings(ui_stack):
    import json

    dagit, log, out = ui_stack
    sandbox = parse_ui_banner(log)["sandbox"]
    outcomes = {}
    for day, faults in FAULTS.items():  # one at a time: the sandbox's faults are the whole org's
        httpx.post(f"{sandbox}/__sandbox/faults", json=faults, timeout=10).raise_for_status()
        run_id = _launch(dagit, day)
        ended = wait_for(
            lambda run_id=run_id: _ended(dagit, run_id),
            timeout_s=300,
            interval_s=2,
            what=f"the run of {day}",
            on_timeout=lambda: tail(log),
        )
        outcomes[day] = (ended["status"], run_id)
    httpx.post(f"{sandbox}/__sandbox/faults", json={}, timeout=10).raise_for_status()
    assert outcomes[CLEAN][0] == "SUCCESS", dagit.run_failure_messages(outcomes[CLEAN][1])
    assert outcomes[WARNED][0] == "SUCCESS", dagit.run_failure_messages(outcomes[WARNED][1])
    assert outcomes[REFUSED][0] == "FAILURE"
    assert any("Preflight failed" in m for m in _step_failures(dagit, outcomes[REFUSED][1])), outcomes

    # Day by day over GraphQL: the clean day passed everything, the warned day warned one check only, the
    # refused day's checks did not pass, and neither touched another day's.
    for asset, checks in CHECKS.items():
        for check in checks:
            by_day = _check_executions(dagit, asset, check)
            assert by_day[CLEAN][0] == "SUCCEEDED", (check, by_day)
            if check == "failure_rate_below_threshold":
                assert by_day[WARNED] == ("FAILED", "WARN"), by_day
            else:
                assert by_day[WARNED][0] == "SUCCEEDED", (check, by_day)
            assert by_day.get(REFUSED, ("none",))[0] != "SUCCEEDED", (check, by_day)

    # The warned day's non-archived recordings, with reasons, on both materialisations.
    for asset in ("recording_audio", "recording_manifest"):
        entries = _latest_metadata(dagit, asset, WARNED)
        rows = [json.loads(r) for r in entries["not_archived"]["table"]["records"]]
        quarantined = [r for r in rows if r["state"] == "quarantined"]
        assert quarantined and all(r["reason"] and r["recording_id"] for r in quarantined), rows
        assert entries["not_archived_count"]["intValue"] >= len(quarantined)
        assert "dagster/row_count" not in entries
        assert entries["dagster/partition_row_count"]["intValue"] > 0
        assert entries["dagster/uri"]["text"].startswith("s3://")
        clean = _latest_metadata(dagit, asset, CLEAN)
        assert not [json.loads(r) for r in clean["not_archived"]["table"]["records"] if '"quarantined"' in r]
    manifest_link = _latest_metadata(dagit, "recording_manifest", WARNED)["manifest_link"]["url"]
    manifest_uri = _latest_metadata(dagit, "recording_manifest", WARNED)["dagster/uri"]["text"]
    assert manifest_link.startswith("http://127.0.0.1:") and manifest_link.endswith(
        manifest_uri[len("s3://") :]
    ), (manifest_link, manifest_uri)  # the local S3's own URL of that object

    print(f"days {CLEAN} / {WARNED} / {REFUSED}: {outcomes}")
