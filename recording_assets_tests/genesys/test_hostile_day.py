"""A day on which the sandbox plays every hostile item scenario (one conversation each), read and
downloaded through the client: each hostile item ends as a refusal, a rejection or an ``invalid_reason``
naming the field and the problem (never the raw value, never an unexpected exception), and everything
else of the day is exactly what the same org serves when it is well-behaved."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys import (
    BatchItem,
    MediaDeadlineError,
    MediaGoneError,
    MediaNotFoundError,
    MediaPolicy,
    MediaRefusedError,
)
from recording_assets.genesys.models import BatchResult, BatchStatus, ConversationSummary
from recording_assets.sandbox.hostile import ITEM_SCENARIOS, Hostile
from recording_assets_tests.genesys.trust_support import (
    DAY,
    Sink,
    batch_result,
    hostile,
    make_client,
    run,
    target,
)

WINDOW = (datetime(2025, 12, 30, tzinfo=timezone.utc), datetime(2025, 12, 31, tzinfo=timezone.utc))
CONFIG = {"conversations_per_day": 300, "media_scale": 0.002, "seed": 11}
ALL_ITEMS = Hostile(items=frozenset(ITEM_SCENARIOS), trickle_interval_s=0.3)


@pytest.fixture
def clock():
    return FakeClock()


def _discover(sb, clock):
    async def go():
        async with make_client(sb, clock) as client:
            return await client.analytics.conversations(start=WINDOW[0], end=WINDOW[1])

    return run(go())


def test_discovery_rejects_or_flags_each_hostile_conversation_and_keeps_the_rest_as_served_well(
    sandbox_factory, clock
):
    hostile_sb = sandbox_factory(clock=clock, **CONFIG, hostile=ALL_ITEMS)
    plain_sb = sandbox_factory(clock=clock, **CONFIG)
    found, plain = _discover(hostile_sb, clock), _discover(plain_sb, clock)
    targets = hostile_sb.hostile_targets(DAY)
    hostile_ids = {t.conversation_id for t in targets.values()}

    no_start = targets["no_conversation_start"].conversation_id
    assert [(r.what, r.conversation_id) for r in found.rejected] == [("conversation", no_start)]
    assert "conversationStart" in found.rejected[0].reason
    assert (
        found.complete is False
        and "1 conversation(s) rejected at the API boundary" in found.incomplete_reason
    )
    assert plain.complete is True and plain.rejected == []

    by_id = {c.conversation_id: c for c in found.conversations}
    traversal = by_id[targets["queue_traversal"].conversation_id]
    assert "../../x" not in traversal.queue_ids and traversal.primary_queue_id is None
    assert traversal.invalid_reason == "queueId: it contains '/'"
    direction = by_id[targets["numeric_direction"].conversation_id]
    assert direction.originating_direction is None
    assert direction.invalid_reason == "originatingDirection: expected a string, got int"

    # Everything the hostile items did not touch reads exactly as the well-behaved org serves it.
    untouched = {"queue_traversal", "numeric_direction", "no_conversation_start"}
    plain_by_id = {c.conversation_id: c for c in plain.conversations}
    assert set(by_id) | {no_start} == set(plain_by_id)
    for cid, conversation in by_id.items():
        if cid not in {targets[s].conversation_id for s in untouched}:
            assert conversation == plain_by_id[cid]
            assert conversation.invalid_reason is None
    assert len(hostile_ids) / len(plain_by_id) < 0.06


def test_batch_results_name_the_invalid_field_and_keep_what_can_be_kept(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **CONFIG, hostile=ALL_ITEMS)
    targets = sb.hostile_targets(DAY)
    names = ("slash_recording_id", "untyped_media", "crlf_content_type", "idna_result_url", "nul_result_url")

    async def go():
        async with make_client(sb, clock) as client:
            return await client.recordings.run_batches([BatchItem(targets[n].conversation_id) for n in names])

    results = {r.conversation_id: r for r in run(go())}
    slash = results[targets["slash_recording_id"].conversation_id]
    assert slash.recording_id is None and slash.invalid_reason == "recordingId: it contains '/'"
    untyped = results[targets["untyped_media"].conversation_id]
    assert untyped.content_type is None and untyped.invalid_reason is None and untyped.result_url
    crlf = results[targets["crlf_content_type"].conversation_id]
    assert crlf.content_type is None and crlf.result_url
    assert crlf.invalid_reason == "contentType: contains a control character (CR, LF or another)"
    for name, problem in (
        ("idna_result_url", "malformed internationalised (IDNA) host"),
        ("nul_result_url", "NUL in URL"),
    ):
        bad = results[targets[name].conversation_id]
        assert bad.result_url is None and bad.invalid_reason == f"resultUrl: {problem}"
        assert bad.error_msg == f"invalid batch result: resultUrl: {problem}"  # what callers record today
    assert all(
        "\r" not in repr(r) and "\x00" not in repr(r) and "X-Amz" not in repr(r) for r in results.values()
    )


def test_every_well_formed_recording_of_a_hostile_day_downloads_and_each_hostile_one_fails_clearly(
    sandbox_factory, clock
):
    sb = sandbox_factory(clock=clock, **CONFIG, hostile=ALL_ITEMS)
    targets = sb.hostile_targets(DAY)
    hostile_by_recording = {t.recording_id: t.scenario for t in targets.values()}
    ended = [
        c.id for c in sb.org.conversations_for_day(DAY) if c.recordings and c.end_ms <= clock.time() * 1000
    ]
    policy = MediaPolicy.for_api(sb.base_url, allowance_s=1.0)

    async def go():
        outcomes = {}
        async with make_client(sb, clock, media_policy=policy) as client:
            results = await client.recordings.run_batches([BatchItem(c) for c in ended])
            for result in results:
                if not result.result_url or not result.recording_id:
                    continue  # nothing to download by (the recordingId with '/' was dropped: looked up instead)
                sink = Sink()
                try:
                    fetched = await client.download(result.result_url, sink)
                    outcomes[result.recording_id] = (fetched, sink)
                except (MediaRefusedError, MediaDeadlineError, MediaGoneError) as refused:
                    outcomes[result.recording_id] = (refused, sink)
        return results, outcomes

    results, outcomes = run(go())
    expected_failures = {
        "canary_redirect": MediaRefusedError,
        "downgrade_redirect": MediaRefusedError,
        "trickle_media": MediaDeadlineError,
        "transient_media_404": MediaNotFoundError,
    }
    downloaded = 0
    for key, (outcome, sink) in outcomes.items():
        scenario = hostile_by_recording.get(key)
        if scenario in expected_failures:
            assert type(outcome) is expected_failures[scenario], scenario
            continue
        # Every other recording with a URL, hostile metadata or not, arrives whole with its bytes.
        assert not isinstance(outcome, Exception), (key, outcome)
        assert sink.sha256 == sb.org.media_sha256(key) and outcome.size == sb.org.media_size(key)
        downloaded += 1
        if scenario == "untyped_media":
            assert outcome.content_type is None
        else:
            assert outcome.content_type == sb.org.media_content_type(key)
    assert set(expected_failures) <= {hostile_by_recording.get(k) for k in outcomes}
    available = sum(1 for r in results if r.result_url and r.recording_id)
    assert downloaded == available - len(expected_failures) > 100


def test_a_transient_media_404_is_not_proof_of_deletion(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **CONFIG, hostile=hostile("transient_media_404"))
    transient = target(sb, "transient_media_404")

    async def go():
        async with make_client(sb, clock) as client:
            result = await batch_result(client, transient.conversation_id)
            with pytest.raises(MediaNotFoundError) as first:
                await client.download(result.result_url, Sink())
            sink = Sink()
            await client.download(result.result_url, sink)
            return first.value, sink

    first, sink = run(go())
    assert isinstance(first, MediaGoneError) and first.retryable is True  # "gone?": try again / confirm
    assert sink.sha256 == sb.org.media_sha256(transient.recording_id)


def test_recording_metadata_with_a_numeric_file_state_reads_as_unknown_and_says_why(sandbox_factory, clock):
    sb = sandbox_factory(clock=clock, **CONFIG, hostile=hostile("numeric_file_state"))
    numeric = target(sb, "numeric_file_state")

    async def go():
        async with make_client(sb, clock) as client:
            return await client.recordings.metadata(numeric.conversation_id)

    (meta,) = run(go())
    assert meta.recording_id == numeric.recording_id and meta.file_state is None
    assert meta.invalid_reason == "fileState: expected a string, got int"


HOSTILE_ITEMS = [
    {"conversationId": "c-1/../../etc", "conversationStart": "2025-12-30T10:00:00Z"},
    {"conversationId": "c\x001", "conversationStart": "2025-12-30T10:00:00Z"},
    {"conversationId": "c 1", "conversationStart": "2025-12-30T10:00:00Z"},
    {"conversationId": "x" * 200, "conversationStart": "2025-12-30T10:00:00Z"},
    {"conversationId": 17, "conversationStart": "2025-12-30T10:00:00Z"},
    {"conversationId": "c-1", "conversationStart": "\x1b[31m2025"},
    {"conversationId": "c-1"},
]


@pytest.mark.parametrize("raw", HOSTILE_ITEMS)
def test_an_unplaceable_conversation_is_described_without_its_raw_value(raw):
    from recording_assets.genesys.fields import ResponseFormatError

    with pytest.raises(ResponseFormatError) as refused:
        ConversationSummary.parse(raw)
    message = str(refused.value)
    assert (
        "etc" not in message and "\x00" not in message and "\x1b" not in message and "x" * 50 not in message
    )


def test_batch_status_lists_unplaceable_results_as_rejected():
    body = {
        "id": "job-1",
        "status": "Completed",
        "results": [
            {"conversationId": "c-1", "recordingId": "r-1", "resultUrl": "https://media.example.com/1"},
            {"conversationId": "../c-2", "recordingId": "r-2", "resultUrl": "https://media.example.com/2"},
            {"conversationId": "c-3", "recordingId": "r-3", "resultUrl": "https://u:p@media.example.com/3"},
        ],
    }
    status = BatchStatus.from_api(body)
    assert [r.conversation_id for r in status.results] == ["c-1", "c-3"]
    assert [(r.index, r.conversation_id) for r in status.rejected] == [(1, None)]
    assert "'/'" in status.rejected[0].reason and "../c-2" not in status.rejected[0].reason
    assert status.results[1] == BatchResult(
        "c-3",
        "r-3",
        None,
        None,
        "invalid batch result: resultUrl: userinfo in URL",
        "resultUrl: userinfo in URL",
    )


def test_a_timestamp_that_is_not_one_reads_as_absent_and_is_named():
    from recording_assets.genesys.models import RecordingMetadata

    meta = RecordingMetadata.from_api(
        {
            "id": "r-1",
            "conversationId": "c-1",
            "fileState": "AVAILABLE",
            "endTime": "\x1b[2Jyesterday",
            "deleteDate": 7,
        }
    )
    assert meta.end_time is None and meta.delete_date is None and meta.file_state == "AVAILABLE"
    assert meta.invalid_reason == (
        "endTime: not an ISO-8601 timestamp (a string of 13 characters); "
        "deleteDate: not an ISO-8601 timestamp (int)"
    )
