"""Every benchmark in benchmarks/ runs at its --smoke size and prints its figures.

Each script runs as its own subprocess, exactly as a person would run it, and must exit 0 with a JSON
summary as its last line. Nothing here asserts a time or a goal: the figures depend on the machine,
and the benchmarks exist to measure them, not to gate on them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# script -> figures its summary must carry
FIGURES = {
    "api_efficiency": (
        "ours_per_1000",
        "ours_per_1000_without_lookups",
        "tutorial_per_1000",
        "seed_per_1000",
    ),
    "wall_time_at_budget": (
        "wall_s",
        "bound_requests_s",
        "bound_bytes_s",
        "ratio",
        "floor_requests",
        "floor_ratio",
    ),
    "memory": ("peak_rss_max", "goal_bytes"),
    "download_memory": ("peak_growth_small", "peak_growth_large"),
    "data_plane": ("bare_bytes_per_s", "ours_bytes_per_s", "ratio", "ours_cpu_s_per_gb", "bare_cpu_s_per_gb"),
    "metadata_scale": ("discovery_s", "metadata_s", "manifest_s", "peak_rss", "empty_day_job_s"),
    "scale_day": ("wall_s", "bound_s", "ratio", "peak_rss", "requests", "rerun_requests"),
    "seed_engine": ("seed_share", "seed_wall_s", "ours_share", "ours_wall_s"),
}


def test_every_benchmark_script_is_covered():
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_")}
    assert scripts == set(FIGURES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_benchmark_smoke_run_prints_its_figures(name):
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard, not a performance assertion
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines and lines[0].startswith(f"== {name} (smoke size) =="), proc.stdout[:500]
    summary = json.loads(lines[-1])
    assert summary["benchmark"] == name and summary["size"] == "smoke"
    for figure in FIGURES[name]:
        value = summary[figure]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (figure, value)
        assert math.isfinite(value), (figure, value)
    # The runs behind the figures must themselves have worked (correctness, not speed).
    for flag in ("job_success", "empty_day_success", "sha256_ok", "all_explicit", "rerun_same_manifest"):
        if flag in summary:
            assert summary[flag] is True, (flag, summary)
    for scenario in summary.get("scenarios", []):
        assert scenario["success"] is True, scenario
