"""ArchiveStore against a real S3 protocol server (moto, server mode) over HTTP.

Faults are injected only where they happen in production: in the *input* (a reader that dies, a
spooled file whose bytes changed) or on the wire (a bit flipped in a request body after signing,
through botocore's public ``before-send`` event). S3 itself is never mocked.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import uuid

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from recording_assets.archive import (
    ArchiveStore,
    Encryption,
    IntegrityError,
    InvalidIdentifierError,
    MediaSpool,
    ObjectExistsError,
    StorageError,
)
from recording_assets_tests.conftest import S3_CREDENTIALS

MiB = 1024 * 1024
SMALL = os.urandom(300_000)
LARGE = os.urandom(12 * MiB)  # 3 parts at the 5 MiB minimum: 5 + 5 + 2
KEY = "recordings/year=2026/month=11/day=03/queue=none/conv-1/rec-1.wav"
USER_METADATA = {"conversation-id": "conv-1", "recording-id": "rec-1", "container": "wav"}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def composite_checksum(data: bytes, part_size: int) -> str:
    starts = range(0, len(data), part_size)
    digests = b"".join(hashlib.sha256(data[i : i + part_size]).digest() for i in starts)
    return f"{b64_sha256(digests)}-{-(-len(data) // part_size)}"


def spool_of(data: bytes, memory_limit: int = 4 * MiB) -> MediaSpool:
    spool = MediaSpool(memory_limit=memory_limit)
    for start in range(0, len(data), MiB):
        spool.write(data[start : start + MiB])
    return spool


def make_store(s3_client, bucket: str, **options) -> ArchiveStore:
    return ArchiveStore(s3_client, bucket=bucket, part_size=5 * MiB, multipart_threshold=5 * MiB, **options)


@pytest.fixture
def bucket(bucket_names):
    return bucket_names[0]


@pytest.fixture
def store(s3_client, bucket):
    return make_store(s3_client, bucket)


@pytest.fixture
def rival_client(s3_endpoint):
    """A second, independent client: another run writing to the same bucket."""
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard"}),
        **S3_CREDENTIALS,
    )


def open_uploads(s3_client, bucket: str) -> list[str]:
    return [upload["Key"] for upload in s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def flip_a_bit_on_the_wire(s3_client, operation: str, *, url_contains: str = "") -> list[str]:
    """Corrupt one request body after botocore computed its checksum headers, like a faulty NIC would."""
    flipped: list[str] = []

    def corrupt(request, **_):
        if flipped or url_contains not in request.url:
            return
        body = request.body.read() if hasattr(request.body, "read") else bytes(request.body)
        damaged = bytearray(body)
        damaged[len(damaged) // 2] ^= 0x01
        request.body = io.BytesIO(bytes(damaged))
        flipped.append(request.url)

    s3_client.meta.events.register(f"before-send.s3.{operation}", corrupt)
    return flipped


class _BadDigest:
    def stream(self, **_):
        yield b"<Error><Code>BadDigest</Code><Message>The SHA256 you specified did not match</Message></Error>"


def s3_checks_declared_checksums(s3_client, operation: str) -> list[str]:
    """Answer as AWS does when a body does not hash to its declared ``x-amz-checksum-sha256`` (400
    BadDigest); moto stores such bytes without checking, so the check is made on the client side."""
    refused: list[str] = []

    def check(request, **_):
        body = request.body.read() if hasattr(request.body, "read") else bytes(request.body or b"")
        if hasattr(request.body, "seek"):
            request.body.seek(0)
        declared = request.headers.get("x-amz-checksum-sha256")
        if isinstance(declared, bytes):  # prepared headers hold bytes: compared as str, any body was refused
            declared = declared.decode()
        if declared is not None and declared != b64_sha256(body):
            refused.append(request.url)
            return AWSResponse(request.url, 400, {}, _BadDigest())
        return None

    s3_client.meta.events.register(f"before-send.s3.{operation}", check)
    return refused


# -- happy paths ---------------------------------------------------------------------------------------


def test_single_put_is_encrypted_checksummed_and_verified(store, s3_client, bucket):
    with spool_of(SMALL) as spool:
        stored = store.put_new(KEY, spool, content_type="audio/wav", metadata=USER_METADATA)
    assert (stored.bucket, stored.key) == (bucket, KEY)
    assert (stored.size, stored.sha256_hex) == (len(SMALL), sha256_hex(SMALL))
    assert stored.checksum_verified_by == "s3-checksum"
    assert stored.etag and "-" not in stored.etag

    info = store.head(KEY)
    assert info.server_side_encryption == "AES256"
    assert info.checksum_sha256 == b64_sha256(SMALL)
    assert info.content_type == "audio/wav"
    token = info.metadata.get("write-token", "")
    assert len(token) == 32 and int(token, 16) >= 0  # a fresh uuid4 per write (proves whose write it is)
    assert info.metadata == {
        **USER_METADATA,
        "sha256": sha256_hex(SMALL),
        "size": str(len(SMALL)),
        "write-token": token,
    }
    assert info.recorded_sha256 == sha256_hex(SMALL)
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == SMALL
    assert store.read_back_sha256(KEY) == sha256_hex(SMALL)


def test_multipart_put_checks_the_composite_checksum(store, s3_client, bucket):
    with spool_of(LARGE) as spool:
        stored = store.put_new(KEY, spool, content_type="audio/wav", metadata=USER_METADATA)
    assert stored.checksum_verified_by == "s3-checksum"
    assert stored.etag.endswith("-3")
    info = store.head(KEY)
    # Reported the AWS way (base64-N) even though moto's HEAD leaves out "-N".
    assert info.checksum_sha256 == composite_checksum(LARGE, 5 * MiB)
    assert (info.size, info.server_side_encryption) == (len(LARGE), "AES256")
    assert info.metadata["sha256"] == sha256_hex(LARGE)
    assert store.read_back_sha256(KEY) == sha256_hex(LARGE)
    assert open_uploads(s3_client, bucket) == []


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["single", "multipart"])
def test_kms_encryption_is_requested_and_confirmed(s3_client, bucket, data):
    store = make_store(s3_client, bucket, encryption=Encryption.kms("alias/recordings"))
    with spool_of(data) as spool:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    info = store.head(KEY)
    assert (info.server_side_encryption, info.kms_key_id) == ("aws:kms", "alias/recordings")


def test_verify_by_read_back_hashes_the_stored_bytes(s3_client, bucket):
    store = make_store(s3_client, bucket, verify_by_read_back=True)
    with spool_of(LARGE) as spool:
        stored = store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert stored.checksum_verified_by == "read-back"


def test_caller_may_repeat_the_sha256_only_if_it_agrees(store):
    with spool_of(SMALL) as spool:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={"sha256": sha256_hex(SMALL)})
        with pytest.raises(InvalidIdentifierError, match="contradicts"):
            store.put_new("other", spool, content_type="audio/wav", metadata={"sha256": "0" * 64})


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"ConversationId": "c"}, "metadata key"),
        ({"agent": "Zoë"}, "metadata['agent']"),
        ({"note": "line\nbreak"}, "metadata['note']"),
        ({"blob": "x" * 3000}, "metadata"),
    ],
)
def test_unusable_metadata_is_refused_before_any_upload(store, s3_client, bucket, metadata, field):
    with spool_of(SMALL) as spool, pytest.raises(InvalidIdentifierError) as raised:
        store.put_new(KEY, spool, content_type="audio/wav", metadata=metadata)
    assert raised.value.field == field
    assert store.head(KEY) is None


# -- create-only ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["single", "multipart"])
def test_existing_key_is_never_overwritten(store, s3_client, bucket, data):
    original = b"RIFF original bytes"
    with spool_of(original) as spool:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    with spool_of(data) as spool, pytest.raises(ObjectExistsError) as raised:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert raised.value.existing.recorded_sha256 == sha256_hex(original)
    assert KEY in str(raised.value)
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == original
    assert open_uploads(s3_client, bucket) == []


@pytest.mark.parametrize(
    ("data", "operation"),
    [(SMALL, "PutObject"), (LARGE, "CompleteMultipartUpload")],
    ids=["single", "multipart"],
)
def test_a_rival_writing_after_our_head_is_stopped_by_if_none_match(
    store, s3_client, rival_client, bucket, data, operation
):
    """The HEAD-before sees nothing; the rival lands first; S3's If-None-Match must refuse ours."""

    def rival_lands_first(**_):
        if store.head(KEY) is None:
            rival_client.put_object(
                Bucket=bucket, Key=KEY, Body=b"rival", Metadata={"sha256": sha256_hex(b"rival")}
            )

    s3_client.meta.events.register(f"before-call.s3.{operation}", rival_lands_first)
    with spool_of(data) as spool, pytest.raises(ObjectExistsError) as raised:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert raised.value.existing.recorded_sha256 == sha256_hex(b"rival")
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"rival"
    assert open_uploads(s3_client, bucket) == []


