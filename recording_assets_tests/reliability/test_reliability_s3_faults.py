"""ArchiveStore under S3 faults injected on the wire (FaultProxy between boto3 and moto).

Each test scripts a fault — S3 500s, a TCP reset mid-body, a lost response, the endpoint going down, a
late answer — and proves two things: what the store did (attempts, aborts, counted by the proxy), and that
the archive is never left holding a partial or unverified object. After every test a direct, un-proxied
client re-reads every object under the prefix: SSE set, bytes hashing to the recorded ``sha256``, and no
multipart upload left open.

botocore's client-config ``max_attempts`` counts *retries*: ``{"max_attempts": 5}`` means 6 attempts.
"""

from __future__ import annotations

import hashlib
import os
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError
from urllib3.exceptions import ProtocolError

from recording_assets.archive import (
    ArchiveError,
    ArchiveStore,
    IntegrityError,
    MediaSpool,
    ObjectExistsError,
    StorageError,
)
from recording_assets.archive.spool import ChunkReader
from recording_assets_tests.conftest import S3_CREDENTIALS
from recording_assets_tests.reliability.faultproxy import FaultProxy

MiB = 1024 * 1024
SMALL = os.urandom(300_000)  # one PutObject
LARGE = os.urandom(12 * MiB)  # multipart: parts of 5 + 5 + 2 MiB
PREFIX = "recordings/year=2026/month=11/day=03/queue=none/"
KEY = f"{PREFIX}conv-1/rec-1.wav"
RETRIES = 5
ATTEMPTS = RETRIES + 1
IMPATIENT = 0.5  # read timeout (s) of the clients that meet LATENCY
LATENCY = 1.0


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spool_of(data: bytes) -> MediaSpool:
    spool = MediaSpool(memory_limit=4 * MiB)
    spool.write(data)
    return spool


def part(number: int):
    """Match (a request or a recorded exchange) for UploadPart of part ``number``."""
    return lambda r: (
        r.operation == "UploadPart" and parse_qs(urlsplit(r.target).query)["partNumber"] == [str(number)]
    )


def statuses(proxy: FaultProxy, operation: str) -> list[int | None]:
    return [seen.status for seen in proxy.exchanges if seen.operation == operation]


