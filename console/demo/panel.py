"""What the Trading Panel preview asks the adapter, with a token, as TradingView would.

Each endpoint is polled at its own `pullingInterval` from `/config` (TradingView's defaults
where it gives none); every answer goes to `on_update`, and the first 401 to `on_ended` (the
session was logged out or expired), after which polling stops. Qt-free: the widget only draws.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.services.client import AdapterClient, AdapterUnavailable, Answer
from console.services.polling import interval_ms

LOCALE = {"locale": "en"}
POLLED = (("state", "accountManager"), ("orders", "orders"), ("positions", "positions"))
HISTORY_SECONDS = 5.0
"""The order history is read once per login by TradingView; the preview refreshes it slowly."""


class PanelEnded(Exception):
    """The adapter refused the token (401): the session is over."""


class PanelRefused(AdapterUnavailable):
    """The adapter answered and refused a request (not the token): "what: its errmsg". An
    `AdapterUnavailable`, so a poll treats it as any failed request, but a view can tell an
    answer from silence."""


@dataclass(frozen=True, slots=True)
class Update:
    endpoint: str
    """state, orders, positions or ordersHistory."""
    data: Any


class PanelSession:
    def __init__(
        self,
        client: AdapterClient,
        token: str,
        config: dict[str, Any],
        *,
        on_update: Callable[[Update], None],
        on_ended: Callable[[str], None],
        on_problem: Callable[[str], None],
    ) -> None:
        self.client = client
        self.token = token
        self.config = config
        self._on_update = on_update
        self._on_ended = on_ended
        self._on_problem = on_problem
        self.ended = False

    def interval(self, field: str) -> float:
        """Seconds between two polls of `field`, as TradingView would wait."""
        return interval_ms(self.config, field) / 1000

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        answer = await self.client.request(
            "GET", path, bearer=self.token, params=LOCALE | (params or {}), background=True
        )
        return self._data(answer, path)

    def _data(self, answer: Answer, what: str) -> Any:
        if answer.status == 401:
            self._end(answer.errmsg or "the adapter refused the token")
            raise PanelEnded(what)
        if not answer.ok:
            raise PanelRefused(f"{what}: {answer.errmsg or f'HTTP {answer.status}'}")
        return answer.data

    def _end(self, reason: str) -> None:
        if not self.ended:
            self.ended = True
            self._on_ended(reason)

    async def poll(self, account_id: str) -> None:
        """Poll the account until the session ends or the task is cancelled."""
        loops = [self._loop(account_id, endpoint, field) for endpoint, field in POLLED]
        loops.append(self._history(account_id))
        await asyncio.gather(*loops)

    async def _loop(self, account_id: str, endpoint: str, field: str) -> None:
        while not self.ended:
            await self._fetch(account_id, endpoint)
            await asyncio.sleep(self.interval(field))

    async def _history(self, account_id: str) -> None:
        while not self.ended:
            await self._fetch(account_id, "ordersHistory")
            await asyncio.sleep(HISTORY_SECONDS)

    async def _fetch(self, account_id: str, endpoint: str) -> None:
        try:
            data = await self.get(f"/accounts/{account_id}/{endpoint}")
        except PanelEnded:
            return
        except AdapterUnavailable as exc:
            self._on_problem(str(exc))
            return
        self._on_update(Update(endpoint, data))

    async def logout(self) -> Answer:
        """TradingView's Logout button: POST /logout with the token."""
        return await self.client.request("POST", "/logout", bearer=self.token)
