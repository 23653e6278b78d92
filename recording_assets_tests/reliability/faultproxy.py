"""A small fault-injecting HTTP/1.1 proxy for S3 tests, in the spirit of Shopify Toxiproxy.

Put it between a boto3 client and the moto server and script faults from the test, at run time:

    with FaultProxy.in_front_of(moto_endpoint) as proxy:
        client = boto3.client("s3", endpoint_url=proxy.endpoint, ...)
        proxy.http_500(count=2, match="PutObject")            # the next 2 PutObjects get S3's 500
        proxy.reset_after(1024, count=1, match="UploadPart")  # TCP RST after 1 KiB of a part's body
        proxy.slow(0.5, match="HeadObject")                   # S3 did the work; the answer is late
        proxy.down(); ...; proxy.up()                         # every request is reset, then served
        proxy.rewrite(fn, match="ListMultipartUploads")       # S3's answer body, edited by ``fn``
        assert proxy.count("PutObject", fault="http_500") == 2

Each fault hits exactly the next ``count`` matching requests, and every request is recorded (as an
``Exchange``, before the client hears anything) so tests can assert that retries and aborts happened.
``match`` is an S3 operation name (see ``classify``) or a callable on the ``Request``.

Deliberately simple: one request per connection (``Connection: close`` both ways), request bodies framed
by Content-Length or chunked (as botocore sends them), ``Expect: 100-continue`` answered by the proxy
itself, and the upstream response buffered whole before it is passed on.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

_PIECE = 64 * 1024
_LINE = 65536
_ON_OBJECT = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
_ON_BUCKET = {"PUT": "CreateBucket", "GET": "ListObjects", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as on the request line
    operation: str  # from ``classify``
    headers: dict[str, str]  # lower-case names


@dataclass(frozen=True)
class Exchange:
    """One request the proxy saw, and what became of it."""

    method: str
    operation: str
    target: str
    fault: str | None  # "http_500", "reset", "slow", "down", "rewrite" or None
    status: int | None  # what S3 (or the proxy) answered; None if the client was reset instead


Match = str | Callable[[Request], bool] | None
Where = Callable[[Exchange], bool] | None


@dataclass
class _Rule:
    kind: str
    remaining: int | None  # None: until replaced
    match: Match
    value: float = 0
    edit: Callable[[bytes], bytes] | None = None

    def takes(self, request: Request) -> bool:
        if self.remaining == 0:
            return False
        return self.match in (None, request.operation) or (callable(self.match) and self.match(request))


def classify(method: str, target: str) -> str:
    """The S3 operation of a path-style request: ``PUT /b/k?partNumber=2&uploadId=u`` is UploadPart.
    Bucket sub-resources it does not name come out as e.g. ``GET ?versioning``."""
    path, _, query = target.partition("?")
    params = parse_qs(query, keep_blank_values=True)
    if "uploadId" in params:
        by_method = {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}
        return by_method.get(method, "ListParts")
    if "uploads" in params:
        return "CreateMultipartUpload" if method == "POST" else "ListMultipartUploads"
    if "list-type" in params:
        return "ListObjectsV2"
    if "/" in path.strip("/"):  # /bucket/key
        return _ON_OBJECT.get(method, method)  # any other method: an HTTP API in front of which it stands
    if params:
        return f"{method} ?{sorted(params)[0]}"
    return _ON_BUCKET.get(method, method)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._exchanges: list[Exchange] = []
        self._down = False
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @classmethod
    def in_front_of(cls, endpoint_url: str) -> FaultProxy:
        parts = urlsplit(endpoint_url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name=f"faultproxy:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # also cuts short any latency being served
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- faults: thread-safe, each applies from the next request on ------------------------------------

    def down(self) -> None:
        """Endpoint down: every request is answered with a TCP reset and never reaches S3. Its head is read
        first, so the client always sees a dropped connection (never a refused one, which would race) and
        the drop is counted under the request's operation as fault "down"."""
        with self._lock:
            self._down = True

    def up(self) -> None:
        with self._lock:
            self._down = False

    def http_500(self, count: int = 1, match: Match = None) -> None:
        """Answer the next ``count`` matching requests with S3's 500 InternalError; S3 never sees them."""
        self._add(_Rule("http_500", count, match))

    def reset_after(self, bytes_n: int, count: int = 1, match: Match = None) -> None:
        """Forward the next ``count`` matching requests but RST both connections once ``bytes_n`` bytes of
        the request body (as framed on the wire) have gone upstream. If the body is shorter, S3 gets all
        of it and answers, and it is the response that is lost: a reset instead of the answer."""
        self._add(_Rule("reset", count, match, bytes_n))

    def slow(self, latency_s: float, count: int | None = None, match: Match = None) -> None:
        """Hold matching responses ``latency_s`` after S3 answered (the work is done, the answer is late).
        Replaces any earlier latency; ``count=None`` lasts until ``slow(0)``."""
        with self._lock:
            self._rules = [rule for rule in self._rules if rule.kind != "slow"]
        if latency_s > 0:
            self._add(_Rule("slow", count, match, latency_s))

    def rewrite(self, edit: Callable[[bytes], bytes], count: int | None = None, match: Match = None) -> None:
        """Pass matching responses' bodies through ``edit`` (Content-Length follows): for what moto leaves
        out of an answer that AWS gives, e.g. real ``Initiated`` times in ListMultipartUploads."""
        self._add(_Rule("rewrite", count, match, edit=edit))

    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def count(self, operation: str | None = None, *, fault: str | None = None, where: Where = None) -> int:
        """Requests of ``operation`` (any if None) that met ``fault`` ("none": untouched) and ``where``."""
        return sum(
            1
            for seen in self.exchanges
            if (operation is None or seen.operation == operation)
            and (fault is None or (seen.fault or "none") == fault)
            and (where is None or where(seen))
        )

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _take(self, request: Request) -> _Rule | None:
        with self._lock:
            rule = next((rule for rule in self._rules if rule.takes(request)), None)
            if rule is not None and rule.remaining is not None:
                rule.remaining -= 1
            return rule

    def _record(self, request: Request, fault: str | None, status: int | None) -> None:
        with self._lock:
            self._exchanges.append(Exchange(request.method, request.operation, request.target, fault, status))

    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            if select.select([self._listener], [], [], 0.05)[0]:
                client, _ = self._listener.accept()
                threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            with client, client.makefile("rb") as rfile:
                self._exchange(client, rfile)
        except OSError:  # the client gave up (a timeout) or was reset by us: nothing more to do
            pass

    def _exchange(self, client: socket.socket, rfile: BinaryIO) -> None:
        request_line = rfile.readline(_LINE).decode("latin-1").rstrip("\r\n")
        if not request_line:
            return
        method, target, _ = request_line.split(" ", 2)
        header_lines = []
        while (line := rfile.readline(_LINE)) not in (b"\r\n", b"\n", b""):
            header_lines.append(line.decode("latin-1").rstrip("\r\n"))
        pairs = (line.split(":", 1) for line in header_lines)
        headers = {name.strip().lower(): value.strip() for name, value in pairs}
        request = Request(method, target, classify(method, target), headers)
        if self._down:
            return self._drop(request, "down", client, rfile)
        rule = self._take(request)
        kind = rule.kind if rule is not None else None
        value = rule.value if rule is not None else 0.0  # bytes before a reset, seconds of a slow answer
        if headers.get("expect", "").lower() == "100-continue":
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = _body(rfile, headers)

        if kind == "http_500":
            for _ in body:  # take the whole request, as S3 would, then refuse it
                pass
            self._record(request, kind, 500)
            client.sendall(_internal_error(method))
            return None

        kept = [h for h in header_lines if h.split(":", 1)[0].strip().lower() not in ("connection", "expect")]
        head = "\r\n".join([request_line, *kept, "Connection: close", "", ""]).encode("latin-1")
        with socket.create_connection(self._upstream, timeout=30) as upstream:
            upstream.sendall(head)
            sent = 0
            for piece in body:
                if kind == "reset" and sent + len(piece) >= value:
                    upstream.sendall(piece[: int(value) - sent])
                    _reset(upstream)
                    return self._drop(request, kind, client, rfile)
                upstream.sendall(piece)
                sent += len(piece)
            response = b"".join(iter(lambda: upstream.recv(_PIECE), b""))  # upstream closes when done
        if kind == "reset":  # the body was shorter than bytes_n: S3 answered, the answer is lost
            return self._drop(request, kind, client, rfile)
        status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else None
        self._record(request, kind, status)
        if kind == "slow":
            self._stopping.wait(value)
        if kind == "rewrite" and rule is not None and rule.edit is not None:
            response = _edited(response, rule.edit)
        client.sendall(_with_connection_close(response))
        return None

    def _drop(self, request: Request, fault: str, client: socket.socket, rfile: BinaryIO) -> None:
        self._record(request, fault, None)
        rfile.close()  # the socket's real close (and so the RST) waits until its file is closed too
        _reset(client)


