"""Scripted TradingView clients for demos and pictures: they make sessions live.

`tv-adapter-console --demo-clients N` starts N of them against the embedded adapter: each
mints a token for a demo user, then polls orders, positions and state like a Trading Panel
tab, so the Sessions page has live rows to show. They stop with the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import httpx

DEMO_ACCOUNTS = (
    (14601, "BESTBROKER", 137780091),
    (14601, "BESTBROKER", 137792301),
    (14602, "BESTBROKER", 137780412),
    (14603, "BESTBROKER", 137781005),
    (14601, "BESTBROKER-EU", 137800001),
)
POLL_INTERVAL = 1.0


async def _mint(http: httpx.AsyncClient, secret: str, user: int, broker: str) -> str | None:
    body = {"userId": user, "brokerNames": [broker], "isVerified": True}
    response = await http.post(
        "/generate/token", json=body, headers={"Authorization": f"Bearer {secret}"}
    )
    document: Any = response.json()
    return str(document["d"]) if response.status_code == 200 else None


async def _tab(http: httpx.AsyncClient, secret: str, user: int, broker: str, account: int) -> None:
    token = await _mint(http, secret, user, broker)
    if token is None:
        return
    headers = {
        "Authorization": f"Bearer {token}",
        "Origin": "https://www.tradingview.com",
        "User-Agent": "demo TradingView tab (tv-adapter-console --demo-clients)",
    }
    paths = itertools.cycle(["orders", "positions", "state"])
    while True:
        response = await http.get(
            f"/accounts/{account}/{next(paths)}", params={"locale": "en"}, headers=headers
        )
        if response.status_code == 401:
            return
        await asyncio.sleep(POLL_INTERVAL)


async def run_demo_clients(base_url: str, secret: str, count: int) -> None:
    """Run `count` demo tabs until cancelled; a tab whose token is logged out stops."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        tabs = [
            asyncio.create_task(_tab(http, secret, *DEMO_ACCOUNTS[index % len(DEMO_ACCOUNTS)]))
            for index in range(count)
        ]
        try:
            await asyncio.gather(*tabs, return_exceptions=True)
        finally:
            for tab in tabs:
                tab.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tabs, return_exceptions=True)
