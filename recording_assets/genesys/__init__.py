"""Genesys Cloud Platform API client (no Dagster imports): auth, pacing, retries, discovery, recordings."""

from recording_assets.genesys.client import GenesysClient
from recording_assets.genesys.errors import (
    AnswerTooLargeError,
    ApiDeadlineError,
    AuthenticationError,
    GenesysApiError,
    GenesysError,
    GenesysTransportError,
    InvalidIdError,
    MalformedAnswerError,
    MediaDeadlineError,
    MediaError,
    MediaExpiredError,
    MediaGoneError,
    MediaIncompleteError,
    MediaNotFoundError,
    MediaRefusedError,
    MediaTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from recording_assets.genesys.netguard import MediaPolicy, parse_allowlist
from recording_assets.genesys.recordings import BatchItem
from recording_assets.genesys.transport import ApiLimits

__all__ = [
    "AnswerTooLargeError",
    "ApiDeadlineError",
    "ApiLimits",
    "AuthenticationError",
    "BatchItem",
    "GenesysApiError",
    "GenesysClient",
    "GenesysError",
    "GenesysTransportError",
    "InvalidIdError",
    "MalformedAnswerError",
    "MediaDeadlineError",
    "MediaError",
    "MediaExpiredError",
    "MediaGoneError",
    "MediaIncompleteError",
    "MediaNotFoundError",
    "MediaPolicy",
    "MediaRefusedError",
    "MediaTooLargeError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "parse_allowlist",
]
