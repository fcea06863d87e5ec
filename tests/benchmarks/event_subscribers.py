"""Real `/admin/events` subscribers for the minting benchmark: connected, reading every frame.

Each subscriber is a keep-alive HTTP/1.1 client that sends `GET /admin/events` with the broker
secret and reads the Server-Sent Events stream until it is closed, counting the
`token.issued` frames it receives, so the figure is minting while the server really delivers
every event to every stream (not to connections that stopped reading).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

SUBSCRIBERS = 100
_MARK = b"\nevent: token.issued\n"
_HELLO = b"event: hello\n"
_OK_STATUS = b"HTTP/1.1 200"


class _Subscriber(asyncio.Protocol):
    def __init__(self, request: bytes, hello: asyncio.Future[None]) -> None:
        self._request = request
        self._hello = hello
        self._transport: asyncio.Transport | None = None
        self._head = b""
        self._tail = b""
        self.issued = 0
        self.dropped = False
        """The server ended the stream before this client closed it."""
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if not self._hello.done():
            self._head += data
            if len(self._head) < len(_OK_STATUS):
                return
            if not self._head.startswith(_OK_STATUS):
                self._hello.set_exception(
                    RuntimeError(f"the event stream was refused: {self._head[:200]!r}")
                )
                return
            if _HELLO in self._head:
                self._hello.set_result(None)
            data = self._head
        seen = self._tail + data
        self.issued += seen.count(_MARK)
        self._tail = seen[-(len(_MARK) - 1) :]

    def connection_lost(self, exc: Exception | None) -> None:
        self.dropped = not self._closing
        if not self._hello.done():
            self._hello.set_exception(ConnectionError("the event stream closed at once"))

    def close(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.close()


@dataclass
class Subscribers:
    """The connected subscribers; `received` counts since the last `reset`."""

    clients: list[_Subscriber]

    def reset(self) -> None:
        for client in self.clients:
            client.issued = 0

    @property
    def dropped(self) -> int:
        return sum(client.dropped for client in self.clients)

    def received(self) -> Iterator[int]:
        return (client.issued for client in self.clients)


@asynccontextmanager
async def subscribed(url: str, secret: str, count: int = SUBSCRIBERS) -> AsyncIterator[Subscribers]:
    """`count` event streams, each past its `hello` frame, closed on the way out."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET /admin/events HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {secret}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    clients: list[_Subscriber] = []
    hellos: list[asyncio.Future[None]] = []
    try:
        for _ in range(count):
            hello: asyncio.Future[None] = loop.create_future()
            _, client = await loop.create_connection(
                functools.partial(_Subscriber, request, hello), host, port
            )
            clients.append(client)
            hellos.append(hello)
        await asyncio.wait_for(asyncio.gather(*hellos), 10)
        yield Subscribers(clients)
    finally:
        for client in clients:
            client.close()
