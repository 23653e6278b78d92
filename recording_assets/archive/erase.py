"""Deleting one archived object for good: every version of its key, when the bucket keeps versions (a
plain DELETE there only adds a delete marker, and the bytes stay), and the delete markers too.

S3 Object Lock refuses to delete a locked version (``AccessDenied``): that object is *held*, not erased.
Its retain-until date and legal hold are read from ``head_object`` (``GetObjectRetention`` is not used:
moto's server mode answers it wrongly, and ``head_object`` carries the same fields). Nothing here decides
*whether* to delete: the caller has written its audit row first (``pipeline/erasure.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

_REFUSED = ("AccessDenied", "InvalidRequest")  # Object Lock: a locked version, or a legal hold


@dataclass
class EraseResult:
    deleted_versions: list[str] = field(default_factory=list)  # version ids, "null" for an unversioned one
    held: bool = False
    held_until: datetime | None = None  # the lock's retain-until date, when S3 says one
    legal_hold: bool = False
    detail: str | None = None

    @property
    def absent(self) -> bool:
        return not self.held and not self.deleted_versions


def erase_object(s3_client: Any, bucket: str, key: str) -> EraseResult:
    """Delete every version and delete marker of ``key``; stop at the first version S3 refuses (held)."""
    result = EraseResult()
    for version_id in _versions(s3_client, bucket, key):
        try:
            s3_client.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code not in _REFUSED:
                raise
            result.held = True
            result.detail = f"S3 refused deleting version {version_id}: {code}"
            _read_lock(s3_client, bucket, key, version_id, result)
            return result
        result.deleted_versions.append(version_id)
    return result


def _versions(s3_client: Any, bucket: str, key: str) -> list[str]:
    """Every version id of exactly ``key`` (a listing by prefix also names longer keys)."""
    ids: list[str] = []
    paginator = s3_client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        for entry in (*page.get("Versions", ()), *page.get("DeleteMarkers", ())):
            if entry.get("Key") == key:
                ids.append(entry.get("VersionId") or "null")
    return ids


def _read_lock(s3_client: Any, bucket: str, key: str, version_id: str, result: EraseResult) -> None:
    try:
        head = s3_client.head_object(Bucket=bucket, Key=key, VersionId=version_id)
    except ClientError:
        return  # the refusal stands; the date is simply not known
    until = head.get("ObjectLockRetainUntilDate")
    result.held_until = until if isinstance(until, datetime) else None
    result.legal_hold = head.get("ObjectLockLegalHoldStatus") == "ON"
