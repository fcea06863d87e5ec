"""Everything the TradingView API runs on: the backend, the market board and trader sessions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.routing import BaseRoute

from adapter_core.api.tradingview import TradingViewApi, tradingview_routes
from adapter_core.backend.port import TradingBackend
from adapter_core.services import AdapterServices
from adapter_core.sessions import SessionRegistry
from adapter_core.tradingview.market import MarketBoard

log = logging.getLogger(__name__)
SWEEP_INTERVAL = 30.0


@dataclass
class TradingStack:
    backend: TradingBackend
    services: AdapterServices
    market: MarketBoard = field(default_factory=MarketBoard)
    sessions: SessionRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionRegistry(self.backend, self.services.clock)
        self.services.revocations.add_listener(self.sessions.on_revoked)

    def routes(self) -> list[BaseRoute]:
        api = TradingViewApi(self.services, self.backend, self.sessions, self.market)
        return list(tradingview_routes(api))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start the backend and fill the market board before the first request is served."""
        unsubscribe_market = self.backend.subscribe(self.market.on_backend_event)
        unsubscribe_sessions = self.backend.subscribe(self.sessions.on_backend_event)
        await self.backend.start()
        try:
            await self.market.load(self.backend)
            sweeper = asyncio.create_task(self._sweep_forever())
            try:
                yield
            finally:
                sweeper.cancel()
                await asyncio.gather(sweeper, return_exceptions=True)
        finally:
            unsubscribe_sessions()
            unsubscribe_market()
            await self.backend.stop()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            closed = self.sessions.sweep()
            if closed:
                log.info("closed %d trader sessions of expired tokens", closed)
