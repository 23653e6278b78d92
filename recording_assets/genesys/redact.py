"""Keeping presigned URLs out of logs: a media URL's query string is a credential (X-Amz-Signature), and
so is the userinfo (``user:pass@``) a hostile answer may put in a URL.

``redact_url`` is what our own errors say about a URL: scheme, host, port and path, never userinfo,
query or fragment, never a control character. ``clean_text`` is what they say of any other text that came
from Genesys or a media host: ANSI escapes, CR/LF and other control characters removed, so an answer
cannot forge a log line or repaint a terminal. ``install_log_redaction`` puts a filter on the
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
_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
# ESC-introduced sequences (CSI ``ESC [ ... final``, OSC ``ESC ] ... BEL|ESC \``, two-character escapes),
# then any C0/C1 control character, DEL, and the bidirectional overrides that reorder a line when shown.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_PATH_CHARS = 200


def clean_text(text: object, limit: int = 500) -> str:
    """``text`` (any value: a non-string is shown by its ``str``) without escape sequences or control
    characters (each CR, LF or tab becomes a space), at most ``limit`` characters."""
    value = text if isinstance(text, str) else str(text)
    value = _CONTROL.sub(lambda m: " " if m.group(0) in "\r\n\t" else "", _ANSI.sub("", value))
    return value if len(value) <= limit else value[:limit] + "…"


def redact_url(url: object) -> str:
    """Scheme, host, port and path only: the query of a presigned URL is a credential, and so is any
    userinfo. Never raises, whatever ``url`` is."""
    try:
        parts = urlsplit(url if isinstance(url, str) else str(url))
        host = parts.netloc.rpartition("@")[2]  # userinfo dropped, even a malformed one
        path = parts.path if len(parts.path) <= MAX_PATH_CHARS else parts.path[:MAX_PATH_CHARS] + "…"
        text = f"{parts.scheme}://{host}{path}" if parts.scheme or host else path
    except ValueError:  # e.g. an unbalanced '[' in the host
        return "<unparseable URL>"
    return clean_text(text, limit=MAX_PATH_CHARS + 100)


def redact_host(url: object) -> str:
    """The URL's host and port only, as an error names them (no userinfo, no control character)."""
    try:
        host = urlsplit(url if isinstance(url, str) else str(url)).netloc.rpartition("@")[2]
    except ValueError:
        return "<unparseable URL>"
    return clean_text(host, limit=120) or "<no host>"


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
