"""Proving a write as it lands: S3's answer to the write itself, else a HEAD, or a streaming read-back.

S3 answers a PUT (and, on AWS, a CompleteMultipartUpload) with the SHA-256 it computed over the bytes it
stored and the encryption it applied. When both are there and agree with ours the object is proved without
another request; a write adopted after a 412, or an answer without a checksum (moto's Complete), is proved
by a HEAD with ``ChecksumMode=ENABLED``; ``always_read_back`` hashes the stored bytes again.

On any doubt what this write created is deleted, and nothing else (``_delete_own_write``):
- on a versioned bucket, the version id the write's own answer named (or the HEAD that matched its write
  token): an overwritten document's previous version becomes current again, untouched;
- on a bucket without versioning, the key, but only after a create-only write: the key was free, so
  nothing else can be under it. An overwrite there is left in place: the version it replaced is already
  gone, and deleting the new one would leave no copy at all, so the error says it may remain unverified.
If even the delete fails, the error says the object may remain.

Under Object Lock (``lock.py``) the version just written is locked from the moment it lands. In GOVERNANCE
mode the delete of that one version asks for the governance bypass (it succeeds only where the archiver's
role holds ``s3:BypassGovernanceRetention``); in COMPLIANCE mode S3 refuses it, by design. Either way the
store believes only S3's answer: a refused delete is an ``IntegrityError`` with ``cleaned_up=False`` that
says the version stays locked under its key until its retain-until date. The key is then taken: the next
run's create-only write meets it (412) and adopts it only if its bytes, read back, hash to the download.
"""

from __future__ import annotations

import hashlib
import logging

from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from recording_assets.archive import s3errors
from recording_assets.archive.encryption import Encryption
from recording_assets.archive.errors import IntegrityError, StorageError
from recording_assets.archive.lock import ObjectLock
from recording_assets.archive.objects import Landed, StoredObject, VerifiedBy
from recording_assets.archive.reads import BucketReader

READ_BACK_CHUNK = 1024 * 1024

log = logging.getLogger(__name__)


