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
import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import httpcore
import httpx
import idna

from recording_assets.genesys.errors import MediaRefusedError
from recording_assets.genesys.redact import clean_text, redact_host

MAX_URL_CHARS = 8192
MAX_MEDIA_REDIRECTS = 3
GIB = 1 << 30
KIB = 1 << 10

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# What is not the public internet, by the reason a refusal names. The metadata addresses first: they are
# also link-local / unique-local, but "metadata" says more. ipaddress' own ``is_global`` is consulted too
# (below), these name the reason and keep the answer the same across Python versions.
_METADATA = frozenset(map(ipaddress.ip_address, ("169.254.169.254", "fd00:ec2::254")))
_BLOCKED: tuple[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = tuple(
    (reason, ipaddress.ip_network(network))
    for reason, network in (
        ("unspecified", "0.0.0.0/8"),
        ("private", "10.0.0.0/8"),
        ("cgnat", "100.64.0.0/10"),
        ("loopback", "127.0.0.0/8"),
        ("link-local", "169.254.0.0/16"),
        ("private", "172.16.0.0/12"),
        ("reserved", "192.0.0.0/24"),
        ("reserved", "192.0.2.0/24"),
        ("private", "192.168.0.0/16"),
        ("reserved", "198.18.0.0/15"),
        ("reserved", "198.51.100.0/24"),
        ("reserved", "203.0.113.0/24"),
        ("multicast", "224.0.0.0/4"),
        ("reserved", "240.0.0.0/4"),  # 255.255.255.255 (broadcast) included
        ("unspecified", "::/128"),
        ("loopback", "::1/128"),
        ("reserved", "64:ff9b:1::/48"),
        ("reserved", "100::/64"),
        ("reserved", "2001::/23"),
        ("reserved", "2001:db8::/32"),
        ("private", "fc00::/7"),
        ("link-local", "fe80::/10"),
        ("reserved", "fec0::/10"),
        ("multicast", "ff00::/8"),
    )
)


def address_problem(address: IPAddress | str) -> str | None:
    """Why ``address`` is not a public internet address (a short reason), or None when it is.

    An IPv6 address that embeds an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
    6to4, Teredo) is judged by the IPv4 address it reaches."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # drop a %scope: it does not change what the address is
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_problem(embedded)
    if ip in _METADATA:
        return "metadata"
    for reason, network in _BLOCKED:
        if ip.version == network.version and ip in network:
            return reason
    if ip.is_multicast:
        return "multicast"
    if not ip.is_global:
        return "reserved"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True, order=True)
class HostPort:
    """One allowlist entry: a host (a lower-case name or an IP address in canonical form) and a port."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> HostPort:
        """``127.0.0.1:8765``, ``[::1]:8765`` or ``localhost:8765``; a port is required."""
        raw = text.strip()
        if raw.startswith("["):
            host, sep, port = raw[1:].partition("]:")
        else:
            host, sep, port = raw.rpartition(":")
            if ":" in host:
                raise ValueError(f"allowed media host {clean_text(raw)!r}: write IPv6 as [address]:port")
        if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"allowed media host {clean_text(raw)!r}: expected host:port, e.g. 127.0.0.1:8765"
            )
        try:
            host = str(_canonical(ipaddress.ip_address(host)))
        except ValueError:
            if not _HOSTNAME.fullmatch(host):
                raise ValueError(
                    f"allowed media host {clean_text(raw)!r}: not a host name or IP address"
                ) from None
            host = host.lower().rstrip(".")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost" or self.host.endswith(".localhost"):
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


