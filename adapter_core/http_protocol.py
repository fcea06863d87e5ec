"""uvicorn's httptools protocol with the limits it lacks: head size, header count, head time.

Without them a client with no credential at all could hold the server: an unfinished 128 MiB
header was buffered whole, 500,000 headers were accepted, and a connection that never
finished its request head stayed open for ever (and held a descriptor). Here the request line
and headers together are capped at MAX_HEAD_BYTES and MAX_HEADERS (431, then the connection
closes), and a head must be complete within HEAD_TIMEOUT seconds of its first byte, or of the
connection opening (408, then close). When descriptors run short, the connections doing
nothing (idle keep-alives, ones that never finished a head) are closed, longest idle first,
so a flood of them cannot starve real requests. Bodies are bounded per endpoint by the app.
A request the parser refuses (a broken chunk, a bad header) is the client's fault: one INFO
line, where uvicorn would warn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from asyncio import TimerHandle
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024
"""The request line and all headers together; browsers send a few kilobytes."""
MAX_HEADERS = 100
HEAD_TIMEOUT = 5.0
"""Seconds a client has to send a whole request head."""

DESCRIPTOR_RESERVE = 64
"""Descriptors kept for what is not a connection: the store, key files, logs, the listener."""
SHED_TO = 0.9
"""Shedding closes idle connections until this share of the budget is in use."""

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def _refusal(status: int, message: str) -> bytes:
    body = json.dumps({"s": "error", "errmsg": message}).encode()
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


_PARSER_REFUSAL = "Invalid HTTP request received."


class _ClientFaultsAtInfo(logging.Logger):
    """uvicorn's protocol logger, with its warning for a malformed request told at INFO.

    It has no handlers or level of its own: records go to uvicorn's logger as before."""

    def __init__(self, inner: logging.Logger) -> None:
        super().__init__(inner.name)
        self.parent = inner

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        if msg == _PARSER_REFUSAL:
            log.info("refused a malformed request with 400 (the client's fault)")
            return
        super().warning(msg, *args, **kwargs)


_PROTOCOL_LOGGER = _ClientFaultsAtInfo(logging.getLogger("uvicorn.error"))


def connection_budget() -> int:
    """How many connections fit in the process's descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(soft - DESCRIPTOR_RESERVE, 16)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = _PROTOCOL_LOGGER
        self._last_active = time.monotonic()
        self._budget = connection_budget()
        self._head_bytes = 0
        self._header_count = 0
        self._in_head = True
        self._too_large = False
        self._head_timer: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()
        if len(self.connections) > self._budget:
            self._shed_idle_connections()

    def _shed_idle_connections(self) -> None:
        """Close the connections doing nothing, longest idle first, down to SHED_TO."""
        idle = sorted(
            (
                other
                for other in self.connections
                if isinstance(other, BoundedHttpToolsProtocol) and other is not self and other.idle
            ),
            key=lambda other: other._last_active,
        )
        still_open = sum(1 for other in self.connections if not other.transport.is_closing())
        excess = still_open - int(self._budget * SHED_TO)
        shed = idle[:excess]
        for other in shed:
            other.transport.close()
        log.info(
            "descriptors running short (%d connections for %d): closed %d idle connections",
            len(self.connections), self._budget, len(shed),
        )  # fmt: skip

    @property
    def idle(self) -> bool:
        """No request being answered: a keep-alive between requests, or a head not finished."""
        return not self.transport.is_closing() and (
            self.cycle is None or self.cycle.response_complete
        )

    def on_response_complete(self) -> None:
        self._last_active = time.monotonic()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            log.info("closed a connection that sent no complete request head in %gs", HEAD_TIMEOUT)
            self.transport.write(_refusal(408, "The request head did not arrive in time."))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        self._last_active = time.monotonic()
        super().data_received(data)
        if self._too_large and not self.transport.is_closing():
            log.info("refused a request whose head passed %d bytes or %d headers",
                     MAX_HEAD_BYTES, MAX_HEADERS)  # fmt: skip
            self.transport.write(_refusal(431, "The request line and headers are too large."))
            self.transport.close()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES or self._header_count > MAX_HEADERS:
            self._too_large = True

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._header_count = 0
        self._in_head = True
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        if not self._too_large:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._count(len(name) + len(value) + 4)
        if not self._too_large:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        if self._too_large:
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._too_large:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._too_large:
            super().on_message_complete()
