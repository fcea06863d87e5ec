"""cTrader units and objects → TradingView's JSON shapes (and quantities back).

TradingView quantities are lots (the instrument declares `lotSize`), prices are plain numbers,
times are Unix seconds. Brackets (stop-loss, take-profit) are fields in cTrader but separate
child orders in TradingView; their ids derive from the order that carried them, so they keep
their id when that order fills and the brackets move onto the position.
"""

from __future__ import annotations

from typing import Any

from adapter_core.backend.model import (
    PRICE_SCALE,
    Deal,
    Depth,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    Spot,
    Symbol,
    SymbolCategory,
    TraderAccount,
    TradeSide,
)
from adapter_core.tradingview.brackets import Bracket

JSON = dict[str, Any]
SIDES = {TradeSide.BUY: "buy", TradeSide.SELL: "sell"}
SIDE_BY_NAME = {name: side for side, name in SIDES.items()}
ORDER_TYPES = {
    OrderType.MARKET: "market",
    OrderType.LIMIT: "limit",
    OrderType.STOP: "stop",
    OrderType.STOP_LIMIT: "stoplimit",
}
ORDER_TYPE_BY_NAME = {name: kind for kind, name in ORDER_TYPES.items()}
"""What TradingView may place; a STOP_LOSS_TAKE_PROFIT order only ever fires from a position."""


def _type_name(order: Order) -> str:
    if order.order_type is OrderType.STOP_LOSS_TAKE_PROFIT:
        return "stop" if order.stop_price is not None else "limit"
    return ORDER_TYPES[order.order_type]


STATUSES = {
    OrderStatus.ACCEPTED: "working",
    OrderStatus.FILLED: "filled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.EXPIRED: "cancelled",
    OrderStatus.CANCELLED: "cancelled",
}
INSTRUMENT_TYPES = {
    SymbolCategory.FOREX: "forex",
    SymbolCategory.METAL: "cfd",
    SymbolCategory.INDEX: "cfd",
    SymbolCategory.CRYPTO: "crypto",
}
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "₣"}


def lots(volume: int, symbol: Symbol) -> float:
    return round(volume / symbol.lot_size, 8)


def volume_of(quantity: float, symbol: Symbol) -> int:
    """Lots → cTrader volume (hundredths of a unit), rounded to the nearest whole cent."""
    return round(quantity * symbol.lot_size)


def money(amount: int, money_digits: int) -> float:
    return float(amount) / 10.0**money_digits


def price(value: int, symbol: Symbol) -> float:
    return round(value / PRICE_SCALE, symbol.digits)


def account_json(account: TraderAccount, is_verified: bool) -> JSON:
    return {
        "id": str(account.ctid_trader_account_id),
        "name": f"{account.broker_name} {account.trader_login}",
        "type": "live" if account.is_live else "demo",
        "currency": account.deposit_currency,
        "currencySign": CURRENCY_SIGNS.get(account.deposit_currency, account.deposit_currency),
        "isVerified": is_verified,
        "config": ACCOUNT_FLAGS,
    }


ACCOUNT_FLAGS: JSON = {
    "supportMarketOrders": True,
    "supportLimitOrders": True,
    "supportStopOrders": True,
    "supportStopLimitOrders": True,
    "supportTrailingStop": False,
    "supportModifyOrderPrice": True,
    "supportEditAmount": True,
    "supportModifyBrackets": True,
    "supportOrderBrackets": True,
    "supportMarketBrackets": True,
    "supportPositionBrackets": True,
    "supportPositions": True,
    "supportMultiposition": True,
    "supportClosePosition": True,
    "supportPartialClosePosition": True,
    "supportReversePosition": False,
    "supportNativeReversePosition": False,
    "supportPLUpdate": True,
    "supportOrdersHistory": True,
    "supportExecutions": True,
    "supportLevel2Data": True,
    "supportDOM": True,
    "supportLogout": True,
    "supportBalances": False,
    "supportLeverage": False,
    "supportPlaceOrderPreview": False,
    "supportModifyOrderPreview": False,
}
"""What the adapter implements, and nothing more: TradingView offers exactly these."""


def instrument_json(symbol: Symbol, pip_value: float) -> JSON:
    """`pip_value` is the value of cTrader's pip. TradingView's pip is cTrader's for forex, and
    the minimum tick for everything else ("equal to minTick for non-forex symbols"), so the
    value is scaled to match."""
    min_tick = 10.0**-symbol.digits
    pip_size = symbol.pip_size if symbol.category is SymbolCategory.FOREX else min_tick
    return {
        "name": symbol.name,
        "description": symbol.description,
        "type": INSTRUMENT_TYPES[symbol.category],
        "minTick": min_tick,
        "pipSize": pip_size,
        "pipValue": round(pip_value * pip_size / symbol.pip_size, 6),
        "lotSize": symbol.lot_size / 100,
        "minQty": lots(symbol.min_volume, symbol),
        "maxQty": lots(symbol.max_volume, symbol),
        "qtyStep": lots(symbol.step_volume, symbol),
        "marginRate": symbol.margin_rate,
        "hasQuotes": True,
    }


