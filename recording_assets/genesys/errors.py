"""One exception tree for everything the Genesys client raises.

API errors carry the HTTP status, the Genesys error ``code``, its message and the correlation id
(``inin-correlation-id`` / ``contextId``) that Genesys support asks for. No error ever carries a token,
a client secret or a presigned URL's query string.
"""

from __future__ import annotations


class GenesysError(Exception):
    """Base class of every error raised by ``recording_assets.genesys``."""


class GenesysApiError(GenesysError):
    """The Platform API answered with an error status."""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        code: str | None = None,
        message: str | None = None,
        correlation_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.code = code
        self.api_message = message
        self.correlation_id = correlation_id
        self.hint = hint
        text = f"{method} {path} -> HTTP {status}"
        if code:
            text += f" [{code}]"
        if message:
            text += f": {message}"
        if correlation_id:
            text += f" (correlation id {correlation_id})"
        if hint:
            text += f". {hint}"
        super().__init__(text)


class BadRequestError(GenesysApiError):
    """400: the request is malformed or outside a documented limit."""


class AuthenticationError(GenesysApiError):
    """401, or the OAuth token endpoint refused the client credentials."""


class PermissionDeniedError(GenesysApiError):
    """403: the OAuth client's roles lack a permission."""

    def __init__(self, *, permission: str | None = None, **kwargs) -> None:
        self.permission = permission
        super().__init__(**kwargs)


class NotFoundError(GenesysApiError):
    """404."""


class ConflictError(GenesysApiError):
    """409."""


class GoneError(GenesysApiError):
    """410: removed for good (retention)."""


class RateLimitedError(GenesysApiError):
    """429 still answered after the retry budget was spent."""


class ServerError(GenesysApiError):
    """5xx still answered after the retry budget was spent."""


class GenesysTransportError(GenesysError):
    """No HTTP answer (connection refused or reset, timeout) after the retry budget was spent."""


class JobFailedError(GenesysError):
    """An asynchronous Genesys job (analytics details job) ended FAILED, CANCELLED or EXPIRED."""


class MediaError(GenesysError):
    """Downloading a presigned media URL failed. ``retryable`` says whether a new attempt may succeed."""

    retryable = True


class MediaExpiredError(MediaError):
    """The presigned URL was refused (403): it expired. Request a fresh URL for this recording."""


class MediaIncompleteError(MediaError):
    """The body ended before Content-Length, or the connection broke mid-body."""


class MediaGoneError(MediaError):
    """404/410 on the media URL: the recording is gone."""

    retryable = False


class MediaHttpError(MediaError):
    """Any other unexpected status from the media URL."""


def error_for_status(status: int) -> type[GenesysApiError]:
    if status == 400:
        return BadRequestError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 410:
        return GoneError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return GenesysApiError
