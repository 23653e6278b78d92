"""No verification doubt, retry or sweep removes what this write did not create (FaultProxy before moto).

- an overwritten mutable document (the manifest and the day's other tables) whose verification is cut off
  leaves the previous good version readable under its key (versioned bucket), or the new one in place
  (a bucket without versioning, where the previous one is already gone);
- a create-only write whose retry meets another writer's object (same bytes, as another run of the day
  writes them) reports it as existing and never deletes it, whatever its own verification does;
- the stale-upload sweep of a run aborts only uploads S3 says began well before that run started.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pyarrow as pa
import pytest

from recording_assets.archive import ArchiveStore, IntegrityError, ObjectExistsError, StorageError
from recording_assets.archive.keys import recording_day_prefix
from recording_assets.pipeline import settled
from recording_assets.pipeline.table_io import read_table, write_table
from recording_assets_tests.pipeline.support import DAY
from recording_assets_tests.pipeline.test_classify import context
from recording_assets_tests.reliability.faultproxy import FaultProxy
from recording_assets_tests.reliability.test_reliability_s3_faults import (
    SMALL,
    proxied_client,
    put,
    sha256_hex,
    store_through,
)

KEY = "recordings/year=2026/month=11/day=03/queue=none/conv-1/rec-1.wav"
MANIFEST = "manifests/date=2026-11-03/manifest.parquet"
EVERY_ATTEMPT = 100  # more than botocore's attempts: the fault outlasts its retries


@pytest.fixture
def proxy(s3_endpoint):
    with FaultProxy.in_front_of(s3_endpoint) as proxy:
        yield proxy


def fresh_bucket(s3_client, *, versioned: bool) -> str:
    bucket = f"own-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    if versioned:
        s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def reading_back(proxy: FaultProxy, bucket: str) -> ArchiveStore:
    """A store that proves every write by reading it back, through the proxy."""
    client = proxied_client(proxy)
    return ArchiveStore(client, bucket=bucket, verify_by_read_back=True)


def versions(s3_client, bucket: str, key: str) -> tuple[list[str], list[str]]:
    listed = s3_client.list_object_versions(Bucket=bucket, Prefix=key)
    kept = [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == key]
    markers = [m["VersionId"] for m in listed.get("DeleteMarkers", []) if m["Key"] == key]
    return kept, markers


# -- 1: an overwrite whose verification is cut off ---------------------------------------------------


def test_a_cut_off_read_back_of_an_overwrite_leaves_the_previous_version_readable(proxy, s3_client):
    bucket = fresh_bucket(s3_client, versioned=True)
    store = reading_back(proxy, bucket)
    previous = pa.table({"recording_id": ["r1"], "state": ["archived"]})
    write_table(store, MANIFEST, previous)
    (first_version,), _ = versions(s3_client, bucket, MANIFEST)

    proxy.reset_after(10**9, count=EVERY_ATTEMPT, match="GetObject")  # every read-back answer lost
    with pytest.raises(StorageError) as raised:
        write_table(store, MANIFEST, pa.table({"recording_id": ["r1", "r2"], "state": ["archived"] * 2}))
    assert raised.value.operation == "GetObject"
    assert proxy.count("PutObject", fault="none") == 2 and proxy.count("GetObject", fault="reset") >= 1
    assert proxy.count("DeleteObject", where=lambda seen: "versionId=" in seen.target) == 1

    # Only the new version was deleted, by its id: the old one is current again, no delete marker.
    assert versions(s3_client, bucket, MANIFEST) == ([first_version], [])
    assert read_table(ArchiveStore(s3_client, bucket=bucket), MANIFEST) == previous


def test_without_versioning_a_cut_off_overwrite_stays_and_the_error_says_so(proxy, s3_client):
    bucket = fresh_bucket(s3_client, versioned=False)
    store = reading_back(proxy, bucket)
    write_table(store, MANIFEST, pa.table({"n": [1]}))
    newer = pa.table({"n": [1, 2]})

    proxy.reset_after(10**9, count=EVERY_ATTEMPT, match="GetObject")
    with pytest.raises(IntegrityError) as raised:
        write_table(store, MANIFEST, newer)
    # Deleting would have left no copy at all: the new version stays, whole, and the caller is told.
    assert raised.value.cleaned_up is False
    assert "keeps no versions" in raised.value.detail and "may remain unverified" in raised.value.detail
    assert proxy.count("DeleteObject") == 0
    assert read_table(ArchiveStore(s3_client, bucket=bucket), MANIFEST) == newer


# -- 2: a retry that meets another writer's object ---------------------------------------------------


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_another_writers_object_met_by_a_retry_survives_byte_for_byte(proxy, s3_client, versioned):
    # Two runs archive the same recording. Ours gets a 500 (nothing landed); the other run's store lands
    # the same bytes before botocore's retry, which gets 412. Same size and sha256, yet not ours to adopt:
    # formerly it was, and our verification (cut off here) then deleted it.
    bucket = fresh_bucket(s3_client, versioned=versioned)
    store = reading_back(proxy, bucket)
    client = store._reader.s3
    other_run = ArchiveStore(s3_client, bucket=bucket)
    proxy.http_500(count=1, match="PutObject")
    proxy.reset_after(10**9, count=EVERY_ATTEMPT, match="GetObject")  # any read-back of ours is cut off

    def the_other_run_lands_first(**_):
        if proxy.count("PutObject") == 1:
            put(other_run, KEY, SMALL)

    client.meta.events.register("before-send.s3.PutObject", the_other_run_lands_first)
    with pytest.raises(ObjectExistsError) as raised:
        put(store, KEY, SMALL)
    theirs = s3_client.head_object(Bucket=bucket, Key=KEY)
    assert raised.value.existing is not None
    assert raised.value.existing.write_token == theirs["Metadata"]["write-token"]
    assert [seen.status for seen in proxy.exchanges if seen.operation == "PutObject"] == [500, 412]
    assert proxy.count("DeleteObject") == 0 and proxy.count("GetObject") == 0

    body = s3_client.get_object(Bucket=bucket, Key=KEY)
    assert body["Body"].read() == SMALL and body["Metadata"]["sha256"] == sha256_hex(SMALL)
    if versioned:
        assert versions(s3_client, bucket, KEY) == ([theirs["VersionId"]], [])


def test_our_own_landed_write_met_by_its_retry_is_still_adopted_and_verified(proxy, s3_client):
    # The counterpart: our PUT landed and only its answer was lost; the retry's 412 is our own write (same
    # token), so it is proved and returned, not reported as someone else's.
    bucket = fresh_bucket(s3_client, versioned=True)
    store = store_through(proxied_client(proxy), bucket)
    proxy.reset_after(10**9, count=1, match="PutObject")
    stored = put(store, KEY, SMALL)
    assert stored.sha256_hex == sha256_hex(SMALL)
    head = s3_client.head_object(Bucket=bucket, Key=KEY)
    assert stored.version_id == head["VersionId"]
    assert [seen.status for seen in proxy.exchanges if seen.operation == "PutObject"] == [None, 412]


# -- 3: the stale-upload sweep -----------------------------------------------------------------------


def s3_time(response: dict) -> datetime:
    """S3's own clock, from the Date header of its answer."""
    return parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])


