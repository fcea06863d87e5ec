"""Run the adapter app under uvicorn on a socket we bind ourselves.

Binding first means port 0 works (tests, the console's embedded adapter) and the real address
is known and announced only once uvicorn is actually accepting connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence

import uvicorn
from starlette.types import ASGIApp

from adapter_core.http_protocol import BoundedHttpToolsProtocol

log = logging.getLogger(__name__)


class ServerStartError(RuntimeError):
    """The server cannot start; the message is meant for the operator."""


def bind_socket(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServerStartError(f"cannot resolve the listen address {host!r}: {exc}") from exc
    family, kind, protocol, _, address = infos[0]
    sock = socket.socket(family, kind, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerStartError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from exc
        raise ServerStartError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket, *, tls: bool = False) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def server_config(
    app: ASGIApp, log_level: str = "info", trusted_proxies: Sequence[str] = ()
) -> uvicorn.Config:
    """uvicorn's settings for the adapter. `X-Forwarded-For` and `X-Forwarded-Proto` are read
    only from `trusted_proxies` (addresses or networks): from anyone else they would let a
    client choose the address that sessions and the access log show."""
    return uvicorn.Config(
        app,
        access_log=False,
        log_config=None,
        log_level=log_level,
        server_header=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
        lifespan="on",
        timeout_graceful_shutdown=10,
        http=BoundedHttpToolsProtocol,
    )


LATE_CONNECTION_SWEEP = 0.05
"""Seconds between asking, while stopping, every connection to finish."""


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, calling back once the sockets accept connections, and once it starts
    to stop: `on_stopping` ends the long-lived event streams, so the graceful shutdown that
    follows only waits for ordinary requests in flight (milliseconds, not its timeout)."""

    def __init__(
        self,
        config: uvicorn.Config,
        on_started: Callable[[], None],
        on_stopping: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._on_stopping = on_stopping

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """As uvicorn's, but a graceful stop on SIGTERM (systemd's stop) exits 0: uvicorn would
        raise the signal again once stopped, and the service would read as killed."""
        with super().capture_signals():
            yield
            self._captured_signals = [
                captured for captured in self._captured_signals if captured != signal.SIGTERM
            ]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_stopping is not None:
            self._on_stopping()
            await asyncio.sleep(0)  # let each stream send its last event and end
        late = asyncio.create_task(self._shut_late_connections())
        try:
            await super().shutdown(sockets)
        finally:
            late.cancel()

    async def _shut_late_connections(self) -> None:
        """uvicorn asks each connection to finish once; one accepted as the listener closed
        missed that and was served until the graceful timeout. Asking again is harmless: a
        connection between requests closes, one in a request closes after its answer."""
        while True:
            await asyncio.sleep(LATE_CONNECTION_SWEEP)
            for connection in list(self.server_state.connections):
                connection.shutdown()


async def serve(
    config: uvicorn.Config,
    sock: socket.socket,
    on_ready: Callable[[str], None],
    on_stopping: Callable[[], None] | None = None,
) -> None:
    """Serve until told to stop (SIGTERM/SIGINT in the main thread); call `on_ready` once up."""
    tls = config.ssl is not None
    server = AnnouncingServer(config, lambda: on_ready(base_url(sock, tls=tls)), on_stopping)
    await server.serve(sockets=[sock])
    if not server.started:
        raise ServerStartError("the adapter did not start; see the log above")


GC_YOUNG_THRESHOLD = 20_000
"""Allocations between young-generation collections (Python's default: 700). A request
allocates a few hundred objects and frees them itself; the default collected every couple
of requests, tens of microseconds each, for almost no garbage."""


def settle_garbage_collector() -> None:
    """Before serving: what start-up built lives as long as the process, so it is frozen out
    of every later collection (a full one walked it all: 80 ms per 1.5 s while minting), and
    young collections run far less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def run(
    app: ASGIApp,
    sock: socket.socket,
    on_ready: Callable[[str], None],
    log_level: str,
    on_stopping: Callable[[], None] | None = None,
    tls: ssl.SSLContext | None = None,
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Blocking entry point: uvloop where available, graceful stop on SIGTERM; HTTPS with the
    `tls` context (ours, so a renewed certificate can be loaded into it while serving)."""
    config = server_config(app, log_level, trusted_proxies)
    config.load()
    config.ssl = tls
    settle_garbage_collector()
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve(config, sock, on_ready, on_stopping))
