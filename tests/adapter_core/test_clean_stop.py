"""SIGTERM with event streams open: each stream gets a last event and ends, and the adapter
exits 0 without waiting out uvicorn's graceful timeout or logging an error; requests in flight
(uploads half sent, tabs polling) are finished, not dropped."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import mint

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


POLLERS = 16
UPLOADS = 4
ACCOUNT = 137780091


def _poll(url: str, token: str, answered: list[int], failed: list[str]) -> None:
    """A TradingView tab polling /orders on one keep-alive connection until the adapter goes."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        for _ in range(100_000):
            try:
                response = http.get(f"/accounts/{ACCOUNT}/orders")
            except httpx.TransportError as exc:
                failed.append(type(exc).__name__)
                return
            answered.append(response.status_code)


def _start_upload(url: str, secret: str, body: bytes) -> socket.socket:
    """A mint whose body is half sent: a request in flight when SIGTERM arrives."""
    address = urlsplit(url)
    connection = socket.create_connection((address.hostname, address.port), timeout=10)
    head = (
        f"POST /generate/token HTTP/1.1\r\nHost: adapter\r\nAuthorization: Bearer {secret}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    connection.sendall(head.encode() + body[:10])
    return connection


def test_sigterm_finishes_every_request_in_flight(tmp_path: Path) -> None:
    process = AdapterProcess(tmp_path / "data", ["--demo"]).start()
    answered: list[int] = []
    failed: list[str] = []
    body = json.dumps({"userId": 14601, "brokerNames": ["BESTBROKER"], "isVerified": True})
    try:
        token = mint(process.url, process.broker_secret, ctidTraderAccountIds=[ACCOUNT])
        pollers = [
            threading.Thread(target=_poll, args=(process.url, token, answered, failed))
            for _ in range(POLLERS)
        ]
        for poller in pollers:
            poller.start()
        uploads = [
            _start_upload(process.url, process.broker_secret, body.encode()) for _ in range(UPLOADS)
        ]
        while len(answered) < POLLERS * 5 and not failed:
            time.sleep(0.01)
        assert process.process is not None
        process.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        for upload in uploads:
            upload.sendall(body.encode()[10:])
        answers = []
        for upload in uploads:
            with upload:
                answers.append(upload.recv(65536).split(b"\r\n", 1)[0])
        code = process.terminate()
        for poller in pollers:
            poller.join(10)
            assert not poller.is_alive()
    finally:
        process.kill()
    assert code == 0
    assert answers == [b"HTTP/1.1 200 OK"] * UPLOADS
    assert set(answered) == {200}
    served = process.stderr_text().count(f'"GET /accounts/{ACCOUNT}/orders" 200')
    assert served == len(answered), "the adapter answered polls that never reached their tab"
    assert len(failed) == POLLERS, "a poller did not see the adapter go"
    assert "ERROR" not in process.stderr_text()
