"""Helpers for the operations tests: a real ``dagster dev`` (webserver + daemon) driven over HTTP and
GraphQL, a private PostgreSQL cluster, and request-rate arithmetic over the sandbox's request log.

Nothing here patches project code. Processes started here are stopped by their own id (and their
process group, which they lead), never by name.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
LOCATION = "recording_assets"
REPOSITORY = "__repository__"
ASSETS = ("recording_metadata", "recording_audio", "recording_manifest")
SYSTEM_DEPS_HINT = "run scripts/system-deps (as root it installs them; otherwise it prints the apt-get line)"


def artifacts(name: str) -> Path:
    """A fresh folder for this test session's screenshots and logs (sessions may run side by side)."""
    path = ARTIFACTS / name / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- dagster dev over HTTP ---------------------------------------------------------------------


class GraphQLError(AssertionError):
    pass


@dataclass
class Dagit:
    """The Dagster webserver of a running stack, spoken to over HTTP."""

    url: str
    timeout_s: float = 30.0

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=self.timeout_s
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise GraphQLError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def server_info(self) -> dict:
        return httpx.get(f"{self.url}/server_info", timeout=5).json()

    def set_nux_seen(self) -> None:
        self.graphql("mutation { setNuxSeen }")

    def location_status(self) -> tuple[str | None, str | None]:
        """(loadStatus, error message) of our code location."""
        data = self.graphql(
            """{ workspaceOrError { __typename ... on Workspace { locationEntries {
                   name loadStatus
                   locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
        )
        for entry in data["workspaceOrError"].get("locationEntries", []):
            if entry["name"] == LOCATION:
                error = entry["locationOrLoadError"] or {}
                return entry["loadStatus"], error.get("message")
        return None, None

    def launch_backfill(
        self,
        partitions: list[str],
        *,
        assets=ASSETS,
        run_config: dict | None = None,
        tags: dict | None = None,
    ) -> str:
        params = {
            "partitionNames": partitions,
            "assetSelection": [{"path": [a]} for a in assets],
            "fromFailure": False,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        if run_config is not None:
            params["runConfigData"] = run_config
        data = self.graphql(
            """mutation Backfill($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
                 __typename ... on LaunchBackfillSuccess { backfillId }
                 ... on PythonError { message stack } ... on PartitionSetNotFoundError { message }
                 ... on UnauthorizedError { message } ... on InvalidSubsetError { message } } }""",
            {"p": params},
        )
        result = data["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise GraphQLError(f"launchPartitionBackfill failed: {result}")
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> dict:
        data = self.graphql(
            """query B($id: String!) { partitionBackfillOrError(backfillId: $id) {
                 __typename ... on PartitionBackfill { id status numPartitions
                   runs(limit: 100) { runId status startTime endTime tags { key value } } }
                 ... on PythonError { message } } }""",
            {"id": backfill_id},
        )
        return data["partitionBackfillOrError"]

    def runs(self, limit: int = 50) -> list[dict]:
        data = self.graphql(
            """query R($limit: Int) { runsOrError(limit: $limit) { __typename ... on Runs { results {
                 runId status jobName startTime endTime tags { key value } assetSelection { path } } } } }""",
            {"limit": limit},
        )
        return data["runsOrError"]["results"]

    def run(self, run_id: str) -> dict:
        data = self.graphql(
            """query R($id: ID!) { runOrError(runId: $id) { __typename ... on Run {
                 runId status startTime endTime runConfigYaml tags { key value } } } }""",
            {"id": run_id},
        )
        return data["runOrError"]

    def run_failure_messages(self, run_id: str) -> list[str]:
        data = self.graphql(
            """query L($id: ID!) { logsForRun(runId: $id, limit: 5000) { __typename ... on EventConnection {
                 events { __typename ... on MessageEvent { message level } } } } }""",
            {"id": run_id},
        )
        events = data["logsForRun"].get("events", [])
        return [e["message"] for e in events if e.get("level") in ("ERROR", "CRITICAL")]

    def asset_node(self, asset: str) -> dict:
        data = self.graphql(
            """query A($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { __typename ... on AssetNode {
                 pools
                 partitionStats { numMaterialized numPartitions numFailed }
                 assetChecksOrError { __typename ... on AssetChecks { checks { name blocking } } }
                 internalFreshnessPolicy { __typename
                   ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
                   ... on TimeWindowFreshnessPolicy { failWindowSeconds } } } } }""",
            {"key": {"path": [asset]}},
        )
        return data["assetNodeOrError"]

    def checks_run_by(self, run_id: str) -> set[tuple[str, str]]:
        """(asset, check) of every check the run planned or evaluated, from its own event log."""
        data = self.graphql(
            """query L($id: ID!) { logsForRun(runId: $id, limit: 5000) { __typename ... on EventConnection {
                 events { __typename
                   ... on AssetCheckEvaluationPlannedEvent { assetKey { path } checkName }
                   ... on AssetCheckEvaluationEvent { evaluation { assetKey { path } checkName } } } } } }""",
            {"id": run_id},
        )
        found = set()
        for event in data["logsForRun"].get("events", []):
            subject = event.get("evaluation") or event
            if subject.get("checkName"):
                found.add(("/".join(subject["assetKey"]["path"]), subject["checkName"]))
        return found

    def all_checks(self) -> list[tuple[str, str]]:
        """(asset, check) of every check the code location declares."""
        data = self.graphql(
            """{ assetNodes { assetKey { path }
                 assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } }"""
        )
        return [
            ("/".join(node["assetKey"]["path"]), check["name"])
            for node in data["assetNodes"]
            for check in (node["assetChecksOrError"].get("checks") or [])
        ]

    def latest_check_execution(self, asset: str, check: str) -> dict | None:
        """The check's latest execution (any partition, with or without a run), as the Checks tab shows it."""
        data = self.graphql(
            """query C($key: AssetKeyInput!, $name: String!) {
                 assetCheckExecutions(assetKey: $key, checkName: $name, limit: 1) {
                   runId status partition evaluation { success description
                     metadataEntries { label __typename ... on FloatMetadataEntry { floatValue } } } } }""",
            {"key": {"path": asset.split("/")}, "name": check},
        )
        executions = data["assetCheckExecutions"]
        return executions[0] if executions else None


