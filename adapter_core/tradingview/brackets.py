"""Stop-loss and take-profit as TradingView's child orders, tracked through their whole life.

cTrader keeps brackets as two price fields on an order or position; TradingView wants child
orders that go inactive → working → filled or cancelled, keep their id when the parent order
fills and the brackets move onto the position, and stay visible for a while once final. This
book derives those children from the cTrader objects of a session and remembers the final ones.
"""

from __future__ import annotations

import itertools
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
        self._slots: dict[tuple[str, str], str] = {}
        """(parent base, sl or tp) → the id of the child that holds that place now."""
        self._reissued = itertools.count(2)
        self.fired_orders: dict[int, str] = {}
        """cTrader's stop-loss/take-profit order id → the bracket it filled, for executions."""

    def load(
        self,
        working: Iterable[Order],
        positions: Iterable[Position],
        history: Iterable[Order],
        deals: Iterable[Deal],
        now: float,
        retention: float,
    ) -> None:
        """Rebuild from a snapshot; a stop loss or take profit that fired within `retention`
        is shown filled (cancelled ones are not in cTrader's history)."""
        history = list(history)
        filled_with_brackets = {
            order.order_id for order in history if not order.closing_order and _has_brackets(order)
        }
        for deal in deals:
            if not deal.is_closing and deal.order_id in filled_with_brackets:
                self._origin[deal.position_id] = deal.order_id
        for order in history:
            if order.order_type is OrderType.STOP_LOSS_TAKE_PROFIT and order.position_id:
                is_stop_loss = order.stop_price is not None
                bracket_id = self._slot_id(self.base(order.position_id), is_stop_loss)
                self.fired_orders[order.order_id] = bracket_id
                ended = order.last_update_ms / 1000
                if order.status is OrderStatus.FILLED and now - ended <= retention:
                    self.brackets[bracket_id] = _fired_bracket(bracket_id, order, ended)
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
            self._sync(base, order, "inactive", order.order_id, "order", now)
        elif order.status is OrderStatus.FILLED:
            if order.position_id is not None and _has_brackets(order):
                self._origin[order.position_id] = order.order_id
        else:
            self._sync(base, None, "", order.order_id, "order", now)
        return None

    def on_position(self, position: Position, fired: Order | None, now: float) -> None:
        base = self.base(position.position_id)
        if position.status is PositionStatus.OPEN:
            self._sync(base, position, "working", position.position_id, "position", now)
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

    def _slot_id(self, base: str, is_stop_loss: bool) -> str:
        suffix = STOP_LOSS if is_stop_loss else TAKE_PROFIT
        return self._slots.setdefault((base, suffix), f"{base}-{suffix}")

    def _live(self, base: str) -> Iterator[Bracket]:
        for suffix in (STOP_LOSS, TAKE_PROFIT):
            bracket = self.brackets.get(self._slots.get((base, suffix), ""))
            if bracket is not None and bracket.ended_at is None:
                yield bracket

    def _sync(
        self,
        base: str,
        parent: Order | Position | None,
        status: str,
        parent_id: int,
        parent_type: str,
        now: float,
    ) -> None:
        """Make the children match the parent's levels (none for None).

        A child removed is cancelled; one set again afterwards is a new order with a new id,
        because TradingView never sees a final order come back to life.
        """
        for suffix, is_stop_loss in ((STOP_LOSS, True), (TAKE_PROFIT, False)):
            level = None
            if parent is not None:
                level = parent.stop_loss if is_stop_loss else parent.take_profit
            current = self.brackets.get(self._slots.get((base, suffix), ""))
            if level is None:
                if current is not None and current.ended_at is None:
                    current.status = "cancelled"
                    current.ended_at = now
                continue
            assert parent is not None
            bracket_id = f"{base}-{suffix}"
            if current is not None:
                bracket_id = current.bracket_id
                if current.ended_at is not None:
                    bracket_id = f"{base}-{suffix}{next(self._reissued)}"
            self._slots[(base, suffix)] = bracket_id
            self.brackets[bracket_id] = Bracket(
                bracket_id,
                parent.symbol_id,
                parent.side.opposite,
                parent.volume,
                is_stop_loss,
                level,
                status,
                parent_id,
                parent_type,
            )


def _fired_bracket(bracket_id: str, fired: Order, ended: float) -> Bracket:
    """A stop loss or take profit known only from the cTrader order that closed its position."""
    assert fired.position_id is not None
    return Bracket(
        bracket_id,
        fired.symbol_id,
        fired.side,
        fired.executed_volume or fired.volume,
        fired.stop_price is not None,
        fired.stop_price if fired.stop_price is not None else fired.limit_price or 0.0,
        "filled",
        fired.position_id,
        "position",
        ended_at=ended,
        fill_price=fired.execution_price,
    )
