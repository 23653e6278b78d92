"""Shared machinery of the reliability suite (``test_reliability_*.py``).

- ``LONG``: the by-hand long mode (``RELIABILITY_LONG=1`` or ``-m reliability_long``); CI mode otherwise.
- ``S3Server`` / ``sandbox``: moto (its own process, ``local.MotoProcess``) and the Genesys sandbox (a thread
  here) on loopback. Each scenario gets fresh buckets (``S3Server.fresh_buckets``) so a server can be
  reused across trials.
- ``run_env`` / ``materialise``: one partition of the real code location, in-process, with an environment
  that is exactly the project's env contract (nothing patched).
- ``Archive``: what a bucket really holds, read back from S3 and hashed here, never taken from a manifest.
- ``Truth``: what the sandbox org says exists, with the SHA-256 of each recording's bytes.
- ``media_gets``: media GETs per recording from the sandbox's request log.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import multiprocessing
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import boto3
import dagster as dg
from botocore.config import Config

from recording_assets import settings as cfg
from recording_assets.archive.keys import manifest_key, outcomes_key
from recording_assets.archive.sidecar_keys import is_sidecar_key, sidecar_key
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets.sandbox import SandboxConfig, SandboxServer
from recording_assets.tools.local import LOCAL_AWS, MotoProcess
from recording_assets_tests.conftest import FAST_SANDBOX
from recording_assets_tests.run_results import materialisations_of

LONG_ENV = "RELIABILITY_LONG"
STATES = frozenset(
    {"archived", "already_archived", "archived_in_genesys", "deleted", "excluded", "quarantined", "failed"}
)
MANIFEST_STATES = STATES - {"already_archived"}  # the manifest folds already_archived into archived


def long_mode(config=None) -> bool:
    """True when the long mode was asked for: ``RELIABILITY_LONG=1`` or a ``-m`` naming reliability_long."""
    if os.environ.get(LONG_ENV, "").strip().lower() in ("1", "true", "yes"):
        return True
    if config is not None:
        return "reliability_long" in (config.getoption("markexpr", "") or "")
    return False


# ---------------------------------------------------------------------------------------------- servers


class S3Server(MotoProcess):
    """moto in server mode on loopback, as its own process (``recording_assets.tools.local.MotoProcess``: S3 gets
    its own core instead of sharing this process's GIL with the sandbox); hands out fresh bucket pairs so
    one server serves many trials. A minute to start: the suite shares two cores with other work."""

    def __init__(self) -> None:
        super().__init__(start_timeout_s=60.0)

    def client(self, endpoint: str | None = None):
        return boto3.client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=LOCAL_AWS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32),
        )

    def fresh_buckets(self, label: str = "t") -> tuple[str, str]:
        suffix = f"{label}-{uuid.uuid4().hex[:8]}".lower()
        names = (f"arch-{suffix}", f"man-{suffix}")
        client = self.client()
        for name in names:
            client.create_bucket(Bucket=name)
        return names


def sandbox(**config) -> SandboxServer:
    """A started sandbox with the fast defaults (low batch/job latency, small media)."""
    merged = {**FAST_SANDBOX, **config}
    return SandboxServer(SandboxConfig(**merged)).start()


def run_env(
    s3: S3Server,
    sandbox_server: SandboxServer,
    buckets: tuple[str, str],
    *,
    endpoint: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The env contract (as ``LocalStack.environment()`` fills it) for this sandbox, moto and buckets."""
    config = sandbox_server.config
    return {
        cfg.API_BASE_URL: sandbox_server.base_url,
        cfg.CLIENT_ID: config.client_id,
        cfg.CLIENT_SECRET: config.client_secret,
        cfg.AWS_ENDPOINT_URL: endpoint or s3.endpoint,
        cfg.ARCHIVE_BUCKET: buckets[0],
        cfg.MANIFEST_BUCKET: buckets[1],
        **LOCAL_AWS,
        **extra,
    }


# The variables a run reads; cleared before each in-process run so nothing leaks between scenarios.
CONTRACT_VARS = (
    cfg.REGION,
    cfg.CLIENT_ID,
    cfg.CLIENT_SECRET,
    cfg.API_BASE_URL,
    cfg.LOGIN_BASE_URL,
    cfg.ARCHIVE_BUCKET,
    cfg.MANIFEST_BUCKET,
    cfg.AWS_ENDPOINT_URL,
    cfg.AWS_REGION,
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "RECORDING_WEBHOOK_URLS",
    "RECORDING_WEBHOOK_SECRET",
    "RECORDING_WEBHOOK_PER_RECORDING",
    "RECORDING_TIMEZONE",
    "RECORDING_PARTITIONS_START",
    "RECORDING_SETTLE_LAG_MINUTES",
    "RECORDING_RESWEEP_DAYS",
    "RECORDING_FRESHNESS_DEADLINE",
)


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Exactly ``env`` for the contract variables while the block runs; the old values afterwards."""
    saved = {name: os.environ.get(name) for name in CONTRACT_VARS}
    saved.update({name: os.environ.get(name) for name in env})
    try:
        for name in CONTRACT_VARS:
            os.environ.pop(name, None)
        os.environ.update(env)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class RunResult:
    """What one run did, as plain data (it crosses process boundaries from the worker pool)."""

    success: bool
    checks: dict[str, bool]
    metadata: dict[str, dict]  # node -> {label: plain value}
    failure: str | None = None  # the failed steps' error messages
    wall_s: float = 0.0
    result: object = None  # the ExecuteInProcessResult, only when run in this process


def materialise(
    env: Mapping[str, str], day: str, *, instance: dg.DagsterInstance | None = None, keep_result: bool = False
) -> RunResult:
    """The ``archive_day`` job for one partition, in this process, never raising on a failed step."""
    from recording_assets_tests.definitions_env import load_definitions

    started = time.monotonic()
    with environment(env):
        job = load_definitions().resolve_job_def("archive_day")
        with contextlib.ExitStack() as stack:
            inst = instance or stack.enter_context(dg.DagsterInstance.ephemeral())
            result = job.execute_in_process(partition_key=day, instance=inst, raise_on_error=False)
            checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
            meta = {
                node: {label: value.value for label, value in materialisation.metadata.items()}
                for node in ("recording_metadata", "recording_audio", "recording_manifest")
                for materialisation in materialisations_of(result, node)[:1]
            }
            failures = [
                error_text(error)
                for event in result.all_events
                if event.event_type_value in ("STEP_FAILURE", "RESOURCE_INIT_FAILURE")
                and (error := getattr(event.event_specific_data, "error", None))
            ]
    return RunResult(
        success=result.success,
        checks=checks,
        metadata=meta,
        failure="\n".join(failures) or None,
        wall_s=round(time.monotonic() - started, 2),
        result=result if keep_result else None,
    )


def error_text(error) -> str:
    """A Dagster ``SerializableErrorInfo`` and its causes, messages and stacks, as one text."""
    parts = []
    while error is not None:
        parts.append(f"{error.cls_name}: {error.message.strip()}\n{''.join(error.stack)}")
        error = error.cause or error.context
    return "\n-- caused by --\n".join(parts)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Processes that each run partitions in-process (``materialise``), so scenarios run side by side
    with their own environment; spawned, so no thread of this process (moto, sandbox) is forked."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield pool


# ---------------------------------------------------------------------------------------------- truth


@dataclass(frozen=True)
class TruthRecording:
    conversation_id: str
    recording_id: str
    file_state: str
    sensitive: bool
    sha256: str


def truth(server: SandboxServer, day: str) -> dict[tuple[str, str], TruthRecording]:
    """Every recording of the conversations that started that UTC day and have ended."""
    org = server.org
    d = date.fromisoformat(day)
    start_ms = int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp() * 1000)
    now_ms = int(server.clock.time() * 1000)
    found = {}
    for conversation in org.conversations_for_day(d):
        if conversation.end_ms > now_ms or conversation.start_ms < start_ms:
            continue
        for rec in conversation.recordings:
            state = rec.file_state_at(now_ms)
            sha = org.media_sha256(rec.id) if state == "AVAILABLE" else ""
            found[(conversation.id, rec.id)] = TruthRecording(
                conversation.id, rec.id, state, rec.sensitive, sha
            )
    return found


def available(truth_map: Mapping[tuple[str, str], TruthRecording]) -> set[tuple[str, str]]:
    return {key for key, rec in truth_map.items() if rec.file_state == "AVAILABLE"}


# ---------------------------------------------------------------------------------------------- archive


@dataclass
class StoredObject:
    key: str
    size: int
    etag: str
    sha256: str  # of the bytes read back here
    metadata: dict[str, str]
    sse: str | None
    content_type: str | None


@dataclass
class Archive:
    """Every object of a bucket, read back and hashed by the test (not by the code under test)."""

    bucket: str
    objects: dict[str, StoredObject] = field(default_factory=dict)
    open_uploads: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, client, bucket: str, prefix: str = "") -> Archive:
        archive = cls(bucket)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                got = client.get_object(Bucket=bucket, Key=item["Key"])
                body = got["Body"].read()
                archive.objects[item["Key"]] = StoredObject(
                    key=item["Key"],
                    size=len(body),
                    etag=got["ETag"].strip('"'),
                    sha256=hashlib.sha256(body).hexdigest(),
                    metadata=dict(got.get("Metadata", {})),
                    sse=got.get("ServerSideEncryption"),
                    content_type=got.get("ContentType"),
                )
        uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
        archive.open_uploads = [u["Key"] for u in uploads]
        return archive

    def under(self, area: str) -> dict[str, StoredObject]:
        return {k: o for k, o in self.objects.items() if k.startswith(f"{area}/")}

    def final_by_recording(self) -> dict[str, list[StoredObject]]:
        """recording id (from the object's own metadata) -> objects under recordings/."""
        by: dict[str, list[StoredObject]] = {}
        for obj in self.under("recordings").values():
            if is_sidecar_key(obj.key):  # a recording's self-description, checked by integrity_violations
                continue
            by.setdefault(obj.metadata.get("recording-id", f"?{obj.key}"), []).append(obj)
        return by


def read_table(client, bucket: str, key: str) -> list[dict]:
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return from_parquet_bytes(body).to_pylist()


def manifest_rows(client, manifest_bucket: str, day: str) -> list[dict]:
    return read_table(client, manifest_bucket, manifest_key(day=date.fromisoformat(day)))


def outcome_rows(client, manifest_bucket: str, day: str) -> list[dict]:
    return read_table(client, manifest_bucket, outcomes_key(day=date.fromisoformat(day)))


def integrity_violations(archive: Archive, truth_map: Mapping[tuple[str, str], TruthRecording]) -> list[str]:
    """Objects under recordings/ that are not exactly one verified copy of a truth recording."""
    by_id = {rid: rec for (_, rid), rec in truth_map.items()}
    problems = []
    for rid, objects in archive.final_by_recording().items():
        if len(objects) != 1:
            problems.append(f"{rid}: {len(objects)} objects under recordings/: {[o.key for o in objects]}")
        for obj in objects:
            rec = by_id.get(rid)
            if rec is None:
                problems.append(f"{obj.key}: not a recording of the day")
                continue
            if f"/{rec.conversation_id}/{rid}." not in obj.key:
                problems.append(f"{obj.key}: not under its conversation")
            if obj.sha256 != rec.sha256:
                problems.append(f"{obj.key}: bytes hash to {obj.sha256}, the sandbox's are {rec.sha256}")
            if obj.metadata.get("sha256") != obj.sha256:
                problems.append(f"{obj.key}: metadata sha256 {obj.metadata.get('sha256')} != bytes")
            if obj.sse != "AES256":
                problems.append(f"{obj.key}: server-side encryption {obj.sse!r}")
    keys = archive.under("recordings")
    beside = {sidecar_key(key) for key in keys if not is_sidecar_key(key)}
    problems += [
        f"{key}: a sidecar without its recording" for key in keys if is_sidecar_key(key) and key not in beside
    ]
    return problems


# ---------------------------------------------------------------------------------------------- sandbox log


def recording_of_media_path(path: str) -> str | None:
    """The recording id inside a sandbox media path ``/media/<base64url(rid|container|download)>``."""
    if not path.startswith("/media/"):
        return None
    opaque = path[len("/media/") :]
    try:
        return base64.urlsafe_b64decode(opaque + "=" * (-len(opaque) % 4)).decode().split("|")[0]
    except (ValueError, UnicodeDecodeError):
        return None


def media_gets(log: list[dict]) -> Counter:
    """Media GETs per recording id in a sandbox request log."""
    return Counter(
        rid
        for entry in log
        if entry["family"] == "media" and entry["method"] == "GET"
        for rid in [recording_of_media_path(entry["path"])]
        if rid
    )


def report(suite: str, rows: list[dict]) -> None:
    """Append results to ``$RELIABILITY_REPORT`` (JSON lines, for RELIABILITY.md) when it is set."""
    path = os.environ.get("RELIABILITY_REPORT")
    if path:
        with open(path, "a") as out:
            for row in rows:
                out.write(json.dumps({"suite": suite, **row}, default=str) + "\n")


def counters(server: SandboxServer) -> dict:
    """The sandbox's counters without copying its request log (cheap enough to poll)."""
    return server.state.stats.snapshot(0)
