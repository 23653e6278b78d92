"""Webhook endpoints on loopback: a receiver that verifies every request with the independent
``standardwebhooks`` library, one that hangs (accepts the connection, never answers) and a port that
refuses connections."""

from __future__ import annotations

import base64
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
