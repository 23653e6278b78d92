"""``recording-assets ui``: the Dagster UI on the embedded sandbox org and local S3, for a newcomer to
click Materialise. The sandbox and S3 run in this process; ``dagster dev`` and its run workers reach
them over loopback."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from recording_assets import settings
from recording_assets.tools.local import LocalStack

DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # Runs that talk to Genesys share one OAuth token's budget; each derives its share from this limit.
    default_limit: 2
"""


def prepare_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def run_ui(*, host: str, port: int, conversations: int, media_scale: float, home: str | None) -> int:
    root = Path(__file__).resolve().parents[2]  # the project: workspace.yaml
    dagster_home = prepare_home(Path(home or settings.dagster_home() or root / ".dagster_home"))
    with LocalStack(sandbox_config={"conversations_per_day": conversations, "media_scale": media_scale}) as stack:
        env = {**settings.environment(), **stack.environment(), settings.DAGSTER_HOME: str(dagster_home)}
        print(f"sandbox org  {stack.sandbox.base_url}", flush=True)
        print(f"local S3     {stack.s3_endpoint}", flush=True)
        print(f"Dagster UI   http://{host}:{port}  (Ctrl-C stops everything)", flush=True)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(root / "workspace.yaml"), "-h", host, "-p", str(port)]
        # A child of a non-interactive shell may inherit SIGINT as ignored; dagster dev would then never stop.
        process = subprocess.Popen(command, env=env, cwd=root, preexec_fn=_default_signals)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
