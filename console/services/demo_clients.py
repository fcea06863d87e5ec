"""Scripted TradingView tabs for demos and pictures: they poll and trade, so sessions move.

`tv-adapter-console --demo-clients N` (or Adapter › Start demo traders) starts N of them
against the embedded adapter. Each mints a token for a demo user, polls orders, positions
and state once a second like a Trading Panel tab, and now and then trades: a market order
(sometimes with a stop loss and take profit), a limit order far from the market, or the close
of an open position. When the adapter stops they keep trying and say so when they are back;
a tab whose token is logged out reports the 401 it got and stops, as TradingView would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import uuid
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = (
    (14601, "BESTBROKER", 137780091),
    (14601, "BESTBROKER", 137792301),
    (14602, "BESTBROKER", 137780412),
    (14603, "BESTBROKER", 137781005),
    (14601, "BESTBROKER-EU", 137800001),
)
POLL_INTERVAL = 1.0
TRADE_EVERY = (6.0, 15.0)
"""Seconds between a tab's trades, drawn at random from this range."""
RETRY_INTERVAL = 1.0
LOCALE = {"locale": "en"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class TabEnded(Exception):
    """The adapter refused the tab's token (401): the tab is logged out."""


class _Tab:
    def __init__(
        self,
        number: int,
        url: Callable[[], str | None],
        secret: str,
        user: int,
        broker: str,
        account: int,
        say: Callable[[str], None],
        rng: random.Random,
    ) -> None:
        self.name = f"Demo tab {number} (user {user}, account {account})"
        self._url = url
        self._secret = secret
        self._user, self._broker, self._account = user, broker, account
        self._say = say
        self._rng = rng
        self._token: str | None = None
        self._instruments: list[dict[str, Any]] = []

    async def run(self) -> None:
        """Poll and trade until logged out or cancelled; through adapter restarts."""
        unreachable = False
        while True:
            base = self._url()
            try:
                if not base:
                    raise httpx.ConnectError("the embedded adapter is stopped")
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    if unreachable:
                        self._say(f"{self.name}: the adapter is back; polling again.")
                        unreachable = False
                    await self._session(http)
                    return
            except TabEnded as ended:
                self._say(f"{self.name}: logged out, the adapter answered 401 ({ended}).")
                return
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self._say(f"{self.name}: stopped on an answer it could not read ({exc!r}).")
                return
            except httpx.HTTPError:
                if not unreachable:
                    self._say(f"{self.name}: the adapter does not answer; reconnecting…")
                    unreachable = True
                await asyncio.sleep(RETRY_INTERVAL)

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Origin": "https://www.tradingview.com",
            "User-Agent": "demo TradingView tab (tv-adapter-console --demo-clients)",
        }

    async def _session(self, http: httpx.AsyncClient) -> None:
        if self._token is None:
            body = {"userId": self._user, "brokerNames": [self._broker], "isVerified": True}
            response = await http.post(
                "/generate/token", json=body, headers={"Authorization": f"Bearer {self._secret}"}
            )
            document: Any = response.json()
            if response.status_code != 200 or not isinstance(document.get("d"), str):
                self._say(f"{self.name}: could not mint a token ({response.status_code}).")
                return
            self._token = str(document["d"])
        self._instruments = await self._get(http, "instruments") or []
        paths = itertools.cycle(["orders", "positions", "state"])
        trade_at = asyncio.get_running_loop().time() + self._rng.uniform(*TRADE_EVERY)
        while True:
            await self._get(http, next(paths))
            if asyncio.get_running_loop().time() >= trade_at:
                await self._trade(http)
                trade_at = asyncio.get_running_loop().time() + self._rng.uniform(*TRADE_EVERY)
            await asyncio.sleep(POLL_INTERVAL)

    async def _get(self, http: httpx.AsyncClient, what: str) -> Any:
        response = await http.get(
            f"/accounts/{self._account}/{what}", params=LOCALE, headers=self._headers()
        )
        return self._data(response)

    def _data(self, response: httpx.Response) -> Any:
        if response.status_code == 401:
            document: Any = response.json()
            raise TabEnded(str(document.get("errmsg") or "unauthorized"))
        document = response.json()
        return document.get("d") if isinstance(document, dict) else None

    async def _trade(self, http: httpx.AsyncClient) -> None:
        positions = [p for p in await self._get(http, "positions") or [] if p.get("qty")]
        choice = self._rng.random()
        if positions and choice < 0.3:
            position = self._rng.choice(positions)
            response = await http.delete(
                f"/accounts/{self._account}/positions/{position['id']}",
                params=LOCALE,
                headers=self._headers(),
            )
            self._data(response)
            return
        if not self._instruments:
            return
        instrument = self._rng.choice(self._instruments[:4])
        name = str(instrument["name"])
        response = await http.get(
            "/quotes",
            params=LOCALE | {"accountId": str(self._account), "symbols": name},
            headers=self._headers(),
        )
        quotes = self._data(response) or []
        quote = quotes[0].get("v") if quotes and quotes[0].get("s") == "ok" else None
        if not isinstance(quote, dict):
            return
        side = self._rng.choice(["buy", "sell"])
        pip = float(instrument.get("pipSize") or 0.0001)
        fields: dict[str, Any] = {
            "instrument": name,
            "side": side,
            "qty": instrument.get("minQty") or 0.01,
        }
        if choice < 0.6:
            fields["type"] = "market"
            if self._rng.random() < 0.5:
                sign = 1 if side == "buy" else -1
                reference = float(quote["ask"] if side == "buy" else quote["bid"])
                fields["stopLoss"] = round(reference - sign * 80 * pip, 6)
                fields["takeProfit"] = round(reference + sign * 80 * pip, 6)
        else:
            sign = -1 if side == "buy" else 1
            reference = float(quote["bid"] if side == "buy" else quote["ask"])
            fields["type"] = "limit"
            fields["limitPrice"] = round(reference + sign * 150 * pip, 6)
        response = await http.post(
            f"/accounts/{self._account}/orders",
            params=LOCALE | {"requestId": uuid.uuid4().hex},
            data=fields,
            headers=self._headers() | FORM,
        )
        self._data(response)


async def run_demo_clients(
    url: Callable[[], str | None],
    secret: str,
    count: int,
    say: Callable[[str], None] | None = None,
    seed: int | None = None,
) -> None:
    """Run `count` demo tabs until cancelled. `url` gives the adapter's address at each
    (re)connect; `say` hears what a tab wants the operator to know."""
    rng = random.Random(seed)  # noqa: S311 (a demo's dice, not a secret)

    def tell(text: str) -> None:
        log.info("%s", text)
        if say is not None:
            say(text)

    tabs = [
        asyncio.create_task(
            _Tab(
                index + 1, url, secret, *DEMO_ACCOUNTS[index % len(DEMO_ACCOUNTS)], tell, rng
            ).run()
        )
        for index in range(count)
    ]
    try:
        await asyncio.gather(*tabs, return_exceptions=True)
    finally:
        for tab in tabs:
            tab.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tabs, return_exceptions=True)
