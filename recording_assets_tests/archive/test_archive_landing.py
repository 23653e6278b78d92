"""How a create-only write lands, counted request by request against moto (server mode).

No HEAD before the PUT (S3's 412 says the key is taken), no second read after it (S3's answer proves
it), parts in parallel within their bounds. Requests are counted and answers altered only through
botocore's public event hooks, never by patching our code.
"""

from __future__ import annotations

import threading
import time

import pytest

from recording_assets.archive import IntegrityError, ObjectExistsError
from recording_assets.archive.conditional import PROBE_PREFIX, honours_if_none_match
from recording_assets.archive.encryption import Encryption
from recording_assets_tests.archive.test_archive_store import (
    KEY,
    LARGE,
    SMALL,
    MiB,
    b64_sha256,
    composite_checksum,
    make_store,
    open_uploads,
    sha256_hex,
    spool_of,
)


@pytest.fixture
def bucket(bucket_names):
    return bucket_names[0]


def calls_of(s3_client) -> list[str]:
    """Every S3 operation the client makes from now on, in order."""
    calls: list[str] = []
    s3_client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


def answer(s3_client, operation: str, **fields) -> None:
    """Alter what S3 answered to ``operation`` (``None`` removes a field), as another store might say it."""

    def alter(parsed, **_):
        for name, value in fields.items():
            if value is None:
                parsed.pop(name, None)
            else:
                parsed[name] = value

    s3_client.meta.events.register(f"after-call.s3.{operation}", alter)


def put(store, data: bytes):
    with spool_of(data) as spool:
        return store.put_new(KEY, spool, content_type="audio/wav", metadata={})


# -- no HEAD before, no read after -----------------------------------------------------------------


def test_a_single_put_is_one_request_proved_by_its_answer(s3_client, bucket):
    store = make_store(s3_client, bucket)
    calls = calls_of(s3_client)
    stored = put(store, SMALL)
    assert calls == ["PutObject"]
    assert stored.checksum_verified_by == "s3-checksum" and stored.sha256_hex == sha256_hex(SMALL)


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["single", "multipart"])
def test_a_taken_key_is_refused_by_s3s_412_without_a_head_first(s3_client, bucket, data):
    store = make_store(s3_client, bucket)
    put(store, b"RIFF original")
    calls = calls_of(s3_client)
    with pytest.raises(ObjectExistsError) as raised:
        put(store, data)
    write = "PutObject" if data is SMALL else "CompleteMultipartUpload"
    # One HEAD, only after the 412, to name what is there; a refused multipart upload is aborted.
    assert calls.index("HeadObject") == calls.index(write) + 1 and calls.count("HeadObject") == 1
    assert raised.value.existing.recorded_sha256 == sha256_hex(b"RIFF original")
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"RIFF original"
    assert open_uploads(s3_client, bucket) == []


def test_a_store_that_ignores_if_none_match_heads_first(s3_client, bucket):
    store = make_store(s3_client, bucket, conditional_writes=False)
    put(store, b"RIFF original")
    calls = calls_of(s3_client)
    with pytest.raises(ObjectExistsError):
        put(store, SMALL)
    assert calls == ["HeadObject"]  # refused before a byte is sent


def test_a_multipart_answer_with_aws_composite_checksum_needs_no_head(s3_client, bucket):
    # AWS answers CompleteMultipartUpload with the composite "base64-N"; moto leaves it out (then a HEAD).
    answer(s3_client, "CompleteMultipartUpload", ChecksumSHA256=composite_checksum(LARGE, 5 * MiB))
    store = make_store(s3_client, bucket)
    calls = calls_of(s3_client)
    stored = put(store, LARGE)
    assert "HeadObject" not in calls and stored.checksum_verified_by == "s3-checksum"
    assert store.read_back_sha256(KEY) == sha256_hex(LARGE)


@pytest.mark.parametrize("missing", ["ChecksumSHA256", "ServerSideEncryption"])
def test_an_answer_that_does_not_say_is_proved_by_a_head(s3_client, bucket, missing):
    answer(s3_client, "PutObject", **{missing: None})
    store = make_store(s3_client, bucket)
    calls = calls_of(s3_client)
    assert put(store, SMALL).checksum_verified_by == "s3-checksum"
    assert calls == ["PutObject", "HeadObject"]


