"""Each day's truth in a real browser: ``recording-assets ui`` (sandbox org + local S3 + the Dagster UI),
three days archived one after the other with the sandbox's faults switched between runs:

- the first day is clean: every check passes;
- the second serves garbage magic bytes for half its recordings, every attempt: they end quarantined, the
  manifest's ``failure_rate_below_threshold`` warns, and the day's page lists them with their reasons;
- the third is refused at preflight (the client's roles lose every recording view permission): its run
  fails, and only that day's checks say so.

The checks are evaluated per day, so the second day's warning and the third day's failure leave the first
day's checks green. The days are archived once per module; one test asserts the truth over the webserver's
GraphQL, the other walks the pages in headless Chromium (Playwright): the manifest's partition list and each
day's page (the warned day's lists its quarantined recordings with reasons), and each check's Partitions tab,
day by day. Page text, screenshots and the GraphQL requests each page sent land in
test-artifacts/ui-day-truth/.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from recording_assets.sandbox.config import RECORDING_VIEW
from recording_assets_tests.ops.ops_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
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


@pytest.fixture(scope="module")
def archived(ui_stack) -> dict[str, tuple[str, str]]:
    """The three days archived once for the module's tests: day -> (run status, run id)."""
    dagit, log, _ = ui_stack
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
    return outcomes


def test_each_day_shows_its_own_checks_and_its_failed_recordings(ui_stack, archived):
    dagit, log, out = ui_stack
    outcomes = archived
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


class _Network:
    """GraphQL requests the page sent, with their durations: what a page that never settles waits on."""

    def __init__(self, page) -> None:
        self.lines: list[str] = []
        self.started: dict[object, tuple[float, str]] = {}
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self._ended(r, "ok"))
        page.on("requestfailed", lambda r: self._ended(r, f"failed {r.failure}"))
        page.on("console", lambda m: self.lines.append(f"console {m.type}: {m.text[:300]}"))

    def _request(self, request) -> None:
        import time

        name = request.url.split("?")[0]
        if "/graphql" in request.url:
            body = request.post_data_json or {}
            name = f"graphql {body.get('operationName')}"
        self.started[request] = (time.monotonic(), name)

    def _ended(self, request, how: str) -> None:
        import time

        t0, name = self.started.pop(request, (time.monotonic(), request.url))
        self.lines.append(f"{time.monotonic() - t0:6.2f}s {how} {name}")

    def dump(self, path: Path) -> None:
        pending = [f"PENDING {name}" for _, name in self.started.values()]
        path.write_text("\n".join(self.lines + pending) + "\n")


def test_browser_shows_each_days_truth(ui_stack, archived):
    from playwright.sync_api import sync_playwright

    dagit, log, out = ui_stack
    assert archived[REFUSED][0] == "FAILURE" and archived[CLEAN][0] == "SUCCESS", archived
    # The warned day's quarantined recordings as the materialisation recorded them, to find on its page.
    records = _latest_metadata(dagit, "recording_manifest", WARNED)["not_archived"]["table"]["records"]
    warned_quarantined = {r["recording_id"] for r in map(json.loads, records) if r["state"] == "quarantined"}
    assert warned_quarantined, records
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.set_default_timeout(45_000)
        network = _Network(page)
        step = "start"

        def visit(name: str, path: str) -> str:
            nonlocal step
            step = name
            page.goto(f"{dagit.url}{path}", wait_until="domcontentloaded")
            return name

        def dump(name: str) -> str:
            text = page.locator("body").inner_text()
            (out / f"{name}.txt").write_text(text)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            return text

        try:
            # The manifest's partition list: each day's own page says what became of it.
            visit("10-partitions", "/assets/recording_manifest?view=partitions")
            page.get_by_text("Failed (1)", exact=True).wait_for()
            page.get_by_text("Materialized (2)", exact=True).wait_for()
            dump("10-partitions")
            for day in FAULTS:
                visit(f"11-partition-{day}", f"/assets/recording_manifest?view=partitions&partition={day}")
                if day == REFUSED:
                    page.get_by_text("failed, and did not materialize this asset").wait_for()
                else:
                    page.get_by_text("dagster/partition_row_count").filter(visible=True).first.wait_for()
                text = dump(f"11-partition-{day}")
                quarantined = [line for line in text.splitlines() if "\tquarantined\t" in line]
                if day == WARNED:
                    assert quarantined and all("container check failed" in line for line in quarantined), text
                    assert {line.split("\t")[1] for line in quarantined} == warned_quarantined, text
                else:
                    assert not quarantined, text
            # Each check's Partitions tab, filtered to one day: its status counts are that day's alone
            # (the filter narrows the counts too), and the day's detail pane opens on a click.
            for asset, checks in CHECKS.items():
                for check in checks:
                    visit(f"20-{check}", f"/assets/{asset}?view=checks&checkDetail={check}")
                    # The check detail's own tab bar, not the asset's (both have a "Partitions" tab).
                    tabs = page.get_by_role("tablist").filter(
                        has=page.get_by_role("tab", name="Execution history")
                    )
                    tabs.get_by_role("tab", name="Partitions").click()
                    search = page.get_by_placeholder("Filter by partition…")
                    for day in FAULTS:
                        search.fill(day)
                        page.get_by_text(day, exact=True).filter(visible=True).first.click()
                        # The UI's check partitions have no warned state: a WARN failure counts as
                        # Failed (its severity is asserted over GraphQL); a run stopped before its
                        # checks ran counts as Execution Failed.
                        if day == REFUSED:
                            expected = "Execution Failed"
                        elif day == WARNED and check == "failure_rate_below_threshold":
                            expected = "Failed"
                        else:
                            expected = "Passed"
                        page.get_by_text(f"{expected} (1)", exact=True).wait_for()
                        # The day's detail pane, beside the list, names its run.
                        page.get_by_text("View all historical executions").wait_for()
                        dump(f"21-{check}-{day}")
            # The warned day's manifest materialisation lists its quarantined recordings with reasons.
            visit("30-events", f"/assets/recording_manifest?view=events&partition={WARNED}")
            page.get_by_text("not_archived").filter(visible=True).first.wait_for()
            dump("30-events")
        except Exception:
            page.screenshot(path=str(out / f"failed-{step}.png"), full_page=True)
            (out / f"failed-{step}.txt").write_text(page.locator("body").inner_text())
            raise
        finally:
            network.dump(out / "network.log")
            browser.close()
