"""``recording-assets ui``: the Dagster UI on the embedded sandbox org and local S3, for a newcomer to
click Materialise. The sandbox and S3 run in this process; ``dg dev`` and its run workers reach
them over loopback. Before the UI starts, the latest due day is archived into the instance (and its
freshness and re-verification checks run), so the first page already shows lineage, checks and metadata."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from recording_assets import settings
from recording_assets.settings import POOL_LIMIT
from recording_assets.tools.local import LocalStack

DAGSTER_YAML = """\
telemetry:
  enabled: false
python_logs:   # the project's loggers in the runs' event logs, as deploy/dagster.yaml
  managed_python_loggers: [recording_assets]
  python_log_level: INFO
retention:     # as deploy/dagster.yaml
  schedule:
    purge_after_days: 90
  sensor:
    purge_after_days: {skipped: 1, success: 30, failure: 90, started: 90}
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:   # one run per day at a time, as deploy/dagster.yaml
      - key: dagster/partition
        value: {applyLimitPerUniqueValue: true}
        limit: 1
      - key: dagster/asset_partition_range_start
        value: {applyLimitPerUniqueValue: true}
        limit: 1
  pools:
    # Runs that talk to Genesys share one OAuth token's budget; each derives its share from this limit.
    default_limit: 2
"""


def python_logs() -> dict:
    """The instance's ``python_logs`` section, for the demo's instance too (it has no dagster.yaml)."""
    import yaml

    return yaml.safe_load(DAGSTER_YAML)["python_logs"]


def prepare_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def pool_limit(home: Path) -> int:
    """The genesys_api limit the instance's dagster.yaml sets, for the runs (RECORDING_GENESYS_POOL_LIMIT)."""
    import yaml

    config = yaml.safe_load((home / "dagster.yaml").read_text()) or {}
    return int(((config.get("concurrency") or {}).get("pools") or {}).get("default_limit") or 1)


def archive_sample_day(home: Path) -> str:
    """Archive the latest due day into the instance at ``home`` with the real job, then record the freshness
    verdict (as the check_freshness sensor does) and re-verify the day (as reverify_weekly would). Reads
    the exported local stack's environment."""
    from datetime import datetime, timezone

    import dagster as dg

    from recording_assets.definitions import defs as code_location
    from recording_assets.defs.freshness import as_evaluation, current_verdict, due_day
    from recording_assets.defs.partitions import daily_partitions
    from recording_assets.defs.reverify import REVERIFY_JOB, partition_tags

    partitioning = settings.PartitionSettings.from_env()
    automation = settings.AutomationSettings.from_env()
    day = due_day(
        datetime.now(timezone.utc), partitioning.timezone, automation.freshness_deadline
    ).isoformat()
    defs = code_location()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        defs.resolve_job_def("archive_day").execute_in_process(partition_key=day, instance=instance)
        verdict = current_verdict(instance, daily_partitions(partitioning), automation, partitioning.timezone)
        instance.report_runless_asset_event(as_evaluation(verdict))
        defs.resolve_job_def(REVERIFY_JOB).execute_in_process(tags=partition_tags(day), instance=instance)
    return day


def run_ui(
    *, host: str, port: int, conversations: int, media_scale: float, home: str | None, sample_day: bool = True
) -> int:
    root = Path(__file__).resolve().parents[2]  # the project: workspace.yaml
    dagster_home = prepare_home(Path(home or settings.dagster_home() or root / ".dagster_home"))
    with LocalStack(
        sandbox_config={"conversations_per_day": conversations, "media_scale": media_scale}
    ) as stack:
        limit = {POOL_LIMIT: str(pool_limit(dagster_home))}
        env = {**settings.environment(), **stack.environment(), **limit}
        env[settings.DAGSTER_HOME] = str(dagster_home)
        print(f"sandbox org  {stack.sandbox.base_url}", flush=True)
        print(f"local S3     {stack.s3_endpoint}", flush=True)
        if sample_day:
            settings.export({**stack.environment(), **limit})
            print("archiving the latest due day of the sandbox org, so the UI opens on it ...", flush=True)
            try:
                print(f"archived     {archive_sample_day(dagster_home)}", flush=True)
            except Exception as exc:  # noqa: BLE001 - the UI is still worth opening, empty
                print(f"could not archive a day before the UI starts ({exc}); it opens empty", flush=True)
        print(f"Dagster UI   http://{host}:{port}  (Ctrl-C stops everything)", flush=True)
        # dg dev (dagster dev is superseded in 1.13): the dg CLI installed beside this interpreter, so the
        # UI's code server runs in the same environment; the workspace file names the code location.
        command = [
            str(Path(sys.executable).with_name("dg")),
            "dev",
            "-w",
            str(root / "workspace.yaml"),
            "-h",
            host,
            "-p",
            str(port),
        ]
        # A child of a non-interactive shell may inherit SIGINT as ignored; dg dev would then never stop.
        process = subprocess.Popen(command, env=env, cwd=root, preexec_fn=_default_signals)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
