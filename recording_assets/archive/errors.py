"""One exception tree for the archive: catch ``ArchiveError`` to catch them all.

Messages name the bucket/key and say what to do next. They never carry credentials or endpoint URLs,
only what S3 itself reported (error code and message).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recording_assets.archive.objects import ObjectInfo

_MAX_SHOWN_CHARS = 80


def shown(value: object) -> str:
    """``repr`` of a hostile value, cut short so a megabyte id cannot flood a log line."""
    text = repr(value)
    if len(text) <= _MAX_SHOWN_CHARS:
        return text
    return f"{text[:_MAX_SHOWN_CHARS]}... ({len(text)} chars)"


class ArchiveError(Exception):
    """Base of every error raised by ``recording_assets.archive``."""


class InvalidIdentifierError(ArchiveError, ValueError):
    """An id, prefix, key or metadata entry that could escape or corrupt the key layout."""

    KEY_RULES = (
        "Identifiers are 1-128 characters of A-Z a-z 0-9 . _ - (not '.', '..' or containing '..'); "
        "reject or map the upstream value before archiving it."
    )

    def __init__(self, *, field: str, value: object, reason: str, rules: str = KEY_RULES) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} {shown(value)} is not usable: {reason}. {rules}")


class ObjectExistsError(ArchiveError):
    """A create-only write found the key already taken; the stored object was left untouched."""

    def __init__(self, *, bucket: str, key: str, existing: ObjectInfo | None) -> None:
        self.bucket = bucket
        self.key = key
        self.existing = existing
        recorded = existing.recorded_sha256 if existing is not None else None
        super().__init__(
            f"s3://{bucket}/{key} already exists (recorded sha256={recorded or 'unknown'}); "
            "archive keys are create-only. Compare the recorded sha256 with yours: equal means already "
            "archived (skip; if an earlier attempt reported it unverified, check it with read_back_sha256 "
            "first), different means quarantine the new bytes under a new key."
        )


class IntegrityError(ArchiveError):
    """Bytes did not hash, size or encrypt as promised. ``cleaned_up`` says what became of the object."""

    def __init__(self, *, bucket: str, key: str, detail: str, cleaned_up: bool | None) -> None:
        """``cleaned_up``: True nothing is left under the key, False removal failed, None read-only check."""
        self.bucket = bucket
        self.key = key
        self.detail = detail
        self.cleaned_up = cleaned_up
        if cleaned_up is None:
            aftermath = "the stored object was not modified; re-archive it from the source"
        elif cleaned_up:
            aftermath = "nothing was left under the key; download the recording again and retry"
        else:
            aftermath = (
                "the object could NOT be removed (check the endpoint, Object Lock and s3:DeleteObject "
                "permission); check or quarantine it by hand before retrying"
            )
        super().__init__(f"integrity check failed for s3://{bucket}/{key}: {detail}; {aftermath}.")


class StorageError(ArchiveError):
    """S3 refused an operation after botocore's own retries were spent."""

    def __init__(self, *, operation: str, bucket: str, key: str, code: str, message: str) -> None:
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.code = code
        super().__init__(
            f"{operation} on s3://{bucket}/{key} failed: {code}: {message}. "
            "Transient errors were already retried by botocore; check bucket permissions, "
            "encryption key access and the endpoint, then re-run."
        )
