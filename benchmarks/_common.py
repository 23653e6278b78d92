"""What every benchmark shares: the servers in their own processes, the day, memory sampling, the
machine description, the archive_day job in-process, and the one-line JSON summary.

The sandbox org and moto each run in a subprocess started through the project's own entry points
(``python -m recording_assets.sandbox`` and ``python -m recording_assets.tools.cli s3``), so the process
being measured holds only our code: moto keeps every object in memory and the sandbox generates media
on the fly, and neither should share our GIL, our CPU time or our RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/x.py` puts benchmarks/ first, not the repo
    sys.path.insert(0, str(REPO))

from recording_assets.sandbox.config import SandboxConfig  # noqa: E402 - needs the path above
from recording_assets.sandbox.flags import flag_for  # noqa: E402

BUDGET_PER_MINUTE = 300  # Genesys' default per client-credentials token (docs/genesys-api.md §7)
EFFECTIVELY_UNLIMITED = 1_000_000  # a sandbox rate limit that never bites (see NOTE_UNLIMITED)
NOTE_UNLIMITED = (
    "the sandbox's 'unlimited' setting (rate_limit_per_minute=0) answers inin-ratelimit-allowed: 0, which "
    "our Pacer reads as an exhausted window and pauses 60 s per request; benchmarks that want no limit "
    "use 1,000,000/min instead"
)
ARCHIVE_BUCKET = "recording-archive"
MANIFEST_BUCKET = "recording-manifests"
SANDBOX_CLIENT = ("sandbox-client", "sandbox-secret")


def parser_for(doc: str) -> argparse.ArgumentParser:
    """The command line every benchmark shares: its docstring's first line and ``--smoke``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a small size that finishes in seconds")
    return parser


def quiet() -> None:
    """Keep the benchmark output to its figures: no Beta/deprecation warnings, no per-event logs."""
    warnings.simplefilter("ignore")
    import logging

    for name in ("werkzeug", "botocore", "urllib3", "httpx", "dagster"):
        logging.getLogger(name).setLevel(logging.ERROR)


def bench_day(days_back: int = 3) -> date:
    """A UTC day whose conversations have all ended and that the synchronous details query still
    covers (≤ 35 days back); the same date in every sandbox with the same seed has the same org."""
    return datetime.now(timezone.utc).date() - timedelta(days=days_back)


# ------------------------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        mem_kib = int(match.group(1)) if match else 0
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def header(name: str, smoke: bool, params: dict[str, Any]) -> None:
    m = machine()
    print(f"== {name} ({'smoke' if smoke else 'full'} size) ==")
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, Python {m['python']}, "
        f"load average {m['loadavg_1m']} at start"
    )
    print("parameters:")
    for key, value in params.items():
        print(f"  {key}: {value}")
    sys.stdout.flush()


def summary(name: str, smoke: bool, figures: dict[str, Any]) -> None:
    """The last line of stdout: one JSON object the smoke test (and anyone else) can parse."""
    record = {
        "benchmark": name,
        "size": "smoke" if smoke else "full",
        **figures,
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(record, sort_keys=False, default=str), flush=True)


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def api_requests(families: dict[str, int]) -> int:
    """Platform API requests from the sandbox's counters: everything but token and media requests."""
    return sum(n for family, n in families.items() if family not in ("token", "media"))


# ------------------------------------------------------------------------------------------- servers


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


class _Child:
    """A server subprocess whose first stdout line matching ``ready`` carries its URL."""

    def __init__(self, args: list[str], ready: re.Pattern, what: str) -> None:
        self.args, self.what = args, what
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            env=_child_env(),
            cwd=str(REPO),
        )
        self._found: list[str] = []
        threading.Thread(target=self._read, args=(ready,), daemon=True, name=f"{what}-stdout").start()

    def _read(self, ready: re.Pattern) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # keep draining so the child never blocks on a full pipe
            if not self._found:
                match = ready.search(line)
                if match:
                    self._found.append(match.group(1))

    def url(self, timeout_s: float = 90.0) -> str:
        deadline = time.monotonic() + timeout_s
        while not self._found:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"{self.what} did not start ({' '.join(self.args)})")
            time.sleep(0.02)
        return self._found[0]


