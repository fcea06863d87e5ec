"""Orders, hedged positions and deals: synchronous, deterministic, with time passed in.

Every change is reported through the injected `emit` as cTrader reports it, one
ExecutionEvent per execution carrying the order, position, deal and balance it touched.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Protocol

from adapter_core.backend.model import (
    PRICE_SCALE,
    Deal,
    NewOrder,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    Spot,
    Symbol,
    TraderAccount,
    TradeSide,
)
from adapter_core.backend.port import BackendError, ExecutionEvent
from adapter_core.backend.simulated.accounts import AccountBook
from adapter_core.backend.simulated.conversion import Converter
from adapter_core.backend.simulated.rules import (
    check_protection,
    check_step,
    check_volume,
    format_lots,
    round_price,
)

ORDER_IDS_FROM = 10_000_001
POSITION_IDS_FROM = 20_000_001
DEAL_IDS_FROM = 30_000_001
"""Disjoint id ranges per kind, so a client mixing up an order id and a position id fails."""


class Market(Protocol):
    def spot(self, symbol_id: int) -> Spot: ...

    def mid(self, symbol_id: int) -> float: ...


class TradingEngine:
    def __init__(
        self,
        book: AccountBook,
        symbols: Sequence[Symbol],
        market: Market,
        converter: Converter,
        emit: Callable[[ExecutionEvent], None],
    ) -> None:
        self._book = book
        self._symbols = {symbol.symbol_id: symbol for symbol in symbols}
        self._market = market
        self._converter = converter
        self._emit = emit
        self._orders: dict[int, Order] = {}
        self._positions: dict[int, Position] = {}
        self._deals: list[Deal] = []
        self._order_ids = itertools.count(ORDER_IDS_FROM)
        self._position_ids = itertools.count(POSITION_IDS_FROM)
        self._deal_ids = itertools.count(DEAL_IDS_FROM)

    # Queries

    def symbol(self, symbol_id: int) -> Symbol:
        symbol = self._symbols.get(symbol_id)
        if symbol is None:
            raise BackendError(f"Symbol {symbol_id} does not exist.")
        return symbol

    def working_orders(self, account_id: int) -> list[Order]:
        self._book.require(account_id)
        return [
            o
            for o in self._orders.values()
            if o.ctid_trader_account_id == account_id and not o.status.is_final
        ]

    def order_history(self, account_id: int) -> list[Order]:
        self._book.require(account_id)
        return [
            o
            for o in self._orders.values()
            if o.ctid_trader_account_id == account_id and o.status.is_final
        ]

    def open_positions(self, account_id: int) -> list[Position]:
        self._book.require(account_id)
        return [
            p
            for p in self._positions.values()
            if p.ctid_trader_account_id == account_id and p.status is PositionStatus.OPEN
        ]

    def deals(self, account_id: int) -> list[Deal]:
        self._book.require(account_id)
        return [d for d in self._deals if d.ctid_trader_account_id == account_id]

    def unrealized_pnl(self, account_id: int) -> int:
        """P&L of the open positions if closed now, in the account's money units."""
        account = self._book.require(account_id)
        return sum(self.position_pnl(p, account) for p in self.open_positions(account_id))

    def position_pnl(self, position: Position, account: TraderAccount) -> int:
        """P&L of `position` if closed now at the bid (long) or ask (short).

        `_pnl` at `_closing_price`, written out: every poll of positions or state runs it for
        each open position, and the five calls between cost more than the arithmetic.
        """
        symbol = self.symbol(position.symbol_id)
        spot = self._market.spot(position.symbol_id)
        if position.side is TradeSide.BUY:
            exit_price, sign = round(spot.bid / PRICE_SCALE, symbol.digits), 1
        else:
            exit_price, sign = round(spot.ask / PRICE_SCALE, symbol.digits), -1
        in_quote = (exit_price - position.price) * sign * position.volume / 100
        return self._to_money(account, symbol, in_quote)

    def pip_value(self, symbol: Symbol, account: TraderAccount) -> float:
        """One pip on one lot, in the deposit currency at the current mids."""
        units_per_lot = symbol.lot_size / 100
        rate = self._converter.rate(symbol.quote_asset, account.deposit_currency, self._market.mid)
        return symbol.pip_size * units_per_lot * rate

    # Commands

    def place_order(self, account_id: int, new: NewOrder, now_ms: int) -> Order:
        self._book.require(account_id)
        symbol = self.symbol(new.symbol_id)
        check_volume(symbol, new.volume)
        limit, stop = self._entry_prices(symbol, new.order_type, new.limit_price, new.stop_price)
        stop_loss = round_price(symbol, new.stop_loss, "stop loss")
        take_profit = round_price(symbol, new.take_profit, "take profit")
        reference = self._reference(symbol, new.side, limit, stop)
        check_protection(symbol, new.side, reference, stop_loss, take_profit)
        order = Order(
            order_id=next(self._order_ids),
            ctid_trader_account_id=account_id,
            symbol_id=symbol.symbol_id,
            side=new.side,
            volume=new.volume,
            order_type=new.order_type,
            status=OrderStatus.ACCEPTED,
            limit_price=limit,
            stop_price=stop,
            stop_loss=stop_loss,
            take_profit=take_profit,
            position_id=None,
            executed_volume=0,
            execution_price=None,
            client_order_id=new.client_order_id,
            closing_order=False,
            created_ms=now_ms,
            last_update_ms=now_ms,
        )
        if order.order_type is OrderType.MARKET:
            return self._fill(order, now_ms)
        self._store_and_emit(order)
        return self._evaluate(order, now_ms)

    def amend_order(
        self,
        account_id: int,
        order_id: int,
        *,
        volume: int,
        limit_price: float | None,
        stop_price: float | None,
        stop_loss: float | None,
        take_profit: float | None,
        now_ms: int,
    ) -> Order:
        order = self._working_order(account_id, order_id)
        symbol = self.symbol(order.symbol_id)
        check_volume(symbol, volume)
        limit, stop = self._entry_prices(symbol, order.order_type, limit_price, stop_price)
        rounded_sl = round_price(symbol, stop_loss, "stop loss")
        rounded_tp = round_price(symbol, take_profit, "take profit")
        reference = self._reference(symbol, order.side, limit, stop)
        check_protection(symbol, order.side, reference, rounded_sl, rounded_tp)
        amended = dataclasses.replace(
            order,
            volume=volume,
            limit_price=limit,
            stop_price=stop,
            stop_loss=rounded_sl,
            take_profit=rounded_tp,
            last_update_ms=now_ms,
        )
        self._store_and_emit(amended)
        return self._evaluate(amended, now_ms)

    def cancel_order(self, account_id: int, order_id: int, now_ms: int) -> Order:
        order = self._working_order(account_id, order_id)
        cancelled = dataclasses.replace(order, status=OrderStatus.CANCELLED, last_update_ms=now_ms)
        self._store_and_emit(cancelled)
        return cancelled

    def amend_position_protection(
        self,
        account_id: int,
        position_id: int,
        *,
        stop_loss: float | None,
        take_profit: float | None,
        now_ms: int,
    ) -> Position:
        position = self._open_position(account_id, position_id)
        symbol = self.symbol(position.symbol_id)
        rounded_sl = round_price(symbol, stop_loss, "stop loss")
        rounded_tp = round_price(symbol, take_profit, "take profit")
        reference = self._closing_price(position.symbol_id, position.side)
        check_protection(symbol, position.side, reference, rounded_sl, rounded_tp)
        amended = dataclasses.replace(
            position, stop_loss=rounded_sl, take_profit=rounded_tp, last_update_ms=now_ms
        )
        self._positions[position_id] = amended
        self._emit(ExecutionEvent(account_id, position=amended))
        return amended

    def close_position(self, account_id: int, position_id: int, volume: int, now_ms: int) -> Order:
        position = self._open_position(account_id, position_id)
        symbol = self.symbol(position.symbol_id)
        if not 0 < volume <= position.volume:
            raise BackendError(
                f"The volume {format_lots(volume, symbol)} cannot be closed: position "
                f"{position_id} holds {format_lots(position.volume, symbol)}."
            )
        check_step(symbol, volume)
        return self._close(position, volume, now_ms)

    def on_prices(self, now_ms: int) -> None:
        """After new prices: trigger pending orders, then stop losses and take profits."""
        for order in [o for o in self._orders.values() if not o.status.is_final]:
            self._evaluate(order, now_ms)
        for position in [p for p in self._positions.values() if p.status is PositionStatus.OPEN]:
            fired = self._protection_fired(position)
            if fired is not None:
                self._close(position, position.volume, now_ms, protection=fired)

    # Execution

    def _evaluate(self, order: Order, now_ms: int) -> Order:
        """Fill the working order if the market reached it; a stop-limit first turns limit."""
        if order.order_type is OrderType.STOP_LIMIT:
            if not self._stop_hit(order):
                return order
            order = dataclasses.replace(
                order, order_type=OrderType.LIMIT, stop_price=None, last_update_ms=now_ms
            )
            self._store_and_emit(order)
        hit = (
            self._limit_hit(order) if order.order_type is OrderType.LIMIT else self._stop_hit(order)
        )
        return self._fill(order, now_ms) if hit else order

    def _fill(self, order: Order, now_ms: int) -> Order:
        """Open a new position: accounts are hedged, so fills never net against others."""
        account = self._book.require(order.ctid_trader_account_id)
        symbol = self.symbol(order.symbol_id)
        price = self._opening_price(order.symbol_id, order.side)
        position = Position(
            position_id=next(self._position_ids),
            ctid_trader_account_id=account.ctid_trader_account_id,
            symbol_id=symbol.symbol_id,
            side=order.side,
            volume=order.volume,
            price=price,
            status=PositionStatus.OPEN,
            stop_loss=order.stop_loss,
            take_profit=order.take_profit,
            open_timestamp_ms=now_ms,
            last_update_ms=now_ms,
            used_margin=self._margin(account, symbol, order.volume, price),
            money_digits=account.money_digits,
        )
        filled = dataclasses.replace(
            order,
            status=OrderStatus.FILLED,
            executed_volume=order.volume,
            execution_price=price,
            position_id=position.position_id,
            last_update_ms=now_ms,
        )
        deal = self._deal(filled, position, now_ms, gross_profit=0)
        self._orders[filled.order_id] = filled
        self._positions[position.position_id] = position
        self._deals.append(deal)
        self._emit(
            ExecutionEvent(
                account.ctid_trader_account_id, order=filled, position=position, deal=deal
            )
        )
        return filled

    def _close(
        self,
        position: Position,
        volume: int,
        now_ms: int,
        *,
        protection: tuple[OrderType, float] | None = None,
    ) -> Order:
        """Close at market; `protection` says it is the stop loss or take profit firing.

        Like cTrader, a firing protection is a STOP_LOSS_TAKE_PROFIT order carrying the level:
        the stop loss as its stop price, the take profit as its limit price.
        """
        account = self._book.require(position.ctid_trader_account_id)
        side = position.side.opposite
        price = self._opening_price(position.symbol_id, side)
        kind, level = protection or (OrderType.MARKET, None)
        order = Order(
            order_id=next(self._order_ids),
            ctid_trader_account_id=account.ctid_trader_account_id,
            symbol_id=position.symbol_id,
            side=side,
            volume=volume,
            order_type=OrderType.STOP_LOSS_TAKE_PROFIT if protection else OrderType.MARKET,
            status=OrderStatus.FILLED,
            limit_price=level if kind is OrderType.LIMIT else None,
            stop_price=level if kind is OrderType.STOP else None,
            stop_loss=None,
            take_profit=None,
            position_id=position.position_id,
            executed_volume=volume,
            execution_price=price,
            client_order_id=None,
            closing_order=True,
            created_ms=now_ms,
            last_update_ms=now_ms,
        )
        remaining = position.volume - volume
        updated = dataclasses.replace(
            position,
            volume=remaining,
            status=PositionStatus.OPEN if remaining else PositionStatus.CLOSED,
            used_margin=position.used_margin * remaining // position.volume,
            last_update_ms=now_ms,
        )
        profit = self._pnl(account, position, price, volume)
        deal = self._deal(order, updated, now_ms, gross_profit=profit)
        self._orders[order.order_id] = order
        self._positions[updated.position_id] = updated
        self._deals.append(deal)
        balance = self._book.book_profit(account.ctid_trader_account_id, profit)
        self._emit(
            ExecutionEvent(
                account.ctid_trader_account_id,
                order=order,
                position=updated,
                deal=deal,
                balance=balance,
            )
        )
        return order

    def _deal(self, order: Order, position: Position, now_ms: int, *, gross_profit: int) -> Deal:
        assert order.execution_price is not None
        return Deal(
            deal_id=next(self._deal_ids),
            order_id=order.order_id,
            position_id=position.position_id,
            ctid_trader_account_id=order.ctid_trader_account_id,
            symbol_id=order.symbol_id,
            side=order.side,
            volume=order.executed_volume,
            execution_price=order.execution_price,
            execution_timestamp_ms=now_ms,
            is_closing=order.closing_order,
            gross_profit=gross_profit,
            money_digits=position.money_digits,
        )

    # Prices and money

    def _bid_ask(self, symbol_id: int) -> tuple[float, float]:
        spot = self._market.spot(symbol_id)
        digits = self.symbol(symbol_id).digits
        return round(spot.bid / PRICE_SCALE, digits), round(spot.ask / PRICE_SCALE, digits)

    def _opening_price(self, symbol_id: int, side: TradeSide) -> float:
        """What a market order on `side` fills at: the ask for a buy, the bid for a sell."""
        bid, ask = self._bid_ask(symbol_id)
        return ask if side is TradeSide.BUY else bid

    def _closing_price(self, symbol_id: int, side: TradeSide) -> float:
        """What a position on `side` closes at."""
        return self._opening_price(symbol_id, side.opposite)

    def _limit_hit(self, order: Order) -> bool:
        assert order.limit_price is not None
        bid, ask = self._bid_ask(order.symbol_id)
        if order.side is TradeSide.BUY:
            return ask <= order.limit_price
        return bid >= order.limit_price

    def _stop_hit(self, order: Order) -> bool:
        assert order.stop_price is not None
        bid, ask = self._bid_ask(order.symbol_id)
        if order.side is TradeSide.BUY:
            return ask >= order.stop_price
        return bid <= order.stop_price

    def _protection_fired(self, position: Position) -> tuple[OrderType, float] | None:
        """The stop loss (as STOP, its level) or take profit (as LIMIT) the price reached."""
        price = self._closing_price(position.symbol_id, position.side)
        sl, tp = position.stop_loss, position.take_profit
        long = position.side is TradeSide.BUY
        if sl is not None and (price <= sl if long else price >= sl):
            return OrderType.STOP, sl
        if tp is not None and (price >= tp if long else price <= tp):
            return OrderType.LIMIT, tp
        return None

    def _pnl(
        self, account: TraderAccount, position: Position, exit_price: float, volume: int
    ) -> int:
        sign = 1 if position.side is TradeSide.BUY else -1
        in_quote = (exit_price - position.price) * sign * volume / 100
        return self._to_money(account, self.symbol(position.symbol_id), in_quote)

    def _margin(self, account: TraderAccount, symbol: Symbol, volume: int, price: float) -> int:
        """Notional × margin rate ÷ leverage, in the deposit currency."""
        notional = volume / 100 * price
        leverage = account.leverage_in_cents / 100
        return self._to_money(account, symbol, notional * symbol.margin_rate / leverage)

    def _to_money(self, account: TraderAccount, symbol: Symbol, in_quote: float) -> int:
        rate = self._converter.rate(symbol.quote_asset, account.deposit_currency, self._market.mid)
        scale: float = 10.0**account.money_digits
        return round(in_quote * rate * scale)

    # Lookups and validation

    def _entry_prices(
        self,
        symbol: Symbol,
        order_type: OrderType,
        limit_price: float | None,
        stop_price: float | None,
    ) -> tuple[float | None, float | None]:
        """The prices the order type uses, rounded; the others are dropped."""
        needs_limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        kind = order_type.name.lower().replace("_", "-")
        if needs_limit and limit_price is None:
            raise BackendError(f"A {kind} order needs a limit price.")
        if needs_stop and stop_price is None:
            raise BackendError(f"A {kind} order needs a stop price.")
        limit = round_price(symbol, limit_price, "limit price") if needs_limit else None
        stop = round_price(symbol, stop_price, "stop price") if needs_stop else None
        return limit, stop

    def _reference(
        self,
        symbol: Symbol,
        side: TradeSide,
        limit: float | None,
        stop: float | None,
    ) -> float:
        """The price SL/TP are checked against: the entry, or for a market order the exit."""
        if limit is not None:
            return limit
        if stop is not None:
            return stop
        return self._closing_price(symbol.symbol_id, side)

    def _working_order(self, account_id: int, order_id: int) -> Order:
        self._book.require(account_id)
        order = self._orders.get(order_id)
        if order is None or order.ctid_trader_account_id != account_id:
            raise BackendError(f"Order {order_id} does not exist on trading account {account_id}.")
        if order.status.is_final:
            raise BackendError(f"Order {order_id} is already {order.status.name.lower()}.")
        return order

    def _open_position(self, account_id: int, position_id: int) -> Position:
        self._book.require(account_id)
        position = self._positions.get(position_id)
        if position is None or position.ctid_trader_account_id != account_id:
            raise BackendError(
                f"Position {position_id} does not exist on trading account {account_id}."
            )
        if position.status is PositionStatus.CLOSED:
            raise BackendError(f"Position {position_id} is already closed.")
        return position

    def _store_and_emit(self, order: Order) -> None:
        self._orders[order.order_id] = order
        self._emit(ExecutionEvent(order.ctid_trader_account_id, order=order))
