"""What the moto server used in tests does and does not enforce, pinned so the store's design notes stay true.

If a moto upgrade starts validating checksums, these tests fail and tell us the read-back fallback
is no longer the only line of defence against transit corruption in tests.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError

MiB = 1024 * 1024


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _head_checksum(s3_client, bucket: str, key: str) -> str | None:
    return s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED").get("ChecksumSHA256")


def _open_upload_ids(s3_client, bucket: str) -> list[str]:
    uploads = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return [upload["UploadId"] for upload in uploads]


def _start_sha256_upload(s3_client, bucket: str, key: str) -> str:
    return s3_client.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]


def test_if_none_match_is_honoured_on_put_and_complete(s3_client, bucket_names):
    bucket = bucket_names[0]
    s3_client.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as put_refused:
        s3_client.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert put_refused.value.response["Error"]["Code"] == "PreconditionFailed"

    upload_id = s3_client.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    part = s3_client.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"third")
    with pytest.raises(ClientError) as complete_refused:
        s3_client.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            IfNoneMatch="*",
        )
    assert complete_refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3_client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"
    # A refused completion leaves the upload open, as on AWS: the caller must abort it.
    assert _open_upload_ids(s3_client, bucket) == [upload_id]


def test_checksum_mode_returns_sha256_only_when_the_algorithm_was_declared(s3_client, bucket_names):
    bucket = bucket_names[0]
    body = b"payload"
    checksum = _b64_sha256(body)
    s3_client.put_object(
        Bucket=bucket, Key="declared", Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum
    )
    s3_client.put_object(Bucket=bucket, Key="undeclared", Body=body, ChecksumSHA256=checksum)
    assert _head_checksum(s3_client, bucket, "declared") == checksum
    assert _head_checksum(s3_client, bucket, "undeclared") is None


def test_supplied_checksums_are_stored_without_validation(s3_client, bucket_names):
    bucket = bucket_names[0]
    wrong = _b64_sha256(b"something else")
    s3_client.put_object(
        Bucket=bucket, Key="k", Body=b"payload", ChecksumAlgorithm="SHA256", ChecksumSHA256=wrong
    )
    assert _head_checksum(s3_client, bucket, "k") == wrong

    upload_id = _start_sha256_upload(s3_client, bucket, "m")
    part = s3_client.upload_part(
        Bucket=bucket,
        Key="m",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"x",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=wrong,
    )
    assert part["ChecksumSHA256"] == wrong
    s3_client.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id)


def test_composite_checksum_comes_from_the_part_bytes_and_head_omits_the_part_count(s3_client, bucket_names):
    bucket = bucket_names[0]
    parts = [b"a" * (5 * MiB), b"b" * 1000]
    upload_id = _start_sha256_upload(s3_client, bucket, "m")
    completed = []
    for number, data in enumerate(parts, start=1):
        # Deliberately wrong per-part checksums: the composite still reflects the real bytes.
        response = s3_client.upload_part(
            Bucket=bucket,
            Key="m",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=_b64_sha256(b"wrong"),
        )
        completed.append(
            {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": response["ChecksumSHA256"]}
        )
    s3_client.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=upload_id, MultipartUpload={"Parts": completed}
    )
    composite = _b64_sha256(b"".join(hashlib.sha256(data).digest() for data in parts))
    assert _head_checksum(s3_client, bucket, "m") == composite  # AWS would say f"{composite}-2"
