"""Reading one bucket: HEADs, day listings, small documents and leading bytes; sweeping stale uploads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from recording_assets.archive import s3errors
from recording_assets.archive.errors import IntegrityError
from recording_assets.archive.objects import SHA256_METADATA_KEY, ListedObject, ObjectInfo

STALE_UPLOAD_MARGIN = timedelta(minutes=15)
"""How much older than a run's start (on our clock) an upload must be (on S3's clock, its ``Initiated``)
before that run may abort it. S3 refuses SigV4 requests whose time is more than 15 minutes off its own
(RequestTimeTooSkewed), so while our requests are accepted the two clocks differ by less than this: an
upload another run opened after ours started can never look older than the bound. The cost: a killed
run's upload younger than this is left for a later run's sweep."""


class BucketReader:
    """The reads of ``ArchiveStore``, and the error translation its writes share (it needs a HEAD)."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self.s3 = s3_client
        self.bucket = bucket

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except (ClientError, BotoCoreError) as error:
            if s3errors.is_not_found(error):
                return None
            raise self.translate(error, operation="HeadObject", key=key) from error
        return ObjectInfo.from_head(response, bucket=self.bucket, key=key)

    def head_or_none(self, key: str) -> ObjectInfo | None:
        try:
            return self.head(key)
        except Exception:  # only decorates an error that is already being raised
            return None

    def translate(self, error: s3errors.S3Error, *, operation: str, key: str) -> Exception:
        return s3errors.translate(
            error, operation=operation, bucket=self.bucket, key=key, existing=lambda: self.head_or_none(key)
        )

    def list_day(self, prefix: str, *, page_size: int = 1000) -> Iterator[ListedObject]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield ListedObject(
                        key=item["Key"],
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                        last_modified=item["LastModified"],
                    )
        except (ClientError, BotoCoreError) as error:
            raise self.translate(error, operation="ListObjectsV2", key=prefix) from error

    def abort_stale_uploads(self, prefix: str, *, initiated_before: datetime | None = None) -> int:
        aborted = 0
        pages = self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for upload in page.get("Uploads", []):
                    if initiated_before is not None and not _initiated_before(upload, initiated_before):
                        continue
                    try:
                        self.s3.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    except ClientError as error:
                        if s3errors.error_code(error) != "NoSuchUpload":  # finished or aborted meanwhile
                            raise
                        continue
                    aborted += 1
        except (ClientError, BotoCoreError) as error:
            raise self.translate(error, operation="AbortMultipartUpload", key=prefix) from error
        return aborted

    def get_bytes(self, key: str) -> bytes | None:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            if s3errors.is_not_found(error):
                return None
            raise self.translate(error, operation="GetObject", key=key) from error
        try:
            data = response["Body"].read()
        except FlexibleChecksumError as error:
            raise s3errors.stored_checksum_mismatch(error, bucket=self.bucket, key=key) from error
        except BotoCoreError as error:
            raise self.translate(error, operation="GetObject", key=key) from error
        recorded = response.get("Metadata", {}).get(SHA256_METADATA_KEY)
        if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
            raise IntegrityError(
                bucket=self.bucket,
                key=key,
                detail=f"the bytes read do not hash to the recorded {recorded}",
                cleaned_up=None,
            )
        return data

    def delete(self, key: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            raise self.translate(error, operation="DeleteObject", key=key) from error

    def read_prefix(self, key: str, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}")
            return response["Body"].read()[:length]
        except (ClientError, BotoCoreError) as error:
            if s3errors.error_code(error) == "InvalidRange":  # a zero-byte object has no byte 0
                return b""
            raise self.translate(error, operation="GetObject", key=key) from error


def _initiated_before(upload: dict, bound: datetime) -> bool:
    """Whether S3 says the upload began before ``bound``; an upload without a usable time is not proved old."""
    initiated = upload.get("Initiated")
    if not isinstance(initiated, datetime):
        return False
    if initiated.tzinfo is None:  # S3 answers in UTC ("...Z"); a bare time is taken as such
        initiated = initiated.replace(tzinfo=timezone.utc)
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=timezone.utc)
    return initiated < bound