def open_uploads(s3_client, bucket: str) -> list[str]:
    return [upload["Key"] for upload in s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def assert_no_credentials(error: BaseException) -> None:
    text = f"{error} {error!r}"
    for secret in S3_CREDENTIALS.values():
        assert secret not in text
    assert "Credential=" not in text and "Signature=" not in text


def assert_a_storage_error_without_the_endpoint(error: BaseException, proxy: FaultProxy) -> None:
    """Connection failures come out as ``StorageError`` naming what happened, never the endpoint URL."""
    assert isinstance(error, StorageError)
    assert_no_credentials(error)
    assert proxy.endpoint not in f"{error} {error!r}"
    assert "no valid response from S3" in str(error)


class _PreconditionFailed:
    """The raw body of S3's 412, for a ``before-send`` handler to answer with."""

    def stream(self, **_):
        yield (
            b"<Error><Code>PreconditionFailed</Code>"
            b"<Message>At least one of the pre-conditions you specified did not hold</Message></Error>"
        )


def proxied_client(proxy: FaultProxy, *, read_timeout: float = 2.0, retries: int = RETRIES):
    return boto3.client(
        "s3",
        endpoint_url=proxy.endpoint,
        region_name="us-east-1",
        config=Config(
            retries={"mode": "standard", "max_attempts": retries},
            connect_timeout=1,
            read_timeout=read_timeout,
        ),
        **S3_CREDENTIALS,
    )


def store_through(client, bucket: str) -> ArchiveStore:
    return ArchiveStore(client, bucket=bucket, part_size=5 * MiB, multipart_threshold=5 * MiB)


@pytest.fixture
def bucket(bucket_names):
    return bucket_names[0]


@pytest.fixture
def proxy(s3_endpoint):
    with FaultProxy.in_front_of(s3_endpoint) as proxy:
        yield proxy


@pytest.fixture
def client(proxy):
    return proxied_client(proxy)


@pytest.fixture
def store(client, bucket):
    return store_through(client, bucket)


@pytest.fixture(autouse=True)
def every_object_is_whole_encrypted_and_checksummed(s3_client, bucket):
    yield
    for item in s3_client.list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", []):
        got = s3_client.get_object(Bucket=bucket, Key=item["Key"])
        data = got["Body"].read()
        assert got.get("ServerSideEncryption") == "AES256", item["Key"]
        assert got["Metadata"].get("sha256") == sha256_hex(data), item["Key"]
        assert got["Metadata"].get("size") == str(len(data)), item["Key"]
    assert open_uploads(s3_client, bucket) == []


def put(store: ArchiveStore, key: str, data: bytes):
    with spool_of(data) as spool:
        return store.put_new(key, spool, content_type="audio/wav", metadata={})


# -- 1, 2: S3 answers 500 ---------------------------------------------------------------------------


def test_put_object_500s_are_retried_and_the_object_lands_verified(store, proxy):
    proxy.http_500(count=3, match="PutObject")
    stored = put(store, KEY, SMALL)
    assert stored.sha256_hex == sha256_hex(SMALL) and stored.checksum_verified_by == "s3-checksum"
    assert statuses(proxy, "PutObject") == [500, 500, 500, 200]
    assert proxy.count(fault="http_500") == 3


def test_upload_part_500s_are_retried_and_the_object_lands_verified(store, proxy, s3_client, bucket):
    proxy.http_500(count=3, match=part(2))
    stored = put(store, KEY, LARGE)
    assert stored.checksum_verified_by == "s3-checksum"
    assert proxy.count("UploadPart", where=part(2)) == 4 and proxy.count("UploadPart") == 6
    assert proxy.count("CompleteMultipartUpload") == 1 and proxy.count("AbortMultipartUpload") == 0
    assert s3_client.head_object(Bucket=bucket, Key=KEY)["ContentLength"] == len(LARGE)


def test_upload_part_500s_outlasting_the_retries_abort_the_upload(store, proxy, s3_client, bucket):
    proxy.http_500(count=ATTEMPTS, match=part(2))
    with pytest.raises(StorageError) as raised:
        put(store, KEY, LARGE)
    assert (raised.value.operation, raised.value.code) == ("UploadPart", "InternalError")
    assert_no_credentials(raised.value)
    assert proxy.count("UploadPart", where=part(2)) == ATTEMPTS
    assert proxy.count("CompleteMultipartUpload") == 0
    assert statuses(proxy, "AbortMultipartUpload") == [204]
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=KEY)
    assert open_uploads(s3_client, bucket) == []


# -- 3: connection reset mid-upload -----------------------------------------------------------------

RESET_CASES = {
    # name: (data, bytes_n, match, the operation whose attempts are counted)
    "single-put": (SMALL, 100_000, "PutObject", "PutObject"),
    "multipart-part": (LARGE, MiB, part(2), "UploadPart"),
}


@pytest.mark.parametrize("case", RESET_CASES)
def test_a_reset_mid_body_is_retried_and_the_object_lands_whole(store, proxy, s3_client, bucket, case):
    data, bytes_n, match, operation = RESET_CASES[case]
    proxy.reset_after(bytes_n, count=2, match=match)
    stored = put(store, KEY, data)
    assert stored.sha256_hex == sha256_hex(data)
    assert proxy.count(operation, fault="reset", where=match if callable(match) else None) == 2
    assert proxy.count(operation, fault="none", where=match if callable(match) else None) == 1
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == data


