"""botocore's errors, after its own retries, turned into the ``ArchiveError`` tree.

botocore's errors carry the endpoint URL; what comes out says what happened without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    FlexibleChecksumError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError  # not the builtin

from recording_assets.archive.errors import IntegrityError, ObjectExistsError, StorageError
from recording_assets.archive.objects import ObjectInfo

S3Error: TypeAlias = ClientError | BotoCoreError
"""What a botocore call raises when S3 refused it or it never got an answer."""

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_PRECONDITION_CODES = frozenset({"PreconditionFailed", "412"})
_DIGEST_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
_WRITES = frozenset({"PutObject", "CompleteMultipartUpload"})
_TRANSPORT_ERRORS = (BotocoreConnectionError, HTTPClientError, IncompleteReadError)
_NO_RESPONSE = "no valid response from S3 after botocore's retries (connection closed, refused or timed out)"
_INSIDE_BOTOCORE = "raised inside botocore, not by S3 (credentials, parameters; see the chained exception)"
_MAY_HAVE_LANDED = (
    "; the write may have landed, leaving an object this store never verified: compare "
    "ArchiveStore.read_back_sha256(key) with the sha256 you uploaded before trusting or deleting it"
)


def error_code(error: S3Error) -> str:
    if isinstance(error, BotoCoreError):
        return type(error).__name__
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def is_not_found(error: S3Error) -> bool:
    return error_code(error) in _NOT_FOUND_CODES


def is_precondition_failed(error: S3Error) -> bool:
    """An ``If-None-Match: *`` write that met an object already under its key."""
    return error_code(error) in _PRECONDITION_CODES


def translate(
    error: S3Error, *, operation: str, bucket: str, key: str, existing: Callable[[], ObjectInfo | None]
) -> Exception:
    """``existing`` looks up the object a refused create-only write met (None if it cannot say)."""
    code = error_code(error)
    if isinstance(error, BotoCoreError):
        if not isinstance(error, _TRANSPORT_ERRORS):
            message = _INSIDE_BOTOCORE
        elif operation in _WRITES:
            message = _NO_RESPONSE + _MAY_HAVE_LANDED
        else:
            message = _NO_RESPONSE
        return StorageError(operation=operation, bucket=bucket, key=key, code=code, message=message)
    if code in _PRECONDITION_CODES:
        return ObjectExistsError(bucket=bucket, key=key, existing=existing())
    if code in _DIGEST_CODES:
        return IntegrityError(
            bucket=bucket,
            key=key,
            detail=f"S3 rejected the bytes of {operation} ({code}): they changed after their checksum was "
            "taken (on local disk, in memory or in transit)",
            cleaned_up=True,
        )
    message = error.response.get("Error", {}).get("Message") or "no message"
    return StorageError(operation=operation, bucket=bucket, key=key, code=code, message=message)


def stored_checksum_mismatch(error: FlexibleChecksumError, *, bucket: str, key: str) -> IntegrityError:
    # botocore compares S3's stored full-object checksum with the body it received.
    return IntegrityError(
        bucket=bucket,
        key=key,
        detail=f"S3's stored checksum does not match its bytes ({error})",
        cleaned_up=None,
    )