# -- nothing partial, nothing corrupt -------------------------------------------------------------------


class _ReaderThatDies(io.RawIOBase):
    def __init__(self, data: bytes, *, fail_after: int) -> None:
        self._data, self._fail_after, self._position = data, fail_after, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # a spool's reader is a file: parts are read back from it by position
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = offset + (self._position if whence == io.SEEK_CUR else 0)
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self._position >= self._fail_after:
            raise OSError("spool disk went away")
        end = min(self._fail_after, len(self._data) if size < 0 else self._position + size)
        chunk = self._data[self._position : end]
        self._position = end
        return chunk


class _SourceThatDies:
    """Input double: a spool whose reader fails after ``fail_after`` bytes (after part 1 is uploaded)."""

    def __init__(self, data: bytes, *, fail_after: int) -> None:
        self._data, self._fail_after = data, fail_after
        self.size, self.sha256_hex = len(data), sha256_hex(data)

    def reader(self) -> _ReaderThatDies:
        return _ReaderThatDies(self._data, fail_after=self._fail_after)


def test_failure_mid_multipart_leaves_no_object_and_no_upload(store, s3_client, bucket):
    with pytest.raises(OSError, match="went away"):
        store.put_new(KEY, _SourceThatDies(LARGE, fail_after=7 * MiB), content_type="audio/wav", metadata={})
    assert store.head(KEY) is None
    assert open_uploads(s3_client, bucket) == []


