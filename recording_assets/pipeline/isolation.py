"""Per-item isolation: the one list of problems that end a day's run, and how any other error becomes the
outcome of the items it was about.

Only a problem no later item can escape ends the run: Genesys refusing the credentials or a permission
(401/403: every further request would be refused too), and S3 unreachable or refusing access (nothing
could be stored). Anything else raised while one recording is downloaded, one conversation is looked up,
one first-round batch job is submitted or polled, or one retry or URL-refresh round runs (a malformed
answer, a 5xx after the retries, a bug, a per-object S3 error) fails those recordings with the exception's
type and redacted message, and the stream goes on. (A failed job's recordings are known only by looking its
conversations up: ``classify.failed_job``.)
"""

from __future__ import annotations

from collections.abc import Iterable

from recording_assets.archive.errors import StorageError
from recording_assets.genesys.errors import AuthenticationError, PermissionDeniedError
from recording_assets.genesys.redact import clean_text, redact_text
from recording_assets.pipeline.outcome import Key, Outcome
from recording_assets.pipeline.states import State

# S3 codes that say no object of the day can be stored or read: access refused, credentials rejected, the
# bucket missing, or no answer at all after botocore's retries (its error class names).
S3_DAY_LEVEL_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "NoSuchBucket",
        "KMS.AccessDeniedException",
        "NoCredentialsError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "HTTPClientError",
        "ConnectionError",
    }
)


def is_day_level(error: BaseException) -> bool:
    """Whether ``error`` ends the day's run instead of failing the item it met."""
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return True
    return isinstance(error, StorageError) and error.code in S3_DAY_LEVEL_CODES


def describe(error: BaseException) -> str:
    """The exception's type and message, with no URL query (a presigned signature) nor control character."""
    return f"{type(error).__name__}: {clean_text(redact_text(str(error)))}"


def failed(keys: Iterable[Key], where: str, error: BaseException, *, attempts: int = 0) -> list[Outcome]:
    """``keys`` failed in ``where`` by ``error`` (not a day-level one: the caller re-raises those)."""
    reason = f"{where}: {describe(error)}"
    return [Outcome(*key, State.FAILED, reason=reason, attempts=attempts) for key in keys]
