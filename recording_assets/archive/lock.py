"""S3 Object Lock (WORM) on archived objects: a retention given on the create-only write, the bucket's
configuration checked before a run writes anything, and legal holds set or cleared per object.

Two modes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
- ``GOVERNANCE``: no one deletes or shortens the locked version before its retain-until date unless they
  hold ``s3:BypassGovernanceRetention`` and ask for the bypass on the request;
- ``COMPLIANCE``: no one at all, the account root included, until the date has passed.

A legal hold is independent of both: while it is ON the version cannot be deleted, whatever its date.
Object Lock works on versions, so a locked bucket always keeps versions; deleting a key without a version
id only adds a delete marker (the locked version stays), which is why the store deletes by version id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from recording_assets.archive import s3errors
from recording_assets.archive.errors import ArchiveError, StorageError

LockMode = Literal["GOVERNANCE", "COMPLIANCE"]
LOCK_MODES: tuple[LockMode, ...] = ("GOVERNANCE", "COMPLIANCE")


@dataclass(frozen=True)
class ObjectLock:
    """The retention one object is written with."""

    mode: LockMode
    retain_until: datetime  # timezone-aware

    def __post_init__(self) -> None:
        if self.mode not in LOCK_MODES:
            raise ValueError(f"Object Lock mode {self.mode!r}: use GOVERNANCE or COMPLIANCE")
        if self.retain_until.tzinfo is None:
            raise ValueError("an Object Lock retain-until date needs a time zone")

    def request_args(self) -> dict[str, Any]:
        """For PutObject and CreateMultipartUpload (S3 requires a checksum header with them: we send one)."""
        return {"ObjectLockMode": self.mode, "ObjectLockRetainUntilDate": self.retain_until}


class ObjectLockNotEnabledError(ArchiveError):
    """The bucket cannot lock objects, but the deployment asks for it."""

    def __init__(self, *, bucket: str, setting: str) -> None:
        self.bucket = bucket
        super().__init__(
            f"s3://{bucket} does not have Object Lock enabled, but {setting} asks for locked recordings: "
            f"enable it (`aws s3api put-object-lock-configuration --bucket {bucket} "
            "--object-lock-configuration ObjectLockEnabled=Enabled` on a versioned bucket, or create the "
            "bucket with `--object-lock-enabled-for-bucket`; docs/operations.md §11), or unset the setting"
        )


def require_object_lock(s3_client: Any, bucket: str, *, setting: str) -> dict[str, Any]:
    """The bucket's Object Lock configuration (``GetObjectLockConfiguration``); raises
    ``ObjectLockNotEnabledError`` when the bucket has none. ``setting`` names what asked for it."""
    try:
        answer = s3_client.get_object_lock_configuration(Bucket=bucket)
    except ClientError as error:
        if s3errors.error_code(error) == "ObjectLockConfigurationNotFoundError":
            raise ObjectLockNotEnabledError(bucket=bucket, setting=setting) from None
        raise _failed(error, "GetObjectLockConfiguration", bucket, "") from error
    except BotoCoreError as error:
        raise _failed(error, "GetObjectLockConfiguration", bucket, "") from error
    configuration = answer.get("ObjectLockConfiguration", {})
    if configuration.get("ObjectLockEnabled") != "Enabled":
        raise ObjectLockNotEnabledError(bucket=bucket, setting=setting)
    return dict(configuration)


def set_legal_hold(s3_client: Any, bucket: str, key: str, *, on: bool) -> None:
    """Set (``on``) or clear the legal hold of the object's current version (archived objects are written
    once, create-only, so the current version is the only one)."""
    try:
        s3_client.put_object_legal_hold(Bucket=bucket, Key=key, LegalHold={"Status": "ON" if on else "OFF"})
    except (ClientError, BotoCoreError) as error:
        raise _failed(error, "PutObjectLegalHold", bucket, key) from error


def _failed(error: s3errors.S3Error, operation: str, bucket: str, key: str) -> StorageError:
    return StorageError(
        operation=operation, bucket=bucket, key=key, code=s3errors.error_code(error), message=str(error)
    )