@pytest.mark.parametrize(
    ("data", "caught_by"),
    [(SMALL, "after their checksum was taken"), (LARGE, "recorded while downloading")],
    ids=["single", "multipart"],
)
def test_bit_flip_in_the_spool_after_hashing_is_caught_before_anything_is_visible(
    store, s3_client, bucket, data, caught_by
):
    # A single PUT is not hashed again locally: it declares the download-time SHA-256 and S3 refuses
    # bytes that do not match it. A multipart upload re-hashes its parts and refuses before completing.
    refused = s3_checks_declared_checksums(s3_client, "PutObject")
    # On disk: in memory the spool keeps the very bytes objects it hashed, which cannot change.
    with spool_of(data, memory_limit=0) as spool:
        spooled = spool.reader()  # the spooled copy rots on disk after the download was hashed
        spooled.seek(len(data) - 10)
        spooled.write(bytes([spooled.read(1)[0] ^ 0x01]))
        with pytest.raises(IntegrityError) as raised:
            store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert raised.value.cleaned_up is True
    assert caught_by in str(raised.value)
    assert len(refused) == (1 if data is SMALL else 0)
    assert store.head(KEY) is None
    assert open_uploads(s3_client, bucket) == []


def declared_part_checksums(s3_client) -> dict[int, str]:
    """The ``x-amz-checksum-sha256`` each UploadPart request declared, by part number."""
    declared: dict[int, str] = {}

    def note(request, **_):
        number = int(request.url.split("partNumber=")[1].split("&")[0])
        value = request.headers["x-amz-checksum-sha256"]
        declared[number] = value.decode() if isinstance(value, bytes) else value

    s3_client.meta.events.register("before-send.s3.UploadPart", note)
    return declared


def test_parts_declare_the_hashes_the_spool_took_while_downloading(store, s3_client, bucket):
    declared = declared_part_checksums(s3_client)
    with MediaSpool(memory_limit=4 * MiB, part_size=5 * MiB) as spool:
        for start in range(0, len(LARGE), 3 * MiB):  # chunks that straddle the part boundaries
            spool.write(LARGE[start : start + 3 * MiB])
        store.put_new(KEY, spool, content_type="audio/wav", metadata=USER_METADATA)
    parts = [LARGE[i : i + 5 * MiB] for i in range(0, len(LARGE), 5 * MiB)]
    assert declared == {n: b64_sha256(part) for n, part in enumerate(parts, start=1)}
    assert store.head(KEY).checksum_sha256 == composite_checksum(LARGE, 5 * MiB)
    assert store.read_back_sha256(KEY) == sha256_hex(LARGE)


