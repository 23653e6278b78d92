"""The plan: what the archive holds, which conversations have work, what batch results and look-ups say."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from recording_assets.archive.keys import recording_key
from recording_assets.archive.spool import MediaSpool
from recording_assets.archive.objects import ObjectInfo
from recording_assets.genesys import BatchItem
from recording_assets.genesys.models import BatchResult, ConversationSummary
from recording_assets.pipeline import plan
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.context import ArchiveContext, ArchiveOptions
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State
from recording_assets.sandbox import Faults
from recording_assets_tests.pipeline.support import DAY, genesys_client, stores

START = datetime(2025, 12, 30, 9, tzinfo=timezone.utc)


def conversation(cid: str, sessions: int, queue: str | None = "q1") -> ConversationSummary:
    queues = (queue,) if queue else ()
    return ConversationSummary(cid, START, START, "inbound", (), ("voice",), (), queues, (), sessions)


def context(conversations=(), *, client=None, store=None, audit=None, executor=None, **options):
    return ArchiveContext(
        client=client,
        store=store,
        day=DAY,
        conversations={c.conversation_id: c for c in conversations},
        run_id="run-2",
        audit=audit,
        options=ArchiveOptions(**options),
        executor=executor,
    )


# -- which conversations have work (pure)


def test_a_conversation_without_any_known_recording_has_work():
    conversations = {"c1": conversation("c1", 0), "c2": conversation("c2", 2)}
    assert plan.conversations_with_work(conversations, [], {}, sensitive_permission=True) == ["c1", "c2"]


def test_conversations_whose_recordings_are_all_final_need_no_request():
    conversations = {"c1": conversation("c1", 2), "c2": conversation("c2", 2), "c3": conversation("c3", 3)}
    existing = [("c1", "r1"), ("c1", "r2"), ("c2", "r1"), ("c3", "r1")]
    previous = {
        ("c2", "r2"): {"state": "deleted"},
        ("c3", "r2"): {"state": "archived_in_genesys"},  # c3: 2 of 3 known, so it is asked again
    }
    with_work = plan.conversations_with_work(conversations, existing, previous, sensitive_permission=True)
    assert with_work == ["c3"]


def test_failed_last_time_means_work_and_excluded_is_final_only_without_the_permission():
    conversations = {"c1": conversation("c1", 1), "c2": conversation("c2", 1)}
    previous = {("c1", "r1"): {"state": "failed"}, ("c2", "r1"): {"state": "excluded"}}
    assert plan.conversations_with_work(conversations, [], previous, sensitive_permission=None) == ["c1"]
    assert plan.conversations_with_work(conversations, [], previous, sensitive_permission=False) == ["c1"]
    # With the permission now granted, an excluded recording is worth asking for again.
    with_work = plan.conversations_with_work(conversations, [], previous, sensitive_permission=True)
    assert with_work == ["c1", "c2"]


def test_an_existing_object_outranks_a_previous_failure():
    conversations = {"c1": conversation("c1", 1)}
    previous = {("c1", "r1"): {"state": "failed"}}
    existing = [("c1", "r1")]
    assert plan.conversations_with_work(conversations, existing, previous, sensitive_permission=True) == []


def test_carried_forward_keeps_previous_states_of_todays_conversations():
    conversations = {"c1": conversation("c1", 2)}
    previous = {
        ("c1", "r1"): {"state": "deleted", "reason": "fileState DELETED", "file_state": "DELETED"},
        ("c1", "r2"): {"state": "failed", "reason": "old"},
        ("gone", "r9"): {"state": "excluded"},  # no longer in the day's conversations
    }
    carried = plan.carried_forward(conversations, previous, done=[("c1", "r2")])
    assert carried == [
        Outcome("c1", "r1", State.DELETED, reason="fileState DELETED", file_state="DELETED", attempts=0)
    ]


# -- classification (pure)


@pytest.mark.parametrize(
    ("file_state", "errored", "sensitive", "state", "reason"),
    [
        ("ARCHIVED", False, True, State.ARCHIVED_IN_GENESYS, "fileState ARCHIVED in Genesys"),
        ("DELETED", True, True, State.DELETED, "fileState DELETED"),
        ("PENDING", False, True, State.FAILED, "fileState PENDING: not downloadable yet"),
        ("AVAILABLE", False, True, State.FAILED, "missing from batch results"),
        ("RESTORED", False, None, State.EXCLUDED, "left out of batch results: sensitive data without "
                                                  "recording:recording:viewSensitiveData"),
    ],
)  # fmt: skip
def test_classify_recording(file_state, errored, sensitive, state, reason):
    key = ("c1", "r1")
    outcome = plan.classify_recording(key, file_state, errored=errored, sensitive_permission=sensitive)
    assert outcome == Outcome("c1", "r1", state, reason=reason, file_state=file_state)


def test_an_available_recording_with_a_batch_error_is_asked_again():
    assert plan.classify_recording(("c1", "r1"), "AVAILABLE", errored=True, sensitive_permission=None) is None


def test_sort_first_round():
    ctx = context([conversation("c1", 2), conversation("c2", 1), conversation("c3", 2)], format_id="WAV")
    ctx.existing[("c2", "r1")] = Outcome("c2", "r1", State.ALREADY_ARCHIVED)
    results = [
        BatchResult("c1", "r1", "https://media/1", "audio/ogg", None),
        BatchResult("c1", "r2", None, None, "some undocumented errorMsg"),
        BatchResult("c2", "r1", "https://media/2", "audio/wav", None),  # already archived: skipped
        BatchResult("c3", "r5", "https://media/5", "video/webm", None),  # one of two: look up
    ]
    first = plan.sort_first_round(ctx, ["c1", "c2", "c3"], results)
    assert sorted(first.tasks) == [("c1", "r1"), ("c3", "r5")]
    assert first.tasks[("c1", "r1")].transcode is True and first.tasks[("c3", "r5")].transcode is False
    assert first.errored == {("c1", "r2"): "some undocumented errorMsg"}
    assert first.needs_lookup == {"c1", "c3"}


def test_sort_first_round_looks_up_a_result_without_recording_id():
    ctx = context([conversation("c1", 1)])
    first = plan.sort_first_round(ctx, ["c1"], [BatchResult("c1", None, None, None, None)])
    assert (first.tasks, first.errored, first.needs_lookup) == ({}, {}, {"c1"})


# -- what the archive holds (moto)


def test_existing_outcome_from_an_objects_metadata():
    key = recording_key(prefix="p/", day=DAY, queue_id=None, conversation_id="c1", recording_id="r1",
                        ext=".oga")  # fmt: skip
    metadata = {"sha256": "ab", "archived-at": START.isoformat(), "run-id": "run-1"}
    head = ObjectInfo("b", key, 10, "e", START, "audio/ogg", metadata, "AES256", None, None, None)
    outcome = plan.existing_outcome(key, head, prefix="p/", uri=f"s3://b/{key}")
    assert outcome == Outcome(
        "c1",
        "r1",
        State.ALREADY_ARCHIVED,
        sha256="ab",
        size_bytes=10,
        content_type="audio/ogg",
        container="oga",  # none in the metadata: from the key's extension
        storage_uri=f"s3://b/{key}",
        archived_at=START,
        archived_run_id="run-1",
        checksum_verified_by="earlier-run",
    )


def test_load_existing_lists_heads_and_aborts_stale_uploads(s3_client, bucket_names, fake_clock):
    store, manifest_store = stores(s3_client, bucket_names)
    key, stale = (
        recording_key(prefix="", day=DAY, queue_id="q1", conversation_id="c1", recording_id=rid, ext=".wav")
        for rid in ("r1", "r2")
    )
    with MediaSpool() as spool:
        spool.write(b"RIFF")
        store.put_new(key, spool, content_type="audio/wav", metadata={"run-id": "run-1", "container": "wav"})
    s3_client.create_multipart_upload(Bucket=store.bucket, Key=stale)
    with ThreadPoolExecutor(max_workers=2) as executor:
        ctx = context(store=store, executor=executor)
        asyncio.run(plan.load_existing(ctx))
    assert list(ctx.existing) == [("c1", "r1")] and ctx.outcomes == ctx.existing
    found = ctx.existing[("c1", "r1")]
    assert (found.state, found.size_bytes, found.archived_run_id, found.container) == (
        State.ALREADY_ARCHIVED, 4, "run-1", "wav")  # fmt: skip
    assert s3_client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


# -- look-ups and the retry round (sandbox)


def test_classify_and_retry_errored_against_the_sandbox(sandbox_factory, fake_clock, s3_client, bucket_names):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=12, media_scale=0.002, faults=Faults(batch_error_rate=1.0)
    )
    _, manifest_store = stores(s3_client, bucket_names)
    audit = AuditTrail(store=manifest_store, day=DAY, run_id="run-2", launched_by="t", clock=fake_clock)
    day = [c for c in sandbox.org.conversations_for_day(DAY) if c.recordings]
    by_id = {c.id: c for c in day}

    async def run():
        async with genesys_client(sandbox, fake_clock) as client:
            ctx = context([conversation(c.id, len(c.recordings)) for c in day], client=client, audit=audit,
                          sensitive_permission=True)  # fmt: skip
            results = await ctx.batch([BatchItem(cid) for cid in by_id])
            first = plan.sort_first_round(ctx, list(by_id), results)
            errored = dict(first.errored)
            retry = await plan.classify(ctx, first)
            return ctx, first, errored, retry, await plan.retry_errored(ctx, retry, first)

    ctx, first, errored, retry, retried = asyncio.run(run())
    recordings = {(c.id, r.id) for c in day for r in c.recordings}
    available = {(c.id, r.id) for c in day for r in c.recordings if r.file_state in ("AVAILABLE", "RESTORED")}
    assert 0 < len(available) < len(recordings)
    # Every first result carried an errorMsg (the archived and deleted ones say so, the available ones by
    # the fault): the available ones are asked for once more ...
    assert first.tasks == {} and set(errored) == recordings
    assert set(first.errored) == recordings - available  # the retry round took them out
    assert {(i.conversation_id, i.recording_id) for i in retry} == available
    assert ctx.report.lookups == len(by_id) and ctx.report.batch_rounds == 2
    # ... and comes back with a URL; the rest are classified by their fileState.
    assert set(retried) == available
    others = {(c.id, r.id): r.file_state for c in day for r in c.recordings if (c.id, r.id) not in available}
    assert {k: o.file_state for k, o in ctx.outcomes.items()} == others
    assert all(o.state in (State.ARCHIVED_IN_GENESYS, State.DELETED) for o in ctx.outcomes.values())
