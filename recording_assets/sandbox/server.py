"""Run the sandbox with uvicorn in a daemon thread, on one loopback origin (API, login and media)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from recording_assets.clock import Clock, SystemClock
from recording_assets.sandbox.app import build_app
from recording_assets.sandbox.config import SandboxConfig, check_bind_allowed
from recording_assets.sandbox.faults import Faults
from recording_assets.sandbox.org import SyntheticOrg
from recording_assets.sandbox.routes_media import TRANSPORT_SCOPE_KEY
from recording_assets.sandbox.state import SandboxState

_START_TIMEOUT_S = 10.0


class SandboxHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, plus the transport in each request scope: a media fault may reset it."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[TRANSPORT_SCOPE_KEY] = self.transport  # type: ignore[literal-required]


class _PromptServer(uvicorn.Server):
    """uvicorn's server, woken by ``request_exit`` instead of polling every 100 ms: tests start hundreds."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not await self.on_tick(0):  # tick 0 also refreshes the Date header
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own shutdown sleeps 100 ms for connections to wind down; a sandbox has nothing to drain.
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        await asyncio.sleep(0)
        for server in self.servers:
            try:
                await asyncio.wait_for(server.wait_closed(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    def request_exit(self) -> None:
        self.should_exit = True
        self.force_exit = True  # do not wait for idle keep-alive clients or a slow media stream
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)


class SandboxServer:
    def __init__(self, config: SandboxConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or SandboxConfig()
        check_bind_allowed(self.config)
        self.clock: Clock = clock or SystemClock()
        self._state = SandboxState(self.config, self.clock)
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise RuntimeError("sandbox already started")
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
        # and without it every response pays a 40 ms delayed-ACK stall.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(128)
        sock.set_inheritable(True)
        self._socket = sock
        self._port = sock.getsockname()[1]
        uv_config = uvicorn.Config(
            build_app(self._state),
            http=SandboxHttpProtocol,
            lifespan="off",
            log_level="warning",
            access_log=False,
            loop="asyncio",
            ws="none",
            timeout_keep_alive=30,
            ssl_certfile=self.config.tls_certfile,
            ssl_keyfile=self.config.tls_keyfile,
        )
        self._server = _PromptServer(uv_config)
        self._thread = threading.Thread(target=self._run, name=f"genesys-sandbox-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.request_exit()
        self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- what tests and tools use -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("start the sandbox first")
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        scheme = "https" if self.config.tls_certfile else "http"
        return f"{scheme}://{host}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def org(self) -> SyntheticOrg:
        return self._state.org

    @property
    def state(self) -> SandboxState:
        return self._state

    def stats(self) -> dict[str, Any]:
        return self._state.stats.snapshot()

    def reset_stats(self) -> None:
        self._state.stats.reset()

    def hostile_targets(self, day) -> dict:
        """Item scenario -> ``Target`` (conversation and recording it plays on) for that UTC day."""
        return self._state.hostile.targets(day)

    def set_faults(self, faults: Faults) -> None:
        self._state.set_faults(faults)

    @property
    def faults(self) -> Faults:
        return self._state.faults.faults
