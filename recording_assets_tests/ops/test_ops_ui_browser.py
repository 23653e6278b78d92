"""The newcomer's path, in a real browser: ``recording-assets ui`` (sandbox org + local S3 + ``dagster dev``),
which archives the latest due day before the UI starts (so a newcomer's first page is filled in), then
headless Chromium (Debian's, driven by Playwright) clicks Materialize all -> one partition -> Launch, and the
asset pages show the assets, their checks, the manifest's freshness, row count and column schema.

Screenshots land in test-artifacts/ui-browser/ (gitignored; CI keeps them as artefacts).
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from recording_assets.defs.names import ARCHIVE_GROUP as GROUP
from recording_assets_tests.ops.ops_support import (
    ASSETS,
    CHROMIUM,
    CHROMIUM_ARGS,
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

# One at a time with the other tests of the "serial" xdist group (a browser and dagster dev).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serial")]

CHECKS = {
    "recording_audio": ("sha256_verified", "container_matches_content_type"),
    "recording_manifest": ("manifest_complete",),
}
# Not blocking, each run by its own schedule; `recording-assets ui` runs them once for the day it archives.
OWN_JOB_CHECKS = ("yesterday_archived", "reverified_from_s3")
# A local DAGSTER_HOME as docs/operations.md describes it: `recording-assets ui` keeps an existing
# dagster.yaml, so pool limits can be set there. Two genesys_api slots, up to four runs at once.
LOCAL_INSTANCE = {
    "telemetry": {"enabled": False},
    "concurrency": {"runs": {"max_concurrent_runs": 4}, "pools": {"default_limit": 2}},
}


def test_ui_default_instance_config_is_accepted_by_dagster(tmp_path):
    """What ``recording-assets ui`` writes into a fresh DAGSTER_HOME must load as a Dagster instance;
    otherwise ``dagster dev`` stops at start-up with DagsterInvalidConfigError."""
    from dagster._core.instance.config import dagster_instance_config

    from recording_assets.tools.ui import prepare_home

    prepare_home(tmp_path)
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["concurrency"]["pools"]["default_limit"] >= 2


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory):
    """``recording-assets ui --port P --home H`` as a subprocess, exactly the command of the README."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: {SYSTEM_DEPS_HINT}")
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").write_text(yaml.safe_dump(LOCAL_INSTANCE))
    port = free_port()
    out = artifacts("ui-browser")
    log = out / "recording-assets-ui.log"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    command = [
        cli_executable("recording-assets"),
        "ui",
        "--port",
        str(port),
        "--home",
        str(home),
        "--conversations",
        "60",
        "--media-scale",
        "0.002",
    ]
    started = time.monotonic()
    process = start_process(command, env=env, log=log)
    dagit = Dagit(f"http://127.0.0.1:{port}")
    try:
        wait_for_location(dagit, process, log)
        print(
            f"\nrecording-assets ui answered with its code location loaded after {time.monotonic() - started:.1f}s"
        )
        dagit.set_nux_seen()  # the "Join the Dagster community" modal would cover every page
        yield dagit, process, log, out
    finally:
        stop_process(process)