_HOSTNAME = re.compile(
    r"(?=.{1,253}\.?\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
_FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?", re.IGNORECASE)


def parse_allowlist(entries: str | Iterable[str] | None) -> frozenset[HostPort]:
    """Allowlist entries from text (comma or whitespace separated, e.g. an environment variable's value)
    or an iterable of ``host:port`` strings; ``ValueError`` names a malformed entry."""
    if entries is None:
        return frozenset()
    items = re.split(r"[\s,]+", entries) if isinstance(entries, str) else list(entries)
    return frozenset(HostPort.parse(item) for item in items if item and item.strip())


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
    if _FORBIDDEN_URL_CHARS.search(url):
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
        ip = _canonical(ipaddress.ip_address(raw_host))
    except ValueError:
        ip = None
        if _NUMERIC_HOST.fullmatch(raw_host):
            # 2130706433, 0x7f.1, 127.1: resolvers read these as IPv4 addresses, ipaddress does not
            raise MediaRefusedError("ambiguous numeric host", host=host) from None
        if not _HOSTNAME.fullmatch(raw_host):
            raise MediaRefusedError("malformed host name", host=host) from None
    return Target(parsed, scheme, str(ip) if ip is not None else raw_host, port, ip)


def _canonical(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it is; an IPv6 address without its %scope."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


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
    allowance_s: float = 60.0
    max_deadline_s: float = 6 * 3600.0
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.allowed_hosts, frozenset) or not all(
            isinstance(entry, HostPort) for entry in self.allowed_hosts
        ):
            object.__setattr__(self, "allowed_hosts", parse_allowlist(_texts(self.allowed_hosts)))
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
        allowed = set(parse_allowlist(_texts(kwargs.pop("allowed_hosts", None))))
        entry = _origin(api_base_url)
        if entry is not None and entry.is_loopback:
            allowed.add(entry)
        return cls(allowed_hosts=frozenset(allowed), **kwargs)

    # ---- hops ----------------------------------------------------------------------------------------
    def allows(self, host: str, port: int, ip: IPAddress | None = None) -> bool:
        """Whether an allowlist entry names ``port`` and either ``host`` or the address ``ip``."""
        names = {host.lower().rstrip(".")}
        if ip is not None:
            names.add(str(_canonical(ip)))
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
        if len(location) > MAX_URL_CHARS or _FORBIDDEN_URL_CHARS.search(location) or not location.isascii():
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
            peer_ip = _canonical(ipaddress.ip_address(str(peer[0]).split("%", 1)[0]))
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


def _texts(entries: Any) -> Any:
    if entries is None or isinstance(entries, str):
        return entries
    return [str(entry) for entry in entries]


def _origin(base_url: str) -> HostPort | None:
    try:
        url = httpx.URL(base_url)
        host = url.raw_host.decode("ascii").lower()
        if not host:
            return None
        try:
            host = str(_canonical(ipaddress.ip_address(host)))
        except ValueError:
            pass
        return HostPort(host, url.port or (443 if url.scheme == "https" else 80))
    except (httpx.InvalidURL, ValueError, UnicodeError):
        return None


def url_expires_at(url: httpx.URL | str) -> float | None:
    """When a presigned URL stops working (epoch seconds), if its query says: S3 SigV4 ``X-Amz-Date`` +
    ``X-Amz-Expires``, or CloudFront's ``Expires``. None when it does not."""
    try:
        query = parse_qs(httpx.URL(str(url)).query.decode("ascii", "replace"))
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


# ---- the connection: peer checked before a byte is written -------------------------------------------
class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, with the peer of every new TCP connection checked against the policy
    before it is handed back (so before TLS and before the request is written)."""

    def __init__(self, policy: MediaPolicy, scheme: str) -> None:
        self._policy = policy
        self._scheme = scheme
        self._inner = httpcore.AnyIOBackend()
        self.refused = 0  # connections closed unused because of their peer

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        peer = stream.get_extra_info("server_addr")
        problem = self._policy.peer_problem(self._scheme, host, port, peer)
        if problem:
            self.refused += 1
            await stream.aclose()
            raise PeerRefused(problem)
        return VettedStream(stream, peer)

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise PeerRefused("unix sockets are not media hosts")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class VettedStream(httpcore.AsyncNetworkStream):
    """A connection whose peer passed the check, reporting that peer as ``server_addr`` for as long as it
    lives (the socket's own answer is gone once the peer resets it)."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, peer: Any) -> None:
        self._inner = inner
        self._peer = peer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> VettedStream:
        return VettedStream(await self._inner.start_tls(ssl_context, server_hostname, timeout), self._peer)

    def get_extra_info(self, info: str) -> Any:
        return self._peer if info == "server_addr" else self._inner.get_extra_info(info)


class PeerRefused(Exception):
    """Raised out of ``GuardedBackend.connect_tcp``; ``stream_media`` turns it into ``MediaRefusedError``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over httpcore connection pools whose connections are ``GuardedBackend``'s: one
    pool per scheme, so the connect-time check knows whether the request is plain http. No proxy from the
    environment: a proxy would be the peer, and the check would say nothing about the media host."""

    def __init__(
        self, policy: MediaPolicy, *, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        context = policy.ssl_context or ssl_context or httpx.create_ssl_context()
        self.backends = {scheme: GuardedBackend(policy, scheme) for scheme in ("http", "https")}
        self._pools = {
            scheme: httpcore.AsyncConnectionPool(
                ssl_context=context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )
            for scheme, backend in self.backends.items()
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pools.get(request.url.scheme)
        if pool is None:
            raise PeerRefused(f"scheme {request.url.scheme!r} is not https")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _mapped():
            response = await pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()


class _Stream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self):
        with _mapped():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            with _mapped():
                await self._stream.aclose()


# httpcore's exceptions as the httpx ones callers catch (what httpx's own transport does).
_EXCEPTIONS: tuple[tuple[type[Exception], type[Exception]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


class _mapped:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        for core, mapped in _EXCEPTIONS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        return False
