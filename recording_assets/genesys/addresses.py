"""Which addresses are the public internet, and the ``host:port`` allowlist that lets a media GET reach
one that is not (the sandbox, a demo, a test on loopback). ``netguard`` explains where these are used."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from recording_assets.genesys.redact import clean_text

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
            host = str(canonical(ipaddress.ip_address(host)))
        except ValueError:
            if not HOSTNAME.fullmatch(host):
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


HOSTNAME = re.compile(
    r"(?=.{1,253}\.?\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)


def parse_allowlist(entries: str | Iterable[str] | None) -> frozenset[HostPort]:
    """Allowlist entries from text (comma or whitespace separated, e.g. an environment variable's value)
    or an iterable of ``host:port`` strings; ``ValueError`` names a malformed entry."""
    if entries is None:
        return frozenset()
    items = re.split(r"[\s,]+", entries) if isinstance(entries, str) else list(entries)
    return frozenset(HostPort.parse(item) for item in items if item and item.strip())


def canonical(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it is; an IPv6 address without its %scope."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


def texts(entries: Any) -> Any:
    if entries is None or isinstance(entries, str):
        return entries
    return [str(entry) for entry in entries]


def origin(base_url: str) -> HostPort | None:
    try:
        url = httpx.URL(base_url)
        host = url.raw_host.decode("ascii").lower()
        if not host:
            return None
        try:
            host = str(canonical(ipaddress.ip_address(host)))
        except ValueError:
            pass
        return HostPort(host, url.port or (443 if url.scheme == "https" else 80))
    except (httpx.InvalidURL, ValueError, UnicodeError):
        return None