def test_a_reset_mid_body_of_a_put_sent_chunk_by_chunk_is_retried_whole(store, proxy, s3_client, bucket):
    """An in-memory recording above 1 MiB goes up as the chunks it arrived in (``ChunkReader``): a retry
    rewinds them and sends every byte again."""
    data = os.urandom(2 * MiB)
    proxy.reset_after(MiB, count=2, match="PutObject")
    with MediaSpool(memory_limit=4 * MiB) as spool:
        for start in range(0, len(data), 64 * 1024):
            spool.write(data[start : start + 64 * 1024])
        assert isinstance(spool.body(), ChunkReader)
        stored = store.put_new(KEY, spool, content_type="audio/wav", metadata={})
    assert stored.sha256_hex == sha256_hex(data) and stored.checksum_verified_by == "s3-checksum"
    assert proxy.count("PutObject", fault="reset") == 2 and proxy.count("PutObject", fault="none") == 1
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == data


@pytest.mark.parametrize("case", RESET_CASES)
def test_a_reset_on_every_attempt_fails_and_leaves_nothing(store, proxy, s3_client, bucket, case):
    data, bytes_n, match, operation = RESET_CASES[case]
    proxy.reset_after(bytes_n, count=ATTEMPTS, match=match)
    with pytest.raises(StorageError) as raised:
        put(store, KEY, data)
    assert_a_storage_error_without_the_endpoint(raised.value, proxy)
    assert raised.value.operation == operation
    assert proxy.count(operation, fault="reset") == ATTEMPTS
    assert proxy.count("AbortMultipartUpload") == (1 if operation == "UploadPart" else 0)
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=KEY)
    assert open_uploads(s3_client, bucket) == []


def test_a_lost_complete_response_is_retried_and_the_object_verified(store, proxy):
    # Whole request through, response reset: S3 completed the upload but we never heard. moto answers the
    # retried Complete with 200; AWS applies If-None-Match to Complete too (see the next test).
    proxy.reset_after(10**9, count=1, match="CompleteMultipartUpload")
    stored = put(store, KEY, LARGE)
    assert stored.checksum_verified_by == "s3-checksum"
    assert statuses(proxy, "CompleteMultipartUpload") == [None, 200]


def test_a_lost_complete_response_whose_retry_gets_412_is_recognised_as_ours(store, proxy, client):
    # As AWS answers: the retried Complete meets the object the first one made and fails If-None-Match.
    # moto would answer 200, so the retry is answered 412 on the client side, before it is sent.
    proxy.reset_after(10**9, count=1, match="CompleteMultipartUpload")
    completes = []

    def precondition_failed_on_retry(request, **_):
        completes.append(request.url)
        if len(completes) > 1:
            return AWSResponse(request.url, 412, {}, _PreconditionFailed())
        return None

    client.meta.events.register("before-send.s3.CompleteMultipartUpload", precondition_failed_on_retry)
    stored = put(store, KEY, LARGE)
    assert stored.checksum_verified_by == "s3-checksum"  # the composite checksum, proved by the HEAD
    assert len(completes) == 2 and statuses(proxy, "CompleteMultipartUpload") == [None]
    assert proxy.count("AbortMultipartUpload") == 0


@pytest.mark.parametrize("fault", ["reset", "slow"])
def test_a_create_only_put_whose_response_was_lost_is_recognised_as_ours(proxy, bucket, fault):
    # The PUT landed, its response was lost (reset, or later than the read timeout); botocore's retry
    # meets our own If-None-Match and gets 412. Same size and recorded sha256: ours, so verify it.
    store = store_through(proxied_client(proxy, read_timeout=IMPATIENT), bucket)
    if fault == "reset":
        proxy.reset_after(10**9, count=1, match="PutObject")
    else:
        proxy.slow(LATENCY, count=1, match="PutObject")
    stored = put(store, KEY, SMALL)
    assert stored.sha256_hex == sha256_hex(SMALL) and stored.checksum_verified_by == "s3-checksum"
    assert statuses(proxy, "PutObject") == [None if fault == "reset" else 200, 412]


