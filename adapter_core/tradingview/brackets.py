"""Stop-loss and take-profit as TradingView's child orders, tracked through their whole life.

cTrader keeps brackets as two price fields on an order or position; TradingView wants child
orders that go inactive → working → filled or cancelled, keep their id when the parent order
fills and the brackets move onto the position, and stay visible for a while once final. This
book derives those children from the cTrader objects of a session and remembers the final ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from adapter_core.backend.model import (
    Deal,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    TradeSide,
)

STOP_LOSS = "sl"
TAKE_PROFIT = "tp"


@dataclass(slots=True)
class Bracket:
    bracket_id: str
    symbol_id: int
    side: TradeSide
    """The child's own side: opposite to its parent's."""
    volume: int
    is_stop_loss: bool
    level: float
    status: str
    """inactive, working, filled or cancelled (TradingView's words)."""
    parent_id: int
    parent_type: str
    ended_at: float | None = None
    fill_price: float | None = None
    """The price it filled at, once filled (TradingView shows it as avgPrice)."""


def _has_brackets(item: Order | Position) -> bool:
    return item.stop_loss is not None or item.take_profit is not None


class BracketBook:
    def __init__(self) -> None:
        self.brackets: dict[str, Bracket] = {}
        self._origin: dict[int, int] = {}
        """Position id → the order whose brackets moved onto it; those keep their ids."""
        self.fired_orders: dict[int, str] = {}
        """cTrader's stop-loss/take-profit order id → the bracket it filled, for executions."""

    def load(
        self,
        working: Iterable[Order],
        positions: Iterable[Position],
        history: Iterable[Order],
        deals: Iterable[Deal],
        now: float,
    ) -> None:
        """Rebuild from a snapshot, giving the same ids any other session gives."""
        filled_with_brackets = {
            order.order_id for order in history if not order.closing_order and _has_brackets(order)
        }
        for deal in deals:
            if not deal.is_closing and deal.order_id in filled_with_brackets:
                self._origin[deal.position_id] = deal.order_id
        for order in history:
            if order.order_type is OrderType.STOP_LOSS_TAKE_PROFIT and order.position_id:
                suffix = STOP_LOSS if order.stop_price is not None else TAKE_PROFIT
                self.fired_orders[order.order_id] = f"{self.base(order.position_id)}-{suffix}"
        for order in working:
            self.on_order(order, now)
        for position in positions:
            self.on_position(position, None, now)

    def base(self, position_id: int) -> str:
        origin = self._origin.get(position_id)
        return str(origin) if origin is not None else f"p{position_id}"

    def on_order(self, order: Order, now: float) -> Order | None:
        """Follow an order; returns it if it is a protection firing (for `on_position`)."""
        if order.order_type is OrderType.STOP_LOSS_TAKE_PROFIT:
            return order
        if order.closing_order:
            return None
        base = str(order.order_id)
        if order.status is OrderStatus.ACCEPTED:
            self._sync(base, self._children(order, base, "inactive", order.order_id, "order"), now)
        elif order.status is OrderStatus.FILLED:
            if order.position_id is not None and _has_brackets(order):
                self._origin[order.position_id] = order.order_id
        else:
            self._sync(base, {}, now)
        return None

    def on_position(self, position: Position, fired: Order | None, now: float) -> None:
        base = self.base(position.position_id)
        if position.status is PositionStatus.OPEN:
            children = self._children(position, base, "working", position.position_id, "position")
            self._sync(base, children, now)
            return
        fired_stop_loss = None if fired is None else fired.stop_price is not None
        for bracket in self._live(base):
            if bracket.is_stop_loss == fired_stop_loss:
                bracket.status = "filled"
                assert fired is not None
                bracket.fill_price = fired.execution_price
                self.fired_orders[fired.order_id] = bracket.bracket_id
            else:
                bracket.status = "cancelled"
            bracket.ended_at = now

    def prune(self, now: float, retention: float) -> None:
        for bracket_id in [
            b.bracket_id
            for b in self.brackets.values()
            if b.ended_at is not None and now - b.ended_at > retention
        ]:
            del self.brackets[bracket_id]

    def final(self) -> Iterator[Bracket]:
        return (b for b in self.brackets.values() if b.ended_at is not None)

    def _live(self, base: str) -> Iterator[Bracket]:
        for suffix in (STOP_LOSS, TAKE_PROFIT):
            bracket = self.brackets.get(f"{base}-{suffix}")
            if bracket is not None and bracket.ended_at is None:
                yield bracket

    @staticmethod
    def _children(
        parent: Order | Position, base: str, status: str, parent_id: int, parent_type: str
    ) -> dict[str, Bracket]:
        children = {}
        for suffix, level, is_stop in (
            (STOP_LOSS, parent.stop_loss, True),
            (TAKE_PROFIT, parent.take_profit, False),
        ):
            if level is not None:
                bracket_id = f"{base}-{suffix}"
                children[bracket_id] = Bracket(
                    bracket_id,
                    parent.symbol_id,
                    parent.side.opposite,
                    parent.volume,
                    is_stop,
                    level,
                    status,
                    parent_id,
                    parent_type,
                )
        return children

    def _sync(self, base: str, wanted: dict[str, Bracket], now: float) -> None:
        """Live children not wanted any more are cancelled; wanted ones are set as given."""
        for bracket in list(self._live(base)):
            if bracket.bracket_id not in wanted:
                bracket.status = "cancelled"
                bracket.ended_at = now
        self.brackets.update(wanted)
