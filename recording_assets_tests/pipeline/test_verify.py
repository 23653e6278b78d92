"""The blocking checks read the proof and the sniffed container each outcome row recorded as it landed.

The rows come from a real store (moto) where it matters that they are what the archiver records; the
checks themselves read no object again (the post-pass of HEADs and range reads is gone). They take the
OUTCOMES table as the audio step writes it (``outcomes`` below builds one from rows).
"""

from __future__ import annotations

import pytest

from recording_assets.archive.spool import MediaSpool
from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.tables import OUTCOMES, to_table
from recording_assets.pipeline.verify import PROOFS
from recording_assets.pipeline.verify import verify_checksums as checksums_of_table
from recording_assets.pipeline.verify import verify_containers as containers_of_table
from recording_assets_tests.archive.test_archive_sniff import wav_bytes

KEY = "recordings/year=2026/month=11/day=20/queue=q1/c1/r1.wav"
BUCKET = "archive"


def verify_checksums(rows: list[dict], *, bucket: str):
    return checksums_of_table(to_table(rows, OUTCOMES), bucket=bucket)


def verify_containers(rows: list[dict], *, bucket: str):
    return containers_of_table(to_table(rows, OUTCOMES), bucket=bucket)


@pytest.fixture
def store(s3_client, bucket_names):
    return ArchiveStore(s3_client, bucket=bucket_names[0])


def put(store, key: str, data: bytes, content_type: str = "audio/wav", container: str = "wav") -> dict:
    """Store ``data`` as the archiver does; return the outcome row that says so."""
    with MediaSpool() as spool:
        spool.write(data)
        stored = store.put_new(key, spool, content_type=content_type, metadata={"sha256": spool.sha256_hex})
    return {
        "recording_id": key.rsplit("/", 1)[1].split(".")[0],
        "state": "archived",
        "sha256": stored.sha256_hex,
        "size_bytes": stored.size,
        "content_type": content_type,
        "container": container,
        "storage_uri": f"s3://{store.bucket}/{key}",
        "checksum_verified_by": stored.checksum_verified_by,
    }


def row(**changes) -> dict:
    good = {
        "recording_id": "r1",
        "state": "archived",
        "sha256": "a" * 64,
        "size_bytes": 100,
        "content_type": "audio/wav",
        "container": "wav",
        "storage_uri": f"s3://{BUCKET}/{KEY}",
        "checksum_verified_by": "s3-checksum",
    }
    return {**good, **changes}


def test_what_the_store_records_passes_both_checks(store, s3_client):
    stored = put(store, KEY, wav_bytes())
    assert stored["checksum_verified_by"] in PROOFS
    s3_client.delete_object(Bucket=store.bucket, Key=KEY)  # the checks do not read S3 again
    checked = verify_checksums([stored], bucket=store.bucket)
    assert (checked.checked, checked.problems, checked.passed) == (1, [], True)
    assert verify_containers([stored], bucket=store.bucket).passed


def test_only_rows_in_the_archive_are_checked():
    states = ("failed", "deleted", "quarantined")
    others = [row(state=s, storage_uri=None, checksum_verified_by=None) for s in states]
    assert verify_checksums([row(), *others], bucket=BUCKET).checked == 1
    assert verify_containers([row(state="already_archived"), *others], bucket=BUCKET).checked == 1
    for verify in (verify_checksums, verify_containers):  # a day with nothing in the archive (or nothing)
        assert [
            (v.checked, v.passed) for v in (verify(others, bucket=BUCKET), verify([], bucket=BUCKET))
        ] == [(0, True), (0, True)]


def test_each_checksum_problem_is_named():
    rows = [
        row(),
        row(recording_id="unproved", checksum_verified_by=None),
        row(recording_id="mismatch", checksum_verified_by="mismatch"),
        row(recording_id="sha", sha256=None),
        row(recording_id="short-sha", sha256="abc"),
        row(recording_id="size", size_bytes=None),
        row(recording_id="earlier", checksum_verified_by="earlier-run"),
    ]
    result = verify_checksums(rows, bucket=BUCKET)
    assert result.checked == 7 and not result.passed
    assert {(p["recording_id"], p["problem"]) for p in result.problems} == {
        ("unproved", "no proof of the stored bytes recorded (checksum_verified_by=None)"),
        ("mismatch", "no proof of the stored bytes recorded (checksum_verified_by='mismatch')"),
        ("sha", "no sha256 recorded (None)"),
        ("short-sha", "no sha256 recorded ('abc')"),
        ("size", "no size recorded (None)"),
    }
    assert {p["key"] for p in result.problems} == {KEY}


def test_an_object_outside_the_bucket_is_an_error():
    with pytest.raises(ValueError, match="is not in bucket"):
        verify_checksums([row(storage_uri=f"s3://elsewhere/{KEY}")], bucket=BUCKET)
    with pytest.raises(ValueError, match="is not in bucket"):
        verify_containers([row(storage_uri=None)], bucket=BUCKET)


def test_a_recorded_container_the_content_type_does_not_claim_fails():
    assert verify_containers([row(content_type="audio/ogg", container="ogg")], bucket=BUCKET).passed
    unclaimed = row(content_type="application/octet-stream", container="ogg")
    assert verify_containers([unclaimed], bucket=BUCKET).passed
    rows = [
        row(recording_id="ogg", container="ogg"),
        row(recording_id="none", container=None),
        row(recording_id="html", container="html"),
    ]
    problems = {p["recording_id"]: p["problem"] for p in verify_containers(rows, bucket=BUCKET).problems}
    assert problems == {
        "ogg": "bytes are ogg but content type 'audio/wav' claims wav",
        "none": "no media container sniffed (None)",
        "html": "no media container sniffed ('html')",
    }