def test_a_412_on_a_retry_over_someone_elses_object_is_still_theirs(store, proxy, client, s3_client, bucket):
    # Our first attempt got a 500 (nothing landed); a rival wrote before botocore's retry, which gets 412.
    # A 412 on a retry is ours only if the bytes are: here they are not.
    proxy.http_500(count=1, match="PutObject")

    def rival_lands_before_the_retry(**_):
        if proxy.count("PutObject") == 1:
            s3_client.put_object(
                Bucket=bucket,
                Key=KEY,
                Body=b"rival",
                ServerSideEncryption="AES256",
                Metadata={"sha256": sha256_hex(b"rival"), "size": "5"},
            )

    client.meta.events.register("before-send.s3.PutObject", rival_lands_before_the_retry)
    with pytest.raises(ObjectExistsError) as raised:
        put(store, KEY, SMALL)
    assert statuses(proxy, "PutObject") == [500, 412]
    assert raised.value.existing.recorded_sha256 == sha256_hex(b"rival")
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"rival"


def test_every_put_answer_lost_says_the_object_may_exist_unverified(proxy, bucket, s3_client):
    # The first PUT lands late, the retry meets it (412) but is late too: we never hear either answer.
    store = store_through(proxied_client(proxy, read_timeout=IMPATIENT, retries=1), bucket)
    proxy.slow(LATENCY, match="PutObject")
    with pytest.raises(StorageError) as raised:
        put(store, KEY, SMALL)
    assert (raised.value.operation, raised.value.code) == ("PutObject", "ReadTimeoutError")
    assert_a_storage_error_without_the_endpoint(raised.value, proxy)
    assert "may have landed" in str(raised.value) and "read_back_sha256" in str(raised.value)
    assert statuses(proxy, "PutObject") == [200, 412]
    # It did land, whole; the error told the caller how to check it.
    proxy.slow(0)
    assert store.read_back_sha256(KEY) == sha256_hex(SMALL)


# -- 4: endpoint down mid-run -----------------------------------------------------------------------


def test_endpoint_down_mid_run_fails_the_rest_cleanly_and_they_land_once_it_is_back(
    store, proxy, s3_client, bucket
):
    payloads = {f"{PREFIX}conv-{i}/rec-{i}.wav": os.urandom(50_000 + i) for i in range(6)}
    keys = list(payloads)
    for key in keys[:3]:
        put(store, key, payloads[key])

    proxy.down()
    for key in keys[3:5]:
        with pytest.raises(StorageError) as raised:
            put(store, key, payloads[key])
        assert_a_storage_error_without_the_endpoint(raised.value, proxy)
        assert (raised.value.operation, raised.value.code) == ("PutObject", "ConnectionClosedError")
    # No HEAD before a create-only PUT (If-None-Match guards it): each failed at its PUT.
    assert proxy.count("PutObject", fault="down") == 2 * ATTEMPTS and proxy.count("HeadObject") == 0
    assert proxy.count("PutObject", fault="none") == 3
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix=PREFIX)["Contents"]
    assert [item["Key"] for item in listed] == sorted(keys[:3])

    proxy.up()
    for key in keys[3:]:
        put(store, key, payloads[key])
    for key, data in payloads.items():
        assert s3_client.get_object(Bucket=bucket, Key=key)["Body"].read() == data


def test_endpoint_down_mid_multipart_leaves_an_upload_that_the_sweep_removes(
    store, proxy, client, s3_client, bucket
):
    def down_before_part_2(request, **_):
        if "partNumber=2" in request.url:
            proxy.down()

    client.meta.events.register("before-send.s3.UploadPart", down_before_part_2)
    with pytest.raises(StorageError) as raised:
        put(store, KEY, LARGE)
    assert_a_storage_error_without_the_endpoint(raised.value, proxy)
    assert raised.value.operation == "UploadPart"
    # Part 2 and then the abort each met a dead endpoint on every attempt; no object, one open upload.
    # Parts go up to 4 at once, so parts 1 and 3 may have been in flight too and met it as well.
    assert proxy.count("UploadPart", fault="down", where=part(2)) == ATTEMPTS
    assert ATTEMPTS <= proxy.count("UploadPart", fault="down") <= 3 * ATTEMPTS
    assert proxy.count("AbortMultipartUpload", fault="down") == ATTEMPTS
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=KEY)
    assert open_uploads(s3_client, bucket) == [KEY]

    proxy.up()
    client.meta.events.unregister("before-send.s3.UploadPart", down_before_part_2)
    assert store.abort_stale_uploads(PREFIX) == 1
    assert open_uploads(s3_client, bucket) == []
    assert put(store, KEY, LARGE).checksum_verified_by == "s3-checksum"


