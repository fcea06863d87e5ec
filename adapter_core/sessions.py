"""Trader sessions: one per (token, account), each with its cache of the account's trading data.

TradingView polls orders, positions and state several times a second per open tab. A session
loads the account once from the backend when it opens, then keeps its cache current from the
backend's execution events, so a poll reads memory and never queries the backend. Revoking a
token removes its sessions and their caches (source document, /logout step 5).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from adapter_core.backend.model import (
    Balance,
    Deal,
    Order,
    OrderStatus,
    Position,
    PositionStatus,
    TraderAccount,
)
from adapter_core.backend.port import BackendEvent, ExecutionEvent, TradingBackend
from adapter_core.tokens.claims import TokenClaims
from adapter_core.tradingview.brackets import BracketBook

FINAL_ORDER_RETENTION = 300.0
"""TradingView notices fills and cancels by seeing final orders in /orders (at least 60 s)."""
CLOSED_POSITION_RETENTION = 300.0
"""Closed positions are reported with quantity 0 for a while, so the client sees them close."""
MAX_CLOSED_TOKENS = 10_000
"""Tokens whose closed sessions are remembered (oldest forgotten first): what operators see of
a logged-out token's activity. Memory only: a restart forgets them."""
MAX_REQUEST_IDS = 1024


@dataclass(frozen=True, slots=True)
class SessionKey:
    token_id: bytes
    account_id: int


