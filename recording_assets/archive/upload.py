"""Sending bytes to S3: one PUT, or a multipart upload (parts in parallel) that is always aborted if it fails.

A single PUT declares the SHA-256 taken while downloading as its ``ChecksumSHA256``, so S3 (AWS) refuses
bytes that changed on local disk, in memory or in transit (``BadDigest``) and no second local hash is
taken. A multipart upload sends a checksum per part: the part hashes the spool took while downloading
(S3 refuses a changed part the same way), or else the parts are re-hashed as they are read and the whole
compared with the download-time hash before ``CompleteMultipartUpload`` makes anything visible (S3
offers no full-object SHA-256 for multipart). Writes are create-only through ``If-None-Match: *``. A
create-only write whose response was lost meets its own ``If-None-Match`` on the retry (412): the object
is taken as ours only if it carries this write's token (``objects.WRITE_TOKEN_METADATA_KEY``), its size and
recorded SHA-256 (the verifier then proves its bytes). Another writer's object, even with the same bytes,
is never adopted: it is reported as existing, so nothing of ours can later delete it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
from collections.abc import Mapping
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from recording_assets.archive import s3errors
from recording_assets.archive.encryption import Encryption
from recording_assets.archive.errors import IntegrityError
from recording_assets.archive.lock import ObjectLock
from recording_assets.archive.objects import WRITE_TOKEN_METADATA_KEY, Landed, ObjectInfo
from recording_assets.archive.parts import PartBody, PartPump, b64, read_up_to
from recording_assets.archive.reads import BucketReader
from recording_assets.archive.spool import UploadSource

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_SINGLE_PUT = 5 * 1024 * MiB
MAX_PARTS = 10_000

log = logging.getLogger(__name__)


class Uploader:
    def __init__(
        self,
        reader: BucketReader,
        *,
        encryption: Encryption,
        part_size: int,
        multipart_threshold: int,
        parts: PartPump,
    ) -> None:
        self._reader = reader
        self._s3 = reader.s3
        self.bucket = reader.bucket
        self._encryption = encryption
        self._part_size = part_size
        self._multipart_threshold = multipart_threshold
        self._parts = parts

    def put_spool(
        self,
        key: str,
        spool: UploadSource,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        lock: ObjectLock | None = None,
    ) -> Landed:
        """Create-only: one PUT below the multipart threshold, a multipart upload from it on. ``lock``: the
        Object Lock retention the object is created with (on the write itself, never a later call, so no
        moment exists in which the object is unlocked)."""
        if spool.size >= self._multipart_threshold:
            return self._put_multipart(key, spool, content_type=content_type, metadata=metadata, lock=lock)
        body = _single_body(spool)
        if (given := _length(body)) != spool.size:
            raise self._not_sent(key, f"the spool gave {given} bytes, {spool.size} were downloaded")
        return self.put_single(
            key,
            body,
            sha256_hex=spool.sha256_hex,
            content_type=content_type,
            metadata=metadata,
            create_only=True,
            lock=lock,
        )

    def put_single(
        self,
        key: str,
        body: bytes | BinaryIO,
        *,
        sha256_hex: str,
        content_type: str,
        metadata: Mapping[str, str],
        create_only: bool,
        lock: ObjectLock | None = None,
    ) -> Landed:
        """``sha256_hex`` is the caller's hash of ``body`` (taken while downloading): S3 checks it. A file
        ``body`` is sent from where it stands."""
        checksum, size = b64(bytes.fromhex(sha256_hex)), _length(body)
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": dict(metadata),
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": checksum,
            **self._encryption.request_args(),
            **(lock.request_args() if lock else {}),
        }
        if create_only:
            request["IfNoneMatch"] = "*"
        try:
            response = self._s3.put_object(**request)
        except (ClientError, BotoCoreError) as error:
            ours = self._own_write_if_it_landed(
                error, key, size=size, sha256_hex=sha256_hex, metadata=metadata
            )
            if ours is None:
                raise self._reader.translate(error, operation="PutObject", key=key) from error
            return Landed(ours.etag, ours.version_id, checksum)
        return Landed.from_response(response, s3_checksum=checksum, create_only=create_only)

    def _put_multipart(
        self,
        key: str,
        spool: UploadSource,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        lock: ObjectLock | None,
    ) -> Landed:
        # S3 allows 10,000 parts; grow the part for very large files rather than fail at part 10,001.
        part_size = max(self._part_size, math.ceil(spool.size / MAX_PARTS))
        try:
            created = self._s3.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType=content_type,
                Metadata=dict(metadata),
                ChecksumAlgorithm="SHA256",
                **self._encryption.request_args(),
                **(lock.request_args() if lock else {}),
            )
        except (ClientError, BotoCoreError) as error:
            raise self._reader.translate(error, operation="CreateMultipartUpload", key=key) from error
        upload_id = created["UploadId"]
        try:
            landed = self._send_parts_and_complete(
                key, spool, upload_id=upload_id, part_size=part_size, metadata=metadata
            )
        except BaseException:
            # Whatever went wrong (our check, S3, the reader, Ctrl-C), parts must not linger.
            self._abort_quietly(key, upload_id)
            raise
        if created.get("ResponseMetadata", {}).get("RetryAttempts"):
            self._abort_twins(key, upload_id)
        return landed

    def _abort_twins(self, key: str, upload_id: str) -> None:
        """CreateMultipartUpload is not idempotent: when botocore retried it (a response lost to a read
        timeout), the lost attempt may have created an upload of its own. Once ours has landed, abort the
        other uploads of this key, so none is left costing storage until the next run's sweep. Only then:
        while the key is free, another run's upload of it may be one that is about to land."""
        try:
            listed = self._s3.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            for upload in listed.get("Uploads", []):
                # Any other upload of this very key: the object is create-only, so once ours has landed (or
                # failed) another writer's upload of the same key could not land either.
                if upload["Key"] == key and upload["UploadId"] != upload_id:
                    self._abort_quietly(key, upload["UploadId"])
        except (ClientError, BotoCoreError):
            log.warning(
                "could not list the uploads of s3://%s/%s to abort a retried create's twin", self.bucket, key
            )

    def _send_parts_and_complete(
        self, key: str, spool: UploadSource, *, upload_id: str, part_size: int, metadata: Mapping[str, str]
    ) -> Landed:
        operation = "UploadPart"
        try:
            sent = self._parts.send_all(
                spool,
                part_size=part_size,
                send=lambda number, data, digest: self._upload_part(key, upload_id, number, data, digest),
            )
            # No whole-file hash when the parts declared the download-time part hashes: S3 checked each.
            if sent.size != spool.size or sent.sha256_hex not in (None, spool.sha256_hex):
                hashed = f" hash to {sent.sha256_hex}," if sent.sha256_hex else ","
                raise self._not_sent(
                    key,
                    f"the {sent.size} bytes read for upload{hashed} not the "
                    f"{spool.size} bytes / {spool.sha256_hex} recorded while downloading",
                )
            operation = "CompleteMultipartUpload"
            response = self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": sent.completed},
                IfNoneMatch="*",
            )
        except (ClientError, BotoCoreError) as error:
            ours = self._own_write_if_it_landed(
                error, key, size=spool.size, sha256_hex=spool.sha256_hex, metadata=metadata
            )
            if ours is None:
                raise self._reader.translate(error, operation=operation, key=key) from error
            return Landed(ours.etag, ours.version_id, _composite(sent.digests), len(sent.digests))
        composite = _composite(sent.digests)
        return Landed.from_response(response, s3_checksum=composite, part_count=len(sent.digests))

    def _upload_part(
        self, key: str, upload_id: str, part_number: int, data: PartBody, digest: bytes
    ) -> dict[str, Any]:
        # ``data`` is a seekable window on the spool: botocore's retry rewinds it and re-sends the whole part.
        checksum = b64(digest)
        response = self._s3.upload_part(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=part_number,
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
        )
        echoed = response.get("ChecksumSHA256")
        if echoed is not None and echoed != checksum:
            detail = f"S3 acknowledged part {part_number} as SHA-256 {echoed}, not {checksum}"
            raise self._not_sent(key, detail)
        return {"PartNumber": part_number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

    def _not_sent(self, key: str, detail: str) -> IntegrityError:
        # Raised before any object became visible (a multipart upload is aborted on the way out).
        return IntegrityError(bucket=self.bucket, key=key, detail=detail, cleaned_up=True)

    def _own_write_if_it_landed(
        self, error: s3errors.S3Error, key: str, *, size: int, sha256_hex: str, metadata: Mapping[str, str]
    ) -> ObjectInfo | None:
        """The object under ``key`` if a 412 on a retry was our own earlier attempt, else None.

        A create-only write whose response was lost (reset, or later than the read timeout) is retried by
        botocore and meets its own ``If-None-Match``. The object is taken as ours only if it carries this
        write's token, size and recorded SHA-256: another run archiving the same recording writes the same
        bytes, and adopting its object would let our verifier delete it. The verifier then proves the bytes.
        """
        if not isinstance(error, ClientError) or not s3errors.is_precondition_failed(error):
            return None
        if error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) == 0:
            return None  # the first attempt was refused: someone else's object
        token = metadata.get(WRITE_TOKEN_METADATA_KEY)
        info = self._reader.head_or_none(key)
        if token is None or info is None or info.write_token != token:
            return None
        if (info.size, info.recorded_sha256) != (size, sha256_hex):
            return None
        return info

    def _abort_quietly(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:  # the original failure matters more; abort_stale_uploads sweeps leftovers
            log.warning("could not abort multipart upload %s of s3://%s/%s", upload_id, self.bucket, key)


def _single_body(spool: UploadSource) -> bytes | BinaryIO:
    """What one PUT of ``spool`` sends: its own ``body()`` where it has one (``MediaSpool``: the chunks
    that were hashed, or its file), else its bytes read whole."""
    body = getattr(spool, "body", None)
    return body() if body is not None else read_up_to(spool.reader(), spool.size)


def _length(body: bytes | BinaryIO) -> int:
    """Bytes ``body`` holds from where it stands (a file's position is left as it was)."""
    if isinstance(body, bytes | bytearray | memoryview):
        return len(body)
    here = body.tell()
    end = body.seek(0, io.SEEK_END)
    body.seek(here)
    return end - here


def _composite(part_digests: list[bytes]) -> str:
    return b64(hashlib.sha256(b"".join(part_digests)).digest())