# -- an answer that does not prove the write --------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "data", "fields", "problem"),
    [
        ("PutObject", SMALL, {"ChecksumSHA256": b64_sha256(b"other")}, "S3 reports SHA-256 checksum"),
        ("PutObject", SMALL, {"ServerSideEncryption": "aws:kms"}, "encryption 'aws:kms', not 'AES256'"),
        ("CompleteMultipartUpload", LARGE, {"ChecksumSHA256": b64_sha256(b"other") + "-3"}, "S3 reports"),
        (
            "CompleteMultipartUpload",
            LARGE,
            {"ChecksumSHA256": composite_checksum(LARGE, 5 * MiB)[:-1] + "4"},
            "4 parts, 3 were uploaded",
        ),
    ],
    ids=["checksum", "other-encryption", "composite", "part-count"],
)
def test_an_answer_that_disagrees_removes_the_object(s3_client, bucket, operation, data, fields, problem):
    answer(s3_client, operation, **fields)
    store = make_store(s3_client, bucket)
    with pytest.raises(IntegrityError) as raised:
        put(store, data)
    assert problem in raised.value.detail and raised.value.cleaned_up is True
    assert store.head(KEY) is None and open_uploads(s3_client, bucket) == []


# -- parts in parallel -----------------------------------------------------------------------------


def peak_parts_in_flight(s3_client, hold_s: float = 0.3) -> dict:
    """Hold each UploadPart ``hold_s`` before sending it, and record how many were held at once."""
    seen = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def hold(**_):
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
        time.sleep(hold_s)
        with lock:
            seen["now"] -= 1

    s3_client.meta.events.register("before-send.s3.UploadPart", hold)
    return seen


DATA_5_PARTS = LARGE + LARGE[: 13 * MiB]  # 24 MiB: parts of 5 MiB x 4 + 4 MiB


def test_parts_go_up_in_parallel_four_at_a_time(s3_client, bucket):
    seen = peak_parts_in_flight(s3_client)
    store = make_store(s3_client, bucket)
    stored = put(store, DATA_5_PARTS)
    assert seen["peak"] == 4  # each part is held 0.3 s: one after another would never overlap
    assert stored.etag.endswith("-5") and store.read_back_sha256(KEY) == sha256_hex(DATA_5_PARTS)


def test_part_slots_bound_the_parts_in_memory_across_objects(s3_client, bucket):
    seen = peak_parts_in_flight(s3_client, hold_s=0.2)
    store = make_store(s3_client, bucket, part_slots=2)
    keys = [f"{KEY[:-4]}-{i}.wav" for i in range(3)]

    def upload(key: str) -> None:
        with spool_of(LARGE) as spool:
            store.put_new(key, spool, content_type="audio/wav", metadata={})

    threads = [threading.Thread(target=upload, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen["peak"] == 2
    assert all(store.read_back_sha256(key) == sha256_hex(LARGE) for key in keys)


def test_parts_in_flight_must_be_positive(s3_client, bucket):
    with pytest.raises(ValueError, match="parts in flight"):
        make_store(s3_client, bucket, parts_in_flight=0)


# -- does the store honour If-None-Match? -----------------------------------------------------------


def test_moto_honours_if_none_match_and_the_probe_leaves_nothing(s3_client, bucket):
    assert honours_if_none_match(s3_client, bucket, encryption=Encryption.aes256(), prefix="p/")
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=f"p/{PROBE_PREFIX}")


def test_a_store_that_ignores_if_none_match_is_found_out(s3_client, bucket):
    # As such a store behaves: the header is dropped before the request reaches it.
    def drop_condition(request, **_):
        request.headers.pop("If-None-Match", None)

    s3_client.meta.events.register("before-send.s3.PutObject", drop_condition)
    assert not honours_if_none_match(s3_client, bucket, encryption=Encryption.aes256())
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=PROBE_PREFIX)
