"""``dg check defs``: Dagster's own CLI (dagster-dg-cli, pinned with the Dagster set) loads the code location
from pyproject's ``[tool.dg]`` and validates it, as CI runs it (this test is how scripts/test runs it)."""

from __future__ import annotations

import json
import os
import subprocess

from recording_assets_tests.ops.ops_support import REPO, cli_executable


def _dg_check(tmp_path, **extra_env) -> subprocess.CompletedProcess:
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTHONPATH": str(REPO), **extra_env}
    return subprocess.run(
        [cli_executable("dg"), "check", "defs"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dg_check_defs_validates_the_code_location(tmp_path):
    result = _dg_check(tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_dg_check_defs_fails_on_a_location_that_does_not_load(tmp_path):
    """The same command fails when the definitions cannot load (here: a malformed time zone setting)."""
    result = _dg_check(tmp_path, RECORDING_TIMEZONE="Mars/Olympus_Mons")
    assert result.returncode != 0
    assert "RECORDING_TIMEZONE" in result.stdout + result.stderr


def test_a_file_scaffolded_by_dg_loads_by_itself(tmp_path):
    """In a copy of the repository, ``dg scaffold defs dagster.asset probe.py`` writes a module under
    ``defs/`` and ``dg list defs`` then lists its asset: nothing has to be wired by hand."""
    copy = tmp_path / "copy"
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in files.splitlines():
        if name.startswith(("recording_assets/", "pyproject.toml", "setup.cfg", "workspace.yaml")):
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((REPO / name).read_bytes())
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTHONPATH": str(copy)}

    def dg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [cli_executable("dg"), *args], cwd=copy, env=env, capture_output=True, text=True, timeout=300
        )

    scaffolded = dg("scaffold", "defs", "dagster.asset", "probe.py")
    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    assert (copy / "recording_assets" / "defs" / "probe.py").exists()
    listed = dg("list", "defs", "--json")
    assert listed.returncode == 0, (listed.stdout + listed.stderr)[-4000:]
    keys = {asset["asset_key"] for asset in json.loads(listed.stdout)["assets"]}
    assert "probe" in keys and {"recording_metadata", "recording_audio", "recording_manifest"} <= keys
