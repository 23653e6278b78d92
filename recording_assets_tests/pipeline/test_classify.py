"""The classification: what batch results and look-ups say about the recordings of the conversations with work."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from recording_assets.genesys import BatchItem
from recording_assets.genesys.models import BatchResult, ConversationSummary
from recording_assets.pipeline import classify
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.context import ArchiveContext
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State
from recording_assets.sandbox import Faults
from recording_assets_tests.pipeline.support import DAY, genesys_client, run_settings, stores

START = datetime(2025, 12, 30, 9, tzinfo=timezone.utc)


def conversation(cid: str, sessions: int, queue: str | None = "q1") -> ConversationSummary:
    queues = (queue,) if queue else ()
    return ConversationSummary(cid, START, START, "inbound", (), ("voice",), (), queues, (), sessions)


def context(conversations=(), *, client=None, store=None, audit=None, executor=None, **options):
    ctx = ArchiveContext(
        client=client,
        store=store,
        day=DAY,
        run_id="run-2",
        audit=audit,
        **run_settings(**options),
        executor=executor,
    )
    ctx.ledger.add_conversations(conversations)
    return ctx


# -- classification (pure)


@pytest.mark.parametrize(
    ("file_state", "errored", "sensitive", "state", "reason"),
    [
        ("ARCHIVED", False, True, State.ARCHIVED_IN_GENESYS, "fileState ARCHIVED in Genesys"),
        ("DELETED", True, True, State.DELETED, "fileState DELETED"),
        ("PENDING", False, True, State.FAILED, "fileState PENDING: not downloadable yet"),
        ("AVAILABLE", False, True, State.FAILED, "missing from batch results"),
        (
            "RESTORED",
            False,
            None,
            State.EXCLUDED,
            "left out of batch results: sensitive data without recording:recording:viewSensitiveData",
        ),
    ],
)
def test_classify_recording(file_state, errored, sensitive, state, reason):
    key = ("c1", "r1")
    outcome = classify.classify_recording(key, file_state, errored=errored, sensitive_permission=sensitive)
    assert outcome == Outcome("c1", "r1", state, reason=reason, file_state=file_state)


def test_an_available_recording_with_a_batch_error_is_asked_again():
    assert (
        classify.classify_recording(("c1", "r1"), "AVAILABLE", errored=True, sensitive_permission=None)
        is None
    )


def sort_four(**options):
    conversations = [
        conversation("c1", 2),
        conversation("c2", 1),
        conversation("c3", 2),
        conversation("c4", 1),
    ]
    ctx = context(conversations, format_id="WAV", **options)
    ctx.ledger.found_in_archive([Outcome("c2", "r1", State.ALREADY_ARCHIVED)])
    results = [
        BatchResult("c1", "r1", "https://media/1", "audio/ogg", None),
        BatchResult("c1", "r2", None, None, "some undocumented errorMsg"),
        BatchResult("c2", "r1", "https://media/2", "audio/wav", None),  # already archived: skipped
        BatchResult("c3", "r5", "https://media/5", "video/webm", None),  # one item for two flags: no question
    ]  # c4: flagged as recorded, no item at all
    return classify.sort_first_round(ctx, ["c1", "c2", "c3", "c4"], results)


def test_sort_first_round_asks_only_about_errors_and_flagged_conversations_without_items():
    first = sort_four(sensitive_permission=True)
    assert sorted(first.tasks) == [("c1", "r1"), ("c3", "r5")]
    assert first.tasks[("c1", "r1")].transcode is True and first.tasks[("c3", "r5")].transcode is False
    assert first.errored == {("c1", "r2"): "some undocumented errorMsg"}
    # How many sessions carry the flag for one recording is not documented: counts are never compared.
    assert first.needs_lookup == {"c1", "c4"}


@pytest.mark.parametrize(
    ("permission", "check", "every"),
    [
        (True, "auto", False),
        (None, "auto", True),
        (False, "auto", True),
        (None, "trust", False),
        (True, "lookup", True),
    ],
)
def test_sensitive_check_lookup_asks_about_every_conversation(permission, check, every):
    first = sort_four(sensitive_permission=permission, sensitive_check=check)
    assert first.needs_lookup == ({"c1", "c2", "c3", "c4"} if every else {"c1", "c4"})


def test_sort_first_round_looks_up_a_result_without_recording_id():
    ctx = context([conversation("c1", 1)])
    first = classify.sort_first_round(ctx, ["c1"], [BatchResult("c1", None, None, None, None)])
    assert (first.tasks, first.errored, first.needs_lookup) == ({}, {}, {"c1"})


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
            ctx = context(
                [conversation(c.id, len(c.recordings)) for c in day],
                client=client,
                audit=audit,
                sensitive_permission=True,
            )
            results = await ctx.batch([BatchItem(cid) for cid in by_id])
            first = classify.sort_first_round(ctx, list(by_id), results)
            errored = dict(first.errored)
            looked = await classify.look_up(ctx, first)
            return ctx, first, errored, looked, await classify.retry_errored(ctx, looked.retry, first)

    ctx, first, errored, looked, retried = asyncio.run(run())
    recordings = {(c.id, r.id) for c in day for r in c.recordings}
    available = {(c.id, r.id) for c in day for r in c.recordings if r.file_state in ("AVAILABLE", "RESTORED")}
    assert 0 < len(available) < len(recordings)
    # Every first result carried an errorMsg (the archived and deleted ones say so, the available ones by
    # the fault): the available ones are asked for once more ...
    assert first.tasks == {} and set(errored) == recordings
    assert set(first.errored) == recordings - available  # the retry round took them out
    assert {(i.conversation_id, i.recording_id) for i in looked.retry} == available
    report = ctx.ledger.report()
    assert report.lookups == len(by_id) and report.batch_rounds == 2
    # ... and comes back with a URL; the rest are classified by their fileState.
    assert set(retried.tasks) == available
    others = {(c.id, r.id): r.file_state for c in day for r in c.recordings if (c.id, r.id) not in available}
    outcomes = {**looked.outcomes, **{o.key: o for o in retried.failed}}  # what the stream would finish
    assert {k: o.file_state for k, o in outcomes.items()} == others
    assert all(o.state in (State.ARCHIVED_IN_GENESYS, State.DELETED) for o in outcomes.values())
