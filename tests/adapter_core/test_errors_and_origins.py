"""A bug's 500 still reaches TradingView's page, logs no credential; CORS grants only valid
host names under tradingview.com; a readable data directory is made private."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import socket
import stat
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.app import TRADINGVIEW_ORIGINS, create_app
from adapter_core.broker_auth import BrokerSecrets
from adapter_core.datadir import STORE_FILE, ensure_private_dir
from adapter_core.headless import adapter_services
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.codec import DEFAULT_TTL_SECONDS
from adapter_core.tokens.keyring import KeyRing
from tests.support.adapter_process import AdapterProcess

TOKEN_IN_PATH = "A" * 30 + "b" * 30


@pytest.mark.parametrize(
    ("origin", "granted"),
    [
        ("https://www.tradingview.com", True),
        ("https://de.tradingview.com", True),
        ("https://beta-1.eu.tradingview.com", True),
        ("https://tradingview.com", False),
        ("https://-.tradingview.com", False),
        ("https://a-.tradingview.com", False),
        ("https://a..tradingview.com", False),
        ("http://www.tradingview.com", False),
        ("https://www.tradingview.com:9444", False),
        ("https://www.tradingview.com.example.net", False),
        ("https://" + "a" * 64 + ".tradingview.com", False),
    ],
)
def test_only_valid_host_names_under_tradingview_com_are_granted(
    origin: str, granted: bool
) -> None:
    assert (re.fullmatch(TRADINGVIEW_ORIGINS, origin) is not None) is granted


async def _broken(request: Request) -> Response:
    raise RuntimeError("a bug of ours")


@pytest.mark.expect_log("adapter_core.api.app", "unhandled error on GET")
def test_a_500_carries_cors_headers_and_the_log_has_no_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteTokenStore(tmp_path / STORE_FILE)
    services = adapter_services(
        store, KeyRing.generate(), BrokerSecrets([secrets.token_urlsafe(32)]), DEFAULT_TTL_SECONDS
    )
    app = create_app(services, extra_routes=[Route("/broken/{token}", _broken)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def call() -> httpx.Response:
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://adapter") as http:
                return await http.get(
                    f"/broken/{TOKEN_IN_PATH}", headers={"Origin": "https://www.tradingview.com"}
                )
        finally:
            await store.close()

    with caplog.at_level(logging.ERROR, "adapter_core.api.app"):
        answer = asyncio.run(call())
    assert answer.status_code == 500
    assert answer.json() == {
        "s": "error",
        "errmsg": "The adapter hit an internal error; the request was not completed.",
    }
    assert answer.headers["access-control-allow-origin"] == "https://www.tradingview.com"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "<redacted>" in logged
    assert TOKEN_IN_PATH not in logged


def test_a_data_directory_others_can_read_is_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with caplog.at_level(logging.INFO, "adapter_core.datadir"):
        ensure_private_dir(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert f"tightened the data directory {folder} from 0755 to 0700" in caplog.text


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
        return received


def test_a_trailing_slash_is_not_found_and_never_redirects_to_the_host_header(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with AdapterProcess(data_dir) as process:
        port = int(process.url.rsplit(":", 1)[1])
        answer = _raw(port, b"GET /accounts/ HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 404")
        assert b"location" not in answer.lower()
        assert b"evil.example" not in answer
        missing = _raw(port, b"GET /config HTTP/1.1\r\n\r\n")
        assert missing.startswith(b"HTTP/1.1 400")


def test_preflights_granted_and_refused_are_in_the_access_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator sees browsers on a wrong origin being turned away, not silence."""
    store = SqliteTokenStore(tmp_path / STORE_FILE)
    services = adapter_services(
        store, KeyRing.generate(), BrokerSecrets([secrets.token_urlsafe(32)]), DEFAULT_TTL_SECONDS
    )
    transport = httpx.ASGITransport(app=create_app(services))
    asking = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }

    async def preflights() -> list[int]:
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://adapter") as http:
                return [
                    (
                        await http.options("/config", headers={**asking, "Origin": origin})
                    ).status_code
                    for origin in ("https://www.tradingview.com", "https://evil.example")
                ]
        finally:
            await store.close()

    with caplog.at_level(logging.INFO, "tv_adapter.access"):
        assert asyncio.run(preflights()) == [200, 400]
    logged = [
        record.getMessage() for record in caplog.records if record.name == "tv_adapter.access"
    ]
    assert any('"OPTIONS /config" 200' in line for line in logged), logged
    assert any('"OPTIONS /config" 400' in line for line in logged), logged
