"""Trader sessions: opened once, kept current by backend events, closed with their token."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapter_core.account_book import FINAL_ORDER_RETENTION
from adapter_core.backend.model import NewOrder, OrderType, TraderAccount, TradeSide
from adapter_core.backend.simulated import SimulatedBackend, load_demo_dataset
from adapter_core.sessions import SessionRegistry
from adapter_core.tokens.claims import TokenClaims

pytestmark = pytest.mark.anyio

ACCOUNT = 137780091
EURUSD = 1
LOT = 10_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def claims(token: int, expires_at: float = 1_800_000_000) -> TokenClaims:
    return TokenClaims(
        token.to_bytes(16, "big"), 14601, ("BESTBROKER",), None, True, 0, int(expires_at)
    )


@pytest.fixture
def backend() -> SimulatedBackend:
    ticks = itertools.count(1_700_000_000_000, 250)
    return SimulatedBackend(load_demo_dataset(), clock=lambda: next(ticks))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(backend: SimulatedBackend, clock: Clock) -> SessionRegistry:
    registry = SessionRegistry(backend, clock)
    backend.subscribe(registry.on_backend_event)
    return registry


async def account(backend: SimulatedBackend) -> TraderAccount:
    found = await backend.account(ACCOUNT)
    assert found is not None
    return found


async def test_a_session_opens_once_even_under_concurrent_first_calls(
    registry: SessionRegistry, backend: SimulatedBackend
) -> None:
    opened: list[str] = []
    registry.add_listener(lambda kind, session: opened.append(kind))
    target = await account(backend)
    sessions = await asyncio.gather(
        *(registry.session_for(claims(1), target, "127.0.0.1", "ua") for _ in range(10))
    )
    assert len({id(session) for session in sessions}) == 1
    assert opened.count("opened") == 1
    assert sessions[0].request_count == 10
    assert len(registry) == 1


async def test_events_keep_the_cache_current_without_reading_the_backend(
    registry: SessionRegistry, backend: SimulatedBackend
) -> None:
    session = await registry.session_for(claims(1), await account(backend), "a", "ua")
    placed = await backend.place_order(
        ACCOUNT, NewOrder(EURUSD, TradeSide.BUY, LOT // 10, OrderType.MARKET)
    )
    assert placed.position_id in session.book.positions
    assert session.book.orders[placed.order_id].status.is_final
    assert len(session.book.deals) == 1
    before = session.book.balance.balance
    await backend.close_position(ACCOUNT, placed.position_id or 0, LOT // 10)
    assert session.book.balance.balance != before
    assert len(session.book.deals) == 2


async def test_closing_a_token_drops_its_sessions_only(
    registry: SessionRegistry, backend: SimulatedBackend
) -> None:
    target = await account(backend)
    await registry.session_for(claims(1), target, "a", "ua")
    other = await registry.session_for(claims(2), target, "b", "ua")
    await backend.place_order(ACCOUNT, NewOrder(EURUSD, TradeSide.BUY, LOT // 10, OrderType.MARKET))
    assert registry.close_token(claims(1).token_id) == 1
    assert registry.sessions_of(claims(1).token_id) == []
    assert registry.sessions_of(claims(2).token_id) == [other]
    await backend.place_order(
        ACCOUNT, NewOrder(EURUSD, TradeSide.SELL, LOT // 10, OrderType.MARKET)
    )
    assert len(other.book.deals) == 2


async def test_a_second_login_sees_the_trading_session_of_the_first(
    registry: SessionRegistry, backend: SimulatedBackend
) -> None:
    target = await account(backend)
    first = await registry.session_for(claims(1), target, "a", "ua")
    opened = await backend.place_order(
        ACCOUNT, NewOrder(EURUSD, TradeSide.BUY, LOT // 10, OrderType.MARKET, take_profit=2.0)
    )
    await backend.close_position(ACCOUNT, opened.position_id or 0, LOT // 10)
    second = await registry.session_for(claims(2), target, "b", "ua")
    assert second.book is first.book
    assert opened.order_id in second.book.orders
    assert [b.status for b in second.book.brackets.final()] == ["cancelled"]


async def test_a_login_after_a_restart_sees_recent_final_orders_and_closed_positions(
    backend: SimulatedBackend, clock: Clock
) -> None:
    opened = await backend.place_order(
        ACCOUNT, NewOrder(EURUSD, TradeSide.BUY, LOT // 10, OrderType.MARKET)
    )
    closing = await backend.close_position(ACCOUNT, opened.position_id or 0, LOT // 10)
    fresh = SessionRegistry(backend, clock)
    session = await fresh.session_for(claims(1), await account(backend), "a", "ua")
    assert {opened.order_id, closing.order_id} <= set(session.book.orders)
    closed = session.book.positions[opened.position_id or 0]
    assert closed.volume == 0
    assert closed.price == opened.execution_price
    clock.now += FINAL_ORDER_RETENTION + 60
    later = SessionRegistry(backend, clock)
    session = await later.session_for(claims(2), await account(backend), "a", "ua")
    assert opened.order_id not in session.book.orders
    assert opened.position_id not in session.book.positions


async def test_an_idle_book_is_kept_for_the_retention_then_forgotten(
    registry: SessionRegistry, backend: SimulatedBackend, clock: Clock
) -> None:
    target = await account(backend)
    first = await registry.session_for(claims(1), target, "a", "ua")
    registry.close_token(claims(1).token_id)
    clock.now += FINAL_ORDER_RETENTION
    registry.sweep()
    assert (await registry.session_for(claims(2), target, "a", "ua")).book is first.book
    registry.close_token(claims(2).token_id)
    clock.now += FINAL_ORDER_RETENTION + 1
    registry.sweep()
    assert (await registry.session_for(claims(3), target, "a", "ua")).book is not first.book


async def test_sweep_closes_expired_tokens_and_prunes_final_orders(
    registry: SessionRegistry, backend: SimulatedBackend, clock: Clock
) -> None:
    target = await account(backend)
    short = await registry.session_for(claims(1, clock.now + 60), target, "a", "ua")
    long = await registry.session_for(claims(2), target, "a", "ua")
    placed = await backend.place_order(
        ACCOUNT, NewOrder(EURUSD, TradeSide.BUY, LOT // 10, OrderType.MARKET)
    )
    clock.now += 61
    assert [c.token_id for c in registry.sweep()] == [claims(1).token_id]
    assert registry.sessions_of(short.claims.token_id) == []
    assert placed.order_id in long.book.orders
    clock.now += FINAL_ORDER_RETENTION + 1
    registry.sweep()
    assert placed.order_id not in long.book.orders
    assert placed.order_id in long.book.order_history
