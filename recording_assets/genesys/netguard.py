"""The media trust boundary: which URLs a presigned media GET may reach, checked on every hop.

Media URLs (a batch result's ``resultUrl``, a recording's ``mediaUris``: docs/genesys-api.md §4.1, §4.2)
and the redirects they answer with (docs/genesys-api.md, "Open readings") come from outside: a hostile or
broken answer could point them at the metadata service, a database on the private network, or the
archiver's own loopback services. So, for each hop:

1. the URL itself (``parse_target`` / ``MediaPolicy.check_target``): absolute, https, at most
   ``MAX_URL_CHARS``, ASCII (an internationalised host must survive IDNA), no userinfo, no whitespace, NUL
   or control character; an IP literal must be a public address; a redirect may not go from https to http;
2. the socket, once connected and before a byte is written (``GuardedBackend``): its *peer* address must be
   public, whatever the name resolved to, so DNS rebinding cannot pass step 1 with a public answer and
   connect to a private one;
3. the answer's connection once more (``MediaPolicy.check_peer`` on httpx's ``network_stream``
   ``server_addr``), in case a connection came from elsewhere than step 2.

Non-public addresses are allowed only when named in ``MediaPolicy.allowed_hosts`` (``host:port``
entries: the sandbox, the demo and tests run on loopback); plain http only to an allowlisted loopback
address. A refusal raises ``MediaRefusedError`` naming the reason and the redacted host.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from recording_assets.genesys.addresses import (
    HostPort,
    IPAddress,
    address_problem,
    canonical,
    origin,
    parse_allowlist,
    texts,
)
from recording_assets.genesys.errors import MediaRefusedError
from recording_assets.genesys.urls import (
    FORBIDDEN_URL_CHARS,
    MAX_URL_CHARS,
    Target,
    parse_target,
    url_expires_at,
    url_problem,
)

MAX_MEDIA_REDIRECTS = 3
GIB = 1 << 30
KIB = 1 << 10
MEDIA_ALLOWANCE_S = 60.0  # what a media GET may take beyond its size at the minimum pace

__all__ = [
    "MAX_MEDIA_REDIRECTS",
    "HostPort",
    "MediaPolicy",
    "Target",
    "address_problem",
    "parse_allowlist",
    "parse_target",
    "url_expires_at",
    "url_problem",
]


@dataclass(frozen=True)
class MediaPolicy:
    """Where presigned media GETs may go, and how long and how large they may be.

    ``allowed_hosts``: ``host:port`` entries (``parse_allowlist``) a media URL may reach although they are
    not public addresses (the sandbox, a demo, a test), matched on the URL's host or the connected peer's
    address; plain http only to such an entry on loopback. Deadlines: a GET must end within
    ``allowance_s`` + expected size / ``min_bytes_per_s`` (the size from Content-Length or the caller;
    unknown, the bytes received so far, so the deadline moves with them), never past ``max_deadline_s``,
    and, when the URL says when it expires, within its remaining lifetime (but never less than
    ``allowance_s``: a presigned GET is authorised when it starts). ``max_bytes``: refused when
    Content-Length says more, cut when the body passes it. ``ssl_context``: trust for https media hosts
    (None: the system's CAs)."""

    allowed_hosts: frozenset[HostPort] = frozenset()
    max_redirects: int = MAX_MEDIA_REDIRECTS
    max_bytes: int = 4 * GIB
    min_bytes_per_s: int = 64 * KIB
    allowance_s: float = MEDIA_ALLOWANCE_S
    max_deadline_s: float = 6 * 3600.0
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.allowed_hosts, frozenset) or not all(
            isinstance(entry, HostPort) for entry in self.allowed_hosts
        ):
            object.__setattr__(self, "allowed_hosts", parse_allowlist(texts(self.allowed_hosts)))
        if not 0 <= self.max_redirects <= 10:
            raise ValueError("MediaPolicy.max_redirects must be within 0..10")
        if self.max_bytes <= 0 or self.min_bytes_per_s <= 0:
            raise ValueError("MediaPolicy.max_bytes and min_bytes_per_s must be positive")
        if self.allowance_s <= 0 or self.max_deadline_s < self.allowance_s:
            raise ValueError("MediaPolicy.allowance_s must be positive and max_deadline_s at least as long")

    @classmethod
    def for_api(cls, api_base_url: str, **kwargs: Any) -> MediaPolicy:
        """The default policy of a client whose Platform API is ``api_base_url``: public hosts only, except
        that an API on a loopback origin (the sandbox, the demo) may also serve media from that very
        ``host:port``: the operator configured it, and it already receives the bearer token."""
        allowed = set(parse_allowlist(texts(kwargs.pop("allowed_hosts", None))))
        entry = origin(api_base_url)
        if entry is not None and entry.is_loopback:
            allowed.add(entry)
        return cls(allowed_hosts=frozenset(allowed), **kwargs)

    # ---- hops ----------------------------------------------------------------------------------------
    def allows(self, host: str, port: int, ip: IPAddress | None = None) -> bool:
        """Whether an allowlist entry names ``port`` and either ``host`` or the address ``ip``."""
        names = {host.lower().rstrip(".")}
        if ip is not None:
            names.add(str(canonical(ip)))
        return any(entry.port == port and entry.host in names for entry in self.allowed_hosts)

    def check_target(self, target: Target) -> None:
        """Refuse a hop before connecting: a non-public IP literal not allowlisted; http anywhere but an
        allowlisted loopback host."""
        if target.ip is not None:
            problem = address_problem(target.ip)
            if problem and not self.allows(target.host, target.port, target.ip):
                raise MediaRefusedError(
                    f"{problem} address not in the allowed media hosts", host=target.redacted
                )
        if target.scheme == "http":
            if target.ip is not None:
                local = target.ip.is_loopback and self.allows(target.host, target.port, target.ip)
            else:  # a name: its peer is checked on connect; only worth trying towards a loopback entry
                local = any(
                    entry.port == target.port and (entry.host == target.host or entry.is_loopback)
                    for entry in self.allowed_hosts
                )
            if not local:
                raise MediaRefusedError("plain http (not https)", host=target.redacted)

    def next_hop(self, current: Target, location: str | None) -> Target:
        """The target a redirect from ``current`` points at, checked (``MediaRefusedError`` if refused)."""
        if not location:
            raise MediaRefusedError("redirect without a Location", host=current.redacted)
        if len(location) > MAX_URL_CHARS or FORBIDDEN_URL_CHARS.search(location) or not location.isascii():
            raise MediaRefusedError("malformed redirect Location", host=current.redacted)
        try:
            joined = str(current.url.join(location))
        except (httpx.InvalidURL, ValueError, UnicodeError):
            raise MediaRefusedError("malformed redirect Location", host=current.redacted) from None
        target = parse_target(joined)
        if current.scheme == "https" and target.scheme == "http":
            raise MediaRefusedError("redirect from https to http", host=target.redacted)
        self.check_target(target)
        return target

    def peer_problem(self, scheme: str, host: str, port: int, peer: Any) -> str | None:
        """Why the connected peer (``(address, port, ...)`` as the socket gives it) may not be used, or
        None. ``host``/``port``: what the URL named."""
        try:
            peer_ip = canonical(ipaddress.ip_address(str(peer[0]).split("%", 1)[0]))
        except (TypeError, ValueError, IndexError, KeyError):
            return "unknown peer address"
        problem = address_problem(peer_ip)
        allowed = self.allows(host, port, peer_ip)
        if scheme == "http" and not (peer_ip.is_loopback and allowed):
            return "plain http to a peer that is not an allowlisted loopback address"
        if problem and not allowed:
            return f"connected to a {problem} address not in the allowed media hosts"
        return None

    def check_peer(self, target: Target, peer: Any) -> None:
        problem = self.peer_problem(target.scheme, target.host, target.port, peer)
        if problem:
            raise MediaRefusedError(problem, host=target.redacted)

    # ---- deadlines -----------------------------------------------------------------------------------
    def budget_s(self, *, size: int, remaining_lifetime_s: float | None) -> float:
        """Seconds a GET of ``size`` bytes may take from its start (see the class docstring)."""
        budget = min(self.max_deadline_s, self.allowance_s + size / self.min_bytes_per_s)
        if remaining_lifetime_s is not None:
            budget = min(budget, max(self.allowance_s, remaining_lifetime_s))
        return budget