@dataclass
class TraderSession:
    """What one token sees of one account, and how it has been used."""

    claims: TokenClaims
    account: TraderAccount
    balance: Balance
    opened_at: float
    last_activity: float
    client_address: str
    user_agent: str
    request_count: int = 0
    positions: dict[int, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    order_history: dict[int, Order] = field(default_factory=dict)
    deals: dict[int, Deal] = field(default_factory=dict)
    ended_at: dict[int, float] = field(default_factory=dict)
    """When an order reached a final status or a position closed, by id, for retention."""
    brackets: BracketBook = field(default_factory=BracketBook)
    request_ids: dict[str, int] = field(default_factory=dict)
    """TradingView's requestId → the order it placed: placing twice places once."""

    @property
    def key(self) -> SessionKey:
        return SessionKey(self.claims.token_id, self.account.ctid_trader_account_id)

    def touch(self, client_address: str, user_agent: str, now: float) -> None:
        self.request_count += 1
        self.last_activity = now
        self.client_address = client_address
        self.user_agent = user_agent

    def apply(self, event: ExecutionEvent, now: float) -> None:
        if event.balance is not None:
            self.balance = event.balance
        fired = None
        if event.order is not None and self._apply_order(event.order, now):
            fired = self.brackets.on_order(event.order, now)
        if event.position is not None and self._apply_position(event.position, now):
            self.brackets.on_position(event.position, fired, now)
        if event.deal is not None:
            self.deals[event.deal.deal_id] = event.deal

    def _apply_position(self, position: Position, now: float) -> bool:
        """Keep the newer copy; False if the cache already holds a newer one."""
        known = self.positions.get(position.position_id)
        if known is not None and known.last_update_ms > position.last_update_ms:
            return False
        self.positions[position.position_id] = position
        if position.status is PositionStatus.CLOSED:
            self.ended_at.setdefault(-position.position_id, now)
        return True

    def _apply_order(self, order: Order, now: float) -> bool:
        known = self.orders.get(order.order_id)
        if known is not None and known.last_update_ms > order.last_update_ms:
            return False
        self.orders[order.order_id] = order
        if order.status.is_final:
            self.order_history[order.order_id] = order
            self.ended_at.setdefault(order.order_id, now)
        return True

    def remember_request(self, request_id: str, order_id: int) -> None:
        if len(self.request_ids) >= MAX_REQUEST_IDS:
            del self.request_ids[next(iter(self.request_ids))]
        self.request_ids[request_id] = order_id

    def prune(self, now: float) -> None:
        """Forget final orders and closed positions once TradingView has surely seen them."""
        for order_id in [
            order_id
            for order_id, order in self.orders.items()
            if order.status.is_final
            and now - self.ended_at.get(order_id, now) > FINAL_ORDER_RETENTION
        ]:
            del self.orders[order_id]
            self.ended_at.pop(order_id, None)
        for position_id in [
            position_id
            for position_id, position in self.positions.items()
            if position.status is PositionStatus.CLOSED
            and now - self.ended_at.get(-position_id, now) > CLOSED_POSITION_RETENTION
        ]:
            del self.positions[position_id]
            self.ended_at.pop(-position_id, None)
        self.brackets.prune(now, FINAL_ORDER_RETENTION)

    @property
    def working_orders(self) -> Iterator[Order]:
        return (order for order in self.orders.values() if order.status is OrderStatus.ACCEPTED)


@dataclass(frozen=True, slots=True)
class ClosedSession:
    """What a trader session did, kept after logout or expiry closed it and dropped its caches."""

    account_id: int
    broker_name: str
    opened_at: float
    last_activity: float
    request_count: int
    client_address: str
    user_agent: str
    closed_at: float

    @classmethod
    def of(cls, session: TraderSession, now: float) -> ClosedSession:
        return cls(
            session.account.ctid_trader_account_id,
            session.account.broker_name,
            session.opened_at,
            session.last_activity,
            session.request_count,
            session.client_address,
            session.user_agent,
            now,
        )


class SessionRegistry:
    """Every live trader session, indexed by token and by account for event delivery."""

    def __init__(self, backend: TradingBackend, clock: Callable[[], float] = time.time) -> None:
        self._backend = backend
        self._clock = clock
        self._sessions: dict[SessionKey, TraderSession] = {}
        self._by_token: dict[bytes, set[SessionKey]] = {}
        self._by_account: dict[int, set[SessionKey]] = {}
        self._opening: dict[SessionKey, asyncio.Future[TraderSession]] = {}
        self._loading: dict[int, list[list[ExecutionEvent]]] = {}
        """Events for accounts whose snapshot is being read, replayed over the snapshot."""
        self._listeners: list[Callable[[str, TraderSession], None]] = []
        self._closed: OrderedDict[bytes, list[ClosedSession]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def add_listener(self, listener: Callable[[str, TraderSession], None]) -> None:
        """`listener(kind, session)` for kind in opened, activity (every request), closed."""
        self._listeners.append(listener)

    def on_backend_event(self, event: BackendEvent) -> None:
        if not isinstance(event, ExecutionEvent):
            return
        now = self._clock()
        for buffer in self._loading.get(event.ctid_trader_account_id, ()):
            buffer.append(event)
        for key in self._by_account.get(event.ctid_trader_account_id, ()):
            self._sessions[key].apply(event, now)

    async def session_for(
        self, claims: TokenClaims, account: TraderAccount, client_address: str, user_agent: str
    ) -> TraderSession:
        """The session of this token on this account, opened (and loaded) on first use."""
        key = SessionKey(claims.token_id, account.ctid_trader_account_id)
        session = self._sessions.get(key)
        if session is None:
            pending = self._opening.get(key)
            if pending is None:
                pending = asyncio.get_running_loop().create_future()
                self._opening[key] = pending
                try:
                    pending.set_result(await self._open(key, claims, account))
                except BaseException as exc:
                    pending.set_exception(exc)
                    pending.exception()  # retrieved here; concurrent waiters re-raise it
                    raise
                finally:
                    del self._opening[key]
            session = await asyncio.shield(pending)
        session.touch(client_address, user_agent, self._clock())
        for listener in self._listeners:
            listener("activity", session)
        return session

    async def _open(
        self, key: SessionKey, claims: TokenClaims, account: TraderAccount
    ) -> TraderSession:
        account_id = account.ctid_trader_account_id
        now = self._clock()
        # Events that arrive while the snapshot is read are replayed over it; `apply` keeps
        # whichever copy of an order or position is newer, so replaying is always safe.
        buffered: list[ExecutionEvent] = []
        self._loading.setdefault(account_id, []).append(buffered)
        try:
            balance = await self._backend.balance(account_id)
            positions, orders = await self._backend.reconcile(account_id)
            history = await self._backend.order_history(account_id)
            deals = await self._backend.deals(account_id)
        finally:
            others = [buffer for buffer in self._loading[account_id] if buffer is not buffered]
            if others:
                self._loading[account_id] = others
            else:
                del self._loading[account_id]
        session = TraderSession(
            claims=claims,
            account=account,
            balance=balance,
            opened_at=now,
            last_activity=now,
            client_address="",
            user_agent="",
            positions={p.position_id: p for p in positions},
            orders={o.order_id: o for o in orders},
            order_history={o.order_id: o for o in history},
            deals={d.deal_id: d for d in deals},
        )
        session.brackets.load(orders, positions, history, deals, now)
        for event in buffered:
            session.apply(event, now)
        if claims.expires_at <= now:
            raise LookupError("the token expired while its session was opening")
        self._sessions[key] = session
        self._by_token.setdefault(key.token_id, set()).add(key)
        self._by_account.setdefault(account_id, set()).add(key)
        for listener in self._listeners:
            listener("opened", session)
        return session

    def sessions_of(self, token_id: bytes) -> list[TraderSession]:
        return [self._sessions[key] for key in self._by_token.get(token_id, ())]

    def all_sessions(self) -> list[TraderSession]:
        return list(self._sessions.values())

    def token_ids(self) -> frozenset[bytes]:
        """Tokens that have at least one trader session."""
        return frozenset(self._by_token)

    def sessions_on_account(self, account_id: int) -> frozenset[bytes]:
        """Tokens with a trader session on the account."""
        return frozenset(key.token_id for key in self._by_account.get(account_id, ()))

    def close_token(self, token_id: bytes) -> int:
        """Remove every session of the token and drop their caches; returns how many."""
        keys = self._by_token.pop(token_id, set())
        now = self._clock()
        for key in keys:
            session = self._sessions.pop(key)
            self._closed.setdefault(token_id, []).append(ClosedSession.of(session, now))
            account_keys = self._by_account.get(key.account_id)
            if account_keys is not None:
                account_keys.discard(key)
                if not account_keys:
                    del self._by_account[key.account_id]
            for listener in self._listeners:
                listener("closed", session)
        if keys:
            self._closed.move_to_end(token_id)
            while len(self._closed) > MAX_CLOSED_TOKENS:
                self._closed.popitem(last=False)
        return len(keys)

    def closed_sessions_of(self, token_id: bytes) -> list[ClosedSession]:
        """The token's sessions that logout or expiry closed (the newest MAX_CLOSED_TOKENS)."""
        return list(self._closed.get(token_id, ()))

    def sweep(self) -> list[TokenClaims]:
        """Close the sessions of expired tokens and prune every cache; returns those tokens."""
        now = self._clock()
        expired = {
            session.claims.token_id: session.claims
            for session in self._sessions.values()
            if session.claims.expires_at <= now
        }
        for session in self._sessions.values():
            session.prune(now)
        for token_id in expired:
            self.close_token(token_id)
        return list(expired.values())
