"""Re-verification reads S3 itself (moto): every archived object's HEAD, checksum and first bytes."""

from __future__ import annotations

import hashlib

import pytest

from recording_assets.archive.spool import MediaSpool
from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.verify import HEAD_BYTES, verify_checksums, verify_containers
from recording_assets_tests.archive.test_archive_sniff import wav_bytes

KEY = "recordings/year=2026/month=11/day=20/queue=q1/c1/r1.wav"


@pytest.fixture
def store(s3_client, bucket_names):
    return ArchiveStore(s3_client, bucket=bucket_names[0])


def put(store, key: str, data: bytes, content_type: str = "audio/wav") -> dict:
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
        "storage_uri": f"s3://{store.bucket}/{key}",
    }


def test_a_good_object_passes_both_checks(store):
    row = put(store, KEY, wav_bytes())
    assert row["sha256"] == hashlib.sha256(wav_bytes()).hexdigest()
    checked = verify_checksums(store, [row])
    assert (checked.checked, checked.problems, checked.passed) == (1, [], True)
    assert verify_checksums(store, [row], read_back=True).passed
    assert verify_containers(store, [row]).passed


def test_only_rows_in_the_archive_are_checked(store):
    row = put(store, KEY, wav_bytes())
    others = [{**row, "state": s, "storage_uri": None} for s in ("failed", "deleted", "quarantined")]
    assert verify_checksums(store, [row, *others]).checked == 1
    assert verify_containers(store, [{**row, "state": "already_archived"}, *others]).checked == 1


def test_each_checksum_problem_is_named(store):
    row = put(store, KEY, wav_bytes())
    missing = {**row, "recording_id": "gone", "storage_uri": f"s3://{store.bucket}/{KEY[:-6]}gone.wav"}
    wrong_sha = {**row, "recording_id": "sha", "sha256": "0" * 64}
    wrong_size = {**row, "recording_id": "size", "size_bytes": row["size_bytes"] + 1}
    result = verify_checksums(store, [row, missing, wrong_sha, wrong_size])
    assert result.checked == 4 and not result.passed
    assert {(p["recording_id"], p["problem"]) for p in result.problems} == {
        ("gone", "object missing"),
        ("sha", "sha256 metadata differs"),
        ("size", f"size {row['size_bytes']} != {row['size_bytes'] + 1}"),
    }


def test_an_unencrypted_object_fails(store, s3_client):
    data = wav_bytes()
    key = KEY.replace("r1", "plain")
    sha = hashlib.sha256(data).hexdigest()
    s3_client.put_object(Bucket=store.bucket, Key=key, Body=data, Metadata={"sha256": sha})
    row = {"recording_id": "plain", "state": "archived", "sha256": sha, "size_bytes": len(data),
           "content_type": "audio/wav", "storage_uri": f"s3://{store.bucket}/{key}"}  # fmt: skip
    assert verify_checksums(store, [row]).problems == [
        {"recording_id": "plain", "problem": "not encrypted at rest", "key": key}
    ]


def test_an_object_outside_the_bucket_is_an_error(store):
    row = put(store, KEY, wav_bytes())
    with pytest.raises(ValueError, match="is not in bucket"):
        verify_checksums(store, [{**row, "storage_uri": f"s3://elsewhere/{KEY}"}])


def test_bytes_that_are_not_the_claimed_container_fail(store):
    ogg = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead" + b"\x00" * 40
    row = put(store, KEY.replace(".wav", ".ogg"), ogg, content_type="audio/ogg")
    assert verify_containers(store, [row]).passed
    claimed_wav = {**row, "content_type": "audio/wav"}
    (problem,) = verify_containers(store, [claimed_wav]).problems
    assert problem["problem"] == "bytes are ogg but content type 'audio/wav' claims wav"
    assert HEAD_BYTES == 64