def test_endpoint_down_between_landing_and_verifying_leaves_the_whole_object(
    proxy, client, s3_client, bucket
):
    # A PUT's own answer proves it without another request; a store that reads back (or a write S3
    # answered without a checksum) verifies with a HEAD after landing, and that HEAD is cut off here.
    store = ArchiveStore(
        client, bucket=bucket, part_size=5 * MiB, multipart_threshold=5 * MiB, verify_by_read_back=True
    )

    def down_before_verifying(request, **_):
        if proxy.count("PutObject", fault="none"):  # the PUT landed: this is the verification HEAD
            proxy.down()

    client.meta.events.register("before-send.s3.HeadObject", down_before_verifying)
    with pytest.raises(IntegrityError) as raised:
        put(store, KEY, SMALL)
    # Neither verification nor the cleanup DELETE could reach S3: the object stays, unverified by the
    # store, but whole (the autouse check re-hashes it). The error says so, and how to check it.
    assert raised.value.cleaned_up is False
    assert "may remain unverified" in str(raised.value) and "read_back_sha256" in str(raised.value)
    assert isinstance(raised.value.__cause__, StorageError)
    assert raised.value.__cause__.operation == "HeadObject"
    assert_no_credentials(raised.value)
    assert proxy.endpoint not in str(raised.value)
    assert proxy.count("HeadObject", fault="down") == ATTEMPTS
    assert proxy.count("DeleteObject", fault="down") == ATTEMPTS
    assert s3_client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == SMALL

    proxy.up()
    client.meta.events.unregister("before-send.s3.HeadObject", down_before_verifying)
    with pytest.raises(ObjectExistsError) as raised:
        put(store, KEY, SMALL)
    assert raised.value.existing.recorded_sha256 == sha256_hex(SMALL)
    assert store.read_back_sha256(KEY) == sha256_hex(SMALL)  # the check the IntegrityError asked for


def test_connection_failures_surface_as_storage_errors_without_the_endpoint(store, proxy):
    proxy.down()
    with pytest.raises(ArchiveError) as raised:
        put(store, KEY, SMALL)
    assert_a_storage_error_without_the_endpoint(raised.value, proxy)
    assert isinstance(raised.value.__cause__, ConnectionClosedError)  # the original stays on the chain


READS = {
    "head": lambda store: store.head(KEY),
    "list_day": lambda store: list(store.list_day(PREFIX)),
    "abort_stale_uploads": lambda store: store.abort_stale_uploads(PREFIX),
    "get_bytes": lambda store: store.get_bytes(KEY),
    "read_prefix": lambda store: store.read_prefix(KEY, 64),
    "read_back_sha256": lambda store: store.read_back_sha256(KEY),
}


@pytest.mark.parametrize("read", READS)
def test_reads_meeting_a_dead_endpoint_raise_storage_errors(store, proxy, read):
    proxy.down()
    with pytest.raises(StorageError) as raised:
        READS[read](store)
    assert_a_storage_error_without_the_endpoint(raised.value, proxy)
    assert raised.value.code == "ConnectionClosedError"


class _BodyCutOff:
    """A response body whose connection breaks on the first read, as urllib3 reports it."""

    def _broken(self, *_, **__):
        raise ProtocolError("Connection broken: IncompleteRead(0 bytes read, 300000 more expected)")

    read = stream = _broken

    def close(self) -> None:
        pass


