"""What one trading account shows TradingView: the same whichever token asks.

TradingView's `/orders` is every order of the current trading session, closed positions are
reported for a while with quantity 0, and several logins on one account at once are normal. So
orders, positions, deals and the stop-loss/take-profit children live here, once per account,
shared by every trader session on it; a session keeps only what is its own (activity).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from adapter_core.backend.model import (
    Balance,
    Deal,
    Order,
    OrderStatus,
    Position,
    PositionStatus,
)
from adapter_core.backend.port import ExecutionEvent
from adapter_core.tradingview.brackets import BracketBook

FINAL_ORDER_RETENTION = 300.0
"""TradingView notices fills and cancels by seeing final orders in /orders (at least 60 s)."""
CLOSED_POSITION_RETENTION = 300.0
"""Closed positions are reported with quantity 0 for a while, so the client sees them close."""


@dataclass
class AccountBook:
    """The account's trading data, loaded once and kept current by the backend's events."""

    balance: Balance
    positions: dict[int, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    order_history: dict[int, Order] = field(default_factory=dict)
    deals: dict[int, Deal] = field(default_factory=dict)
    ended_at: dict[int, float] = field(default_factory=dict)
    """When an order reached a final status or a position closed, by id, for retention."""
    brackets: BracketBook = field(default_factory=BracketBook)
    idle_since: float | None = None
    """When its last trader session closed; None while a session is open."""

    @classmethod
    def from_snapshot(
        cls,
        balance: Balance,
        positions: Iterable[Position],
        working: Iterable[Order],
        history: Iterable[Order],
        deals: Iterable[Deal],
        now: float,
    ) -> AccountBook:
        """The book of an account no session has followed yet (the first login, a restart).

        Orders that became final and positions that closed within the retention are shown as
        if they had been followed, so a login does not miss what the trading session did.
        """
        book = cls(balance=balance)
        positions, working, history, deals = (
            list(positions),
            list(working),
            list(history),
            list(deals),
        )
        book.positions = {p.position_id: p for p in positions}
        book.orders = {o.order_id: o for o in working}
        book.order_history = {o.order_id: o for o in history}
        book.deals = {d.deal_id: d for d in deals}
        for order in history:
            ended = order.last_update_ms / 1000
            if now - ended <= FINAL_ORDER_RETENTION:
                book.orders.setdefault(order.order_id, order)
                book.ended_at[order.order_id] = ended
        for closed in _recently_closed(book.positions, deals, now):
            book.positions[closed.position_id] = closed
            book.ended_at[-closed.position_id] = closed.last_update_ms / 1000
        book.brackets.load(working, positions, history, deals, now, FINAL_ORDER_RETENTION)
        return book

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
        """Keep the newer copy; False if the book already holds a newer one."""
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

    def forgettable(self, now: float) -> bool:
        """No session has used it for longer than anything in it is kept."""
        retention = max(FINAL_ORDER_RETENTION, CLOSED_POSITION_RETENTION)
        return self.idle_since is not None and now - self.idle_since > retention

    @property
    def working_orders(self) -> Iterator[Order]:
        return (order for order in self.orders.values() if order.status is OrderStatus.ACCEPTED)


def _recently_closed(
    open_positions: dict[int, Position], deals: list[Deal], now: float
) -> Iterator[Position]:
    """Positions whose closing deal is within the retention, rebuilt from their deals."""
    by_position: dict[int, list[Deal]] = {}
    for deal in deals:
        if deal.position_id not in open_positions:
            by_position.setdefault(deal.position_id, []).append(deal)
    for position_id, its_deals in by_position.items():
        opening = [d for d in its_deals if not d.is_closing]
        closing = [d for d in its_deals if d.is_closing]
        if not opening or not closing:
            continue
        closed_at = max(d.execution_timestamp_ms for d in closing)
        if now - closed_at / 1000 > CLOSED_POSITION_RETENTION:
            continue
        volume = sum(d.volume for d in opening)
        first = min(opening, key=lambda d: d.execution_timestamp_ms)
        yield Position(
            position_id=position_id,
            ctid_trader_account_id=first.ctid_trader_account_id,
            symbol_id=first.symbol_id,
            side=first.side,
            volume=0,
            price=sum(d.execution_price * d.volume for d in opening) / volume,
            status=PositionStatus.CLOSED,
            stop_loss=None,
            take_profit=None,
            open_timestamp_ms=first.execution_timestamp_ms,
            last_update_ms=closed_at,
            used_margin=0,
            money_digits=first.money_digits,
        )
