"""The demo traders against a real embedded adapter: they trade, ride out a restart, and
report the 401 after a logout."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from adapter_core.embedded import EmbeddedAdapter
from adapter_core.tokens.keyring import KeyRing
from console.services import demo_clients
from console.services.demo_clients import run_demo_clients

WAIT = 20.0


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[tuple[EmbeddedAdapter, str]]:
    secret = secrets.token_urlsafe(32)
    embedded = EmbeddedAdapter(tmp_path / "data", KeyRing.generate(), secret, log_level="warning")
    embedded.start()
    yield embedded, secret
    embedded.stop()


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the condition did not come true in time")


async def _rows(url: str, secret: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        answer = await http.get("/admin/sessions", headers={"Authorization": f"Bearer {secret}"})
    rows: list[dict[str, object]] = answer.json()["d"]["rows"]
    return rows


def _dealt(rows: list[dict[str, object]]) -> int:
    total = 0
    for row in rows:
        sessions = row.get("traderSessions")
        for session in sessions if isinstance(sessions, list) else []:
            cached = session.get("cached") or {}
            total += int(cached.get("deals", 0)) + int(cached.get("orders", 0))
    return total


def test_demo_traders_trade_survive_a_restart_and_report_a_logout(
    adapter: tuple[EmbeddedAdapter, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded, secret = adapter
    monkeypatch.setattr(demo_clients, "TRADE_EVERY", (0.2, 0.5))
    monkeypatch.setattr(demo_clients, "POLL_INTERVAL", 0.2)
    said: list[str] = []

    def url() -> str | None:
        return embedded.url if embedded.running else None

    async def scenario() -> None:
        traders = asyncio.create_task(run_demo_clients(url, secret, 2, said.append, seed=7))
        try:
            base = embedded.url
            assert base is not None

            async def traded() -> bool:
                return _dealt(await _rows(base, secret)) > 0

            await _until(traded)
            await asyncio.get_running_loop().run_in_executor(None, embedded.stop)

            async def noticed() -> bool:
                return any("reconnecting" in line for line in said)

            await _until(noticed)
            await asyncio.get_running_loop().run_in_executor(None, embedded.start)

            async def back() -> bool:
                return any("is back" in line for line in said)

            await _until(back)
            rows = await _rows(embedded.url or base, secret)
            token_id = next(str(row["tokenId"]) for row in rows if row.get("state") != "revoked")
            async with httpx.AsyncClient(base_url=embedded.url or base, timeout=5) as http:
                await http.post(
                    f"/admin/sessions/{token_id}/logout",
                    headers={"Authorization": f"Bearer {secret}"},
                )

            async def reported() -> bool:
                return any("answered 401" in line for line in said)

            await _until(reported)
        finally:
            traders.cancel()
            await asyncio.gather(traders, return_exceptions=True)

    asyncio.run(scenario())
    assert not any("could not read" in line for line in said), said