def with_initiated(times: dict[str, datetime]):
    """moto answers every ListMultipartUploads with a fixed 2010 ``Initiated``; AWS gives the real one. Put
    in the times S3 itself stated (its Date when it created each upload) so the sweep sees what AWS says."""

    def edit(body: bytes) -> bytes:
        def one(upload: re.Match) -> bytes:
            text = upload.group(0)
            found = re.search(rb"<UploadId>([^<]+)</UploadId>", text)
            assert found is not None, text
            upload_id = found.group(1).decode()
            when = times[upload_id].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            return re.sub(rb"<Initiated>[^<]*</Initiated>", f"<Initiated>{when}</Initiated>".encode(), text)

        return re.sub(rb"<Upload>.*?</Upload>", one, body, flags=re.S)

    return edit


def test_the_sweep_spares_an_upload_another_run_opened_and_aborts_a_killed_runs(proxy, s3_client):
    # Through the archiver's own first step (``settled.load_existing``), whose bound is the run's start.
    bucket = fresh_bucket(s3_client, versioned=False)
    prefix = recording_day_prefix(prefix="", day=DAY)
    created = {
        name: s3_client.create_multipart_upload(Bucket=bucket, Key=f"{prefix}queue=none/{name}/r.wav")
        for name in ("killed", "live")
    }
    # S3 cannot be made to age an upload: the killed run's is stated as opened two hours before its Date
    # (a run killed then), the live run's as S3 stated it, a moment before our run starts below.
    times = {
        created["killed"]["UploadId"]: s3_time(created["killed"]) - timedelta(hours=2),
        created["live"]["UploadId"]: s3_time(created["live"]),
    }
    proxy.rewrite(with_initiated(times), match="ListMultipartUploads")
    store = store_through(proxied_client(proxy), bucket)
    with ThreadPoolExecutor(max_workers=2) as executor:
        ctx = context(store=store, executor=executor)  # the run starts now
        existing = asyncio.run(settled.load_existing(ctx))
        assert existing.outcomes == [] and existing.strays == []

    left = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [upload["UploadId"] for upload in left] == [created["live"]["UploadId"]]
    assert proxy.count("AbortMultipartUpload") == 1
    assert proxy.count("ListMultipartUploads", fault="rewrite") >= 1
    s3_client.abort_multipart_upload(Bucket=bucket, Key=left[0]["Key"], UploadId=left[0]["UploadId"])


def test_an_upload_without_a_usable_initiated_time_is_not_aborted(proxy, s3_client):
    bucket = fresh_bucket(s3_client, versioned=False)
    key = "recordings/year=2026/month=11/day=03/queue=none/c/r.wav"
    upload_id = s3_client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    proxy.rewrite(
        lambda body: re.sub(rb"<Initiated>[^<]*</Initiated>", b"", body), match="ListMultipartUploads"
    )
    store = store_through(proxied_client(proxy), bucket)
    assert store.abort_stale_uploads("recordings/", initiated_before=datetime.now(timezone.utc)) == 0
    left = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [upload["UploadId"] for upload in left] == [upload_id]
    s3_client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
