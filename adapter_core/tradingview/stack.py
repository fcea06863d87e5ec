"""Everything the TradingView and admin APIs run on: backend, market board, trader sessions.

It also turns what happens to tokens and sessions into events for the admin event stream, and,
where instances share a store, tells the others about its trader sessions and lists theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.routing import BaseRoute

from adapter_core.admin.session_directory import SessionDirectory
from adapter_core.admin.sessions_view import SessionsView, published_sessions
from adapter_core.admin.shared_store import cluster_directory
from adapter_core.api.admin import AdminApi, admin_routes
from adapter_core.api.tradingview import TradingViewApi, tradingview_routes
from adapter_core.backend.port import TradingBackend
from adapter_core.events import token_summary
from adapter_core.services import AdapterServices
from adapter_core.sessions import SessionRegistry, TraderSession
from adapter_core.tokens.claims import TokenClaims
from adapter_core.tradingview.market import MarketBoard

log = logging.getLogger(__name__)
SWEEP_INTERVAL = 30.0
_SESSION_EVENTS = {"opened": "session.opened", "closed": "session.closed"}


@dataclass
class TradingStack:
    backend: TradingBackend
    services: AdapterServices
    capabilities: tuple[str, ...] = ()
    """Extra capabilities to announce in /admin/info (e.g. the demo CRM)."""
    market: MarketBoard = field(default_factory=MarketBoard)
    sessions: SessionRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionRegistry(self.backend, self.services.clock)
        self.services.revocations.add_listener(self._on_revoked)
        self.services.revocations.add_remote_listener(self.sessions.close_token)
        self.sessions.add_listener(self._on_session)
        cluster = self.services.cluster
        if cluster is not None:
            cluster.sessions_source = functools.partial(published_sessions, self.sessions)

    def routes(self) -> list[BaseRoute]:
        api = TradingViewApi(self.services, self.backend, self.sessions, self.market)
        admin = AdminApi(
            self.services,
            self.backend,
            self.sessions,
            self.market,
            SessionsView(self.services.store, self.sessions, self._directory),
            ("tradingview", "admin", "events", *self.capabilities),
        )
        return [*tradingview_routes(api), *admin_routes(admin)]

    async def _directory(self) -> SessionDirectory:
        """The sessions one admin request lists: every instance's where they share a store."""
        cluster = self.services.cluster
        if cluster is None:
            return SessionDirectory(self.sessions)
        return await cluster_directory(self.sessions, cluster)

    async def _on_revoked(self, claims: TokenClaims) -> None:
        closed = self.sessions.close_token(claims.token_id)
        self.services.events.publish(
            "token.logged_out", {**token_summary(claims), "sessionsClosed": closed}
        )

    def _on_session(self, kind: str, session: TraderSession) -> None:
        events = self.services.events
        if not events.wanted:
            return
        data = {
            "tokenId": session.claims.token_id_hex,
            "userId": session.claims.user_id,
            "accountId": session.account.ctid_trader_account_id,
            "lastActivity": session.last_activity,
            "requestCount": session.request_count,
        }
        if kind == "activity":
            events.publish_activity(session.claims.token_id_hex, data)
        else:
            events.publish(_SESSION_EVENTS[kind], data)

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
                self.services.events.close()
        finally:
            unsubscribe_sessions()
            unsubscribe_market()
            await self.backend.stop()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            for claims in self.sessions.sweep():
                self.services.events.publish("token.expired", token_summary(claims))
