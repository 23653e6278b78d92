"""Does this bucket honour ``If-None-Match: *`` on writes? Asked once, by writing a throw-away object.

The store's create-only writes rely on S3 refusing a conditional PUT (412) over an existing key, so it
sends no HEAD first. AWS S3 honours the header (since August 2024) and so does moto's server, but some
S3-compatible stores ignore it and would overwrite silently: on those the store must HEAD before each
write (a race window, but no blind overwrite). ``honours_if_none_match`` finds out which kind it is
talking to, with three requests: a plain PUT of a fresh probe key (plain, so a retry after a lost answer
is harmless), a conditional PUT of the same key (it must be refused), and a DELETE of the probe.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from recording_assets.archive import s3errors
from recording_assets.archive.encryption import Encryption
from recording_assets.archive.errors import StorageError

PROBE_PREFIX = ".archive-probes/if-none-match-"

log = logging.getLogger(__name__)


def honours_if_none_match(s3_client: Any, bucket: str, *, encryption: Encryption, prefix: str = "") -> bool:
    """True when a second ``If-None-Match: *`` PUT of the same key is refused with 412.

    Raises ``StorageError`` when the bucket cannot be written at all (the run could not archive either).
    """
    key = f"{prefix}{PROBE_PREFIX}{uuid.uuid4().hex}"
    request = {"Bucket": bucket, "Key": key, "Body": b"probe", **encryption.request_args()}
    try:
        s3_client.put_object(**request)
    except (ClientError, BotoCoreError) as error:
        raise _failed(error, bucket, key) from error
    try:
        s3_client.put_object(**request, IfNoneMatch="*")
    except ClientError as error:
        if s3errors.is_precondition_failed(error):
            return True
        log.warning("s3://%s refused a conditional PUT with %s", bucket, s3errors.error_code(error))
        return False
    except BotoCoreError as error:
        raise _failed(error, bucket, key) from error
    finally:
        _delete_quietly(s3_client, bucket, key)
    log.warning(
        "s3://%s overwrote an object despite If-None-Match: *; create-only writes will HEAD first", bucket
    )
    return False


def _failed(error: s3errors.S3Error, bucket: str, key: str) -> StorageError:
    translated = s3errors.translate(
        error, operation="PutObject", bucket=bucket, key=key, existing=lambda: None
    )
    if isinstance(translated, StorageError):
        return translated
    return StorageError(
        operation="PutObject",
        bucket=bucket,
        key=key,
        code=s3errors.error_code(error),
        message=str(translated),
    )


def _delete_quietly(s3_client: Any, bucket: str, key: str) -> None:
    try:
        s3_client.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError):  # a five-byte leftover under the probe prefix is harmless
        log.warning("could not delete the probe object s3://%s/%s", bucket, key)
