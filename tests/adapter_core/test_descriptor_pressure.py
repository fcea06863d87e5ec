"""Idle connections cannot starve real requests of descriptors: when the adapter runs short,
it closes the connections doing nothing, longest idle first (the adversarial run saw 1,100
idle connections under the shipped 1,024-descriptor limit make every request fail for 20 s).
The server runs with a 256-descriptor limit so the test stays small."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from adapter_core.http_protocol import DESCRIPTOR_RESERVE, HEAD_TIMEOUT
from tests.support.adapter_process import AdapterProcess

DESCRIPTOR_LIMIT = 256
IDLE_CONNECTIONS = 2 * DESCRIPTOR_LIMIT
NORMAL_REQUESTS = 20


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[AdapterProcess]:
    with AdapterProcess(tmp_path / "data", descriptor_limit=DESCRIPTOR_LIMIT) as process:
        yield process


def test_idle_connections_are_shed_so_real_requests_are_served(adapter: AdapterProcess) -> None:
    address = urlsplit(adapter.url)
    with contextlib.ExitStack() as held:
        idle = [
            held.enter_context(socket.create_connection((address.hostname, address.port), 5))
            for _ in range(IDLE_CONNECTIONS)
        ]
        # Well inside the head timeout, so only shedding can have made room.
        with httpx.Client(base_url=adapter.url, timeout=HEAD_TIMEOUT / 2) as http:
            answers = [http.get("/config").status_code for _ in range(NORMAL_REQUESTS)]
            fresh = [
                httpx.get(f"{adapter.url}/config", timeout=HEAD_TIMEOUT / 2).status_code
                for _ in range(NORMAL_REQUESTS)
            ]
        closed = sum(_closed_by_server(connection) for connection in idle)
    assert set(answers) | set(fresh) == {401}
    assert closed >= IDLE_CONNECTIONS - (DESCRIPTOR_LIMIT - DESCRIPTOR_RESERVE)
    assert "closed" in adapter.stderr_text()
    assert "ERROR" not in adapter.stderr_text()


def _closed_by_server(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        return connection.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
