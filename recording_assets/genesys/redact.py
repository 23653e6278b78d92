"""Keeping presigned URLs out of logs: a media URL's query string is a credential (X-Amz-Signature).

``redact_url`` is what our own errors say about a URL. ``install_log_redaction`` puts a filter on the
``httpx`` logger, whose INFO line ``HTTP Request: GET <url> ...`` would otherwise carry the whole presigned
URL. A filter rather than a level on that logger, because a level is one logging setting among many: a
deployment's ``dictConfig``, Dagster's ``python_log_level`` or a DEBUG session sets it back and the
signatures are stored again; a filter on the logger sees every record that logger creates, at every level,
whatever the handlers and levels are, and keeps the line useful (method, host, path, status).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

# The loggers that format request URLs: httpx's request line. (httpcore's trace records name no URL.)
REDACTED_LOGGERS = ("httpx",)
_URL = re.compile(r"https?://[^\s\"'<>]+")


def redact_url(url: str) -> str:
    """Scheme, host and path only: the query of a presigned URL is a credential."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def redact_text(text: str) -> str:
    """``text`` with every http(s) URL in it reduced to ``redact_url``."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


class RedactUrlsFilter(logging.Filter):
    """Rewrites a record's message so that no URL in it keeps its query or fragment."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = RedactUrlsFilter()


def install_log_redaction() -> None:
    """Idempotent: one filter per logger in ``REDACTED_LOGGERS``."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
