"""One recording's download against the sandbox and moto: archive, quarantine, adopt, refuse, expire."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from recording_assets.archive.keys import parse_quarantine_key, parse_recording_key
from recording_assets.archive.spool import MediaSpool
from recording_assets.genesys import BatchItem
from recording_assets.genesys.models import ConversationSummary
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.context import ArchiveContext
from recording_assets.pipeline.download_one import download
from recording_assets.pipeline.states import State
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets.sandbox import Faults
from recording_assets_tests.pipeline.support import DAY, genesys_client, run_settings, stores

QUEUE = "q1"


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


def audio_recordings(sandbox, file_state="AVAILABLE"):
    return [
        (c, r)
        for c in sandbox.org.conversations_for_day(DAY)
        for r in c.recordings
        if r.media == "audio" and r.file_state == file_state
    ]


def download_one(sandbox, clock, buckets, conv, rec, *, run_id="run-1", advance_s=0.0, **options):
    """Ask the batch endpoint for ``rec``'s URL, then run ``download`` on it and finish its outcome in the
    ledger, as the download queue does: (expired?, ctx, task)."""
    store, manifest_store = buckets
    audit = AuditTrail(store=manifest_store, day=DAY, run_id=run_id, launched_by="t", clock=clock)
    summary = ConversationSummary(conv.id, None, None, None, (), (), (), (QUEUE,), (), 1)

    async def run():
        with ThreadPoolExecutor(max_workers=2) as executor:
            async with genesys_client(sandbox, clock) as client:
                ctx = ArchiveContext(
                    client,
                    store,
                    DAY,
                    run_id,
                    audit,
                    executor=executor,
                    **run_settings(**options),
                )
                ctx.ledger.add_conversations([summary])
                (result,) = await ctx.batch([BatchItem(conv.id, rec.id)])
                task = ctx.task(conv.id, rec.id, result.result_url or "", result.content_type)
                clock.advance(advance_s)
                outcome = await download(ctx, task)
                if outcome is not None:
                    ctx.ledger.finish(outcome)
                return outcome is None, ctx, task

    expired, ctx, task = asyncio.run(run())
    audit.flush()
    return expired, ctx, task


def events(ctx, manifest_store) -> list[str]:
    tables = [from_parquet_bytes(manifest_store.get_bytes(key)) for key in ctx.audit.keys]
    return [row["event"] for table in tables for row in table.to_pylist()]


@pytest.fixture
def sandbox(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock, conversations_per_day=12, media_scale=0.002)


def test_a_recording_lands_under_its_final_key_with_its_proof(sandbox, fake_clock, buckets, s3_client):
    conv, rec = audio_recordings(sandbox)[0]
    expired, ctx, task = download_one(sandbox, fake_clock, buckets, conv, rec)
    outcome = ctx.ledger.outcomes[(conv.id, rec.id)]
    assert expired is False and outcome.state is State.ARCHIVED and outcome.attempts == 1
    assert outcome.sha256 == sandbox.org.media_sha256(rec.id)
    key = outcome.storage_uri.split("/", 3)[3]
    parts = parse_recording_key(key)
    assert (parts.day, parts.queue) == (DAY, QUEUE)
    assert (parts.conversation_id, parts.recording_id) == (conv.id, rec.id)
    head = ctx.store.head(key)
    assert head.metadata["sha256"] == outcome.sha256 and head.metadata["run-id"] == "run-1"
    assert head.metadata["container"] == outcome.container
    assert head.metadata["archived-at"] == outcome.archived_at.isoformat()
    report = ctx.ledger.report()
    assert (report.uploads, report.downloads, report.uploaded_bytes) == (1, 1, outcome.size_bytes)
    assert events(ctx, buckets[1]) == ["batch", "started", "finished"]


def test_a_broken_first_body_is_retried_after_a_back_off(sandbox, fake_clock, buckets):
    sandbox.set_faults(Faults(truncate_body_rate=1.0))
    conv, rec = audio_recordings(sandbox)[0]
    _, ctx, _ = download_one(sandbox, fake_clock, buckets, conv, rec)
    outcome = ctx.ledger.outcomes[(conv.id, rec.id)]
    assert (outcome.state, outcome.attempts) == (State.ARCHIVED, 2)
    assert 1.0 in fake_clock.sleeps  # min(10, 0.5 * 2**1) after the first attempt
    assert events(ctx, buckets[1]) == ["batch", "started", "failed", "started", "finished"]


def test_the_same_bad_bytes_are_quarantined_once_and_not_fetched_a_third_time(sandbox, fake_clock, buckets):
    sandbox.set_faults(Faults(corrupt_magic_rate=1.0, corrupt_magic_persistent=True))
    conv, rec = audio_recordings(sandbox)[0]
    _, ctx, _ = download_one(sandbox, fake_clock, buckets, conv, rec, max_media_attempts=3)
    outcome = ctx.ledger.outcomes[(conv.id, rec.id)]
    assert (outcome.state, outcome.attempts, outcome.storage_uri) == (State.QUARANTINED, 2, None)
    assert outcome.reason.startswith("container check failed: ")
    assert outcome.quarantine_repeats == 2 and "not downloaded again" in outcome.reason
    quarantined = list(ctx.store.list_day("quarantine/"))
    assert len(quarantined) == 1 and ctx.ledger.report().quarantined_attempts == 2
    assert quarantined[0].key.endswith(outcome.sha256) and outcome.quarantine_uri.endswith(quarantined[0].key)
    assert {parse_quarantine_key(o.key).recording_id for o in quarantined} == {rec.id}
    assert list(ctx.store.list_day("recordings/")) == []  # never under a final key


def evidence_objects(s3_client, bucket: str) -> dict[str, tuple[bytes, dict]]:
    """Every object under quarantine/, listed and read here with boto3: key -> (bytes, user metadata)."""
    found = {}
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="quarantine/"):
        for item in page.get("Contents", []):
            got = s3_client.get_object(Bucket=bucket, Key=item["Key"])
            found[item["Key"]] = (got["Body"].read(), got["Metadata"])
    return found


def test_a_bad_first_download_stays_as_evidence_the_archived_recording_points_at(
    sandbox, fake_clock, buckets, s3_client
):
    """An HTML error page first, the recording on the retry: the page is kept once, and the archived
    recording's outcome names it, so a reader sees that the archive's copy followed a bad download."""
    sandbox.set_faults(Faults(wrong_content_type_rate=1.0))  # the first GET of each recording only
    conv, rec = audio_recordings(sandbox)[0]
    _, ctx, _ = download_one(sandbox, fake_clock, buckets, conv, rec)
    (outcome,) = ctx.ledger.report().outcomes
    assert (outcome.state, outcome.attempts) == (State.ARCHIVED, 2)
    assert outcome.sha256 == sandbox.org.media_sha256(rec.id)  # the good bytes are the archive's
    ((key, (body, meta)),) = evidence_objects(s3_client, ctx.store.bucket).items()
    assert outcome.quarantine_uri == f"s3://{ctx.store.bucket}/{key}"
    assert body.lstrip().lower().startswith(b"<!doctype html") and key.endswith(
        hashlib.sha256(body).hexdigest()
    )
    assert meta["download-size"] == str(len(body)) and meta["download-sha256"] == meta["sha256"]
    assert (meta["recording-id"], meta["conversation-id"]) == (rec.id, conv.id)
    assert events(ctx, buckets[1]) == ["batch", "started", "quarantined", "started", "finished"]


def test_evidence_keeps_only_the_first_kib_with_the_whole_downloads_size_and_sha256(
    sandbox, fake_clock, buckets, s3_client
):
    sandbox.set_faults(Faults(corrupt_magic_rate=1.0, corrupt_magic_persistent=True))
    conv, rec = audio_recordings(sandbox)[0]
    true = b"".join(sandbox.org.media_body(rec).chunks(0))
    assert len(true) > 4 * 1024, "a recording within the cap proves no cap"
    _, ctx, _ = download_one(sandbox, fake_clock, buckets, conv, rec, quarantine_evidence_kib=1)
    (outcome,) = ctx.ledger.report().outcomes
    assert outcome.state is State.QUARANTINED
    ((key, (body, meta)),) = evidence_objects(s3_client, ctx.store.bucket).items()
    assert outcome.quarantine_uri.endswith(key)
    assert len(body) == 1024 and body[:16] != true[:16] and body[16:] == true[16:1024]
    # The served bytes are the kept head and the rest of the recording: their size and hash are recorded.
    served = body + true[1024:]
    assert meta["download-size"] == str(len(true)) == str(len(served))
    assert meta["download-sha256"] == hashlib.sha256(served).hexdigest() == outcome.sha256
    assert meta["sha256"] == hashlib.sha256(body).hexdigest() and key.endswith(outcome.sha256)


def test_a_day_and_its_rerun_point_every_row_at_its_one_evidence_object(
    sandbox, fake_clock, buckets, s3_client
):
    """Every recording's first download is an error page: each is kept once, the day's outcomes name their
    own, nothing under quarantine/ is unnamed; a re-run finds the evidence in S3 and keeps naming it."""
    from recording_assets_tests.pipeline.support import archive_day

    sandbox.set_faults(Faults(wrong_content_type_rate=1.0))
    first, _, _ = archive_day(sandbox, fake_clock, *buckets)
    kept = {f"s3://{buckets[0].bucket}/{key}" for key in evidence_objects(s3_client, buckets[0].bucket)}
    bad = [o for o in first.outcomes if o.quarantine_uri]
    downloaded = [o for o in first.outcomes if o.state in (State.ARCHIVED, State.QUARANTINED)]
    assert downloaded and {o.key for o in bad} == {o.key for o in downloaded}
    assert {o.quarantine_uri for o in bad} == kept and len(kept) == len(bad)  # one each, all named
    assert all(
        parse_quarantine_key(u.split("/", 3)[3]).recording_id == o.recording_id
        for o in bad
        for u in [o.quarantine_uri]
    )

    rerun, _, _ = archive_day(
        sandbox, fake_clock, *buckets, run_id="run-2", previous=[o.row("r1") for o in first.outcomes]
    )
    again = {o.key: o.quarantine_uri for o in rerun.outcomes if o.quarantine_uri}
    assert again == {o.key: o.quarantine_uri for o in bad}
    assert {
        f"s3://{buckets[0].bucket}/{key}" for key in evidence_objects(s3_client, buckets[0].bucket)
    } == kept


def test_an_identical_object_is_adopted_a_different_one_left_alone(sandbox, fake_clock, buckets):
    conv, rec = audio_recordings(sandbox)[0]
    _, first, _ = download_one(sandbox, fake_clock, buckets, conv, rec)
    _, again, _ = download_one(sandbox, fake_clock, buckets, conv, rec, run_id="run-2")
    adopted = again.ledger.outcomes[(conv.id, rec.id)]
    original = first.ledger.outcomes[(conv.id, rec.id)]
    assert (adopted.state, adopted.checksum_verified_by) == (State.ALREADY_ARCHIVED, "read-back")
    assert (adopted.archived_run_id, adopted.archived_at) == ("run-1", original.archived_at)
    assert adopted.sha256 == original.sha256

    other_conv, other = audio_recordings(sandbox)[1]
    key = original.storage_uri.split("/", 3)[3].replace(conv.id, other_conv.id).replace(rec.id, other.id)
    with MediaSpool() as spool:
        spool.write(b"OggS" + b"\x00" * 60)
        buckets[0].put_new(key, spool, content_type="audio/ogg", metadata={})
    _, clash, _ = download_one(sandbox, fake_clock, buckets, other_conv, other, run_id="run-3")
    refused = clash.ledger.outcomes[(other_conv.id, other.id)]
    assert refused.state is State.FAILED and refused.attempts == 1
    assert "already holds different bytes" in refused.reason and "left untouched for review" in refused.reason


def test_an_expired_url_goes_back_for_a_fresh_one_while_attempts_are_left(sandbox, fake_clock, buckets):
    conv, rec = audio_recordings(sandbox)[0]
    late = sandbox.config.url_ttl_s + 60
    expired, ctx, task = download_one(sandbox, fake_clock, buckets, conv, rec, advance_s=late)
    assert expired is True and task.attempts == 1 and (conv.id, rec.id) not in ctx.ledger.outcomes
    expired, ctx, _ = download_one(
        sandbox, fake_clock, buckets, conv, rec, run_id="run-2", advance_s=late, max_media_attempts=1
    )
    outcome = ctx.ledger.outcomes[(conv.id, rec.id)]
    assert expired is False and outcome.state is State.FAILED
    assert outcome.reason == "media URL expired (403) at attempt 1 of 1"


def test_a_format_id_fetches_a_transcoded_url(sandbox, fake_clock, buckets):
    conv, rec = audio_recordings(sandbox)[0]
    _, ctx, task = download_one(sandbox, fake_clock, buckets, conv, rec, format_id="WAV")
    outcome = ctx.ledger.outcomes[(conv.id, rec.id)]
    assert task.transcode is True and (outcome.state, outcome.content_type, outcome.container) == (
        State.ARCHIVED,
        "audio/wav",
        "wav",
    )
    assert outcome.storage_uri.endswith(f"/{rec.id}.wav")
    assert outcome.sha256 == sandbox.org.media_sha256(rec.id, "WAV")


def test_a_transient_media_404_is_retried_and_never_recorded_deleted(sandbox_factory, fake_clock, buckets):
    """The sandbox answers the first GET of one recording's media 404 and serves it afterwards, while its
    recordingmetadata keeps saying AVAILABLE: the day's run archives it, and nothing is ever DELETED for
    a 404 alone."""
    from recording_assets.sandbox.hostile import Hostile
    from recording_assets_tests.pipeline.support import archive_day

    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=12,
        media_scale=0.002,
        hostile=Hostile(items=frozenset({"transient_media_404"})),
    )
    target = sandbox.hostile_targets(DAY)["transient_media_404"]
    report, _, _ = archive_day(sandbox, fake_clock, *buckets)
    outcomes = {o.key: o for o in report.outcomes}
    landed = outcomes[(target.conversation_id, target.recording_id)]
    assert landed.state is State.ARCHIVED and landed.attempts == 2, landed
    assert not [o for o in report.outcomes if o.state is State.DELETED and "404" in (o.reason or "")]
