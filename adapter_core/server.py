"""Run the adapter app under uvicorn on a socket we bind ourselves.

Binding first means port 0 works (tests, the console's embedded adapter) and the real address
is known and announced only once uvicorn is actually accepting connections.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp


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


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def server_config(app: ASGIApp, log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        access_log=False,
        log_config=None,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, calling back once the sockets accept connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


async def serve(
    config: uvicorn.Config, sock: socket.socket, on_ready: Callable[[str], None]
) -> None:
    """Serve until told to stop (SIGTERM/SIGINT in the main thread); call `on_ready` once up."""
    server = AnnouncingServer(config, lambda: on_ready(base_url(sock)))
    await server.serve(sockets=[sock])
    if not server.started:
        raise ServerStartError("the adapter did not start; see the log above")


def run(app: ASGIApp, sock: socket.socket, on_ready: Callable[[str], None], log_level: str) -> None:
    """Blocking entry point: uvloop where available, graceful stop on SIGTERM."""
    config = server_config(app, log_level)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve(config, sock, on_ready))