def order_json(order: Order, symbol: Symbol) -> JSON:
    shown: JSON = {
        "id": str(order.order_id),
        "instrument": symbol.name,
        "qty": lots(order.volume, symbol),
        "side": SIDES[order.side],
        "type": _type_name(order),
        "status": STATUSES[order.status],
        "lastModified": order.last_update_ms // 1000,
    }
    if order.limit_price is not None:
        shown["limitPrice"] = order.limit_price
    if order.stop_price is not None:
        shown["stopPrice"] = order.stop_price
    if order.executed_volume:
        shown["filledQty"] = lots(order.executed_volume, symbol)
    if order.execution_price is not None:
        shown["avgPrice"] = order.execution_price
    if order.stop_loss is not None:
        shown["stopLoss"] = order.stop_loss
    if order.take_profit is not None:
        shown["takeProfit"] = order.take_profit
    if order.status is OrderStatus.REJECTED and order.reject_reason:
        shown["message"] = {"text": order.reject_reason, "type": "error"}
    return shown


class ShownOrders:
    """`order_json` of each order, built once per version of the order and shared.

    Orders are immutable and replaced when they change, so the order object itself says
    whether the answer built for it still holds; TradingView lists every order of the session
    each second. Answers are never changed after they are built.
    """

    def __init__(self, limit: int = 65_536) -> None:
        self._shown: dict[int, tuple[Order, Symbol, JSON]] = {}
        self._limit = limit

    def __call__(self, order: Order, symbol: Symbol) -> JSON:
        kept = self._shown.get(order.order_id)
        if kept is not None and kept[0] is order and kept[1] is symbol:
            return kept[2]
        if len(self._shown) >= self._limit:
            self._shown.clear()
        shown = order_json(order, symbol)
        self._shown[order.order_id] = (order, symbol, shown)
        return shown


def bracket_json(bracket: Bracket, symbol: Symbol) -> JSON:
    shown: JSON = {
        "id": bracket.bracket_id,
        "instrument": symbol.name,
        "qty": lots(bracket.volume, symbol),
        "side": SIDES[bracket.side],
        "type": "stop" if bracket.is_stop_loss else "limit",
        "stopPrice" if bracket.is_stop_loss else "limitPrice": bracket.level,
        "status": bracket.status,
        "parentId": str(bracket.parent_id),
        "parentType": bracket.parent_type,
    }
    if bracket.status == "filled" and bracket.fill_price is not None:
        shown["avgPrice"] = bracket.fill_price  # "provided for filled orders"
        shown["filledQty"] = shown["qty"]
    return shown


def position_json(position: Position, symbol: Symbol, unrealized_pl: float) -> JSON:
    is_open = position.status is PositionStatus.OPEN
    return {
        "id": str(position.position_id),
        "instrument": symbol.name,
        "qty": lots(position.volume, symbol) if is_open else 0,
        "side": SIDES[position.side],
        "avgPrice": position.price,
        "unrealizedPl": round(unrealized_pl, 2) if is_open else 0,
    }


def execution_json(deal: Deal, symbol: Symbol, order_id: str) -> JSON:
    """`order_id`: the order TradingView knows this fill by (a bracket, for a fired SL/TP)."""
    return {
        "id": str(deal.deal_id),
        "instrument": symbol.name,
        "price": deal.execution_price,
        "time": deal.execution_timestamp_ms // 1000,
        "qty": lots(deal.volume, symbol),
        "side": SIDES[deal.side],
        "orderId": order_id,
        "positionId": str(deal.position_id),
        "isClose": deal.is_closing,
    }


def quote_json(spot: Spot, symbol: Symbol) -> JSON:
    return {"ask": price(spot.ask, symbol), "bid": price(spot.bid, symbol)}


def depth_json(depth: Depth, symbol: Symbol) -> JSON:
    """TradingView wants both sides sorted by ascending price, volumes in lots."""

    def levels(side: tuple[tuple[int, int], ...]) -> list[list[float]]:
        return sorted([price(level, symbol), lots(volume, symbol)] for level, volume in side)

    return {"asks": levels(depth.asks), "bids": levels(depth.bids)}
