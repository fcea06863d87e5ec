"""SIGTERM with event streams open: each stream gets a last event and ends, and the adapter
exits 0 without waiting out uvicorn's graceful timeout or logging an error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.support.adapter_process import AdapterProcess

GRACEFUL_TIMEOUT = 10.0
"""uvicorn's graceful shutdown timeout in server_config: a stop that waits for it failed."""


def _listen(url: str, secret: str, seen: list[str], opened: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    with (
        httpx.Client(base_url=url, timeout=15) as http,
        http.stream("GET", "/admin/events", headers=headers) as stream,
    ):
        opened.set()
        for line in stream.iter_lines():
            if line.startswith("event: "):
                seen.append(line.removeprefix("event: "))


def test_sigterm_with_open_event_streams_exits_0_at_once(tmp_path: Path) -> None:
    process = AdapterProcess(tmp_path / "data").start()
    streams = []
    seen: list[list[str]] = []
    try:
        for _ in range(3):
            events: list[str] = []
            opened = threading.Event()
            reader = threading.Thread(
                target=_listen, args=(process.url, process.broker_secret, events, opened)
            )
            reader.start()
            assert opened.wait(10)
            streams.append(reader)
            seen.append(events)
        started = time.monotonic()
        code = process.terminate()
        took = time.monotonic() - started
    finally:
        process.kill()
    for reader in streams:
        reader.join(10)
        assert not reader.is_alive()
    assert code == 0
    assert took < GRACEFUL_TIMEOUT / 2  # not waiting out the graceful timeout
    for events in seen:
        assert events[0] == "hello"
        assert events[-1] == "adapter.stopping"
    stderr = process.stderr_text()
    assert "ERROR" not in stderr
    assert "Traceback" not in stderr
