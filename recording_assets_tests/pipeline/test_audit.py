"""The audit trail on a real S3 protocol server (moto): parts flushed while the run goes, create-only."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from recording_assets.archive.errors import ObjectExistsError
from recording_assets.archive.keys import audit_key
from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.tables import AUDIT, from_parquet_bytes

DAY = date(2026, 11, 20)


@pytest.fixture
def store(s3_client, bucket_names):
    return ArchiveStore(s3_client, bucket=bucket_names[1])


def trail(store, clock, **kwargs) -> AuditTrail:
    return AuditTrail(store=store, day=DAY, run_id="run-7", launched_by="user:alice", clock=clock, **kwargs)


def test_flush_writes_one_part_with_the_events(store, fake_clock):
    audit = trail(store, fake_clock)
    assert audit.prefix == "audit/date=2026-11-20/run=run-7/"
    audit.record("started", conversation_id="c1", recording_id="r1", attempt=1)
    fake_clock.advance(2.5)
    audit.record("finished", conversation_id="c1", recording_id="r1", attempt=1, bytes=42, state="archived")
    assert list(store.list_day("audit/")) == [] and audit.keys == []  # nothing written before the flush
    audit.flush()
    assert audit.keys == ["audit/date=2026-11-20/run=run-7/part-00001.parquet"]
    assert audit.keys[0] == audit_key(day=DAY, run_id="run-7", part=1)
    table = from_parquet_bytes(store.get_bytes(audit.keys[0]))
    assert table.schema.equals(AUDIT)
    started, finished = table.to_pylist()
    assert started["at"] == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert finished["at"] == datetime(2026, 1, 1, 0, 0, 2, 500000, tzinfo=timezone.utc)
    fields = ("event", "bytes", "state", "launched_by", "run_id")
    assert [finished[f] for f in fields] == ["finished", 42, "archived", "user:alice", "run-7"]
    assert audit.events == 2


def test_parts_are_flushed_every_n_events_and_numbered(store, fake_clock):
    audit = trail(store, fake_clock, flush_every=2)
    for attempt in range(5):
        audit.record("started", conversation_id="c1", recording_id="r1", attempt=attempt)
    assert [k.rsplit("/", 1)[1] for k in audit.keys] == ["part-00001.parquet", "part-00002.parquet"]
    audit.flush()
    audit.flush()  # nothing pending: no empty part
    assert len(audit.keys) == 3 and audit.events == 5
    assert len(from_parquet_bytes(store.get_bytes(audit.keys[2]))) == 1


def test_a_part_is_never_overwritten(store, fake_clock):
    first = trail(store, fake_clock)
    first.record("batch", reason="1 items, 1 results")
    first.flush()
    second = trail(store, fake_clock)  # the same run id again: its part 1 is taken
    second.record("batch", reason="2 items, 2 results")
    with pytest.raises(ObjectExistsError):
        second.flush()
    assert from_parquet_bytes(store.get_bytes(first.keys[0])).to_pylist()[0]["reason"] == "1 items, 1 results"


def test_unknown_fields_are_refused_at_flush(store, fake_clock):
    audit = trail(store, fake_clock)
    audit.record("started", colour="red")
    with pytest.raises(ValueError, match="colour"):
        audit.flush()
