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
    assert [u["UploadId"] for u in s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [upload_id]


def test_checksum_mode_returns_sha256_only_when_algorithm_was_declared(s3_client, bucket_names):
    bucket = bucket_names[0]
    body = b"payload"
    s3_client.put_object(Bucket=bucket, Key="declared", Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=_b64_sha256(body))
    s3_client.put_object(Bucket=bucket, Key="undeclared", Body=body, ChecksumSHA256=_b64_sha256(body))
    assert s3_client.head_object(Bucket=bucket, Key="declared", ChecksumMode="ENABLED")["ChecksumSHA256"] == _b64_sha256(body)
    assert "ChecksumSHA256" not in s3_client.head_object(Bucket=bucket, Key="undeclared", ChecksumMode="ENABLED")


def test_supplied_checksums_are_stored_without_validation(s3_client, bucket_names):
    bucket = bucket_names[0]
    wrong = _b64_sha256(b"something else")
    s3_client.put_object(Bucket=bucket, Key="k", Body=b"payload", ChecksumAlgorithm="SHA256", ChecksumSHA256=wrong)
    assert s3_client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")["ChecksumSHA256"] == wrong

    upload_id = s3_client.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="SHA256")["UploadId"]
    echoed = s3_client.upload_part(
        Bucket=bucket, Key="m", UploadId=upload_id, PartNumber=1, Body=b"x", ChecksumAlgorithm="SHA256", ChecksumSHA256=wrong
    )["ChecksumSHA256"]
    assert echoed == wrong
    s3_client.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id)


def test_composite_checksum_is_computed_from_part_bytes_and_head_omits_the_part_count(s3_client, bucket_names):
    bucket = bucket_names[0]
    parts = [b"a" * (5 * MiB), b"b" * 1000]
    upload_id = s3_client.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="SHA256")["UploadId"]
    completed = []
    for number, data in enumerate(parts, start=1):
        # Deliberately wrong per-part checksums: the composite still reflects the real bytes.
        response = s3_client.upload_part(
            Bucket=bucket, Key="m", UploadId=upload_id, PartNumber=number, Body=data,
            ChecksumAlgorithm="SHA256", ChecksumSHA256=_b64_sha256(b"wrong"),
        )
        completed.append({"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": response["ChecksumSHA256"]})
    s3_client.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id, MultipartUpload={"Parts": completed})
    composite = _b64_sha256(b"".join(hashlib.sha256(data).digest() for data in parts))
    assert s3_client.head_object(Bucket=bucket, Key="m", ChecksumMode="ENABLED")["ChecksumSHA256"] == composite
