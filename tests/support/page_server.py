"""An HTTPS server on 127.0.0.1 that serves one HTML page and takes back what it reports.

It plays TradingView's web server: the browser reaches it as `https://www.tradingview.com`
(or any other name) through `ConnectProxy`. `GET /` is the page; the page POSTs its results
as JSON to `/results` on its own origin (so no CORS is involved in reporting), and the test
reads them with `results(timeout)`. The standard library's server is enough here and keeps
the page server's noise out of the logs the tests watch.
"""

from __future__ import annotations

import json
import queue
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

REQUEST_TIMEOUT = 10.0
"""Per connection: a handshake or request that stalls longer is dropped."""
STOP_TIMEOUT = 10.0
MAX_RESULTS_BYTES = 1024 * 1024


class _PageHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, page: PageServer) -> None:
        self.page = page
        super().__init__(("127.0.0.1", 0), _PageHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser dropping a connection it opened speculatively is no error of the test's;
        what happened is kept for the failure message instead of printed."""
        self.page.note(f"connection error from {client_address}")


class _PageHandler(BaseHTTPRequestHandler):
    timeout = REQUEST_TIMEOUT
    server_version = "tradingview-page-double"
    sys_version = ""

    @property
    def page(self) -> PageServer:
        server = self.server
        assert isinstance(server, _PageHttpServer)
        return server.page

    def log_message(self, format: str, *args: Any) -> None:
        self.page.note(format % args)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/":
            self._answer(404, b"", "text/plain")
            return
        self._answer(200, self.page.html.encode("utf-8"), "text/html; charset=utf-8")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/results" or not 0 < length <= MAX_RESULTS_BYTES:
            self._answer(404, b"", "text/plain")
            return
        body = self.rfile.read(length)
        try:
            reported = json.loads(body)
        except ValueError:
            self._answer(400, b"", "text/plain")
            return
        self.page.reported.put(reported)
        self._answer(204, b"", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class PageServer:
    """Serves `html` over TLS with the given certificate and key."""

    def __init__(self, html: str, cert_file: Path, key_file: Path) -> None:
        self.html = html
        self.reported: queue.Queue[Any] = queue.Queue()
        self.log: list[str] = []
        self._lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert_file, key_file)
        self._server = _PageHttpServer(self)
        # The handshake happens on the handler's first read, in the handler's thread and
        # under its timeout, never in the accepting thread.
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def note(self, line: str) -> None:
        with self._lock:
            self.log.append(line)

    def results(self, timeout: float) -> Any:
        """What the page reported; raises `queue.Empty` if it did not within `timeout`."""
        return self.reported.get(timeout=timeout)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(STOP_TIMEOUT)
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