def _body(rfile: BinaryIO, headers: dict[str, str]) -> Iterator[bytes]:
    """The request body as raw pieces (chunked framing included), read lazily from the client."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while size_line := rfile.readline(_LINE):
            yield size_line
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:  # then optional trailers and the closing blank line
                while (trailer := rfile.readline(_LINE)) not in (b"\r\n", b"\n", b""):
                    yield trailer
                yield b"\r\n"
                return
            yield from _exactly(rfile, size + 2)  # the data and its CRLF
        return
    yield from _exactly(rfile, int(headers.get("content-length", "0")))


def _exactly(rfile: BinaryIO, remaining: int) -> Iterator[bytes]:
    while remaining:
        piece = rfile.read(min(_PIECE, remaining))
        if not piece:
            raise ConnectionError("the client closed the connection mid-body")
        remaining -= len(piece)
        yield piece


def _with_connection_close(response: bytes) -> bytes:
    head, blank, body = response.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + blank + body


def _edited(response: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    head, blank, body = response.partition(b"\r\n\r\n")
    body = edit(body)
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-length:")]
    return b"\r\n".join([*lines, f"Content-Length: {len(body)}".encode("ascii")]) + blank + body


def _internal_error(method: str) -> bytes:
    body = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
    head = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nConnection: close\r\n"
    head += f"Content-Length: {len(body)}\r\nx-amz-request-id: faultproxy\r\n\r\n"
    return head.encode("ascii") + (b"" if method == "HEAD" else body)


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0, so the peer gets a TCP RST instead of an orderly FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
