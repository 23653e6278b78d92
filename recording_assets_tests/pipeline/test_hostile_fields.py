"""Whole-day property: whatever values the fields that reach keys, headers and tables take on a few
conversations (generated; played by the sandbox's ``Hostile.fields``, one conversation each), the real
``archive_day`` (sandbox HTTP + moto) ends with the day's tables written and every well-formed recording of
the other conversations archived with the sandbox's bytes, and nothing outside the key layout."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recording_assets.archive.keys import conversations_key, outcomes_key
from recording_assets.archive.store import ArchiveStore
from recording_assets.clock import FakeClock
from recording_assets.pipeline.day import DayStores, archive_day
from recording_assets.pipeline.discovery import discover_day
from recording_assets.pipeline.table_io import read_table
from recording_assets.pipeline.window import day_window
from recording_assets.sandbox import SandboxConfig, SandboxServer
from recording_assets.sandbox.hostile import FIELD_ANSWERS, Hostile
from recording_assets_tests.conftest import FAST_SANDBOX
from recording_assets_tests.pipeline.support import DAY, genesys_client, run_settings
from recording_assets_tests.reliability.reliability_support import truth

NASTY_TEXT = [
    "",
    " ",
    ".",
    "..",
    "../../x",
    "a/b",
    "a\\b",
    "x" * 300,
    "\x00",
    "ok\r\nX-Injected: 1",
    "ＡＢ",
    "\u202e",
]
ANY_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(NASTY_TEXT),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
PLAUSIBLE = {
    "resultUrl": [
        "http://127.0.0.2:9/canary",
        "file:///etc/passwd",
        "https://u:p@media.example.com/x",
        "javascript:alert(1)",
        "http://[::1",
        "https://xn--a.example/x",
        "http://169.254.169.254/latest/meta-data/",
    ],
    "conversationStart": [
        "2025-12-29T23:59:59Z",
        "2025-02-30T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2025-12-30",
    ],
    "contentType": [
        "text/html",
        "audio/ogg\r\nX-Injected: 1",
        "audio/wav; codecs=1",
        "application/octet-stream",
    ],
    "fileState": ["DELETED", "ARCHIVED", "RESTORED", "available", "PARTIAL"],
    "recordingId": ["00000000-0000-0000-0000-000000000000"],
}
FIELD_VALUES = st.sampled_from(sorted(FIELD_ANSWERS)).flatmap(
    lambda name: st.tuples(st.just(name), st.one_of(ANY_JSON, st.sampled_from(PLAUSIBLE.get(name, [None]))))
)
_ID = r"[A-Za-z0-9-]+"
LAYOUT = re.compile(
    rf"(recordings|quarantine)/year=2025/month=12/day=30/queue={_ID}/{_ID}/{_ID}\.[a-z0-9]+(\.[0-9a-f]{{64}})?"
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.lists(FIELD_VALUES, min_size=1, max_size=3))
def test_any_values_of_the_fields_leave_the_day_recorded_and_every_other_recording_archived(
    fields, s3_client
):
    clock = FakeClock()
    hostile = Hostile(fields=tuple(fields))
    server = SandboxServer(
        SandboxConfig(**{**FAST_SANDBOX, "conversations_per_day": 30, "hostile": hostile}), clock=clock
    ).start()
    try:
        suffix = uuid.uuid4().hex[:10]
        buckets = (f"archive-{suffix}", f"manifest-{suffix}")
        for bucket in buckets:
            s3_client.create_bucket(Bucket=bucket)
        archive, manifests = (ArchiveStore(s3_client, bucket=b) for b in buckets)

        async def run():
            async with genesys_client(server, clock) as client:
                found = await discover_day(client, day_window(DAY, "UTC"))
                return await archive_day(
                    client,
                    DayStores(archive=archive, manifests=manifests),
                    DAY,
                    **run_settings(),  # sensitive permission unknown: every conversation looked up
                    run_id="run-1",
                    launched_by="test",
                    clock=clock,
                    conversations=found.conversations,
                    rejected=lambda: found.rejected,
                )

        result = asyncio.run(run())
        targets = {t.conversation_id for t in server.hostile_targets(DAY).values()}
        day_truth = truth(server, DAY.isoformat())
        played = set(server.state.hostile.served)
    finally:
        server.stop()

    assert played == {f"field:{n}" for n in range(len(fields))}  # each value really was served
    assert read_table(manifests, outcomes_key(day=DAY)) is not None
    assert read_table(manifests, conversations_key(day=DAY)) is not None
    rows = {(r["conversation_id"], r["recording_id"]): r for r in result.outcomes.to_pylist()}
    for key, rec in day_truth.items():
        if key[0] in targets or rec.file_state != "AVAILABLE":
            continue
        row = rows[key]
        assert row["state"] == "archived", (key, row)
        _, stored_key = row["storage_uri"][len("s3://") :].split("/", 1)
        body = s3_client.get_object(Bucket=archive.bucket, Key=stored_key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == rec.sha256 == row["sha256"]
    for row in rows.values():  # every reason is one printable line
        assert "\r" not in (row["reason"] or "") and "\x00" not in (row["reason"] or "")
    keys = [
        obj["Key"]
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=archive.bucket)
        for obj in page.get("Contents", [])
    ]
    assert [k for k in keys if not LAYOUT.fullmatch(k)] == []
