"""One exception tree for everything the Genesys client raises.

API errors carry the HTTP status, the Genesys error ``code``, its message and the correlation id
(``inin-correlation-id`` / ``contextId``) that Genesys support asks for. No error ever carries a token,
a client secret or a presigned URL's query string.
"""

from __future__ import annotations

from recording_assets.genesys.redact import clean_text


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
        # Code, message and correlation id come from the answer: no control character (ANSI escapes, CR/LF)
        # of theirs reaches a log line or a terminal.
        code, message, correlation_id = (clean_text(v) if v else v for v in (code, message, correlation_id))
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


class MalformedAnswerError(GenesysApiError, ValueError):
    """A JSON endpoint answered something that is not JSON (a 200 HTML page from a proxy, say), or an
    encoding it was not asked for. Retried like a 500 where the request is idempotent, then raised. A
    ``ValueError`` too, as the ``JSONDecodeError`` it replaces was."""


class AnswerTooLargeError(GenesysApiError):
    """The answer's decoded body passed ``ApiLimits.max_answer_bytes`` while it streamed (a gzip bomb is
    cut there, before it is all inflated). Never retried. ``decoded_bytes`` / ``raw_bytes``: read when cut."""

    def __init__(self, *, decoded_bytes: int, raw_bytes: int, **kwargs) -> None:
        self.decoded_bytes = decoded_bytes
        self.raw_bytes = raw_bytes
        super().__init__(**kwargs)


class GenesysTransportError(GenesysError):
    """No HTTP answer (connection refused or reset, timeout) after the retry budget was spent."""


class ApiDeadlineError(GenesysTransportError):
    """Every attempt of an API call outlived ``ApiLimits.deadline_s`` (headers and whole body), for
    instance a body that trickles in a byte at a time and so never trips the per-read timeout."""


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


class MediaNotFoundError(MediaGoneError):
    """404 on the media URL. Not proof of deletion: a presigned object can answer 404 for a moment (a
    replica not yet written) and the next attempt succeed. ``retryable``: confirm with ``recordingmetadata``
    (fileState DELETED) or try again before recording the recording as deleted. 410 stays ``MediaGoneError``."""

    retryable = True


class MediaRefusedError(MediaError):
    """A media URL or one of its redirects was refused before any request was sent to it: not https, a
    non-public address (loopback, private, link-local, metadata ...) that is not allowlisted, userinfo, a
    malformed URL, an https -> http redirect. ``reason``: a short code; ``host``: the redacted host."""

    retryable = False

    def __init__(self, reason: str, *, host: str, detail: str | None = None) -> None:
        self.reason = reason
        self.host = host
        text = f"media URL refused ({reason}): host {host}"
        if detail:
            text += f"; {detail}"
        super().__init__(text)


class MediaDeadlineError(MediaError):
    """The media GET outlived its overall deadline (``MediaPolicy``: expected size at a minimum
    throughput plus an allowance, capped by the URL's remaining lifetime)."""


class MediaTooLargeError(MediaError):
    """The media body (or its Content-Length) passed ``MediaPolicy.max_bytes``."""

    retryable = False


class InvalidIdError(GenesysError, ValueError):
    """An id the caller gave is not a Genesys id (a GUID, or letters, digits and '-'): refused before any
    request, so it can never change the path of one (``A/../B``)."""


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