class Verifier:
    def __init__(self, reader: BucketReader, *, encryption: Encryption, always_read_back: bool) -> None:
        """``always_read_back``: hash the stored bytes even when S3 reports a checksum."""
        self._reader = reader
        self._s3 = reader.s3
        self.bucket = reader.bucket
        self._encryption = encryption
        self._always_read_back = always_read_back

    def verify(
        self, key: str, *, size: int, sha256_hex: str, landed: Landed, lock: ObjectLock | None = None
    ) -> StoredObject:
        """``lock``: the Object Lock retention the write asked for (it decides how a bad copy is deleted)."""
        try:
            verified_by, problem = self._find_problem(key, size=size, sha256_hex=sha256_hex, landed=landed)
        except BaseException as error:
            # Could not finish verifying: an unverified object must not stay under a final key, and if it
            # cannot be deleted either, the caller must learn that it may remain.
            deleted = self._delete_own_write(key, landed, lock)
            if deleted or not isinstance(error, Exception):
                raise
            reason = (
                f"{error.operation} failed with {error.code}"
                if isinstance(error, StorageError)
                else type(error).__name__
            )
            raise IntegrityError(
                bucket=self.bucket,
                key=key,
                detail=f"verifying it was cut off ({reason}) and {_why_kept(landed, lock)}, so it may remain "
                f"unverified; compare ArchiveStore.read_back_sha256(key) with {sha256_hex}",
                cleaned_up=False,
            ) from error
        if problem is not None:
            if not self._delete_own_write(key, landed, lock):
                problem = f"{problem}; {_why_kept(landed, lock)}"
                raise IntegrityError(bucket=self.bucket, key=key, detail=problem, cleaned_up=False)
            raise IntegrityError(bucket=self.bucket, key=key, detail=problem, cleaned_up=True)
        return StoredObject(
            bucket=self.bucket,
            key=key,
            size=size,
            sha256_hex=sha256_hex,
            etag=landed.etag,
            version_id=landed.version_id,
            checksum_verified_by=verified_by,
        )

    def read_back(self, key: str, *, lead: int = 0) -> tuple[str, int, bytes]:
        """Hex SHA-256 and size of the stored bytes, streamed in 1 MiB chunks, and their first ``lead``
        bytes (for sniffing the container without a second GET)."""
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except (ClientError, BotoCoreError) as error:
            raise self._reader.translate(error, operation="GetObject", key=key) from error
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            for chunk in body.iter_chunks(READ_BACK_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if len(head) < lead:
                    head += chunk[: lead - len(head)]
        except FlexibleChecksumError as error:
            raise s3errors.stored_checksum_mismatch(error, bucket=self.bucket, key=key) from error
        except BotoCoreError as error:
            raise self._reader.translate(error, operation="GetObject", key=key) from error
        finally:
            body.close()
        return digest.hexdigest(), size, head

    def _find_problem(
        self, key: str, *, size: int, sha256_hex: str, landed: Landed
    ) -> tuple[VerifiedBy, str | None]:
        returned = landed.returned_checksum
        if returned is not None and landed.server_side_encryption is not None and not self._always_read_back:
            return "s3-checksum", self._answer_problem(landed, returned)
        info = self._reader.head(key)
        if info is None:
            return "s3-checksum", "the object was missing right after the upload succeeded"
        if info.size != size:
            return "s3-checksum", f"S3 holds {info.size} bytes, {size} were sent"
        if not self._encryption.is_applied(info.server_side_encryption):
            return "s3-checksum", (
                f"stored with server-side encryption {info.server_side_encryption!r}, "
                f"not {self._encryption.algorithm!r}"
            )
        if info.recorded_sha256 != sha256_hex:
            return "s3-checksum", f"metadata sha256 {info.recorded_sha256!r} is not {sha256_hex}"
        if info.checksum_sha256 is not None and not self._always_read_back:
            return "s3-checksum", _checksum_problem(info.checksum_sha256, landed)
        try:
            actual_sha256, actual_size, _ = self.read_back(key)
        except IntegrityError as error:
            return "read-back", error.detail
        if (actual_sha256, actual_size) != (sha256_hex, size):
            return "read-back", (
                f"reading back gave {actual_size} bytes / {actual_sha256}, not {size} / {sha256_hex}"
            )
        return "read-back", None

    def _answer_problem(self, landed: Landed, returned_checksum: str) -> str | None:
        """What is wrong with the write's own answer (the checksum S3 computed, the encryption applied)."""
        if not self._encryption.is_applied(landed.server_side_encryption):
            return (
                f"S3 answered the write with server-side encryption {landed.server_side_encryption!r}, "
                f"not {self._encryption.algorithm!r}"
            )
        return _checksum_problem(returned_checksum, landed)

    def _delete_own_write(self, key: str, landed: Landed, lock: ObjectLock | None) -> bool:
        """Delete what this write created and nothing else; True when S3 says it is gone."""
        request: dict = {"Bucket": self.bucket, "Key": key}
        if landed.own_version_id is not None:
            # That version alone: a versioned bucket keeps no hidden bad copy, and the one before is current.
            request["VersionId"] = landed.own_version_id
        elif not landed.create_only:
            return False  # an unversioned overwrite: what is under the key is the only copy left
        if lock is not None and lock.mode == "GOVERNANCE":
            # Our own unverified version, seconds old: the bypass is asked for it alone (granted only to a
            # role with s3:BypassGovernanceRetention). COMPLIANCE has no bypass: S3 refuses, and we say so.
            request["BypassGovernanceRetention"] = True
        try:
            self._s3.delete_object(**request)
        except Exception:
            log.error("could not delete unverified object s3://%s/%s", self.bucket, key)
            return False
        return True


def _why_kept(landed: Landed, lock: ObjectLock | None = None) -> str:
    if lock is not None and landed.own_version_id is not None:
        return (
            f"deleting it failed (S3 refuses to while version {landed.own_version_id} is under Object Lock "
            f"{lock.mode} until {lock.retain_until.isoformat()}), so it stays under the key; a later run "
            "adopts it only if its bytes read back as the download"
        )
    if landed.own_version_id is None and not landed.create_only:
        return (
            "it was left in place: the bucket keeps no versions, so the version it replaced is gone and "
            "deleting it would leave no copy (enable versioning on the bucket)"
        )
    return "deleting it failed too"


def _checksum_problem(reported: str, landed: Landed) -> str | None:
    # Composite values are "base64-N" on AWS; moto's HEAD leaves out "-N". Base64 never contains "-".
    value, _, parts = reported.partition("-")
    if value != landed.s3_checksum:
        return f"S3 reports SHA-256 checksum {reported}, expected {landed.s3_checksum}"
    if parts and landed.part_count is not None and parts != str(landed.part_count):
        return f"S3 reports {parts} parts, {landed.part_count} were uploaded"
    return None
