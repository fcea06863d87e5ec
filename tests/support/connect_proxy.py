"""A CONNECT-only HTTP proxy on 127.0.0.1 that tunnels named hosts to loopback ports.

Why a proxy: TradingView's origin is `https://www.tradingview.com`, port 443 and no other,
and the adapter's CORS rule grants exactly such port-less origins. Chromium's
`--host-resolver-rules` can map a name to 127.0.0.1 but not a port, and binding port 443
needs privileges a test must not assume. Through `--proxy-server` the browser asks
`CONNECT www.tradingview.com:443` and we tunnel the bytes to the page server's real port: the
browser believes it talks to port 443, does its TLS end to end with the test certificate
(SNI and all), and the page's origin stays exactly `https://www.tradingview.com`.

Only the routes given are tunnelled; anything else (a plain HTTP request, another host, a
browser's background request) is answered 403 and recorded in `refused`, so nothing leaves
loopback. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Self

HEAD_TIMEOUT = 10.0
"""How long a client may take to send its CONNECT request."""
CONNECT_TIMEOUT = 5.0
IDLE_TIMEOUT = 30.0
"""A tunnel with no traffic either way for this long is closed."""
STOP_TIMEOUT = 10.0
MAX_HEAD_BYTES = 16 * 1024
_CHUNK = 64 * 1024


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, proxy: ConnectProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _TunnelHandler)


class _TunnelHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        client, server = self.request, self.server
        assert isinstance(client, socket.socket)
        assert isinstance(server, _ProxyServer)
        proxy = server.proxy
        client.settimeout(HEAD_TIMEOUT)
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in head and len(head) <= MAX_HEAD_BYTES:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
        head, _, early = head.partition(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = request_line.partition(" ")
        target = rest.partition(" ")[0]
        port = proxy.routes.get(target) if method == "CONNECT" else None
        if port is None:
            proxy.note(proxy.refused, request_line)
            with contextlib.suppress(OSError):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
        except OSError:
            proxy.note(proxy.refused, f"{request_line} (upstream unreachable)")
            with contextlib.suppress(OSError):
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        proxy.note(proxy.tunnelled, target)
        with upstream:
            proxy.track(upstream, True)
            proxy.track(client, True)
            try:
                client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                if early:
                    upstream.sendall(early)
                _pump(client, upstream)
            except OSError:
                pass  # either side reset the connection: the tunnel is over
            finally:
                proxy.track(upstream, False)
                proxy.track(client, False)


def _pump(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until both sides have finished sending, passing half-closes on."""
    peers = {one: other, other: one}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            sock.settimeout(IDLE_TIMEOUT)  # bounds a send to a peer that stopped reading
            selector.register(sock, selectors.EVENT_READ)
        open_for_reading = 2
        while open_for_reading:
            ready = selector.select(IDLE_TIMEOUT)
            if not ready:
                return
            for key, _ in ready:
                source = key.fileobj
                assert isinstance(source, socket.socket)
                data = source.recv(_CHUNK)
                if data:
                    peers[source].sendall(data)
                    continue
                selector.unregister(source)
                open_for_reading -= 1
                with contextlib.suppress(OSError):
                    peers[source].shutdown(socket.SHUT_WR)


class ConnectProxy:
    """`routes` maps `host:port` as the browser asks for it to a port on 127.0.0.1."""

    def __init__(self, routes: Mapping[str, int]) -> None:
        self.routes = dict(routes)
        self.tunnelled: list[str] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._server = _ProxyServer(self)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def note(self, where: list[str], what: str) -> None:
        with self._lock:
            where.append(what)

    def track(self, sock: socket.socket, live: bool) -> None:
        with self._lock:
            if live:
                self._live.add(sock)
            else:
                self._live.discard(sock)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, then end the tunnels still open (their threads see end of file)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(STOP_TIMEOUT)
        with self._lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
