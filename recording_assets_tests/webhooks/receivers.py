"""Webhook endpoints on loopback: a receiver that verifies every request with the independent
``standardwebhooks`` library, one that hangs (accepts the connection, never answers) and a port that
refuses connections."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"a-test-key-of-some-length-123456").decode()


class Receiver:
    """Answers ``status`` (204 by default) after ``delay_s``; a 2xx only after ``Webhook.verify`` passed.
    ``seen`` counts each ``webhook-id`` it accepted; ``payloads`` keeps the first payload of each."""

    def __init__(self, secret: str = SECRET, *, port: int = 0, status: int = 204, delay_s: float = 0.0):
        self.secret, self.status, self.delay_s = secret, status, delay_s
        self.seen: Counter[str] = Counter()
        self.payloads: dict[str, dict] = {}
        self.requests = 0
        self.rejected: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                time.sleep(receiver.delay_s)
                status = receiver.status
                if 200 <= status < 300:
                    try:
                        payload = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    except Exception as exc:  # noqa: BLE001 - any refusal is a test failure, recorded
                        receiver.rejected.append(repr(exc))
                        status = 400
                    else:
                        receiver.seen[self.headers["webhook-id"]] += 1
                        receiver.payloads.setdefault(self.headers["webhook-id"], payload)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=receiver-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HangingEndpoint:
    """Listens, so connections complete in the kernel, and never accepts or answers: every POST times out."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(512)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/hook"

    def stop(self) -> None:
        self.socket.close()


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released): connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _RawEndpoint:
    """A loopback server that reads each request's head and body, then answers through ``answer``; it
    records, per connection, how many answer bytes it got out and whether the client hung up first."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/hook?token=receiver-token"
        self.sent: list[int] = []
        self.client_hung_up: list[bool] = []
        self._stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            data = self._read_until(connection, lambda got: b"\r\n\r\n" in got)
            if data is None:
                return self._gone()
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            if self._read_until(connection, lambda got: len(got) >= length, body) is None:
                return self._gone()
            sent, hung_up = 0, False
            try:
                for piece in self.answer():
                    if self._stopping.is_set():
                        break
                    connection.sendall(piece)
                    sent += len(piece)
            except OSError:  # reset or closed by the client
                hung_up = True
            self.sent.append(sent)
            self.client_hung_up.append(hung_up)

    @staticmethod
    def _read_until(connection: socket.socket, done, data: bytes = b"") -> bytes | None:
        """Read until ``done(data)``; None if the client hung up first (``recv`` gives b"" from then on)."""
        while not done(data):
            try:
                piece = connection.recv(65536)
            except OSError:
                return None
            if not piece:
                return None
            data += piece
        return data

    def _gone(self) -> None:
        """The client left before its request was read whole: an answer of nothing, ended by the client."""
        self.sent.append(0)
        self.client_hung_up.append(True)

    def answer(self):
        raise NotImplementedError

    def wait_for(self, connections: int, guard_s: float = 60.0) -> None:
        """Until ``connections`` answers have ended (a guard against a hang, not a timing claim)."""
        give_up = time.monotonic() + guard_s
        while len(self.sent) < connections and time.monotonic() < give_up:
            time.sleep(0.05)
        assert len(self.sent) >= connections, "the endpoint's answers never ended"

    def stop(self) -> None:
        self._stopping.set()
        self.socket.close()


class TricklingEndpoint(_RawEndpoint):
    """Answers its status line a byte every ``every_s`` seconds, never finishing the headers: each byte is
    well within any read timeout, so only a deadline on the whole POST ends it. Gives up after
    ``max_bytes`` (so a client without a deadline ends too, and the test can tell)."""

    def __init__(self, every_s: float = 0.2, max_bytes: int = 150) -> None:
        self.every_s, self.max_bytes = every_s, max_bytes
        super().__init__()

    def answer(self):
        line = (b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * self.max_bytes)[: self.max_bytes]
        for byte in line:
            time.sleep(self.every_s)
            yield bytes([byte])


class HugeAnswerEndpoint(_RawEndpoint):
    """Answers 200 with a ``size``-byte body, sent as fast as the client takes it."""

    def __init__(self, size: int = 64 * 1024 * 1024) -> None:
        self.size = size
        super().__init__()

    def answer(self):
        yield f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode()
        piece = b"x" * 65536
        for _ in range(self.size // len(piece)):
            yield piece


class ChatReceiver:
    """A Slack-shaped (``kind="slack"``: ``text`` non-empty, answers 200 "ok") or Teams-shaped (``"teams"``:
    one Adaptive Card attachment with a body) incoming webhook. ``seen`` counts each event id (the card's
    last fact) it accepted; ``rejected`` keeps what had the wrong shape or carried a signature."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.seen: Counter[str] = Counter()
        self.messages: list[dict] = []
        self.rejected: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    message = json.loads(raw)
                    event_id = receiver.check(message, self.headers)
                except Exception as exc:  # noqa: BLE001 - any refusal is a test failure, recorded
                    receiver.rejected.append(repr(exc))
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.seen[event_id] += 1
                receiver.messages.append(message)
                answer = b"ok" if receiver.kind == "slack" else b"1"
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/chat-token-{kind}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, message: dict, headers) -> str:
        assert headers["content-type"] == "application/json" and "webhook-signature" not in headers
        if self.kind == "slack":
            assert isinstance(message["text"], str) and message["text"].strip()
            assert message["blocks"][0]["type"] == "header"
            text = message["blocks"][1]["text"]["text"]
        else:
            assert message["type"] == "message" and len(message["attachments"]) == 1
            attachment = message["attachments"][0]
            assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
            card = attachment["content"]
            assert card["type"] == "AdaptiveCard" and card["version"] == "1.4" and card["body"]
            text = json.dumps(card["body"])
        ids = re.findall(r"msg_[0-9a-f]{32}", text)
        assert len(ids) == 1, text
        return ids[0]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
