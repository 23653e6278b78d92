"""Create-only, encrypted, checksummed writes to one S3 bucket, each verified after it lands.

The promise: after ``put_new`` returns, the key holds exactly the bytes whose SHA-256 was taken while
downloading, encrypted as configured; if it raises, nothing of this call is visible under the key.

How each step keeps that promise:
- a single PUT declares the download-time SHA-256 as ``ChecksumSHA256``, so S3 rejects bytes that changed
  on local disk, in memory or in transit (AWS does; moto 5.2.5 stores the value without checking it);
  a multipart upload sends a checksum per part, and its parts are re-hashed as they are read and compared
  with the download-time hash before anything becomes visible;
- ``IfNoneMatch="*"`` makes the write create-only: S3's 412 says the key is taken, with no HEAD before.
  On a store that ignores the header (``conditional_writes=False``, see ``conditional``) a HEAD comes first;
- a failed multipart upload is always aborted, so no parts linger and no object appears;
- S3's answer to the write (the SHA-256 it computed, the encryption it applied) proves it as it lands;
  without that answer a HEAD with ``ChecksumMode=ENABLED`` (or a streaming read-back when S3 reports no
  checksum) does; on any doubt what this very write created is deleted, and nothing else: the version id
  its answer named on a versioned bucket, the key itself only after a create-only write (``verify``);
- every write carries a fresh write token in its metadata, so a retried create-only write adopts an object
  after a 412 only if it is its own, never another run's copy of the same bytes (``upload``).

Transient failures are retried by botocore (configure ``retries={"mode": "standard"}`` on the client);
each part is streamed from the spool (``parts.PartBody``), rewound and re-sent whole on a retry. When a
write's response is lost, the retry meets our own ``If-None-Match`` (412): the object is taken as ours only
if it carries this write's token, size and recorded SHA-256, and is then verified like any other. What botocore could not get
through (S3 errors, connections closed, refused or timed out) comes out as an ``ArchiveError``; where an
object may remain unverified (the outcome of a write unknown, or a verification and its cleanup both cut
off) the error says so.

The steps live beside this module: ``upload`` (single PUT, multipart), ``parts`` (multipart parts in
parallel), ``verify`` (as it lands, read-back), ``conditional`` (does the store honour If-None-Match),
``reads`` (HEAD, listing, documents), ``s3errors`` (botocore to ``ArchiveError``) and
``objects`` (the value types and the recorded metadata).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from recording_assets.archive.encryption import Encryption
from recording_assets.archive.errors import ObjectExistsError
from recording_assets.archive.lock import ObjectLock, require_object_lock, set_legal_hold
from recording_assets.archive.objects import ListedObject, ObjectInfo, StoredObject, archive_metadata
from recording_assets.archive.parts import PARTS_IN_FLIGHT, PartPump
from recording_assets.archive.reads import BucketReader
from recording_assets.archive.spool import DEFAULT_PART_SIZE, UploadSource
from recording_assets.archive.upload import MAX_SINGLE_PUT, MIN_PART_SIZE, MiB, Uploader
from recording_assets.archive.verify import Verifier

log = logging.getLogger(__name__)


class ArchiveStore:
    def __init__(
        self,
        s3_client: Any,
        *,
        bucket: str,
        encryption: Encryption = Encryption.aes256(),
        part_size: int = DEFAULT_PART_SIZE,
        multipart_threshold: int = 16 * MiB,
        verify_by_read_back: bool = False,
        conditional_writes: bool = True,
        parts_in_flight: int = PARTS_IN_FLIGHT,
        part_slots: int = PARTS_IN_FLIGHT,
    ) -> None:
        """``verify_by_read_back``: always re-read and hash the object after writing, for S3-compatible
        stores that echo checksums without checking them (moto does, for single PUTs).
        ``conditional_writes``: the store refuses ``If-None-Match: *`` over an existing key (AWS, moto);
        pass ``conditional.honours_if_none_match(...)`` for any other store, False adds a HEAD first.
        ``parts_in_flight`` per multipart object, ``part_slots`` parts in memory across all of them."""
        if not MIN_PART_SIZE <= part_size <= MAX_SINGLE_PUT:
            raise ValueError(f"part_size must be within 5 MiB..5 GiB (S3 limits), got {part_size}")
        if not 1 <= multipart_threshold <= MAX_SINGLE_PUT:
            raise ValueError(f"multipart_threshold must be within 1 byte..5 GiB, got {multipart_threshold}")
        self.bucket = bucket
        self.encryption = encryption
        self.conditional_writes = conditional_writes
        self._reader = BucketReader(s3_client, bucket)
        self._uploader = Uploader(
            self._reader,
            encryption=encryption,
            part_size=part_size,
            multipart_threshold=multipart_threshold,
            parts=PartPump(per_object=parts_in_flight, slots=part_slots),
        )
        self._verifier = Verifier(self._reader, encryption=encryption, always_read_back=verify_by_read_back)
        self._warned_unversioned = False

    # -- writing -----------------------------------------------------------------------------------

    def put_new(
        self,
        key: str,
        spool: UploadSource,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        lock: ObjectLock | None = None,
    ) -> StoredObject:
        """Upload ``spool`` under ``key`` only if the key is free; raise ``ObjectExistsError`` if not.
        ``lock``: the Object Lock retention it is created with (``lock.py``)."""
        size, sha256_hex = spool.size, spool.sha256_hex
        full_metadata = archive_metadata(metadata, sha256_hex=sha256_hex, size=size, write_token=_token())
        self._refuse_if_exists(key)
        landed = self._uploader.put_spool(
            key, spool, content_type=content_type, metadata=full_metadata, lock=lock
        )
        return self._verifier.verify(key, size=size, sha256_hex=sha256_hex, landed=landed, lock=lock)

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        overwrite: bool,
        metadata: Mapping[str, str] | None = None,
        lock: ObjectLock | None = None,
    ) -> StoredObject:
        """A small document (a Parquet manifest, a JSON audit event, a recording's sidecar), encrypted and
        checksummed; ``lock``: the Object Lock retention it is created with (a sidecar gets its recording's).

        ``overwrite=True`` replaces a mutable document. Its bucket should keep versions: then a failed or
        cut-off verification deletes only the version this write created and the previous one is current
        again; without versioning the new version is left in place (deleting it would leave no copy at all)
        and the error says it is unverified (docs/operations.md, "Overwrites and concurrent runs")."""
        if len(data) > MAX_SINGLE_PUT:
            raise ValueError(f"put_bytes takes at most 5 GiB; stream {key!r} through put_new instead")
        sha256_hex = hashlib.sha256(data).hexdigest()
        full_metadata = archive_metadata(
            metadata or {}, sha256_hex=sha256_hex, size=len(data), write_token=_token()
        )
        if not overwrite:
            self._refuse_if_exists(key)
        landed = self._uploader.put_single(
            key,
            data,
            sha256_hex=sha256_hex,
            content_type=content_type,
            metadata=full_metadata,
            create_only=not overwrite,
            lock=lock,
        )
        if overwrite and landed.own_version_id is None and not self._warned_unversioned:
            self._warned_unversioned = True
            log.warning(
                "s3://%s keeps no object versions: an overwritten document cannot be restored if verifying "
                "its new version fails; enable versioning on this bucket",
                self.bucket,
            )
        return self._verifier.verify(key, size=len(data), sha256_hex=sha256_hex, landed=landed, lock=lock)

    def _refuse_if_exists(self, key: str) -> None:
        # If-None-Match is the guard: S3's 412 names a taken key without a HEAD before every write. Only a
        # store that ignores the header needs this HEAD (a rival writing between it and ours still wins).
        if self.conditional_writes:
            return
        existing = self.head(key)
        if existing is not None:
            raise ObjectExistsError(bucket=self.bucket, key=key, existing=existing)

    def delete(self, key: str) -> None:
        """Delete ``key`` (a plain DELETE: on a versioned bucket its versions stay until a lifecycle rule
        expires them); deleting an absent key is no error. For short-lived documents, never recordings."""
        self._reader.delete(key)

    def require_object_lock(self, *, setting: str) -> dict[str, Any]:
        """The bucket's Object Lock configuration; ``lock.ObjectLockNotEnabledError`` (naming the bucket,
        ``setting`` and the fix) when it has none, so a run that must lock fails before writing anything."""
        return require_object_lock(self._reader.s3, self.bucket, setting=setting)

    def set_legal_hold(self, key: str, *, on: bool) -> None:
        """Set or clear the legal hold of the object under ``key`` (``lock.set_legal_hold``)."""
        set_legal_hold(self._reader.s3, self.bucket, key, on=on)

    # -- reading -----------------------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        return self._reader.head(key)

    def list_day(self, prefix: str, *, page_size: int = 1000) -> Iterator[ListedObject]:
        """Every object under ``prefix`` (e.g. ``keys.recording_day_prefix(...)``), following all pages."""
        return self._reader.list_day(prefix, page_size=page_size)

    def abort_stale_uploads(self, prefix: str, *, initiated_before: datetime | None = None) -> int:
        """Abort multipart uploads under ``prefix`` (leftovers of a killed run); returns how many.

        Pass ``initiated_before`` when another run may be uploading under the same prefix right now.
        """
        return self._reader.abort_stale_uploads(prefix, initiated_before=initiated_before)

    def get_bytes(self, key: str) -> bytes | None:
        """A small document written by ``put_bytes``, checked against its recorded SHA-256; None if absent."""
        return self._reader.get_bytes(key)

    def read_prefix(self, key: str, length: int) -> bytes:
        """The first ``length`` bytes (fewer if the object is shorter), e.g. for ``sniff.check_container``."""
        return self._reader.read_prefix(key, length)

    def read_back_sha256(self, key: str) -> str:
        """Hex SHA-256 of the stored bytes, streamed in 1 MiB chunks."""
        return self._verifier.read_back(key)[0]

    def read_back_sample(self, key: str, lead: int) -> tuple[str, bytes]:
        """Hex SHA-256 of the stored bytes and their first ``lead`` bytes, in one streamed read."""
        sha256_hex, _, head = self._verifier.read_back(key, lead=lead)
        return sha256_hex, head


def _token() -> str:
    return uuid.uuid4().hex
