"""An ASGI app served by uvicorn on 127.0.0.1 (port 0) in a daemon thread, for tests.

Starting waits at most START_TIMEOUT for the server to listen; stopping waits at most
STOP_TIMEOUT for its thread. Subclasses are the ASGI app (`__call__`) and choose its config.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from adapter_core.server import base_url, bind_socket

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class ThreadedServer:
    def __init__(self) -> None:
        self.url = ""
        self._sock = bind_socket("127.0.0.1", 0)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def serve_with(self, config: uvicorn.Config) -> None:
        """Set the server up (call once from the subclass's __init__)."""
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> Self:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            raise RuntimeError("serve_with() was not called")
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.01)
        self.url = base_url(self._sock)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
