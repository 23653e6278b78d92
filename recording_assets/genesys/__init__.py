"""Genesys Cloud Platform API client (no Dagster imports): auth, pacing, retries, discovery, recordings."""

from recording_assets.genesys.client import GenesysClient
from recording_assets.genesys.errors import (
    AuthenticationError,
    GenesysApiError,
    GenesysError,
    GenesysTransportError,
    MediaError,
    MediaExpiredError,
    MediaGoneError,
    MediaIncompleteError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from recording_assets.genesys.recordings import BatchItem

__all__ = [
    "AuthenticationError",
    "BatchItem",
    "GenesysApiError",
    "GenesysClient",
    "GenesysError",
    "GenesysTransportError",
    "MediaError",
    "MediaExpiredError",
    "MediaGoneError",
    "MediaIncompleteError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
]
