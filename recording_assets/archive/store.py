"""Create-only, encrypted, checksummed writes to one S3 bucket, each verified after it lands.

The promise: after ``put_new`` returns, the key holds exactly the bytes whose SHA-256 was taken while
downloading, encrypted as configured; if it raises, nothing of this call is visible under the key.

How each step keeps that promise:
- the bytes are re-hashed as they are read for upload and compared with the download-time hash
  before anything becomes visible (a flip on local disk or in memory is caught here);
- S3 gets ``ChecksumSHA256`` for the whole object (single PUT) or every part (multipart) and rejects
  bytes corrupted in transit (AWS does; moto 5.2.5 stores the value without checking it);
- ``IfNoneMatch="*"`` plus a HEAD before make the write create-only;
- a failed multipart upload is always aborted, so no parts linger and no object appears;
- a HEAD with ``ChecksumMode=ENABLED`` (or a streaming read-back when S3 reports no checksum) proves
  size, checksum and encryption; on any doubt the object just written is deleted.

Transient failures are retried by botocore (configure ``retries={"mode": "standard"}`` on the client);
each part is sent from an in-memory ``bytes`` so a retried part is re-sent whole. When a write's response
is lost, the retry meets our own ``If-None-Match`` (412): the object is taken as ours only if it holds our
size and recorded SHA-256, and is then verified like any other. What botocore could not get through
(S3 errors, connections closed, refused or timed out) comes out as an ``ArchiveError``; where an object
may remain unverified (the outcome of a write unknown, or a verification and its cleanup both cut off)
the error says so.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    FlexibleChecksumError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError  # not the builtin

from recording_assets.archive.encryption import Encryption
from recording_assets.archive.errors import (
    IntegrityError,
    InvalidIdentifierError,
    ObjectExistsError,
    StorageError,
)
from recording_assets.archive.spool import UploadSource

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_SINGLE_PUT = 5 * 1024 * MiB
MAX_PARTS = 10_000
READ_BACK_CHUNK = MiB

SHA256_METADATA_KEY = "sha256"
SIZE_METADATA_KEY = "size"
_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")
_MAX_METADATA_BYTES = 2048  # S3's limit for all user metadata keys and values together
_METADATA_RULES = (
    "S3 user metadata needs lowercase keys of a-z 0-9 - (HTTP lowercases them anyway), printable ASCII "
    "values and at most 2 KiB in total; 'sha256' and 'size' are set by the store (passing them is "
    "allowed only if they agree)."
)

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_PRECONDITION_CODES = frozenset({"PreconditionFailed", "412"})
_DIGEST_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
_WRITES = frozenset({"PutObject", "CompleteMultipartUpload"})
# botocore's errors carry the endpoint URL; these say what happened without it.
_TRANSPORT_ERRORS = (BotocoreConnectionError, HTTPClientError, IncompleteReadError)
_NO_RESPONSE = "no valid response from S3 after botocore's retries (connection closed, refused or timed out)"
_INSIDE_BOTOCORE = "raised inside botocore, not by S3 (credentials, parameters; see the chained exception)"
_MAY_HAVE_LANDED = (
    "; the write may have landed, leaving an object this store never verified: compare "
    "ArchiveStore.read_back_sha256(key) with the sha256 you uploaded before trusting or deleting it"
)

log = logging.getLogger(__name__)

VerifiedBy = Literal["s3-checksum", "read-back"]


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str | None
    metadata: Mapping[str, str] = field(hash=False)
    server_side_encryption: str | None
    kms_key_id: str | None
    checksum_sha256: str | None
    """Full-object base64, or composite ``base64-N`` as AWS reports it (moto's HEAD omits ``-N``; it is
    restored from the multipart ETag so a ``-`` always means composite)."""
    version_id: str | None

    @property
    def recorded_sha256(self) -> str | None:
        """The hex SHA-256 the archive recorded in user metadata when it wrote the object."""
        return self.metadata.get(SHA256_METADATA_KEY)


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    sha256_hex: str
    etag: str
    version_id: str | None
    checksum_verified_by: VerifiedBy


@dataclass(frozen=True)
class _Landed:
    """What an upload call returned, and the S3 checksum the object should now report."""

    etag: str
    version_id: str | None
    s3_checksum: str
    part_count: int | None = None


class ArchiveStore:
    def __init__(
        self,
        s3_client: Any,
        *,
        bucket: str,
        encryption: Encryption = Encryption.aes256(),
        part_size: int = 16 * MiB,
        multipart_threshold: int = 16 * MiB,
        verify_by_read_back: bool = False,
    ) -> None:
        """``verify_by_read_back``: always re-read and hash the object after writing, for S3-compatible
        stores that echo checksums without checking them (moto does, for single PUTs)."""
        if not MIN_PART_SIZE <= part_size <= MAX_SINGLE_PUT:
            raise ValueError(f"part_size must be within 5 MiB..5 GiB (S3 limits), got {part_size}")
        if not 1 <= multipart_threshold <= MAX_SINGLE_PUT:
            raise ValueError(f"multipart_threshold must be within 1 byte..5 GiB, got {multipart_threshold}")
        self._s3 = s3_client
        self.bucket = bucket
        self.encryption = encryption
        self._part_size = part_size
        self._multipart_threshold = multipart_threshold
        self._verify_by_read_back = verify_by_read_back

    # -- writing -----------------------------------------------------------------------------------

    def put_new(
        self, key: str, spool: UploadSource, *, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject:
        """Upload ``spool`` under ``key`` only if the key is free; raise ``ObjectExistsError`` if not."""
        size, sha256_hex = spool.size, spool.sha256_hex
        full_metadata = _archive_metadata(metadata, sha256_hex=sha256_hex, size=size)
        self._refuse_if_exists(key)
        if size < self._multipart_threshold:
            body = _read_up_to(spool.reader(), size)
            landed = self._put_single(
                key,
                body,
                sha256_hex=sha256_hex,
                content_type=content_type,
                metadata=full_metadata,
                create_only=True,
            )
        else:
            landed = self._put_multipart(key, spool, content_type=content_type, metadata=full_metadata)
        return self._verify(key, size=size, sha256_hex=sha256_hex, landed=landed)

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        overwrite: bool,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        """A small document (a Parquet manifest, a JSON audit event), encrypted and checksummed."""
        if len(data) > MAX_SINGLE_PUT:
            raise ValueError(f"put_bytes takes at most 5 GiB; stream {key!r} through put_new instead")
        sha256_hex = hashlib.sha256(data).hexdigest()
        full_metadata = _archive_metadata(metadata or {}, sha256_hex=sha256_hex, size=len(data))
        if not overwrite:
            self._refuse_if_exists(key)
        landed = self._put_single(
            key,
            data,
            sha256_hex=sha256_hex,
            content_type=content_type,
            metadata=full_metadata,
            create_only=not overwrite,
        )
        return self._verify(key, size=len(data), sha256_hex=sha256_hex, landed=landed)

    def _refuse_if_exists(self, key: str) -> None:
        # If-None-Match below is the real guard; this HEAD also protects on S3-compatible stores that
        # ignore it, and lets us refuse before reading or sending a byte.
        existing = self.head(key)
        if existing is not None:
            raise ObjectExistsError(bucket=self.bucket, key=key, existing=existing)

    def _put_single(
        self,
        key: str,
        body: bytes,
        *,
        sha256_hex: str,
        content_type: str,
        metadata: Mapping[str, str],
        create_only: bool,
    ) -> _Landed:
        digest = hashlib.sha256(body).digest()
        if digest.hex() != sha256_hex:
            raise IntegrityError(
                bucket=self.bucket,
                key=key,
                detail=f"the bytes read for upload hash to {digest.hex()}, not the {sha256_hex} recorded "
                "while downloading (corrupted on local disk or in memory)",
                cleaned_up=True,
            )
        checksum = _b64(digest)
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": dict(metadata),
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": checksum,
            **self.encryption.request_args(),
        }
        if create_only:
            request["IfNoneMatch"] = "*"
        try:
            response = self._s3.put_object(**request)
        except (ClientError, BotoCoreError) as error:
            ours = self._own_write_if_it_landed(error, key, size=len(body), sha256_hex=sha256_hex)
            if ours is None:
                raise self._translate(error, operation="PutObject", key=key) from error
            return _Landed(ours.etag, ours.version_id, checksum)
        return _Landed(_etag(response), response.get("VersionId"), checksum)

    def _put_multipart(
        self, key: str, spool: UploadSource, *, content_type: str, metadata: Mapping[str, str]
    ) -> _Landed:
        size = spool.size
        # S3 allows 10,000 parts; grow the part for very large files rather than fail at part 10,001.
        part_size = max(self._part_size, math.ceil(size / MAX_PARTS))
        try:
            created = self._s3.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType=content_type,
                Metadata=dict(metadata),
                ChecksumAlgorithm="SHA256",
                **self.encryption.request_args(),
            )
        except (ClientError, BotoCoreError) as error:
            raise self._translate(error, operation="CreateMultipartUpload", key=key) from error
        upload_id = created["UploadId"]
        try:
            return self._send_parts_and_complete(key, spool, upload_id=upload_id, part_size=part_size)
        except BaseException:
            # Whatever went wrong (our check, S3, the reader, Ctrl-C), parts must not linger.
            self._abort_quietly(key, upload_id)
            raise

    def _send_parts_and_complete(
        self, key: str, spool: UploadSource, *, upload_id: str, part_size: int
    ) -> _Landed:
        reader = spool.reader()
        whole = hashlib.sha256()
        part_digests: list[bytes] = []
        completed_parts: list[dict[str, Any]] = []
        sent = 0
        operation = "UploadPart"
        try:
            while sent < spool.size:
                data = _read_up_to(reader, min(part_size, spool.size - sent))
                if not data:
                    break
                digest = hashlib.sha256(data).digest()
                part_number = len(completed_parts) + 1
                completed_parts.append(self._upload_part(key, upload_id, part_number, data, digest))
                whole.update(data)
                part_digests.append(digest)
                sent += len(data)
            if sent != spool.size or whole.hexdigest() != spool.sha256_hex:
                raise IntegrityError(
                    bucket=self.bucket,
                    key=key,
                    detail=f"the {sent} bytes read for upload hash to {whole.hexdigest()}, not the "
                    f"{spool.size} bytes / {spool.sha256_hex} recorded while downloading",
                    cleaned_up=True,
                )
            operation = "CompleteMultipartUpload"
            response = self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": completed_parts},
                IfNoneMatch="*",
            )
            etag, version_id = _etag(response), response.get("VersionId")
        except (ClientError, BotoCoreError) as error:
            ours = self._own_write_if_it_landed(error, key, size=spool.size, sha256_hex=spool.sha256_hex)
            if ours is None:
                raise self._translate(error, operation=operation, key=key) from error
            etag, version_id = ours.etag, ours.version_id
        composite = _b64(hashlib.sha256(b"".join(part_digests)).digest())
        return _Landed(etag, version_id, composite, len(part_digests))

    def _upload_part(
        self, key: str, upload_id: str, part_number: int, data: bytes, digest: bytes
    ) -> dict[str, Any]:
        # ``data`` is bytes, so botocore's retry re-sends the whole part: never half a part.
        checksum = _b64(digest)
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
            raise IntegrityError(
                bucket=self.bucket,
                key=key,
                detail=f"S3 acknowledged part {part_number} as SHA-256 {echoed}, not {checksum}",
                cleaned_up=True,
            )
        return {"PartNumber": part_number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

    def _own_write_if_it_landed(
        self, error: ClientError | BotoCoreError, key: str, *, size: int, sha256_hex: str
    ) -> ObjectInfo | None:
        """The object under ``key`` if a 412 on a retry was our own earlier attempt, else None.

        A create-only write whose response was lost (reset, or later than the read timeout) is retried by
        botocore and meets its own ``If-None-Match``. The object is taken as ours only if it holds our size
        and recorded SHA-256; ``_verify`` then proves its bytes like any other write's.
        """
        if not isinstance(error, ClientError) or _error_code(error) not in _PRECONDITION_CODES:
            return None
        if error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) == 0:
            return None  # the first attempt was refused: someone else's object
        info = self._head_or_none(key)
        if info is None or (info.size, info.recorded_sha256) != (size, sha256_hex):
            return None
        return info

    def _abort_quietly(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:  # the original failure matters more; abort_stale_uploads sweeps leftovers
            log.warning("could not abort multipart upload %s of s3://%s/%s", upload_id, self.bucket, key)

    # -- verifying ---------------------------------------------------------------------------------

    def _verify(self, key: str, *, size: int, sha256_hex: str, landed: _Landed) -> StoredObject:
        try:
            verified_by, problem = self._find_problem(key, size=size, sha256_hex=sha256_hex, landed=landed)
        except BaseException as error:
            # Could not finish verifying: an unverified object must not stay under a final key, and if it
            # cannot be deleted either, the caller must learn that it may remain.
            if self._delete_version_quietly(key, landed.version_id) or not isinstance(error, Exception):
                raise
            reason = (
                f"{error.operation} failed with {error.code}"
                if isinstance(error, StorageError)
                else type(error).__name__
            )
            raise IntegrityError(
                bucket=self.bucket,
                key=key,
                detail=f"verifying it was cut off ({reason}) and deleting it failed too, so it may remain "
                f"unverified; compare ArchiveStore.read_back_sha256(key) with {sha256_hex}",
                cleaned_up=False,
            ) from error
        if problem is not None:
            raise IntegrityError(
                bucket=self.bucket,
                key=key,
                detail=problem,
                cleaned_up=self._delete_version_quietly(key, landed.version_id),
            )
        return StoredObject(
            bucket=self.bucket,
            key=key,
            size=size,
            sha256_hex=sha256_hex,
            etag=landed.etag,
            version_id=landed.version_id,
            checksum_verified_by=verified_by,
        )

    def _find_problem(
        self, key: str, *, size: int, sha256_hex: str, landed: _Landed
    ) -> tuple[VerifiedBy, str | None]:
        info = self.head(key)
        if info is None:
            return "s3-checksum", "the object was missing right after the upload succeeded"
        if info.size != size:
            return "s3-checksum", f"S3 holds {info.size} bytes, {size} were sent"
        if not self.encryption.is_applied(info.server_side_encryption):
            return "s3-checksum", (
                f"stored with server-side encryption {info.server_side_encryption!r}, "
                f"not {self.encryption.algorithm!r}"
            )
        if info.recorded_sha256 != sha256_hex:
            return "s3-checksum", f"metadata sha256 {info.recorded_sha256!r} is not {sha256_hex}"
        if info.checksum_sha256 is not None and not self._verify_by_read_back:
            return "s3-checksum", _checksum_problem(info.checksum_sha256, landed)
        try:
            actual_sha256, actual_size = self._read_back(key)
        except IntegrityError as error:
            return "read-back", error.detail
        if (actual_sha256, actual_size) != (sha256_hex, size):
            return "read-back", (
                f"reading back gave {actual_size} bytes / {actual_sha256}, not {size} / {sha256_hex}"
            )
        return "read-back", None

    def _delete_version_quietly(self, key: str, version_id: str | None) -> bool:
        # Delete the exact version we wrote, so a versioned bucket keeps no hidden corrupt copy.
        # "null" is the unversioned bucket's version; moto rejects it there, and plain delete is the same.
        request = {"Bucket": self.bucket, "Key": key}
        if version_id and version_id != "null":
            request["VersionId"] = version_id
        try:
            self._s3.delete_object(**request)
        except Exception:
            log.error("could not delete unverified object s3://%s/%s", self.bucket, key)
            return False
        return True

    # -- reading -----------------------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self._s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except (ClientError, BotoCoreError) as error:
            if _error_code(error) in _NOT_FOUND_CODES:
                return None
            raise self._translate(error, operation="HeadObject", key=key) from error
        return ObjectInfo(
            bucket=self.bucket,
            key=key,
            size=response["ContentLength"],
            etag=_etag(response),
            last_modified=response["LastModified"],
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata", {})),
            server_side_encryption=response.get("ServerSideEncryption"),
            kms_key_id=response.get("SSEKMSKeyId"),
            checksum_sha256=_qualified_checksum(response),
            version_id=response.get("VersionId"),
        )

    def list_day(self, prefix: str, *, page_size: int = 1000) -> Iterator[ListedObject]:
        """Every object under ``prefix`` (e.g. ``keys.recording_day_prefix(...)``), following all pages."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(
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
            raise self._translate(error, operation="ListObjectsV2", key=prefix) from error

    def abort_stale_uploads(self, prefix: str, *, initiated_before: datetime | None = None) -> int:
        """Abort multipart uploads under ``prefix`` (leftovers of a killed run); returns how many.

        Pass ``initiated_before`` when another run may be uploading under the same prefix right now.
        """
        aborted = 0
        pages = self._s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for upload in page.get("Uploads", []):
                    if initiated_before is not None and upload["Initiated"] >= initiated_before:
                        continue
                    try:
                        self._s3.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    except ClientError as error:
                        if _error_code(error) != "NoSuchUpload":  # finished or aborted meanwhile
                            raise
                        continue
                    aborted += 1
        except (ClientError, BotoCoreError) as error:
            raise self._translate(error, operation="AbortMultipartUpload", key=prefix) from error
        return aborted

    def get_bytes(self, key: str) -> bytes | None:
        """A small document written by ``put_bytes``, checked against its recorded SHA-256; None if absent."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            if _error_code(error) in _NOT_FOUND_CODES:
                return None
            raise self._translate(error, operation="GetObject", key=key) from error
        try:
            data = response["Body"].read()
        except FlexibleChecksumError as error:
            raise self._stored_checksum_mismatch(key, error) from error
        except BotoCoreError as error:
            raise self._translate(error, operation="GetObject", key=key) from error
        recorded = response.get("Metadata", {}).get(SHA256_METADATA_KEY)
        if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
            raise IntegrityError(
                bucket=self.bucket, key=key, detail=f"the bytes read do not hash to the recorded {recorded}",
                cleaned_up=None,
            )
        return data

    def read_prefix(self, key: str, length: int) -> bytes:
        """The first ``length`` bytes (fewer if the object is shorter), e.g. for ``sniff.check_container``."""
        if length <= 0:
            return b""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}")
            return response["Body"].read()[:length]
        except (ClientError, BotoCoreError) as error:
            if _error_code(error) == "InvalidRange":  # a zero-byte object has no byte 0
                return b""
            raise self._translate(error, operation="GetObject", key=key) from error

    def read_back_sha256(self, key: str) -> str:
        """Hex SHA-256 of the stored bytes, streamed in 1 MiB chunks."""
        return self._read_back(key)[0]

    def _read_back(self, key: str) -> tuple[str, int]:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except (ClientError, BotoCoreError) as error:
            raise self._translate(error, operation="GetObject", key=key) from error
        digest = hashlib.sha256()
        size = 0
        try:
            for chunk in body.iter_chunks(READ_BACK_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        except FlexibleChecksumError as error:
            raise self._stored_checksum_mismatch(key, error) from error
        except BotoCoreError as error:
            raise self._translate(error, operation="GetObject", key=key) from error
        finally:
            body.close()
        return digest.hexdigest(), size

    def _stored_checksum_mismatch(self, key: str, error: FlexibleChecksumError) -> IntegrityError:
        # botocore compares S3's stored full-object checksum with the body it received.
        return IntegrityError(
            bucket=self.bucket, key=key, detail=f"S3's stored checksum does not match its bytes ({error})",
            cleaned_up=None,
        )

    # -- errors ------------------------------------------------------------------------------------

    def _translate(self, error: ClientError | BotoCoreError, *, operation: str, key: str) -> Exception:
        code = _error_code(error)
        if isinstance(error, BotoCoreError):
            if not isinstance(error, _TRANSPORT_ERRORS):
                message = _INSIDE_BOTOCORE
            elif operation in _WRITES:
                message = _NO_RESPONSE + _MAY_HAVE_LANDED
            else:
                message = _NO_RESPONSE
            return StorageError(operation=operation, bucket=self.bucket, key=key, code=code, message=message)
        if code in _PRECONDITION_CODES:
            return ObjectExistsError(bucket=self.bucket, key=key, existing=self._head_or_none(key))
        if code in _DIGEST_CODES:
            return IntegrityError(
                bucket=self.bucket,
                key=key,
                detail=f"S3 rejected the bytes of {operation} ({code}): they changed in transit",
                cleaned_up=True,
            )
        message = error.response.get("Error", {}).get("Message") or "no message"
        return StorageError(operation=operation, bucket=self.bucket, key=key, code=code, message=message)

    def _head_or_none(self, key: str) -> ObjectInfo | None:
        try:
            return self.head(key)
        except Exception:  # only decorates an error that is already being raised
            return None


def _archive_metadata(user: Mapping[str, str], *, sha256_hex: str, size: int) -> dict[str, str]:
    ours = {SHA256_METADATA_KEY: sha256_hex, SIZE_METADATA_KEY: str(size)}
    for name, value in user.items():
        if not isinstance(name, str) or not _METADATA_KEY.fullmatch(name):
            raise InvalidIdentifierError(
                field="metadata key", value=name, reason="not a usable metadata key", rules=_METADATA_RULES
            )
        if not isinstance(value, str) or not _METADATA_VALUE.fullmatch(value):
            raise InvalidIdentifierError(
                field=f"metadata[{name!r}]", value=value, reason="not printable ASCII", rules=_METADATA_RULES
            )
        if name in ours and value != ours[name]:
            raise InvalidIdentifierError(
                field=f"metadata[{name!r}]",
                value=value,
                reason=f"it contradicts the {ours[name]} the store measured",
                rules=_METADATA_RULES,
            )
    metadata = {**user, **ours}
    total = sum(len(name) + len(value) for name, value in metadata.items())
    if total > _MAX_METADATA_BYTES:
        raise InvalidIdentifierError(
            field="metadata", value=sorted(user), reason=f"{total} bytes in total", rules=_METADATA_RULES
        )
    return metadata


def _checksum_problem(reported: str, landed: _Landed) -> str | None:
    # Composite values are "base64-N" on AWS; moto's HEAD leaves out "-N". Base64 never contains "-".
    value, _, parts = reported.partition("-")
    if value != landed.s3_checksum:
        return f"S3 reports SHA-256 checksum {reported}, expected {landed.s3_checksum}"
    if parts and landed.part_count is not None and parts != str(landed.part_count):
        return f"S3 reports {parts} parts, {landed.part_count} were uploaded"
    return None


def _qualified_checksum(response: Mapping[str, Any]) -> str | None:
    # A multipart ETag ends in "-N"; a SHA-256 over multipart is composite unless S3 says otherwise.
    checksum = response.get("ChecksumSHA256")
    _, dash, part_count = _etag(response).rpartition("-")
    digits = part_count.isascii() and part_count.isdigit()  # not '²': str.isdigit() alone accepts it
    is_composite = dash and digits and response.get("ChecksumType") != "FULL_OBJECT"
    if checksum and "-" not in checksum and is_composite:
        return f"{checksum}-{part_count}"
    return checksum


def _read_up_to(reader: BinaryIO, size: int) -> bytes:
    first = reader.read(size)
    if len(first) == size or not first:
        return first
    buffer = bytearray(first)
    while len(buffer) < size:
        chunk = reader.read(size - len(buffer))
        if not chunk:
            break
        buffer += chunk
    return bytes(buffer)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _etag(response: Mapping[str, Any]) -> str:
    return str(response.get("ETag", "")).strip('"')


def _error_code(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, BotoCoreError):
        return type(error).__name__
    return str(error.response.get("Error", {}).get("Code", "Unknown"))