@pytest.mark.parametrize("read", ["get_bytes", "read_prefix", "read_back_sha256"])
def test_a_body_cut_off_while_reading_raises_a_storage_error(store, proxy, client, read):
    put(store, KEY, SMALL)

    def cut_off(request, **_):
        return AWSResponse(request.url, 200, {"Content-Length": str(len(SMALL))}, _BodyCutOff())

    client.meta.events.register("before-send.s3.GetObject", cut_off)
    with pytest.raises(StorageError) as raised:
        READS[read](store)
    assert (raised.value.operation, raised.value.code) == ("GetObject", "ResponseStreamingError")
    assert_no_credentials(raised.value)


# -- 5: slow responses ------------------------------------------------------------------------------


@pytest.fixture
def impatient_store(proxy, bucket):
    return store_through(proxied_client(proxy, read_timeout=IMPATIENT), bucket)


def test_a_slow_head_does_not_delay_a_create_only_put_that_makes_none(impatient_store, proxy):
    # Formerly a HEAD preceded every create-only PUT; now If-None-Match alone guards it and the PUT's
    # answer (S3's checksum, the encryption) verifies it, so HEADs slower than the timeout never matter.
    proxy.slow(LATENCY, match="HeadObject")
    stored = put(impatient_store, KEY, SMALL)
    assert stored.checksum_verified_by == "s3-checksum"
    assert proxy.count("HeadObject") == 0 and statuses(proxy, "PutObject") == [200]


@pytest.mark.parametrize("operation", ["UploadPart", "CompleteMultipartUpload"])
def test_a_late_multipart_answer_is_retried_and_the_object_verified(impatient_store, proxy, operation):
    # S3 did the work, the answer came after the timeout: re-sending a part or a Complete is harmless.
    match = part(2) if operation == "UploadPart" else None
    proxy.slow(LATENCY, count=1, match=match or operation)
    stored = put(impatient_store, KEY, LARGE)
    assert stored.checksum_verified_by == "s3-checksum"
    assert proxy.count(operation, fault="slow", where=match) == 1
    # Usually exactly one more; a loaded machine can make moto itself slower than the read timeout.
    assert proxy.count(operation, fault="none", where=match) >= 1
    assert proxy.count("AbortMultipartUpload") == 0


# -- 6: uploads left behind by a killed run ---------------------------------------------------------


def test_abort_stale_uploads_removes_a_killed_runs_upload(store, proxy, s3_client, bucket):
    killed = f"{PREFIX}conv-9/rec-9.wav"
    upload_id = s3_client.create_multipart_upload(
        Bucket=bucket, Key=killed, ServerSideEncryption="AES256", ChecksumAlgorithm="SHA256"
    )["UploadId"]
    for number, data in ((1, LARGE[: 5 * MiB]), (2, b"tail")):
        s3_client.upload_part(
            Bucket=bucket,
            Key=killed,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
        )
    assert open_uploads(s3_client, bucket) == [killed]  # the process died here

    proxy.http_500(count=1, match="AbortMultipartUpload")
    assert store.abort_stale_uploads(PREFIX) == 1
    assert statuses(proxy, "AbortMultipartUpload") == [500, 204]
    assert open_uploads(s3_client, bucket) == []
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=killed)


def test_a_create_retried_after_a_lost_answer_leaves_no_second_upload_open(
    impatient_store, proxy, s3_client, bucket
):
    """CreateMultipartUpload is not idempotent: the attempt whose answer was lost still made an upload."""
    proxy.slow(LATENCY, count=1, match="CreateMultipartUpload")
    stored = put(impatient_store, KEY, LARGE)
    assert stored.checksum_verified_by == "s3-checksum"
    assert proxy.count("CreateMultipartUpload") == 2, "the lost answer must have made botocore ask again"
    assert proxy.count("AbortMultipartUpload") == 1
    assert open_uploads(s3_client, bucket) == []