class Servers:
    """The sandbox org and moto S3, each in its own process on loopback."""

    def __init__(self, *, s3: bool = True, **sandbox_config: Any) -> None:
        self.config = dict(sandbox_config)
        self.with_s3 = s3
        self.sandbox_proc: subprocess.Popen[str] | None = None
        self.s3_proc: subprocess.Popen[str] | None = None
        self.sandbox_url = self.s3_url = ""

    def start(self) -> Servers:
        args = ["-m", "recording_assets.sandbox", "--port", "0"]
        for key, value in self.config.items():
            args += [flag_for(SandboxConfig, key), str(value)]
        sandbox = _Child(args, re.compile(r"listening on (http://\S+)"), "sandbox")
        self.sandbox_proc = sandbox.proc
        if self.with_s3:
            moto = _Child(
                ["-m", "recording_assets.tools.cli", "s3", "--port", "0"],
                re.compile(r"listening on (http://\S+);"),
                "moto",
            )
            self.s3_proc = moto.proc
        self.sandbox_url = sandbox.url()
        if self.with_s3:
            self.s3_url = moto.url()
            s3 = self.s3_client()
            for bucket in (ARCHIVE_BUCKET, MANIFEST_BUCKET):
                s3.create_bucket(Bucket=bucket)
        return self

    def stop(self) -> None:
        for proc in (self.sandbox_proc, self.s3_proc):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.sandbox_proc, self.s3_proc):
            if proc is None:
                continue
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Servers:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        from recording_assets import settings as cfg

        return {
            cfg.API_BASE_URL: self.sandbox_url,
            cfg.CLIENT_ID: SANDBOX_CLIENT[0],
            cfg.CLIENT_SECRET: SANDBOX_CLIENT[1],
            cfg.AWS_ENDPOINT_URL: self.s3_url,
            cfg.ARCHIVE_BUCKET: ARCHIVE_BUCKET,
            cfg.MANIFEST_BUCKET: MANIFEST_BUCKET,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
        }

    def export(self) -> None:
        os.environ.update(self.environment())

    def s3_client(self, **config: Any):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(max_pool_connections=32, **config),
        )

    # the sandbox's back door (never rate-limited nor counted)
    def stats(self, log: int = 0) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.sandbox_url}/__sandbox/stats", params={"log": log}, timeout=60).json()

    def full_log(self) -> list[dict[str, Any]]:
        import httpx

        return httpx.get(f"{self.sandbox_url}/__sandbox/stats", timeout=120).json()["log"]

    def reset_stats(self) -> None:
        import httpx

        httpx.post(f"{self.sandbox_url}/__sandbox/reset", timeout=30).raise_for_status()

    def set_faults(self, **faults: Any) -> None:
        import httpx

        httpx.post(f"{self.sandbox_url}/__sandbox/faults", json=faults, timeout=30).raise_for_status()

    def recording_truth(self, recording_id: str) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.sandbox_url}/__sandbox/recordings/{recording_id}", timeout=30).json()

    def genesys_client(self, *, requests_per_minute: float | None = 300.0 * 0.9, **kwargs: Any):
        from recording_assets.genesys import GenesysClient
        from recording_assets.genesys.secret import Secret

        return GenesysClient(
            api_base_url=self.sandbox_url,
            login_base_url=self.sandbox_url,
            client_id=SANDBOX_CLIENT[0],
            client_secret=Secret(SANDBOX_CLIENT[1]),
            requests_per_minute=requests_per_minute,
            **kwargs,
        )


