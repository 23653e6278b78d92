"""Per-item isolation (``pipeline/isolation.py``): which errors end a day's run and which fail one item, and
what a run that a day-level error ends leaves recorded (the sandbox revoking the grant mid-run, moto)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from recording_assets.archive.errors import StorageError
from recording_assets.archive.keys import conversations_key, outcomes_key
from recording_assets.genesys.errors import (
    AnswerTooLargeError,
    ApiDeadlineError,
    AuthenticationError,
    MalformedAnswerError,
    MediaDeadlineError,
    PermissionDeniedError,
    ServerError,
)
from recording_assets.genesys.fields import ResponseFormatError
from recording_assets.pipeline import isolation
from recording_assets.pipeline.day import DayStores, archive_day
from recording_assets.pipeline.discovery import discover_day
from recording_assets.pipeline.states import State
from recording_assets.pipeline.table_io import read_table
from recording_assets.pipeline.window import day_window
from recording_assets.sandbox import Faults
from recording_assets.sandbox.config import RECORDING_VIEW
from recording_assets_tests.pipeline.support import DAY, genesys_client, run_settings, stores
from recording_assets_tests.reliability.reliability_support import media_gets

API = {"method": "GET", "path": "/api/v2/x"}


def storage(code: str) -> StorageError:
    return StorageError(operation="PutObject", bucket="b", key="k", code=code, message="m")


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError(status=401, **API),
        PermissionDeniedError(status=403, permission="recording:recording:view", **API),
        storage("AccessDenied"),
        storage("NoSuchBucket"),
        storage("InvalidAccessKeyId"),
        storage("EndpointConnectionError"),
        storage("ConnectTimeoutError"),
        storage("NoCredentialsError"),
    ],
    ids=lambda e: type(e).__name__ + (f":{e.code}" if isinstance(e, StorageError) else ""),
)
def test_what_ends_the_day(error):
    assert isolation.is_day_level(error)


@pytest.mark.parametrize(
    "error",
    [
        ServerError(status=500, **API),
        MalformedAnswerError(status=200, **API),
        AnswerTooLargeError(status=200, decoded_bytes=1, raw_bytes=1, **API),
        ApiDeadlineError("GET /api/v2/x outlived its deadline"),
        ResponseFormatError("fileState: expected a string"),
        MediaDeadlineError("media GET outlived its deadline"),
        storage("InternalError"),
        storage("ParamValidationError"),
        storage("SlowDown"),
        KeyError("c-1"),
        ValueError("bad"),
        AssertionError(),
    ],
    ids=lambda e: type(e).__name__ + (f":{e.code}" if isinstance(e, StorageError) else ""),
)
def test_what_fails_one_item_only(error):
    assert not isolation.is_day_level(error)


def test_an_items_failure_names_the_type_and_never_a_signature_or_a_control_character():
    error = ValueError("bad body at https://media.example.com/r/1.ogg?X-Amz-Signature=abc123\r\nX-Forged: 1")
    (outcome,) = isolation.failed([("c-1", "r-1")], "download", error, attempts=2)
    assert (outcome.state, outcome.attempts) == (State.FAILED, 2)
    assert outcome.reason.startswith("download: ValueError: bad body at https://media.example.com/r/1.ogg")
    assert "X-Amz" not in outcome.reason and "abc123" not in outcome.reason
    assert "\r" not in outcome.reason and "\n" not in outcome.reason


def test_a_day_level_error_mid_run_leaves_what_was_done_recorded_and_nothing_settled_early(
    sandbox_factory, s3_client, bucket_names, fake_clock
):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=250, media_scale=0.002)
    archive, manifests = stores(s3_client, bucket_names)
    day_stores = DayStores(archive=archive, manifests=manifests)
    revoked = threading.Event()

    def revoke_once_something_landed():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if s3_client.list_objects_v2(Bucket=archive.bucket, Prefix="recordings/").get("KeyCount"):
                sb.set_faults(Faults(deny_permissions=frozenset(RECORDING_VIEW)))
                revoked.set()
                return
            time.sleep(0.01)

    async def run(run_id):
        async with genesys_client(sb, fake_clock) as client:
            found = await discover_day(client, day_window(DAY, "UTC"))
            return await archive_day(
                client,
                day_stores,
                DAY,
                **run_settings(),  # sensitive permission unknown: a look-up per conversation
                run_id=run_id,
                launched_by="test",
                clock=fake_clock,
                conversations=found.conversations,
            )

    watcher = threading.Thread(target=revoke_once_something_landed, daemon=True)
    watcher.start()
    with pytest.raises(PermissionDeniedError):
        asyncio.run(run("run-1"))
    watcher.join()
    assert revoked.is_set()

    landed = {
        obj["Key"]
        for page in s3_client.get_paginator("list_objects_v2").paginate(
            Bucket=archive.bucket, Prefix="recordings/"
        )
        for obj in page.get("Contents", [])
    }
    outcomes = read_table(manifests, outcomes_key(day=DAY)).to_pylist()
    conversations = read_table(manifests, conversations_key(day=DAY)).to_pylist()
    archived = {r["storage_uri"].split("/", 3)[3] for r in outcomes if r["state"] == "archived"}
    # Every archived row is an object that landed; an upload in flight when the run was cut off may land
    # without its row (the next run finds it listed, below), at most one per download worker.
    assert archived and archived <= landed
    assert len(landed - archived) <= run_settings()["config"].concurrency
    assert conversations and not any(row["settled"] for row in conversations)

    sb.set_faults(Faults())
    gets_before = media_gets(sb.stats()["log"])
    result = asyncio.run(run("run-2"))
    assert result.states.get("failed", 0) == 0, result.states
    rows = {(r["conversation_id"], r["recording_id"]): r for r in result.outcomes.to_pylist()}
    again = media_gets(sb.stats()["log"]) - gets_before
    for key in landed:  # what the first run archived is found, not downloaded again
        rid = key.rsplit("/", 1)[1].split(".")[0]
        assert again[rid] == 0
        assert {r["state"] for k, r in rows.items() if k[1] == rid} == {"already_archived"}
