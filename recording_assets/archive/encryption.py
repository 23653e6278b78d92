"""Server-side encryption settings, applied to every object the archive writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

_AES256: Final = "AES256"
_KMS: Final = "aws:kms"


@dataclass(frozen=True)
class Encryption:
    """Use ``Encryption.aes256()`` (S3-managed keys) or ``Encryption.kms(key_id)``."""

    algorithm: Literal["AES256", "aws:kms"]
    kms_key_id: str | None = None

    def __post_init__(self) -> None:
        if self.algorithm == _AES256 and self.kms_key_id is not None:
            raise ValueError("AES256 (SSE-S3) takes no KMS key id; use Encryption.kms(key_id)")
        if self.algorithm == _KMS and not self.kms_key_id:
            raise ValueError("aws:kms needs a key id, alias or ARN; use Encryption.kms(key_id)")
        if self.algorithm not in (_AES256, _KMS):
            raise ValueError(f"unknown server-side encryption {self.algorithm!r}")

    @classmethod
    def aes256(cls) -> Encryption:
        return cls(_AES256)

    @classmethod
    def kms(cls, key_id: str) -> Encryption:
        return cls(_KMS, key_id)

    def request_args(self) -> dict[str, str]:
        """Arguments for PutObject / CreateMultipartUpload."""
        if self.kms_key_id is None:
            return {"ServerSideEncryption": self.algorithm}
        return {"ServerSideEncryption": self.algorithm, "SSEKMSKeyId": self.kms_key_id}

    def is_applied(self, server_side_encryption: str | None) -> bool:
        # Only the algorithm is compared: S3 reports the KMS key as a full ARN even when the request
        # named it by id or alias, so comparing key ids would fail on correct objects.
        return server_side_encryption == self.algorithm
