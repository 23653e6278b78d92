"""Test helpers for the trust-boundary tests (no tests here): a canary HTTP server that counts what
reaches it, and a self-signed TLS certificate for a sandbox served over https.

The canary stands for what a hostile URL would reach (a metadata service, an internal host): a test
that proves a guard points a redirect or a URL at it and asserts it saw no connection or no byte. It
answers real HTTP so that the same canary, allowlisted, does receive requests (the positive control that
keeps a "received nothing" assertion meaningful).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Canary:
    """A loopback TCP server on ``host`` (127.0.0.2 by default: a second loopback address). ``mode``:
    ``ok`` (a small 200), ``endless`` (a chunked body without Content-Length that never ends),
    ``trickle`` (a JSON body, one byte every ``interval_s``), ``json_error`` (a 404 whose message carries
    ANSI escapes and CR/LF), ``same_page`` (every request gets the same listing page, with a next page
    that is always the same cursor)."""

    host: str = "127.0.0.2"
    mode: str = "ok"
    interval_s: float = 0.2
    connections: int = 0
    bytes_received: int = 0
    requests: list[bytes] = field(default_factory=list)
    _sock: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Canary:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(16)
        sock.settimeout(0.1)
        self._sock = sock
        threading.Thread(target=self._serve, daemon=True, name=f"canary-{self.port}").start()
        return self

    @property
    def port(self) -> int:
        assert self._sock is not None
        return self._sock.getsockname()[1]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, scheme: str = "http", path: str = "/canary") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> Canary:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(2.0)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
                with self._lock:
                    self.bytes_received += len(chunk)
            with self._lock:
                self.requests.append(data.split(b"\r\n", 1)[0])
            self._answer(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn: socket.socket) -> None:
        if self.mode == "ok":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/ogg\r\nContent-Length: 4\r\n\r\nOggS")
        elif self.mode == "endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/ogg\r\nTransfer-Encoding: chunked\r\n\r\n")
            block = b"\x00" * 65536
            while not self._stop.is_set():
                conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))
        elif self.mode == "trickle":
            body = b'{"entities": []}' + b" " * 4096
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            for byte in body:
                if self._stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.interval_s)
        elif self.mode == "same_page":
            body = (
                b'{"entities": [{"id": "o-1", "conversationId": "c-1", "recordingId": "r-1"}], '
                b'"nextUri": "/api/v2/listing?cursor=A&pageSize=1", "pageCount": 1000}'
            )
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
        elif self.mode == "json_error":
            body = (
                b'{"message": "Not \\u001b[31mfound\\u001b[0m\\r\\nX-Forged: log line", '
                b'"code": "not.found\\u001b]0;title\\u0007", "status": 404}'
            )
            conn.sendall(
                b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )


@dataclass(frozen=True)
class SelfSigned:
    certfile: str
    keyfile: str
    ca_pem: bytes

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this certificate (and verifies host names as usual)."""
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        return context


def self_signed(directory: Path) -> SelfSigned:
    """A self-signed certificate for 127.0.0.1 and localhost (needs ``cryptography``, which moto brings)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "recording-assets sandbox")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    certfile, keyfile = directory / "sandbox.pem", directory / "sandbox.key"
    certfile.write_bytes(pem)
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return SelfSigned(str(certfile), str(keyfile), pem)
