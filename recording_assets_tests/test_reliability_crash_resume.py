"""Crash-resume: SIGKILL the real run process at seeded random points, re-run, and prove the day is whole.

Each trial runs ``dagster asset materialize -m recording_assets.definitions --select ... --partition D``
as its own process group (the sandbox and moto live in this test process and serve it over loopback;
DAGSTER_HOME is a fresh directory with telemetry off), kills the whole group with SIGKILL at a seeded
point, then re-runs the same command to completion. Afterwards, from S3 and the sandbox's own truth:

- 0 lost: every AVAILABLE recording of the day is under its final key;
- 0 duplicated: exactly one object per recording under recordings/, nothing else in the bucket;
- 0 corrupt: every object's bytes hash to the sandbox's bytes and to its own ``sha256`` metadata;
- re-downloads bounded by what was in flight: the recordings fetched twice (media GETs counted in the
  sandbox's request log across both runs) are exactly those the killed run had fetched but not landed,
  and there are at most ``concurrency`` (8) of them.

Kill points (seeded per trial): ``landed:N`` kills once N objects are under recordings/ (polled from S3
every 0.1 s), ``delay:S`` kills S seconds after launch (startup, discovery, the batch wait) and
``settled:S`` S seconds after the last object landed (verification, the outcome table, the manifest).
Trials use distinct days of one sandbox org and fresh buckets, so trials can run side by side without
sharing a recording.

CI mode (default): 10 trials of a ~57-recording day, 2 at a time, ``in_process`` executor (one process
per run; saves the ~2 s interpreter start of each step worker). Long mode (``RELIABILITY_LONG=1`` or
``-m reliability_long``): 20 trials of a ~1,000-recording day with Dagster's default multiprocess executor
(the group kill takes the step workers down too). RELIABILITY.md explains the sizes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from recording_assets_tests import reliability_support as rs

SEED = int(os.environ.get("RELIABILITY_SEED", "20261123"))
CONCURRENCY = 8  # ArchiveResource.concurrency default: the most downloads one run has in flight
SELECT = "recording_metadata,recording_audio,recording_manifest"
IN_PROCESS = '{"execution": {"config": {"in_process": {}}}}'
LAST_DAY = date(2026, 11, 20)


@dataclass(frozen=True)
class Plan:
    trials: int
    conversations: int
    parallel: int
    in_process: bool
    max_delay_s: float  # upper end of the delay kills: comfortably inside one run
    max_settled_s: float  # upper end of the kills after the last object landed: inside the checks


CI_PLAN = Plan(trials=10, conversations=50, parallel=2, in_process=True, max_delay_s=8.0, max_settled_s=2.0)
LONG_PLAN = Plan(
    trials=20, conversations=880, parallel=2, in_process=False, max_delay_s=40.0, max_settled_s=15.0
)


@dataclass
class Trial:
    number: int
    day: str
    kill: str  # "landed:N" or "delay:S"
    recordings: int = 0
    available: int = 0
    killed: bool = False
    killed_after_s: float = 0.0
    phase: str = ""
    landed_at_kill: int = 0
    fetched_by_killed_run: int = 0
    in_flight: int = 0
    redownloaded: int = 0
    uploads_after_kill: int = 0
    lost: int = 0
    duplicated: int = 0
    corrupt: int = 0
    extra_keys: int = 0
    open_uploads: int = 0
    manifest_rows: int = 0
    rerun_s: float = 0.0
    rerun_rc: int | None = None
    problems: list[str] = field(default_factory=list)


def plan_for(config) -> Plan:
    return LONG_PLAN if rs.long_mode(config) else CI_PLAN


def kill_points(plan: Plan, expected_available: int) -> list[str]:
    """Seeded kill points: 60% on a landed-object count (mid-download), 20% on a delay since launch
    (startup, discovery, the batch wait), 20% a delay after the last object landed (verification,
    outcome table, manifest)."""
    rng = random.Random(SEED)
    landed = round(plan.trials * 0.6)
    settled = round(plan.trials * 0.2)
    kinds = ["landed"] * landed + ["settled"] * settled + ["delay"] * (plan.trials - landed - settled)
    rng.shuffle(kinds)
    points = []
    for kind in kinds:
        if kind == "landed":
            points.append(f"landed:{rng.randint(1, max(1, expected_available - 1))}")
        elif kind == "settled":
            points.append(f"settled:{rng.uniform(0.0, plan.max_settled_s):.2f}")
        else:
            points.append(f"delay:{rng.uniform(0.5, plan.max_delay_s):.2f}")
    return points


class RunProcess:
    """One ``dagster asset materialize`` process in its own session (so a group kill gets every worker)."""

    def __init__(self, env: dict[str, str], day: str, workdir: Path, label: str, in_process: bool) -> None:
        command = [
            sys.executable, "-m", "dagster", "asset", "materialize",
            "-m", "recording_assets.definitions", "--select", SELECT, "--partition", day,
        ]  # fmt: skip
        if in_process:
            command += ["--config-json", IN_PROCESS]
        self.log_path = workdir / f"{label}.log"
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def running(self) -> bool:
        return self.process.poll() is None

    def kill_group(self) -> bool:
        """SIGKILL the run and every process it started; False if it had already exited."""
        if not self.running():
            return False
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def landed_ids(client, bucket: str) -> set[str]:
    """Recording ids of the objects under recordings/ (the file name without its extension)."""
    found = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="recordings/"):
        for item in page.get("Contents", []):
            found.add(item["Key"].rsplit("/", 1)[-1].rsplit(".", 1)[0])
    return found


def landed_count(client, bucket: str) -> int:
    total = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="recordings/"):
        total += page.get("KeyCount", 0)
    return total


def dagster_home(root: Path) -> dict[str, str]:
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {"DAGSTER_HOME": str(home)}


def run_trial(trial: Trial, s3: rs.S3Server, server, plan: Plan, root: Path, log_lock: threading.Lock) -> Trial:
    truth = rs.truth(server, trial.day)
    available = rs.available(truth)
    ids_of_day = {rid for (_, rid) in truth}
    trial.recordings, trial.available = len(truth), len(available)
    buckets = s3.fresh_buckets(f"crash{trial.number}")
    client = s3.client()
    workdir = root / f"trial-{trial.number:02d}"
    workdir.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k not in rs.CONTRACT_VARS},
        **rs.run_env(s3, server, buckets),
        **dagster_home(workdir),
    }

    def fetched() -> Counter:
        with log_lock:
            log = server.state.stats.snapshot()["log"]
        gets = rs.media_gets(log)
        return Counter({rid: n for rid, n in gets.items() if rid in ids_of_day})

    # -- the run that is killed
    kind, _, value = trial.kill.partition(":")
    first = RunProcess(env, trial.day, workdir, "killed", plan.in_process)
    all_landed_at = None
    while first.running():
        if kind == "delay" and first.elapsed() >= float(value):
            break
        if kind == "landed" and landed_count(client, buckets[0]) >= int(value):
            break
        if kind == "settled":
            if all_landed_at is None and landed_count(client, buckets[0]) >= len(available):
                all_landed_at = time.monotonic()
            if all_landed_at is not None and time.monotonic() - all_landed_at >= float(value):
                break
        time.sleep(0.1)
    trial.killed_after_s = round(first.elapsed(), 2)
    trial.killed = first.kill_group()
    first.wait(timeout=60)
    time.sleep(1.0)  # requests the dead process had fully sent still complete inside moto: let them land
    landed = landed_ids(client, buckets[0])
    fetched_by_killed = fetched()
    trial.landed_at_kill = len(landed)
    trial.fetched_by_killed_run = len(fetched_by_killed)
    in_flight = set(fetched_by_killed) - landed
    trial.in_flight = len(in_flight)
    if not trial.killed:
        trial.phase = "finished before the kill"
    elif not fetched_by_killed:
        trial.phase = "before downloads"
    elif len(landed) >= len(available):
        trial.phase = "after uploads (checks/manifest)"
    else:
        trial.phase = "during downloads"

    # -- the re-run, to completion
    second = RunProcess(env, trial.day, workdir, "rerun", plan.in_process)
    trial.rerun_rc = second.wait(timeout=1800)
    trial.rerun_s = round(second.elapsed(), 1)
    if trial.rerun_rc != 0 or "RUN_SUCCESS" not in second.output():
        trial.problems.append(f"re-run exited {trial.rerun_rc}: {second.output()[-2000:]}")
        return trial

    # -- what S3 holds, read back and hashed here
    archive = rs.Archive.read(client, buckets[0])
    final = archive.final_by_recording()
    trial.lost = len({rid for (_, rid) in available} - set(final))
    trial.duplicated = sum(len(objects) - 1 for objects in final.values() if len(objects) > 1)
    trial.corrupt = len(
        [p for p in rs.integrity_violations(archive, truth) if "objects under recordings/" not in p]
    )
    trial.extra_keys = len(set(archive.objects) - set(archive.under("recordings")))
    trial.open_uploads = len(archive.open_uploads)
    trial.problems += rs.integrity_violations(archive, truth)

    # -- re-downloads: exactly the in-flight ones, never more than the concurrency
    all_fetched = fetched()
    redownloaded = {rid for rid, n in all_fetched.items() if n >= 2}
    trial.redownloaded = len(redownloaded)
    trial.uploads_after_kill = len(set(final) - landed)
    if redownloaded - in_flight:
        trial.problems.append(f"re-downloaded although landed before the kill: {sorted(redownloaded - in_flight)}")
    if trial.in_flight > CONCURRENCY:
        trial.problems.append(f"{trial.in_flight} fetched but not landed at the kill (> {CONCURRENCY})")
    if any(n > 2 for n in all_fetched.values()):
        trial.problems.append(f"fetched more than twice: {[r for r, n in all_fetched.items() if n > 2]}")

    # -- the manifest: one row per truth recording, every available one archived with the true sha256
    rows = rs.manifest_rows(client, buckets[1], trial.day)
    trial.manifest_rows = len(rows)
    keys = Counter((r["conversation_id"], r["recording_id"]) for r in rows)
    if set(keys) != set(truth) or max(keys.values(), default=1) > 1:
        trial.problems.append(f"manifest rows {len(rows)} do not match the {len(truth)} truth recordings")
    for row in rows:
        rec = truth.get((row["conversation_id"], row["recording_id"]))
        if rec is None:
            continue
        if rec.file_state == "AVAILABLE" and (row["state"] != "archived" or row["sha256"] != rec.sha256):
            trial.problems.append(f"manifest row {row['recording_id']}: {row['state']} {row['sha256']}")
    return trial


@pytest.mark.slow
@pytest.mark.reliability_long
def test_sigkill_at_seeded_points_then_rerun_loses_duplicates_and_corrupts_nothing(request):
    plan = plan_for(request.config)
    s3 = rs.S3Server()
    server = rs.sandbox(conversations_per_day=plan.conversations)
    days = [(LAST_DAY - timedelta(days=n)).isoformat() for n in range(plan.trials)]
    expected = min(len(rs.available(rs.truth(server, day))) for day in days)
    trials = [Trial(i + 1, day, kill) for i, (day, kill) in enumerate(zip(days, kill_points(plan, expected)))]
    log_lock = threading.Lock()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="crash-resume-") as tmp, ThreadPoolExecutor(plan.parallel) as pool:
            done = list(pool.map(lambda t: run_trial(t, s3, server, plan, Path(tmp), log_lock), trials))
    finally:
        server.stop()
        s3.stop()
    elapsed = time.monotonic() - started
    rows = [asdict(t) for t in done]
    rs.report("crash_resume", rows)
    print(f"\ncrash-resume: {len(done)} trials in {elapsed:.0f}s")
    for t in done:
        print(
            f"  #{t.number} {t.day} {t.kill:>12} killed={t.killed} at {t.killed_after_s}s ({t.phase}); "
            f"available={t.available} landed={t.landed_at_kill} in_flight={t.in_flight} "
            f"redownloaded={t.redownloaded} lost={t.lost} dup={t.duplicated} corrupt={t.corrupt} "
            f"rerun={t.rerun_s}s"
        )
    assert sum(t.killed for t in done) >= 10, "fewer than 10 runs were actually killed"
    assert [t.problems for t in done] == [[] for _ in done]
    assert all(t.lost == t.duplicated == t.corrupt == t.extra_keys == t.open_uploads == 0 for t in done)
