"""The backend's data, in cTrader's own units.

Volumes are integers in hundredths of a unit (cTrader's "cents": 100000 = 1,000.00 units),
money is an integer scaled by the account's `money_digits`, prices in trading objects are
floats rounded to the symbol's digits, and spot prices are integers in 1/100000 of a price
unit. Only `adapter_core.tradingview.mapping` converts these into TradingView's units.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

PRICE_SCALE = 100_000
"""Spot prices are integers in 1/100000 of a price unit, whatever the symbol's digits."""


class TradeSide(enum.IntEnum):
    BUY = 1
    SELL = 2

    @property
    def opposite(self) -> TradeSide:
        return TradeSide.SELL if self is TradeSide.BUY else TradeSide.BUY


class OrderType(enum.IntEnum):
    MARKET = 1
    LIMIT = 2
    STOP = 3
    STOP_LOSS_TAKE_PROFIT = 4
    """A position's stop loss (stop_price set) or take profit (limit_price set) firing."""
    STOP_LIMIT = 6


class OrderStatus(enum.IntEnum):
    ACCEPTED = 1
    FILLED = 2
    REJECTED = 3
    EXPIRED = 4
    CANCELLED = 5

    @property
    def is_final(self) -> bool:
        return self is not OrderStatus.ACCEPTED


class PositionStatus(enum.IntEnum):
    OPEN = 1
    CLOSED = 2


class SymbolCategory(enum.Enum):
    FOREX = "forex"
    METAL = "metal"
    INDEX = "index"
    CRYPTO = "crypto"


@dataclass(frozen=True, slots=True)
class User:
    """A cTID: one person, possibly with accounts at several brokers."""

    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class TraderAccount:
    ctid_trader_account_id: int
    trader_login: int
    broker_name: str
    """The White Label or jurisdiction the account was opened under."""
    is_live: bool
    deposit_currency: str
    money_digits: int
    leverage_in_cents: int
    user_id: int | None
    """The cTID the account is linked to; None while unlinked."""


@dataclass(frozen=True, slots=True)
class Symbol:
    symbol_id: int
    name: str
    description: str
    category: SymbolCategory
    base_asset: str
    quote_asset: str
    digits: int
    pip_position: int
    lot_size: int
    min_volume: int
    max_volume: int
    step_volume: int
    margin_rate: float
    """Share of the notional held as margin before leverage (1.0 for FX at 1:1)."""

    @property
    def pip_size(self) -> float:
        return 10.0**-self.pip_position


@dataclass(frozen=True, slots=True)
class Spot:
    symbol_id: int
    bid: int
    ask: int
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class Depth:
    """Order book levels, best first; prices in 1/100000, volumes in hundredths of a unit."""

    symbol_id: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Balance:
    ctid_trader_account_id: int
    balance: int
    money_digits: int


@dataclass(frozen=True, slots=True)
class Position:
    position_id: int
    ctid_trader_account_id: int
    symbol_id: int
    side: TradeSide
    volume: int
    price: float
    """Volume-weighted entry price."""
    status: PositionStatus
    stop_loss: float | None
    take_profit: float | None
    open_timestamp_ms: int
    last_update_ms: int
    used_margin: int
    money_digits: int


@dataclass(frozen=True, slots=True)
class Order:
    order_id: int
    ctid_trader_account_id: int
    symbol_id: int
    side: TradeSide
    volume: int
    order_type: OrderType
    status: OrderStatus
    limit_price: float | None
    stop_price: float | None
    stop_loss: float | None
    """Bracket prices to attach to the position the order opens."""
    take_profit: float | None
    position_id: int | None
    """The position a closing order reduces, or the one a filled order opened or grew."""
    executed_volume: int
    execution_price: float | None
    client_order_id: str | None
    closing_order: bool
    created_ms: int
    last_update_ms: int
    reject_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Deal:
    deal_id: int
    order_id: int
    position_id: int
    ctid_trader_account_id: int
    symbol_id: int
    side: TradeSide
    volume: int
    execution_price: float
    execution_timestamp_ms: int
    is_closing: bool
    gross_profit: int
    """Realised P&L of a closing deal in account money units; 0 for an opening deal."""
    money_digits: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    """What a trader asks for; the backend checks it against the symbol and the account."""

    symbol_id: int
    side: TradeSide
    volume: int
    order_type: OrderType
    limit_price: float | None = None
    stop_price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    client_order_id: str | None = None
