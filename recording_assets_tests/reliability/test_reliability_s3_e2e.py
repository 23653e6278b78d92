"""S3 faults end to end: the FaultProxy (``faultproxy.py``) between the whole pipeline and moto.

``AWS_ENDPOINT_URL`` points at the proxy, so every S3 call of every step (listing, HEADs, create-only
PUTs, multipart parts, verification reads, Parquet tables, audit parts) crosses it. Each scenario runs the
``archive_day`` job in a worker process (its own environment) while this process scripts the proxy:

- S3 500s on every 4th request; slow answers; TCP resets mid-upload (single PUT and multipart part) and
  lost responses: botocore retries (the proxy's log shows each faulted request answered later) and the
  run succeeds;
- the endpoint going down mid-run, while a 20 MiB recording is mid-multipart: the run fails cleanly with a
  readable ``StorageError`` (no endpoint URL, no credentials), and the next run, with the endpoint back,
  sweeps the dangling multipart upload and completes;
- every sidecar PUT of the day step answered 500 until botocore gives up: each is that sidecar's failure,
  never the day's, and the manifest step writes them.

After every run, read directly from moto: every object under recordings/ is the recording's true bytes
(hashed here against the sandbox), the manifest lists only objects that exist with those bytes, each with
its sidecar, and no multipart upload is left open once a run has completed.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import asdict, dataclass, field

import pytest

from recording_assets.archive.sidecar_keys import SIDECAR_SUFFIX, sidecar_key
from recording_assets_tests.reliability import reliability_support as rs
from recording_assets_tests.reliability.faultproxy import FaultProxy

DAY = "2026-11-18"
CONVERSATIONS = 12
GIANT = 20 * 1024 * 1024  # over the 16 MiB multipart threshold: two parts
MANIFEST_NAME = "manifest.parquet"


def every_nth(n: int):
    counter = itertools.count(1)
    lock = threading.Lock()

    def match(_request) -> bool:
        with lock:
            return next(counter) % n == 0

    return match


@dataclass
class Result:
    scenario: str
    first_ok: bool = False
    first_error: str | None = None
    second_ok: bool | None = None
    faulted: dict = field(default_factory=dict)
    retried_then_answered: int = 0
    open_uploads_after_first: int = 0
    open_uploads_at_end: int = 0
    archived: int = 0
    available: int = 0
    problems: list[str] = field(default_factory=list)


class Scenario:
    name = ""
    giant = False
    first_should_fail = False

    def arm(self, proxy: FaultProxy) -> None:
        """Faults in place before the run starts."""

    def during(self, proxy: FaultProxy, done: threading.Event) -> None:
        """Faults scripted while the run goes (runs in a thread until ``done``)."""

    def before_second(self, proxy: FaultProxy) -> None:
        proxy.up()


class Http500s(Scenario):
    name = "S3 500 on every 4th request"

    def arm(self, proxy):
        proxy.http_500(count=10**9, match=every_nth(4))


class Slow(Scenario):
    name = "slow answers (0.3 s on 80 requests)"

    def arm(self, proxy):
        proxy.slow(0.3, count=80)


class ResetMidUpload(Scenario):
    name = "reset mid-upload + lost responses"
    giant = True

    def arm(self, proxy):
        proxy.reset_after(2048, count=4, match="PutObject")  # cut inside the body: S3 never sees it whole
        proxy.reset_after(1024 * 1024, count=2, match="UploadPart")  # cut 1 MiB into a 16 MiB part
        # Body shorter than the cut-off: S3 stores the object, the answer is lost; the retry meets
        # If-None-Match.
        proxy.reset_after(
            10**9, count=2, match=lambda r: r.operation == "PutObject" and "/recordings/" in r.target
        )


class EndpointDown(Scenario):
    name = "endpoint down mid-run (mid-multipart)"
    giant = True
    first_should_fail = True

    def during(self, proxy, done):
        while not done.is_set():
            if proxy.count("UploadPart") >= 1:
                proxy.down()
                return
            time.sleep(0.02)


class DaysSidecarWritesFail(Scenario):
    name = "the day step's sidecar PUTs answered 500"

    def arm(self, proxy):
        manifest_written = threading.Event()

        # Asked of every request while the fault is armed (under the proxy's lock: it reads no proxy state).
        def of_the_day_step(request) -> bool:  # a sidecar PUT before the manifest is written
            if request.operation == "PutObject" and MANIFEST_NAME in request.target:
                manifest_written.set()
            return (
                request.operation == "PutObject"
                and request.target.split("?")[0].endswith(SIDECAR_SUFFIX)
                and not manifest_written.is_set()
            )

        proxy.http_500(count=10**9, match=of_the_day_step)


SCENARIOS = [Http500s(), Slow(), ResetMidUpload(), EndpointDown(), DaysSidecarWritesFail()]


class Case:
    def __init__(self, scenario: Scenario, s3: rs.S3Server) -> None:
        self.scenario = scenario
        self.s3 = s3
        config = {"giant_recording_bytes": GIANT} if scenario.giant else {}
        self.server = rs.sandbox(conversations_per_day=CONVERSATIONS, **config)
        self.proxy = FaultProxy.in_front_of(s3.endpoint).start()
        self.buckets = s3.fresh_buckets("s3e2e")
        self.truth = rs.truth(self.server, DAY)
        self.result = Result(scenario.name, available=len(rs.available(self.truth)))
        self.done = threading.Event()
        self.watcher: threading.Thread | None = None

    def env(self):
        return rs.run_env(self.s3, self.server, self.buckets, endpoint=self.proxy.endpoint)

    def start_first(self) -> None:
        self.scenario.arm(self.proxy)
        self.watcher = threading.Thread(
            target=self.scenario.during, args=(self.proxy, self.done), daemon=True
        )
        self.watcher.start()

    def stop(self) -> None:
        self.done.set()
        self.proxy.stop()
        self.server.stop()

    def inspect(self, run: rs.RunResult, number: int) -> None:
        out, client = self.result, self.s3.client()
        archive = rs.Archive.read(client, self.buckets[0])
        out.problems += [f"run {number}: {p}" for p in rs.integrity_violations(archive, self.truth)]
        if number == 1:
            self.done.set()
            out.first_ok, out.first_error = run.success, run.failure
            out.open_uploads_after_first = len(archive.open_uploads)
            out.faulted = {
                fault: self.proxy.count(fault=fault) for fault in ("http_500", "reset", "slow", "down")
            }
            out.retried_then_answered = retried_then_answered(self.proxy)
            if run.success == self.scenario.first_should_fail:
                out.problems.append(f"run 1 success={run.success}: {run.failure}")
            if not run.success:
                text = run.failure or ""
                if "StorageError" not in text or "no valid response from S3" not in text:
                    out.problems.append(f"run 1 did not fail with a readable StorageError: {text[-1500:]}")
                # The StorageError's own message names bucket, key and what happened, never the endpoint
                # (botocore's chained cause below it does carry the URL; an endpoint is not a secret).
                storage_lines = [line for line in text.splitlines() if line.startswith("StorageError")]
                if any(self.proxy.endpoint in line for line in storage_lines):
                    out.problems.append(f"the StorageError message carries the endpoint URL: {storage_lines}")
        else:
            out.second_ok = run.success
            if not run.success:
                out.problems.append(f"run 2 failed: {run.failure}")
        if run.success:
            out.open_uploads_at_end = len(archive.open_uploads)
            if archive.open_uploads:
                out.problems.append(f"run {number} left multipart uploads open: {archive.open_uploads}")
            rows = rs.manifest_rows(client, self.buckets[1], DAY)
            out.archived = sum(1 for r in rows if r["state"] == "archived")
            for row in rows:
                if row["state"] != "archived":
                    continue
                key = row["storage_uri"].split("/", 3)[3]
                if key not in archive.objects or archive.objects[key].sha256 != row["sha256"]:
                    out.problems.append(
                        f"run {number}: manifest lists {key} but S3 does not hold those bytes"
                    )
                if sidecar_key(key) not in archive.objects:
                    out.problems.append(f"run {number}: {key} has no sidecar")
            if out.archived != out.available:
                others = [
                    (r["recording_id"], r["state"], r["reason"]) for r in rows if r["state"] != "archived"
                ]
                out.problems.append(f"run {number}: {out.archived} of {out.available} archived: {others}")


def retried_then_answered(proxy: FaultProxy) -> int:
    """Faulted requests whose same operation on the same target was later answered by S3."""
    exchanges = proxy.exchanges
    count = 0
    for i, seen in enumerate(exchanges):
        if seen.fault in ("http_500", "reset") and any(
            later.operation == seen.operation
            and later.target == seen.target
            and later.status is not None
            and later.fault in (None, "slow")
            for later in exchanges[i + 1 :]
        ):
            count += 1
    return count


@pytest.mark.slow
@pytest.mark.reliability_long
def test_s3_faults_between_the_pipeline_and_s3(request):
    s3 = rs.S3Server()
    cases: list[Case] = []
    started = time.monotonic()
    try:
        for scenario in SCENARIOS:
            cases.append(Case(scenario, s3))  # one by one: a failed start still stops the earlier ones
        with rs.worker_pool(len(cases)) as pool:
            pending = {}
            for case in cases:
                case.start_first()
                pending[pool.submit(rs.materialise, case.env(), DAY)] = (case, 1)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    case, number = pending.pop(future)
                    case.inspect(future.result(), number)
                    if number == 1 and (not case.result.first_ok or rs.long_mode(request.config)):
                        case.scenario.before_second(case.proxy)
                        pending[pool.submit(rs.materialise, case.env(), DAY)] = (case, 2)
    finally:
        for case in cases:
            case.stop()
        s3.stop()
    results = [case.result for case in cases]
    rs.report("s3_e2e", [asdict(r) for r in results])
    print(f"\nS3 faults end to end: {len(results)} scenarios in {time.monotonic() - started:.0f}s")
    for r in results:
        print(
            f"  {r.scenario}: run1 ok={r.first_ok} run2 ok={r.second_ok} faulted={r.faulted} "
            f"retried={r.retried_then_answered} "
            f"open uploads {r.open_uploads_after_first}->{r.open_uploads_at_end} "
            f"archived {r.archived}/{r.available} problems={r.problems}"
        )
    by_name = {r.scenario: r for r in results}
    for scenario in SCENARIOS:
        r = by_name[scenario.name]
        if not scenario.first_should_fail:
            assert r.retried_then_answered > 0 or r.faulted["slow"] > 0, f"{scenario.name}: no retry was seen"
    down = by_name[EndpointDown.name]
    assert down.faulted["down"] > 0 and down.second_ok
    assert down.open_uploads_after_first >= 1, "the upload cut off by the outage should be left open"
    assert down.open_uploads_at_end == 0
    assert {r.scenario: r.problems for r in results} == {r.scenario: [] for r in results}