def test_a_part_that_changed_since_the_download_is_refused_by_s3_and_nothing_is_visible(
    store, s3_client, bucket
):
    # The parts declare the hashes taken while downloading, so S3 refuses a part whose bytes rotted on disk.
    refused = s3_checks_declared_checksums(s3_client, "UploadPart")
    with MediaSpool(memory_limit=0, part_size=5 * MiB) as spool:
        spool.write(LARGE)
        spooled = spool.reader()
        spooled.seek(len(LARGE) - 10)  # in the last part: parts 1 and 2 go up before it fails
        spooled.write(bytes([spooled.read(1)[0] ^ 0x01]))
        with pytest.raises(IntegrityError) as raised:
            store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert len(refused) == 1 and "partNumber=3" in refused[0]
    assert raised.value.cleaned_up is True
    assert store.head(KEY) is None
    assert open_uploads(s3_client, bucket) == []


def test_bit_flip_on_the_wire_in_a_part_is_caught_and_the_object_removed(s3_client, bucket_names):
    # Versioned, so "removed" must mean the version itself, not a delete marker hiding it.
    bucket = f"versioned-{uuid.uuid4().hex[:10]}"
    s3_client.create_bucket(Bucket=bucket)
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store = make_store(s3_client, bucket)
    flipped = flip_a_bit_on_the_wire(s3_client, "UploadPart", url_contains="partNumber=2")
    with spool_of(LARGE) as spool, pytest.raises(IntegrityError) as raised:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert flipped, "the fault was not injected"
    # AWS would refuse the part (BadDigest); moto accepts it, so the post-upload HEAD must catch it.
    assert "checksum" in raised.value.detail and raised.value.cleaned_up is True
    assert store.head(KEY) is None
    versions = s3_client.list_object_versions(Bucket=bucket, Prefix=KEY)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []


def test_bit_flip_on_the_wire_in_a_single_put_is_caught_by_read_back(s3_client, bucket):
    # moto stores a single PUT's declared checksum without checking it, so only reading back proves it.
    store = make_store(s3_client, bucket, verify_by_read_back=True)
    flipped = flip_a_bit_on_the_wire(s3_client, "PutObject")
    with spool_of(SMALL) as spool, pytest.raises(IntegrityError) as raised:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert flipped and raised.value.cleaned_up is True
    assert store.head(KEY) is None


# -- housekeeping and reads ------------------------------------------------------------------------------


def test_abort_stale_uploads_only_under_the_prefix(store, s3_client, bucket):
    day = "recordings/year=2026/month=11/day=03/"
    for key in (f"{day}a/1.wav", f"{day}b/2.wav", "recordings/year=2026/month=11/day=04/c/3.wav"):
        s3_client.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    assert store.abort_stale_uploads(day) == 2
    assert open_uploads(s3_client, bucket) == ["recordings/year=2026/month=11/day=04/c/3.wav"]
    assert store.abort_stale_uploads(day) == 0


def test_list_day_follows_every_page(store, s3_client, bucket):
    day = "recordings/year=2026/month=11/day=03/"
    keys = [f"{day}queue=none/c/r{i}.wav" for i in range(5)]
    for key in keys:
        store.put_bytes(key, key.encode(), content_type="audio/wav", overwrite=False)
    next_day = "recordings/year=2026/month=11/day=04/x.wav"
    store.put_bytes(next_day, b"x", content_type="audio/wav", overwrite=False)
    listed = list(store.list_day(day, page_size=2))
    assert [item.key for item in listed] == keys
    assert listed[0].size == len(keys[0]) and listed[0].etag and listed[0].last_modified


def test_delete_removes_only_its_key_and_an_absent_key_is_no_error(store, s3_client, bucket):
    for key in ("outbox/a.json", "outbox/b.json"):
        store.put_bytes(key, b"{}", content_type="application/json", overwrite=False)
    store.delete("outbox/a.json")
    store.delete("outbox/a.json")  # already gone: a delete repeated after a lost answer
    assert [item.key for item in store.list_day("outbox/")] == ["outbox/b.json"]
    with pytest.raises(StorageError):
        make_store(s3_client, "no-such-bucket-for-delete").delete("outbox/b.json")


