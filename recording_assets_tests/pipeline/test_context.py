"""The shared context of a day's run: options, the ledger, S3 off the loop, counted batches, audit events."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from recording_assets.genesys import BatchItem
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.config import FORMAT_CONTENT_TYPES, ArchiveConfig, InvalidConfigError
from recording_assets.pipeline.context import (
    ArchiveContext,
    DownloadTask,
)
from recording_assets.pipeline.download_queue import DownloadQueue
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets_tests.pipeline.support import DAY, genesys_client, run_settings, stores


@pytest.fixture
def sandbox(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock, conversations_per_day=10, media_scale=0.002)


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


@pytest.fixture
def make_context(sandbox, fake_clock, buckets):
    store, manifest_store = buckets
    executors = []

    def make(client=None, **options) -> ArchiveContext:
        executors.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="s3"))
        audit = AuditTrail(store=manifest_store, day=DAY, run_id="run-1", launched_by="t", clock=fake_clock)
        return ArchiveContext(
            client=client or genesys_client(sandbox, fake_clock),
            store=store,
            day=DAY,
            run_id="run-1",
            audit=audit,
            **run_settings(**options),
            executor=executors[-1],
        )

    yield make
    for executor in executors:
        executor.shutdown()


def test_config_defaults_and_format_check():
    config = ArchiveConfig()
    assert config.key_prefix == "" and config.concurrency == 8
    assert (config.max_media_attempts, config.url_refresh_rounds) == (3, 3)
    assert config.format_id is None and config.sensitive_check_for(None) == "lookup"
    assert ArchiveConfig(format_id="MP3").format_id == "MP3"
    with pytest.raises(InvalidConfigError, match="format_id='FLAC' is not supported: .* WAV, WAV_ULAW, MP3"):
        ArchiveConfig(format_id="FLAC")
    assert FORMAT_CONTENT_TYPES["OGG_OPUS"] == "audio/ogg" and FORMAT_CONTENT_TYPES["WAV_ULAW"] == "audio/wav"


def test_only_audio_is_transcoded_and_only_with_a_format(make_context):
    plain, wav = make_context(), make_context(format_id="WAV")
    assert plain.task("c1", "r1", "https://u", "audio/ogg").transcode is False
    assert wav.task("c1", "r1", "https://u", "Audio/OGG").transcode is True
    assert wav.task("c1", "r2", "https://u", "video/webm").transcode is False
    assert wav.task("c1", "r3", "https://u", None).transcode is False
    task = wav.task("c1", "r1", "https://u", "audio/ogg")
    assert (task.key, task.url, task.attempts) == (("c1", "r1"), "https://u", 0)


def test_finish_keeps_one_outcome_per_recording(make_context):
    ctx = make_context()
    ctx.ledger.finish(Outcome("c1", "r1", State.FAILED, reason="first"))
    ctx.ledger.finish(Outcome("c1", "r1", State.ARCHIVED))
    ctx.ledger.finish(Outcome("c1", "r2", State.DELETED))
    states = {k: o.state for k, o in ctx.ledger.outcomes.items()}
    assert states == {("c1", "r1"): State.ARCHIVED, ("c1", "r2"): State.DELETED}
    assert ctx.uri("a/b.wav") == f"s3://{ctx.store.bucket}/a/b.wav"


def test_s3_calls_run_on_the_executor(make_context):
    ctx = make_context()

    async def where(*args, **kwargs):
        return await ctx.s3(lambda *a, **k: (threading.current_thread().name, a, k), 1, x=2)

    name, args, kwargs = asyncio.run(where())
    assert name.startswith("s3") and args == (1,) and kwargs == {"x": 2}


def test_batch_is_counted_and_audited(make_context, sandbox, fake_clock, buckets):
    cid = next(c.id for c in sandbox.org.conversations_for_day(DAY) if c.recordings)

    async def batch():
        async with genesys_client(sandbox, fake_clock) as client:
            ctx = make_context(client=client)
            return ctx, await ctx.batch([BatchItem(cid)])

    ctx, results = asyncio.run(batch())
    assert ctx.ledger.report().batch_rounds == 1
    assert {r.conversation_id for r in results} == {cid}
    ctx.audit.flush()
    (row,) = audit_rows(ctx, buckets[1])
    assert (row["event"], row["reason"]) == ("batch", f"1 items, {len(results)} results")


def test_audit_event_measures_latency_on_the_client_clock(make_context, fake_clock, buckets):
    ctx = make_context()
    task = ctx.task("c1", "r1", "https://u", "audio/ogg")
    task.attempts = 2
    started = fake_clock.time()
    fake_clock.advance(1.25)
    ctx.audit_event("failed", task, started, state=State.FAILED, reason="boom", http_status=503)
    ctx.audit.flush()
    (row,) = audit_rows(ctx, buckets[1])
    assert {
        k: row[k]
        for k in (
            "event",
            "conversation_id",
            "recording_id",
            "attempt",
            "latency_ms",
            "state",
            "reason",
            "http_status",
            "bytes",
        )
    } == {
        "event": "failed",
        "conversation_id": "c1",
        "recording_id": "r1",
        "attempt": 2,
        "latency_ms": 1250,
        "state": "failed",
        "reason": "boom",
        "http_status": 503,
        "bytes": None,
    }


def audit_rows(ctx: ArchiveContext, manifest_store) -> list[dict]:
    (key,) = ctx.audit.keys
    return from_parquet_bytes(manifest_store.get_bytes(key)).to_pylist()


def test_the_next_batch_job_waits_until_the_downloads_can_reach_its_urls_in_time(make_context, fake_clock):
    """URLs live 120 s: no more are asked for than the workers download in half of that (a conservative 100 a
    minute until they show their pace), nor while one has waited that long; never more than the backlog."""
    ctx = make_context(url_ttl_s=120)
    fetcher = DownloadQueue(ctx, backlog=150)
    assert fetcher.open(outstanding=0, asking=100)  # nothing in hand: always ask
    assert not fetcher.open(outstanding=100, asking=100)  # 200 > 100 a minute x 60 s
    for n in range(60):
        fetcher.put(DownloadTask("c", f"r{n}", "https://media.example/r", "audio/ogg"))
    assert fetcher.open(outstanding=0, asking=40) and not fetcher.open(outstanding=0, asking=41)
    fake_clock.advance(60)  # the oldest URL has waited half its lifetime
    assert not fetcher.open(outstanding=0, asking=1)
    unpaced = DownloadQueue(make_context(url_ttl_s=None), backlog=150)  # lifetime unknown: the backlog alone
    for n in range(100):
        unpaced.put(DownloadTask("c", f"r{n}", "https://media.example/r", "audio/ogg"))
    assert unpaced.open(outstanding=0, asking=50) and not unpaced.open(outstanding=0, asking=51)


def test_a_task_taken_between_asking_for_room_and_waiting_for_it_is_not_missed(make_context, sandbox):
    """The batch jobs ask ``open``, then wait; a worker that takes the last queued task in between must
    still wake them (a lost wake-up left the day's remaining batch jobs waiting for ever)."""
    ctx = make_context(concurrency=1)
    fetcher = DownloadQueue(ctx, backlog=1)
    fetcher.put(DownloadTask("c", "r0", f"{sandbox.base_url}/media/none", "audio/ogg"))
    assert not fetcher.open(outstanding=0, asking=1)
    fetcher.close()
    asyncio.run(fetcher.run())  # the worker takes (and finishes) the task after ``open`` answered
    asyncio.run(asyncio.wait_for(fetcher.wait(), timeout=2))  # so the wait returns at once
    assert fetcher.open(outstanding=0, asking=1)
