"""Answers built once and shared between polls: /quotes entries and listed orders.

Both are only right while what they were built from is current; these tests change the
price or the order and check that the next poll sees the change at once.
"""

from __future__ import annotations

import dataclasses

import pytest

from adapter_core.backend.model import (
    NewOrder,
    OrderStatus,
    OrderType,
    Spot,
    TradeSide,
)
from adapter_core.backend.port import SpotEvent
from adapter_core.backend.simulated import SimulatedBackend
from adapter_core.tradingview.mapping import ShownOrders, order_json
from adapter_core.tradingview.market import MarketBoard

pytestmark = pytest.mark.anyio

EURUSD = 1
ACCOUNT = 137780091


async def test_a_quote_follows_every_price_change() -> None:
    backend = SimulatedBackend()
    board = MarketBoard()
    await board.load(backend)
    unsubscribe = backend.subscribe(board.on_backend_event)
    try:
        symbol = board.symbols_by_id[EURUSD]
        backend.set_price(EURUSD, 1.1)
        first = board.quote(symbol)
        assert first == {"s": "ok", "n": "EURUSD", "v": {"ask": 1.10004, "bid": 1.09996}}
        assert board.quote(symbol) is first  # the same price: the same answer
        backend.set_price(EURUSD, 1.2)
        assert board.quote(symbol) == {
            "s": "ok",
            "n": "EURUSD",
            "v": {"ask": 1.20004, "bid": 1.19996},
        }
    finally:
        unsubscribe()


async def test_no_quote_before_a_symbols_first_price() -> None:
    board = MarketBoard()
    await board.load(SimulatedBackend())
    symbol = board.symbols_by_id[EURUSD]
    del board.spots[EURUSD]
    assert board.quote(symbol) is None
    board.on_backend_event(SpotEvent([Spot(EURUSD, 110_000, 110_010, 0)]))
    assert board.quote(symbol) == {"s": "ok", "n": "EURUSD", "v": {"ask": 1.1001, "bid": 1.1}}


async def test_a_listed_order_follows_every_change_of_the_order() -> None:
    backend = SimulatedBackend()
    board = MarketBoard()
    await board.load(backend)
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(
        ACCOUNT,
        NewOrder(EURUSD, TradeSide.BUY, 10_000_000, OrderType.LIMIT, limit_price=1.0),
    )
    symbol = board.symbols_by_id[EURUSD]
    shown = ShownOrders()
    first = shown(order, symbol)
    assert first == order_json(order, symbol)
    assert shown(order, symbol) is first
    cancelled = dataclasses.replace(order, status=OrderStatus.CANCELLED)
    assert shown(cancelled, symbol)["status"] == "cancelled"
    assert shown(order, symbol)["status"] == "working"  # the object decides, not the id


async def test_the_shared_orders_are_bounded() -> None:
    backend = SimulatedBackend()
    board = MarketBoard()
    await board.load(backend)
    order = await backend.place_order(
        ACCOUNT,
        NewOrder(EURUSD, TradeSide.BUY, 10_000_000, OrderType.LIMIT, limit_price=1.0),
    )
    symbol = board.symbols_by_id[EURUSD]
    shown = ShownOrders(limit=3)
    for offset in range(10):
        other = dataclasses.replace(order, order_id=order.order_id + offset)
        assert shown(other, symbol) == order_json(other, symbol)
    assert len(shown._shown) <= 3
