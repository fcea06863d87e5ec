"""Request heads are bounded in size, count and time on a real `tv-adapter serve` (loopback).

No credential is needed to send a head, so these limits are what keeps an anonymous client
from holding memory or descriptors.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from adapter_core.http_protocol import HEAD_TIMEOUT, MAX_HEAD_BYTES, MAX_HEADERS
from tests.support.adapter_process import AdapterProcess

READ_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    with AdapterProcess(tmp_path_factory.mktemp("heads") / "data") as process:
        yield process


def _address(process: AdapterProcess) -> tuple[str, int]:
    host, port = process.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _answer(connection: socket.socket, within: float) -> bytes:
    """What the server sends until it closes the connection (bounded in time and size)."""
    connection.settimeout(within)
    received = b""
    try:
        while len(received) < READ_LIMIT:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def test_a_head_larger_than_the_cap_is_refused_with_431(served: AdapterProcess) -> None:
    with socket.create_connection(_address(served), timeout=5) as connection:
        connection.sendall(b"GET /config HTTP/1.1\r\nHost: x\r\n")
        filler = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it may close early
            for _ in range(MAX_HEAD_BYTES // len(filler) + 2):
                connection.sendall(filler)
        answer = _answer(connection, 5)
    assert answer.startswith(b"HTTP/1.1 431")
    assert b"too large" in answer


def test_too_many_headers_are_refused_with_431(served: AdapterProcess) -> None:
    headers = b"".join(b"X-H%d: 1\r\n" % index for index in range(MAX_HEADERS + 5))
    with socket.create_connection(_address(served), timeout=5) as connection:
        connection.sendall(b"GET /config HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        answer = _answer(connection, 5)
    assert answer.startswith(b"HTTP/1.1 431")


def test_a_head_that_never_completes_is_closed(served: AdapterProcess) -> None:
    started = time.monotonic()
    with socket.create_connection(_address(served), timeout=5) as connection:
        connection.sendall(b"GET /config HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        answer = _answer(connection, HEAD_TIMEOUT * 3)
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < HEAD_TIMEOUT * 3  # closed by the server, not by us


def test_a_silent_connection_is_closed(served: AdapterProcess) -> None:
    with socket.create_connection(_address(served), timeout=5) as connection:
        answer = _answer(connection, HEAD_TIMEOUT * 3)
    assert answer.startswith(b"HTTP/1.1 408")


def test_ordinary_requests_are_untouched(served: AdapterProcess) -> None:
    headers = {f"X-Ordinary-{index}": "v" * 100 for index in range(40)}
    answer = httpx.get(f"{served.url}/config", headers=headers, timeout=5)
    assert answer.status_code == 401  # reached the app: no token
    assert answer.json()["s"] == "error"
