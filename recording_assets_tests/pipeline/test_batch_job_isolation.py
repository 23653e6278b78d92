"""Batch answers are isolated per job and trusted only for what was asked, through the real ``archive_day`` on
sandbox HTTP and moto: one failed job is its conversations' outcome, never the day's (``stream.py``,
``classify.failed_job``; the sandbox's ``Faults.failed_batch_job`` answers 503 to every poll of one job), a
day-level refusal in a job still ends the run, and the retry round archives nothing it did not ask for."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from recording_assets.archive.keys import conversations_key, outcomes_key
from recording_assets.genesys.errors import PermissionDeniedError
from recording_assets.pipeline.day import DayStores, archive_day
from recording_assets.pipeline.discovery import discover_day
from recording_assets.pipeline.table_io import read_table
from recording_assets.pipeline.window import day_window
from recording_assets.sandbox import Faults
from recording_assets.sandbox.config import RECORDING_VIEW
from recording_assets.sandbox.hostile import Hostile
from recording_assets_tests.pipeline.support import DAY, genesys_client, run_settings, stores
from recording_assets_tests.reliability.reliability_support import media_gets, truth

EXPECTED_STATE = {"AVAILABLE": "archived", "ARCHIVED": "archived_in_genesys", "DELETED": "deleted"}


def _run(sb, clock, day_stores, run_id):
    async def go():
        async with genesys_client(sb, clock) as client:
            found = await discover_day(client, day_window(DAY, "UTC"))
            return await archive_day(
                client,
                day_stores,
                DAY,
                **run_settings(sensitive_permission=True),  # trust: look-ups only where a batch leaves doubt
                run_id=run_id,
                launched_by="test",
                clock=clock,
                conversations=found.conversations,
            )

    return asyncio.run(go())


def _broken_job(sb):
    """The sandbox's own record of the job it broke: (job id, the conversations it was asked about)."""
    polls = [e for e in sb.stats()["log"] if e["family"] == "recording.batch.poll" and e["status"] == 503]
    (job_id,) = {e["path"].rsplit("/", 1)[1] for e in polls}
    job = sb.state.batches.get(job_id)
    return job_id, {outcome.conversation_id for outcome in job.outcomes}


def _stored_sha256(s3_client, bucket, row):
    _, key = row["storage_uri"][len("s3://") :].split("/", 1)
    return hashlib.sha256(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def test_a_failed_job_fails_its_recordings_the_other_jobs_archive_and_a_rerun_archives_them(
    sandbox_factory, s3_client, bucket_names, fake_clock
):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=250, media_scale=0.002)
    sb.set_faults(Faults(failed_batch_job=2))  # the second of the day's three jobs
    archive, manifests = stores(s3_client, bucket_names)
    day_stores = DayStores(archive=archive, manifests=manifests)

    result = _run(sb, fake_clock, day_stores, "run-1")

    job_id, broken = _broken_job(sb)
    day_truth = truth(sb, DAY.isoformat())
    rows = {(r["conversation_id"], r["recording_id"]): r for r in result.outcomes.to_pylist()}
    assert 50 <= len(broken) <= 100 and {cid for cid, _ in day_truth} > broken
    assert read_table(manifests, outcomes_key(day=DAY)) is not None  # the day's tables are written
    for key, rec in day_truth.items():
        row = rows[key]
        if key[0] not in broken:
            assert row["state"] == EXPECTED_STATE[rec.file_state], (key, row)
            if rec.file_state == "AVAILABLE":
                assert _stored_sha256(s3_client, archive.bucket, row) == rec.sha256 == row["sha256"]
        elif rec.file_state == "AVAILABLE":  # listed by its look-up; no URL without its job
            assert (row["state"], row["storage_uri"]) == ("failed", None), (key, row)
            assert row["reason"].startswith(f"batch job {job_id}: ServerError"), row["reason"]
            assert "503" in row["reason"]
        else:  # the look-up classifies what is not downloadable anyway
            assert row["state"] == EXPECTED_STATE[rec.file_state], (key, row)
    assert any(rec.file_state == "AVAILABLE" for key, rec in day_truth.items() if key[0] in broken)
    settled = {
        r["conversation_id"]: r["settled"]
        for r in read_table(manifests, conversations_key(day=DAY)).to_pylist()
    }
    assert not any(settled[cid] for cid in broken)  # the next run asks again
    assert all(settled[cid] for cid, _ in day_truth if cid not in broken)

    sb.set_faults(Faults())
    again = _run(sb, fake_clock, day_stores, "run-2")
    rows = {(r["conversation_id"], r["recording_id"]): r for r in again.outcomes.to_pylist()}
    for key, rec in day_truth.items():
        if rec.file_state == "AVAILABLE":
            expected = "archived" if key[0] in broken else "already_archived"
            assert rows[key]["state"] == expected, (key, rows[key])
            assert _stored_sha256(s3_client, archive.bucket, rows[key]) == rec.sha256
    assert again.states.get("failed", 0) == 0


def test_a_refusal_in_a_job_still_ends_the_run_with_its_tables_written(
    sandbox_factory, s3_client, bucket_names, fake_clock
):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=30, media_scale=0.002)
    sb.set_faults(Faults(deny_permissions=frozenset(RECORDING_VIEW)))  # discovery allowed, batches refused
    archive, manifests = stores(s3_client, bucket_names)
    with pytest.raises(PermissionDeniedError):
        _run(sb, fake_clock, DayStores(archive=archive, manifests=manifests), "run-1")
    conversations = read_table(manifests, conversations_key(day=DAY)).to_pylist()
    assert conversations and not any(row["settled"] for row in conversations)


def test_the_retry_round_archives_only_what_it_asked_for(
    sandbox_factory, s3_client, bucket_names, fake_clock
):
    """The sandbox's retry answer (``unasked_retry_results``) also carries, with working URLs, a result for a
    recording of the conversation nobody asked for and one for a conversation of another day."""
    sb = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=30,
        media_scale=0.002,
        hostile=Hostile(items=frozenset({"unasked_retry_results"})),
    )
    archive, manifests = stores(s3_client, bucket_names)

    result = _run(sb, fake_clock, DayStores(archive=archive, manifests=manifests), "run-1")

    target = sb.hostile_targets(DAY)["unasked_retry_results"]
    stranger = sb.state.hostile.stranger(sb.org.conversation(target.conversation_id))
    assert sb.state.hostile.served["unasked_retry_results"] >= 2  # the error, then the retry's extras
    rows = {(r["conversation_id"], r["recording_id"]): r for r in result.outcomes.to_pylist()}
    assert rows[(target.conversation_id, target.recording_id)]["state"] == "archived"  # the retry's own
    assert set(rows) == set(truth(sb, DAY.isoformat()))  # no row for anything unasked
    assert stranger.conversation_id not in {cid for cid, _ in rows}
    gets = media_gets(sb.stats()["log"])
    assert (gets[target.recording_id], gets[stranger.id]) == (1, 0)  # the unasked URLs never fetched
    keys = [
        obj["Key"]
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=archive.bucket)
        for obj in page.get("Contents", [])
    ]
    ours = {key.rsplit("/", 2)[1] + "/" + key.rsplit("/", 1)[1].split(".")[0] for key in keys}
    archived = {f"{cid}/{rid}" for (cid, rid), row in rows.items() if row["state"] == "archived"}
    assert ours == archived