def test_browser_materialises_a_partition_and_shows_checks_and_freshness(ui_stack):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    dagit, process, log, out = ui_stack
    banner = parse_ui_banner(log)
    assert banner.get("ui") == dagit.url, tail(log)
    sample_day = banner.get("archived")
    assert sample_day, tail(log)
    # Before anyone clicks: the day archived at start-up is in the catalog with its metadata.
    node = dagit.asset_node("recording_manifest")
    assert node["partitionStats"]["numMaterialized"] == 1, node
    day = (date.today() - timedelta(days=3)).isoformat()
    known_runs = {r["runId"] for r in dagit.runs()}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)

            # 1. The lineage of the asset group: Materialize all -> the partition dialog -> one day -> Launch.
            # The archive's own group (the retention assets have theirs): its Materialize all is the day's three.
            page.goto(
                f"{dagit.url}/locations/__repository__@recording_assets/asset-groups/{GROUP}",
                wait_until="networkidle",
            )
            for asset in ASSETS:
                page.get_by_text(asset).first.wait_for()
            page.screenshot(path=str(out / "01-lineage.png"))
            page.get_by_role("button", name="Materialize all").first.click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("Launch runs to materialize 3 assets").wait_for()
            partitions = dialog.get_by_placeholder("No matching partitions")
            partitions.fill(day)
            partitions.press("Enter")
            dialog.get_by_text("1 partition").first.wait_for()
            launch = dialog.get_by_role("button", name="Launch 1 run")
            launch.wait_for()
            page.screenshot(path=str(out / "02-partition-dialog.png"))
            launch.click()
            dialog.wait_for(state="hidden")

            # 2. The run it launched, followed over GraphQL until it ends.
            run = wait_for(
                lambda: _new_run(dagit, known_runs), timeout_s=60, interval_s=1, what="the launched run"
            )
            tags = {t["key"]: t["value"] for t in run["tags"]}
            assert tags.get("dagster/partition") == day and tags.get("dagster/from_ui") == "true", tags
            assert {tuple(a["path"]) for a in run["assetSelection"]} == {(a,) for a in ASSETS}
            ended = wait_for(
                lambda: _ended(dagit, run["runId"]),
                timeout_s=300,
                interval_s=2,
                what=f"run {run['runId']} to finish",
                on_timeout=lambda: tail(log),
            )
            assert ended["status"] == "SUCCESS", dagit.run_failure_messages(run["runId"])
            print(
                f"run {run['runId']} for {day}: {ended['status']} in {ended['endTime'] - ended['startTime']:.1f}s"
            )

            # 3. The asset pages: the assets, their checks (all passed) and the manifest's freshness policy.
            for asset, names in CHECKS.items():
                for name in names:
                    page.goto(
                        f"{dagit.url}/assets/{asset}?view=checks&checkDetail={name}", wait_until="networkidle"
                    )
                    # The detail pane's title shows the whole name (the list middle-truncates long ones).
                    page.get_by_text(name, exact=True).filter(visible=True).first.wait_for()
                    page.get_by_text("This is a", exact=False).filter(visible=True).first.wait_for()
                    assert "blocking" in page.locator("body").inner_text()
                    page.get_by_text("Passed", exact=True).filter(visible=True).first.wait_for()
                    page.screenshot(path=str(out / f"03-{asset}-{name}.png"))
            for name in OWN_JOB_CHECKS:
                page.goto(
                    f"{dagit.url}/assets/recording_manifest?view=checks&checkDetail={name}",
                    wait_until="networkidle",
                )
                page.get_by_text(name, exact=True).filter(visible=True).first.wait_for()
                page.get_by_text("Passed", exact=True).filter(visible=True).first.wait_for()
                page.screenshot(path=str(out / f"03-recording_manifest-{name}.png"))

            page.goto(f"{dagit.url}/assets/recording_manifest", wait_until="networkidle")
            page.get_by_text("Freshness policy", exact=True).filter(visible=True).first.wait_for()
            # The freshness state is evaluated in the background after the run; on a loaded 2-core machine
            # that took longer than one 60 s wait (CI, 2026-12-01): reload and wait again, three times at most.
            for attempt in range(3):
                try:
                    page.get_by_text("Passing").first.wait_for()
                    break
                except PlaywrightTimeoutError:
                    if attempt == 2:
                        raise
                    page.reload(wait_until="networkidle")
            page.get_by_text(day).first.wait_for()  # the latest materialisation's partition
            page.screenshot(path=str(out / "04-recording_manifest.png"), full_page=True)
            text = page.locator("body").inner_text()
            # The catalog metadata: row count and the column schema from pipeline/tables.py.
            assert "row count" in text.lower(), text[:3000]
            assert "Fails if more than 26 hours since last materialization" in text  # the policy says no more
            for column in ("conversation_id", "storage_uri", "manifest_run_id"):
                assert column in text, column

            page.goto(f"{dagit.url}/assets/recording_metadata", wait_until="networkidle")
            page.get_by_text("recording_metadata").first.wait_for()
            page.get_by_text(day).first.wait_for()
            page.screenshot(path=str(out / "05-recording_metadata.png"), full_page=True)
        finally:
            browser.close()

    # The same facts over GraphQL, so a UI wording change cannot hide a regression.
    for asset in ASSETS:
        node = dagit.asset_node(asset)
        assert node["partitionStats"]["numMaterialized"] == 2, (asset, node)  # the start-up day and the UI's
    audio = dagit.asset_node("recording_audio")
    assert {c["name"]: c["blocking"] for c in audio["assetChecksOrError"]["checks"]} == {
        "sha256_verified": True,
        "container_matches_content_type": True,
    }
    assert audio["pools"] == ["genesys_api"]
    freshness = dagit.asset_node("recording_manifest")["internalFreshnessPolicy"]
    assert freshness == {"__typename": "TimeWindowFreshnessPolicy", "failWindowSeconds": 93600}
    stats = httpx.get(f"{banner['sandbox']}/__sandbox/stats", params={"log": 0}, timeout=10).json()
    assert stats["rate_limited"] == 0, stats


def _new_run(dagit: Dagit, known: set[str]):
    fresh = [r for r in dagit.runs() if r["runId"] not in known]
    return fresh[0] if fresh else None


def _ended(dagit: Dagit, run_id: str):
    run = dagit.run(run_id)
    return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None