def wait_for(predicate, *, timeout_s: float, interval_s: float = 1.0, what: str, on_timeout=None):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` (and diagnostics)."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (httpx.HTTPError, ValueError, GraphQLError) as exc:
            last_error = exc
        time.sleep(interval_s)
    details = on_timeout() if on_timeout else ""
    raise AssertionError(
        f"timed out after {timeout_s:.0f}s waiting for {what}; last error: {last_error!r}\n{details}"
    )


def wait_for_location(dagit: Dagit, process: subprocess.Popen, log: Path, timeout_s: float = 180) -> None:
    """``/server_info`` answers and the code location is LOADED (not failed)."""

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"the stack exited with {process.returncode}:\n{tail(log)}")
        dagit.server_info()
        status, error = dagit.location_status()
        if error:
            raise AssertionError(f"code location {LOCATION} failed to load: {error}\n{tail(log)}")
        return status == "LOADED"

    wait_for(
        ready,
        timeout_s=timeout_s,
        interval_s=0.5,
        what="the Dagster UI and its code location",
        on_timeout=lambda: tail(log),
    )


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _default_signals() -> None:
    # A child of a non-interactive shell may inherit SIGINT as ignored (docs/dagster-platform.md §5).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start_process(command: list[str], *, env: dict, log: Path, cwd: Path = REPO) -> subprocess.Popen:
    """Start ``command`` as the leader of its own process group, output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("wb")
    try:
        return subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_default_signals,
        )
    finally:
        handle.close()


def stop_process(process: subprocess.Popen, *, grace_s: float = 30) -> None:
    """SIGINT to the process we started (dagster dev shuts its children down), then SIGKILL its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group it leads (start_new_session), stragglers only
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(timeout=10)


def cli_executable(name: str) -> str:
    """A console script of this venv (what a newcomer runs after ``pip install -e``)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise AssertionError(f"{name} is not installed in this environment: pip install -e '.[test]'")
    return found


def parse_ui_banner(log: Path) -> dict[str, str]:
    """The URLs ``recording-assets ui`` prints: sandbox org, local S3, Dagster UI."""
    text = log.read_text(errors="replace")
    found = {}
    labels = (("sandbox org", "sandbox"), ("local S3", "s3"), ("Dagster UI", "ui"), ("archived", "archived"))
    for label, key in labels:
        match = re.search(rf"^{label}\s+(http://\S+|\d{{4}}-\d{{2}}-\d{{2}})", text, re.M)
        if match:
            found[key] = match.group(1)
    return found


# ---- request-rate arithmetic over the sandbox log --------------------------------------------


def rate_limited_log(log: list[dict]) -> list[dict]:
    """Requests that went through the sandbox's per-token rate window: authenticated API calls (the
    OAuth token request itself and presigned media downloads are outside it)."""
    return [e for e in log if e.get("token_id") and e.get("family") not in ("token", "media")]


def max_in_window(times: list[float], window_s: float = 60.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def per_token_peaks(log: list[dict], window_s: float = 60.0) -> dict[str, int]:
    by_token: dict[str, list[float]] = defaultdict(list)
    for entry in rate_limited_log(log):
        by_token[entry["token_id"]].append(entry["t"])
    return {token: max_in_window(times, window_s) for token, times in by_token.items()}


def token_bucket_excess(times: list[float], *, per_minute: float, burst: int) -> float:
    """How far a token's request times exceed a token bucket (``burst``, ``per_minute``): the largest
    ``count - burst - rate * span`` over all runs of consecutive requests. <= 0 means they fit."""
    times = sorted(times)
    rate = per_minute / 60.0
    worst = float("-inf")
    for i in range(len(times)):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - burst - rate * (times[j] - times[i]))
    return worst


# ---- a private PostgreSQL cluster ------------------------------------------------------------


def postgres_bindir() -> Path:
    for name in ("initdb", "pg_ctl", "postgres"):
        found = shutil.which(name)
        if found and name == "initdb":
            candidate = Path(os.path.realpath(found)).parent
            if all((candidate / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
                return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((candidate / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise AssertionError(
        f"PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed: {SYSTEM_DEPS_HINT}"
    )


@dataclass
class PostgresCluster:
    """``initdb`` into a temp dir and ``pg_ctl start`` on 127.0.0.1:port with a private socket dir.

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` system user
    (created by Debian's postgresql-common) and commands run through ``runuser``.
    """

    port: int = field(default_factory=free_port)
    user: str = "postgres"  # the database superuser name

    def __post_init__(self):
        self.bindir = postgres_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="recording-assets-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.logfile = self.root / "postgres.log"
        self.as_user = None
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise AssertionError(
                    "running as root, but there is no 'postgres' system user to own the cluster: "
                    + SYSTEM_DEPS_HINT
                ) from None
            self.as_user = "postgres"
        self.sockets.mkdir()
        if self.as_user:
            shutil.chown(self.root, self.as_user)
            shutil.chown(self.sockets, self.as_user)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = list(args)
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                f"\n{tail(self.logfile)}"
            )
        return result

    def start(self) -> PostgresCluster:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            except AssertionError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, dbname: str = "postgres"):
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=dbname)
        connection.autocommit = True
        return connection

    def create_database(self, name: str) -> None:
        connection = self.connect()  # autocommit: CREATE DATABASE cannot run in a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
