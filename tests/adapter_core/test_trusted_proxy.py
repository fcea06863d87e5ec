"""`tv-adapter serve --trusted-proxy`: behind a reverse proxy, sessions and the access log show
the client's address from X-Forwarded-For, and only when the proxy is one the operator named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import mint

CLIENT = "203.0.113.9"
FORWARDED = {"X-Forwarded-For": f"{CLIENT}, 198.51.100.4", "X-Forwarded-Proto": "https"}


def _seen_address(adapter: AdapterProcess) -> str:
    """Poll one account as a proxied browser would; the address the adapter recorded."""
    token = mint(adapter.url, adapter.broker_secret, userId=14602, brokerNames=["BESTBROKER"])
    with httpx.Client(base_url=adapter.url, timeout=10) as http:
        polled = {"Authorization": f"Bearer {token}", **FORWARDED}
        accounts = http.get("/accounts", headers=polled).json()["d"]
        assert http.get(f"/accounts/{accounts[0]['id']}/orders", headers=polled).status_code == 200
        admin = {"Authorization": f"Bearer {adapter.broker_secret}"}
        listing = http.get("/admin/sessions", params={"state": "active"}, headers=admin).json()
    [row] = [row for row in listing["d"]["rows"] if row["traderSessions"]]
    address: str = row["traderSessions"][0]["clientAddress"]
    return address


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], "127.0.0.1"),
        (["--trusted-proxy", "127.0.0.1"], "198.51.100.4"),
        (["--trusted-proxy", "127.0.0.0/8", "--trusted-proxy", "198.51.100.4"], CLIENT),
        (["--trusted-proxy", "10.0.0.0/8"], "127.0.0.1"),
    ],
)
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    tmp_path: Path, arguments: list[str], expected: str
) -> None:
    with AdapterProcess(tmp_path / "data", arguments) as adapter:
        assert _seen_address(adapter) == expected
        assert f"{expected} " in adapter.stderr_text()  # the access log names the same client


def test_a_proxy_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "adapter_core.cli", "serve", "--data-dir", str(tmp_path),
         "--generate-secret", "--trusted-proxy", "proxy.example"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert finished.returncode == 2
    assert "'proxy.example' is not an IP address or network" in finished.stderr
