"""Media URLs read strictly: absolute http(s), ASCII (an internationalised host must survive IDNA), no
userinfo, no whitespace, NUL, backslash or control character, a port in range, no ambiguous numeric host;
and when a presigned URL says it expires. Never an exception but ``MediaRefusedError``, whatever arrives.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import httpx
import idna

from recording_assets.genesys.addresses import HOSTNAME, IPAddress, canonical
from recording_assets.genesys.errors import MediaRefusedError
from recording_assets.genesys.redact import clean_text, redact_host

MAX_URL_CHARS = 8192
FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A URL that passed the syntax checks: what the hop checks and the connection are judged on."""

    url: httpx.URL
    scheme: str
    host: str  # as it goes on the wire: IDNA-encoded, an IPv6 address without brackets, lower case
    port: int
    ip: IPAddress | None  # when the host is an IP literal

    @property
    def redacted(self) -> str:
        return redact_host(str(self.url))


def url_problem(url: Any) -> str | None:
    """Why ``url`` is not an absolute http(s) URL fit to fetch (no secret or raw value in the answer), or
    None. Syntax only: which hosts and schemes are allowed is ``MediaPolicy``'s to say."""
    try:
        _parse(url)
    except MediaRefusedError as refusal:
        return refusal.reason
    return None


def parse_target(url: Any) -> Target:
    """``url`` as a ``Target``, or ``MediaRefusedError`` saying what is wrong with it (never another
    exception, whatever ``url`` is)."""
    return _parse(url)


def _parse(url: Any) -> Target:
    host = redact_host(url)
    if not isinstance(url, str):
        raise MediaRefusedError(f"not a URL (a {type(url).__name__})", host="<none>")
    if len(url) > MAX_URL_CHARS:
        raise MediaRefusedError(f"URL longer than {MAX_URL_CHARS} characters", host=host)
    if "\x00" in url:
        raise MediaRefusedError("NUL in URL", host=host)
    if FORBIDDEN_URL_CHARS.search(url):
        raise MediaRefusedError("whitespace, backslash or control character in URL", host=host)
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise MediaRefusedError("not an absolute URL", host=host)
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise MediaRefusedError(f"scheme {clean_text(scheme, 20)!r} is not https", host=host)
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        raise MediaRefusedError("userinfo in URL", host=host)
    if not authority:
        raise MediaRefusedError("no host in URL", host=host)
    if not rest[len(authority) :].isascii():
        raise MediaRefusedError("non-ASCII character in URL path or query", host=host)
    international = not authority.isascii() or "xn--" in authority.lower()
    try:
        parsed = httpx.URL(url)
        port = parsed.port or (443 if scheme == "https" else 80)
        if not 0 < port < 65536:
            raise ValueError("port out of range")
        raw_host = parsed.raw_host.decode("ascii").lower()
        if international:
            for label in raw_host.split("."):
                if label.startswith("xn--"):
                    idna.decode(label)  # a label httpx let through as ASCII may still be bad punycode
    except (httpx.InvalidURL, ValueError, UnicodeError):
        reason = "malformed internationalised (IDNA) host" if international else "malformed URL"
        raise MediaRefusedError(reason, host=host) from None
    if not raw_host:
        raise MediaRefusedError("no host in URL", host=host)
    ip: IPAddress | None
    try:
        ip = canonical(ipaddress.ip_address(raw_host))
    except ValueError:
        ip = None
        if NUMERIC_HOST.fullmatch(raw_host):
            # 2130706433, 0x7f.1, 127.1: resolvers read these as IPv4 addresses, ipaddress does not
            raise MediaRefusedError("ambiguous numeric host", host=host) from None
        if not HOSTNAME.fullmatch(raw_host):
            raise MediaRefusedError("malformed host name", host=host) from None
    return Target(parsed, scheme, str(ip) if ip is not None else raw_host, port, ip)


def url_expires_at(url: httpx.URL | str) -> float | None:
    """When a presigned URL stops working (epoch seconds), if its query says: S3 SigV4 ``X-Amz-Date`` +
    ``X-Amz-Expires``, or CloudFront's ``Expires``. None when it does not."""
    try:
        # A parsed URL is read as it is: parsing a presigned URL again (httpx checks each character)
        # was a third of the CPU this module cost a download.
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        query = parse_qs(parsed.query.decode("ascii", "replace"))
        if "X-Amz-Date" in query and "X-Amz-Expires" in query:
            issued = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            expires = query["X-Amz-Expires"][0]
            if expires.isascii() and expires.isdigit():
                return issued.timestamp() + int(expires)
        if "Expires" in query and query["Expires"][0].isascii() and query["Expires"][0].isdigit():
            return float(query["Expires"][0])
    except (httpx.InvalidURL, ValueError, IndexError):
        return None
    return None
