"""The HTTP client webhook POSTs go over: every socket operation inside the POST's total deadline.

httpx's timeouts bound one connect, one write or one read each, never a whole request: a receiver that
answers a byte every few seconds (headers included) holds a POST, and the sensor tick that sends it, for as
long as it likes. Here each connect, TLS handshake, write and read gets at most what is left of the
deadline set by ``within`` (a context variable, so one client serves POSTs with their own deadlines), and
once nothing is left the next one fails with httpx's timeout at once.

Connections go straight to the receiver: proxy variables from the environment are not used, since httpx
would build their transports without this deadline.
"""

from __future__ import annotations

import contextvars
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from recording_assets.genesys.guarded_http import as_core_request, as_httpx_errors

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("webhook_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Every socket operation of the requests made inside the block ends ``seconds`` from now at the latest
    (the monotonic clock)."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def client() -> httpx.Client:
    """A client whose connections keep ``within``'s deadline; close it (``with``) when done."""
    pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=_DeadlineBackend())
    return httpx.Client(transport=_PoolTransport(pool), trust_env=False)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` cut to what is left of the deadline; ``expired`` when nothing is."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the webhook POST's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(
            host,
            port,
            timeout=_left(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("webhook receivers are reached over TCP")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PoolTransport(httpx.BaseTransport):
    """httpx over one httpcore pool, with httpcore's errors raised as httpx's (as httpx's own does)."""

    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self._pool = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = as_core_request(request)
        with as_httpx_errors():
            response = self._pool.handle_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _Stream(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        if hasattr(self._stream, "close"):
            with as_httpx_errors():
                self._stream.close()
