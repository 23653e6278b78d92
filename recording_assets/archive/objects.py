"""What the store says about objects: the value types it returns and the user metadata it records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from recording_assets.archive.errors import InvalidIdentifierError

SHA256_METADATA_KEY = "sha256"
SIZE_METADATA_KEY = "size"
WRITE_TOKEN_METADATA_KEY = "write-token"
"""A fresh random value per write call (the same on botocore's retries of it): an object under a key is
this call's own only if it carries this call's token. Same bytes and sha256 are not enough, since another
run archiving the same recording writes exactly those."""
_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")
_MAX_METADATA_BYTES = 2048  # S3's limit for all user metadata keys and values together
_METADATA_RULES = (
    "S3 user metadata needs lowercase keys of a-z 0-9 - (HTTP lowercases them anyway), printable ASCII "
    "values and at most 2 KiB in total; 'sha256', 'size' and 'write-token' are set by the store "
    "(passing them is allowed only if they agree)."
)

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
    lock_mode: str | None = None  # the Object Lock retention S3 reports (lock.py), None when unlocked
    retain_until: datetime | None = None

    @property
    def recorded_sha256(self) -> str | None:
        """The hex SHA-256 the archive recorded in user metadata when it wrote the object."""
        return self.metadata.get(SHA256_METADATA_KEY)

    @property
    def write_token(self) -> str | None:
        """The token of the write call that created the object (``WRITE_TOKEN_METADATA_KEY``)."""
        return self.metadata.get(WRITE_TOKEN_METADATA_KEY)

    @classmethod
    def from_head(cls, response: Mapping[str, Any], *, bucket: str, key: str) -> ObjectInfo:
        """From a ``HeadObject`` response asked with ``ChecksumMode=ENABLED``."""
        return cls(
            bucket=bucket,
            key=key,
            size=response["ContentLength"],
            etag=etag_of(response),
            last_modified=response["LastModified"],
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata", {})),
            server_side_encryption=response.get("ServerSideEncryption"),
            kms_key_id=response.get("SSEKMSKeyId"),
            checksum_sha256=_qualified_checksum(response),
            version_id=response.get("VersionId"),
            lock_mode=response.get("ObjectLockMode"),
            retain_until=response.get("ObjectLockRetainUntilDate"),
        )


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
class Landed:
    """What an upload call returned, and the S3 checksum the object should now report.

    ``returned_checksum`` and ``server_side_encryption`` are what S3 answered on the write itself (None
    when it did not say: moto's CompleteMultipartUpload, or a write adopted after a 412): with both the
    verifier proves the object from the answer alone, without a HEAD (without either, a HEAD decides).

    ``create_only``: the write was refused over an existing key, so on an unversioned bucket what is under
    the key is this write's alone; an overwrite (``create_only=False``) replaced another version.
    ``version_id`` is the version this write created (from its own answer, or from the HEAD that matched
    its write token); "null" or None on a bucket without versioning.
    """

    etag: str
    version_id: str | None
    s3_checksum: str
    part_count: int | None = None
    returned_checksum: str | None = None
    server_side_encryption: str | None = None
    create_only: bool = True

    @property
    def own_version_id(self) -> str | None:
        """The version id naming exactly this write, None on a bucket without versioning ("null")."""
        return self.version_id if self.version_id and self.version_id != "null" else None

    @classmethod
    def from_response(
        cls,
        response: Mapping[str, Any],
        *,
        s3_checksum: str,
        part_count: int | None = None,
        create_only: bool = True,
    ) -> Landed:
        """From a PutObject or CompleteMultipartUpload answer."""
        return cls(
            etag_of(response),
            response.get("VersionId"),
            s3_checksum,
            part_count,
            returned_checksum=response.get("ChecksumSHA256"),
            server_side_encryption=response.get("ServerSideEncryption"),
            create_only=create_only,
        )


def archive_metadata(
    user: Mapping[str, str], *, sha256_hex: str, size: int, write_token: str
) -> dict[str, str]:
    """The caller's metadata plus the sha256 and size the store measured and the write's token, refused if
    S3 could not keep it."""
    ours = {
        SHA256_METADATA_KEY: sha256_hex,
        SIZE_METADATA_KEY: str(size),
        WRITE_TOKEN_METADATA_KEY: write_token,
    }
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


def etag_of(response: Mapping[str, Any]) -> str:
    return str(response.get("ETag", "")).strip('"')


def _qualified_checksum(response: Mapping[str, Any]) -> str | None:
    # A multipart ETag ends in "-N"; a SHA-256 over multipart is composite unless S3 says otherwise.
    checksum = response.get("ChecksumSHA256")
    _, dash, part_count = etag_of(response).rpartition("-")
    digits = part_count.isascii() and part_count.isdigit()  # not '²': str.isdigit() alone accepts it
    is_composite = dash and digits and response.get("ChecksumType") != "FULL_OBJECT"
    if checksum and "-" not in checksum and is_composite:
        return f"{checksum}-{part_count}"
    return checksum