def day_truth(day: date, **sandbox_config: Any) -> dict[str, Any]:
    """Ground truth for the day, from the same deterministic generator the sandbox runs: the
    recordings of conversations that started in the UTC day (all ended: the day is in the past)."""
    from recording_assets.sandbox.config import SandboxConfig
    from recording_assets.sandbox.org import SyntheticOrg

    config = SandboxConfig(**{k: v for k, v in sandbox_config.items() if k != "faults"})
    org = SyntheticOrg(
        seed=config.seed,
        conversations_per_day=config.conversations_per_day,
        live_calls=0,
        media_scale=config.media_scale,
        giant_recording_bytes=config.giant_recording_bytes,
        anchor_ms=int(time.time() * 1000),
    )
    lo = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
    hi = lo + 86_400_000
    conversations = [c for c in org.conversations_for_day(day) if lo <= c.start_ms < hi]
    recordings = [r for c in conversations for r in c.recordings]
    available = [r for r in recordings if r.file_state == "AVAILABLE"]
    return {
        "conversations": len(conversations),
        "recordings": len(recordings),
        "available": len(available),
        "available_keys": {(r.conversation_id, r.id) for r in available},
        "recording_keys": {(r.conversation_id, r.id) for r in recordings},
        "org": org,
        "available_recordings": available,
        # Conversations whose state one batch answer cannot decide (an ARCHIVED or DELETED recording):
        # the look-ups benchmark 1's goal allows.
        "lookup_conversations": len(
            {r.conversation_id for r in recordings if r.file_state in ("ARCHIVED", "DELETED")}
        ),
    }


# ------------------------------------------------------------------------------------------- memory


class RssSampler:
    """Peak resident set size of a process, sampled in a thread (default: this process)."""

    def __init__(self, pid: int | None = None, interval_s: float = 0.005) -> None:
        import psutil

        self._proc = psutil.Process(pid or os.getpid())
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start_rss = self.peak_rss = self._proc.memory_info().rss
        self.samples = 0
        self.timeline: list[tuple[float, int]] = []  # (time.time(), rss) whenever RSS moved by ≥ 1 MB

    def _run(self) -> None:
        last = 0
        while not self._stop.is_set():
            try:
                rss = self._proc.memory_info().rss
            except Exception:
                return
            self.samples += 1
            if rss > self.peak_rss:
                self.peak_rss = rss
            if abs(rss - last) >= 1_000_000:
                self.timeline.append((time.time(), rss))
                last = rss
            self._stop.wait(self._interval)

    def peak_between(self, start: float, end: float) -> int | None:
        """Highest RSS sampled in [start, end] (epoch seconds), from the timeline."""
        inside = [rss for t, rss in self.timeline if start <= t <= end]
        before = [rss for t, rss in self.timeline if t < start]
        if before:
            inside.append(before[-1])  # the level the window started at
        return max(inside) if inside else None

    def __enter__(self) -> RssSampler:
        self.start_rss = self.peak_rss = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak_rss = max(self.peak_rss, self._proc.memory_info().rss)