def test_put_bytes_create_only_or_overwrite(s3_client, bucket_names):
    store = make_store(s3_client, bucket_names[1])
    key = "manifests/date=2026-11-03/manifest.parquet"
    parquet = "application/vnd.apache.parquet"
    first = store.put_bytes(key, b"PAR1 first", content_type=parquet, overwrite=False)
    assert first.checksum_verified_by == "s3-checksum"
    with pytest.raises(ObjectExistsError):
        store.put_bytes(key, b"PAR1 second", content_type=parquet, overwrite=False)
    assert store.get_bytes(key) == b"PAR1 first"
    store.put_bytes(key, b"PAR1 second", content_type=parquet, overwrite=True)
    assert store.get_bytes(key) == b"PAR1 second"
    info = store.head(key)
    assert (info.server_side_encryption, info.checksum_sha256) == ("AES256", b64_sha256(b"PAR1 second"))
    assert store.get_bytes("manifests/date=2026-11-04/manifest.parquet") is None


def test_get_bytes_refuses_bytes_that_do_not_match_their_recorded_sha256(store, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="doc.json", Body=b"{}", Metadata={"sha256": sha256_hex(b"[]")})
    with pytest.raises(IntegrityError) as raised:
        store.get_bytes("doc.json")
    assert raised.value.cleaned_up is None and "not modified" in str(raised.value)


def test_read_back_reports_a_stored_checksum_that_disagrees_with_the_bytes(store, s3_client, bucket):
    s3_client.put_object(
        Bucket=bucket, Key="bad", Body=b"abc", ChecksumAlgorithm="SHA256", ChecksumSHA256=b64_sha256(b"abd")
    )
    with pytest.raises(IntegrityError, match="stored checksum"):
        store.read_back_sha256("bad")


def test_read_prefix(store):
    store.put_bytes("a", SMALL, content_type="audio/wav", overwrite=False)
    store.put_bytes("empty", b"", content_type="audio/wav", overwrite=False)
    assert store.read_prefix("a", 64) == SMALL[:64]
    assert store.read_prefix("empty", 64) == b""


def test_read_back_sample_hashes_and_keeps_the_leading_bytes_in_one_read(store):
    store.put_bytes("a", SMALL, content_type="audio/wav", overwrite=False)
    store.put_bytes("empty", b"", content_type="audio/wav", overwrite=False)
    assert store.read_back_sample("a", 64) == (hashlib.sha256(SMALL).hexdigest(), SMALL[:64])
    assert store.read_back_sample("empty", 64) == (hashlib.sha256(b"").hexdigest(), b"")


def test_head_of_a_missing_key_is_none(store):
    assert store.head("nothing/here") is None


def test_storage_errors_name_the_key_and_never_the_credentials(s3_client):
    store = make_store(s3_client, "no-such-bucket-here")
    with pytest.raises(StorageError) as raised:
        store.put_bytes("k", b"data", content_type="text/plain", overwrite=True)
    message = str(raised.value)
    assert "s3://no-such-bucket-here/k" in message and "NoSuchBucket" in message
    assert S3_CREDENTIALS["aws_secret_access_key"] not in message.replace("no-such", "")


def test_encryption_settings():
    assert Encryption.aes256().request_args() == {"ServerSideEncryption": "AES256"}
    assert Encryption.kms("k1").request_args() == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k1"}
    with pytest.raises(ValueError):
        Encryption("aws:kms")
    with pytest.raises(ValueError):
        Encryption("AES256", "k1")


@pytest.mark.parametrize("options", [{"part_size": 4 * MiB}, {"multipart_threshold": 0}])
def test_store_limits_are_checked(s3_client, options):
    with pytest.raises(ValueError):
        ArchiveStore(s3_client, bucket="b", **options)


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_):
        yield self._data


def test_a_part_that_fails_transiently_is_resent_whole_by_botocore(store, s3_client, bucket):
    """The first attempt of part 2 meets a 503 (as from an S3 front end); the retry reaches moto."""
    attempts: list[int] = []

    def unavailable_once(request, **_):
        if "partNumber=2" not in request.url:
            return None
        body = request.body.read() if hasattr(request.body, "read") else bytes(request.body)
        request.body.seek(0)
        attempts.append(len(body))
        if len(attempts) == 1:
            error = b"<Error><Code>ServiceUnavailable</Code><Message>Slow down</Message></Error>"
            return AWSResponse(request.url, 503, {}, _RawBody(error))
        return None

    s3_client.meta.events.register("before-send.s3.UploadPart", unavailable_once)
    with spool_of(LARGE) as spool:
        stored = store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert attempts == [5 * MiB, 5 * MiB]
    assert stored.checksum_verified_by == "s3-checksum"
    assert store.read_back_sha256(KEY) == sha256_hex(LARGE)
