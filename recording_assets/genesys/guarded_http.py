"""The connections media GETs go over: the peer of every new TCP connection is checked against the
``MediaPolicy`` before it is handed to httpcore, so before TLS and before a byte of the request is
written (``netguard`` step 2), and reported as ``server_addr`` for as long as the connection lives."""

from __future__ import annotations

import select
import socket
import ssl
from typing import Any

import httpcore
import httpx

from recording_assets.genesys.netguard import MediaPolicy

READ_BYTES = 1024 * 1024  # the most a media connection hands on per read (asyncio receives 256 KiB at a time)


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
        # httpcore asks every pooled connection whether it is readable before each request (its
        # ``has_expired``), and anyio builds its whole attribute table at each ask: 10 % of the CPU of a
        # day of small recordings (benchmarks/data_plane.py). The socket is the connection's for life.
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        # Up to READ_BYTES, whatever httpcore asks: its 64 KiB (``READ_NUM_BYTES``) made each 256 KiB
        # socket read four trips through anyio, httpcore, h11 and httpx (and anyio copies the rest
        # of the chunk at each split); h11 takes data of any length.
        return await self._inner.read(max(max_bytes, READ_BYTES), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> VettedStream:
        return VettedStream(await self._inner.start_tls(ssl_context, server_hostname, timeout), self._peer)

    def get_extra_info(self, info: str) -> Any:
        if info == "server_addr":
            return self._peer
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return _is_readable(self._socket)
        return self._inner.get_extra_info(info)


def _is_readable(sock: socket.socket | None) -> bool:
    """Whether a read would not wait: data, or the peer closed (httpcore's ``is_socket_readable``; a socket
    that is gone counts as readable, so its connection is dropped)."""
    if sock is None or sock.fileno() < 0:
        return True
    poll = select.poll()
    poll.register(sock.fileno(), select.POLLIN)
    return bool(poll.poll(0))


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
        core_request = as_core_request(request)
        with as_httpx_errors():
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


def as_core_request(request: httpx.Request) -> httpcore.Request:
    """``request`` as httpcore takes it (what httpx's own transports do), for a transport over a pool."""
    return httpcore.Request(
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


class _Stream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self):
        with as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            with as_httpx_errors():
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


class as_httpx_errors:  # noqa: N801 - used as a context manager, like contextlib's
    """Raise httpcore's exceptions as the httpx ones callers catch (sync or async code alike)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> None:  # never swallows: maps, or lets it through
        for core, mapped in _EXCEPTIONS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