def ru_maxrss_bytes() -> int:
    """This process's lifetime high-water mark of RSS (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_worker(script: Path, args: list[str], timeout_s: float) -> dict[str, Any]:
    """Run ``script --worker ...`` as a child process; it prints one JSON line last, returned here."""
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", *args],
        capture_output=True,
        text=True,
        env=_child_env(),
        cwd=str(REPO),
        timeout=timeout_s,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"worker failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    for line in lines[:-1]:
        print("    | " + line)
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------------------- the job


def sampled_archive_job(day: str, requests_per_minute: float | None) -> None:
    """A memory benchmark's child: import everything first (that is the RSS baseline), run the archive_day job
    under the sampler, and print one JSON line of what it did and the peaks (overall and per step)."""
    quiet()
    import dagster  # noqa: F401  (imported before the baseline is taken)

    import recording_assets.definitions  # noqa: F401

    baseline = RssSampler().start_rss
    with RssSampler() as sampler:
        job = run_archive_job(date.fromisoformat(day), requests_per_minute=requests_per_minute)
    audio = job["meta"].get("recording_audio", {})
    print(
        json.dumps(
            {
                "baseline_rss": baseline,
                "peak_rss": sampler.peak_rss,
                "ru_maxrss": ru_maxrss_bytes(),
                "samples": sampler.samples,
                "wall_s": job["wall_s"],
                "success": job["success"],
                "checks": job["checks"],
                "step_s": job["step_s"],
                "recordings": audio.get("recordings"),
                "uploaded_objects": audio.get("uploaded_objects"),
                "uploaded_bytes": audio.get("uploaded_bytes"),
                "step_peaks": {step: sampler.peak_between(*span) for step, span in job["step_spans"].items()},
            }
        )
    )


def run_archive_job(
    day: date,
    *,
    requests_per_minute: float | None = None,
    concurrency: int | None = None,
    archive: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Materialise the archive_day job for ``day`` in this process, as the e2e tests do; the
    environment must already point at the servers. ``requests_per_minute=None`` keeps the default
    (90 % of 300/min per run); ``archive`` sets fields of the archive resource (e.g. sensitive_check)."""
    quiet()
    import dagster as dg

    from recording_assets.definitions import defs as code_location

    run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    resources: dict[str, Any] = {}
    if requests_per_minute is not None:
        resources["genesys"] = {
            "config": {
                "requests_per_minute": requests_per_minute,
                "client_id": {"env": "GENESYSCLOUD_OAUTHCLIENT_ID"},
                "client_secret": {"env": "GENESYSCLOUD_OAUTHCLIENT_SECRET"},
            }
        }
    archive = dict(archive or {})
    if concurrency is not None:
        archive["concurrency"] = concurrency
    if archive:
        resources["archive"] = {
            "config": {
                **archive,
                "archive_bucket": {"env": "RECORDING_ARCHIVE_BUCKET"},
                "manifest_bucket": {"env": "RECORDING_MANIFEST_BUCKET"},
            }
        }
    if resources:
        run_config["resources"] = resources
    defs = code_location()
    job = defs.resolve_job_def("archive_day")
    started_at = time.time()
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            partition_key=day.isoformat(), instance=instance, run_config=run_config, raise_on_error=False
        )
        wall = time.perf_counter() - started
        meta = materialised_metadata(result)
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        steps: dict[str, dict[str, float]] = {}
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if (
                event
                and event.event_type_value in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE")
                and event.step_key
            ):
                steps.setdefault(event.step_key, {})[event.event_type_value] = entry.timestamp
    step_s = {
        key: round(times["STEP_SUCCESS"] - times["STEP_START"], 2)
        for key, times in steps.items()
        if "STEP_START" in times and "STEP_SUCCESS" in times
    }
    step_spans = {
        key: (times["STEP_START"], times.get("STEP_SUCCESS", times.get("STEP_FAILURE", times["STEP_START"])))
        for key, times in steps.items()
        if "STEP_START" in times
    }
    return {
        "success": result.success,
        "wall_s": wall,
        "meta": meta,
        "checks": checks,
        "step_s": step_s,
        "started_at": started_at,
        "step_spans": step_spans,
    }


def materialised_metadata(result) -> dict[str, dict[str, Any]]:
    """Each asset's metadata in a run's result, by asset name (one step may materialise several)."""
    meta: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialisation = event.event_specific_data.materialization
        meta.setdefault(
            event.asset_key.to_user_string(),
            {k: getattr(v, "value", v) for k, v in materialisation.metadata.items()},
        )
    return meta


def read_manifest(servers: Servers, day: date) -> list[dict[str, Any]]:
    from recording_assets.archive.keys import manifest_key
    from recording_assets.pipeline.tables import from_parquet_bytes

    body = servers.s3_client().get_object(Bucket=MANIFEST_BUCKET, Key=manifest_key(day=day))["Body"].read()
    return from_parquet_bytes(body).to_pylist()


def read_audit(servers: Servers, day: date) -> list[dict[str, Any]]:
    from recording_assets.archive.keys import audit_day_prefix
    from recording_assets.pipeline.tables import from_parquet_bytes

    s3 = servers.s3_client()
    rows: list[dict[str, Any]] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=MANIFEST_BUCKET, Prefix=audit_day_prefix(day=day)):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=MANIFEST_BUCKET, Key=item["Key"])["Body"].read()
            rows.extend(from_parquet_bytes(body).to_pylist())
    return rows


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def timed():
    box = {"s": 0.0}
    started = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - started
