"""Execution in the simulated backend: fills, triggers, protection, closing and money.

Prices are put where each test needs them with `set_price`, so every outcome is exact.
"""

from __future__ import annotations

import pytest

from adapter_core.backend.model import (
    NewOrder,
    OrderStatus,
    OrderType,
    PositionStatus,
    TradeSide,
)
from adapter_core.backend.port import BackendError, ExecutionEvent, TradingBackend
from adapter_core.backend.simulated import SimulatedBackend
from tests.adapter_core.backend.conftest import Recorder

pytestmark = pytest.mark.anyio

EURUSD, USDJPY, GER40 = 1, 3, 10
ACCOUNT, SAME_USER_ACCOUNT, EUR_ACCOUNT = 137780091, 137792301, 137800001
LOT = 10_000_000


def buy(
    volume: int = LOT, *, stop_loss: float | None = None, take_profit: float | None = None
) -> NewOrder:
    return NewOrder(
        EURUSD, TradeSide.BUY, volume, OrderType.MARKET, None, None, stop_loss, take_profit
    )


def sell(
    volume: int = LOT, *, stop_loss: float | None = None, take_profit: float | None = None
) -> NewOrder:
    return NewOrder(
        EURUSD, TradeSide.SELL, volume, OrderType.MARKET, None, None, stop_loss, take_profit
    )


def pending(
    side: TradeSide,
    order_type: OrderType,
    *,
    limit_price: float | None = None,
    stop_price: float | None = None,
    stop_loss: float | None = None,
    take_profit: float | None = None,
) -> NewOrder:
    return NewOrder(EURUSD, side, LOT, order_type, limit_price, stop_price, stop_loss, take_profit)


async def test_satisfies_the_port(backend: SimulatedBackend) -> None:
    port: TradingBackend = backend
    assert await port.user(14601) is not None


async def test_market_buy_fills_at_ask_and_opens_a_position(
    backend: SimulatedBackend, recorder: Recorder
) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(ACCOUNT, buy(stop_loss=1.09, take_profit=1.12))
    assert order.status is OrderStatus.FILLED
    assert order.execution_price == 1.10004
    assert order.executed_volume == LOT
    positions, working = await backend.reconcile(ACCOUNT)
    assert working == []
    [position] = positions
    assert position.position_id == order.position_id
    assert (position.side, position.volume, position.price) == (TradeSide.BUY, LOT, 1.10004)
    assert (position.stop_loss, position.take_profit) == (1.09, 1.12)
    assert position.used_margin == 110_004  # 100,000 × 1.10004 at 1:100, in cents
    [deal] = await backend.deals(ACCOUNT)
    assert (deal.order_id, deal.position_id, deal.is_closing) == (
        order.order_id,
        position.position_id,
        False,
    )
    assert (deal.execution_price, deal.gross_profit) == (1.10004, 0)
    [event] = recorder.executions()
    assert event == ExecutionEvent(ACCOUNT, order=order, position=position, deal=deal)


async def test_market_sell_fills_at_bid(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(ACCOUNT, sell())
    assert order.execution_price == 1.09996


async def test_each_fill_opens_its_own_position(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    await backend.place_order(ACCOUNT, buy())
    await backend.place_order(ACCOUNT, sell())
    positions, _ = await backend.reconcile(ACCOUNT)
    assert [p.side for p in positions] == [TradeSide.BUY, TradeSide.SELL]


async def test_limit_buy_fills_when_ask_reaches_the_limit(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(
        ACCOUNT, pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.099)
    )
    assert order.status is OrderStatus.ACCEPTED
    backend.set_price(EURUSD, 1.09897)  # ask 1.09901: one point short
    _, [working] = await backend.reconcile(ACCOUNT)
    assert working.order_id == order.order_id
    backend.set_price(EURUSD, 1.09896)  # ask 1.09900
    [filled] = await backend.order_history(ACCOUNT)
    assert (filled.status, filled.execution_price) == (OrderStatus.FILLED, 1.099)


async def test_limit_sell_fills_when_bid_reaches_the_limit(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    await backend.place_order(ACCOUNT, pending(TradeSide.SELL, OrderType.LIMIT, limit_price=1.101))
    backend.set_price(EURUSD, 1.10103)  # bid 1.10099
    assert await backend.order_history(ACCOUNT) == []
    backend.set_price(EURUSD, 1.10104)  # bid 1.10100
    [filled] = await backend.order_history(ACCOUNT)
    assert filled.execution_price == 1.101


async def test_stop_buy_fills_when_ask_rises_to_the_stop(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    await backend.place_order(ACCOUNT, pending(TradeSide.BUY, OrderType.STOP, stop_price=1.101))
    backend.set_price(EURUSD, 1.10095)  # ask 1.10099
    assert await backend.order_history(ACCOUNT) == []
    backend.set_price(EURUSD, 1.10096)  # ask 1.10100
    [filled] = await backend.order_history(ACCOUNT)
    assert filled.execution_price == 1.101


async def test_stop_sell_fills_when_bid_falls_to_the_stop(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    await backend.place_order(ACCOUNT, pending(TradeSide.SELL, OrderType.STOP, stop_price=1.099))
    backend.set_price(EURUSD, 1.09905)  # bid 1.09901
    assert await backend.order_history(ACCOUNT) == []
    backend.set_price(EURUSD, 1.09904)  # bid 1.09900
    [filled] = await backend.order_history(ACCOUNT)
    assert filled.execution_price == 1.099


async def test_stop_limit_becomes_a_limit_then_fills_at_the_limit(
    backend: SimulatedBackend, recorder: Recorder
) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(
        ACCOUNT,
        pending(TradeSide.BUY, OrderType.STOP_LIMIT, stop_price=1.101, limit_price=1.1005),
    )
    backend.set_price(EURUSD, 1.102)  # ask 1.10204: stop passed, limit not reached
    _, [working] = await backend.reconcile(ACCOUNT)
    assert (working.order_id, working.order_type) == (order.order_id, OrderType.LIMIT)
    assert (working.limit_price, working.stop_price) == (1.1005, None)
    backend.set_price(EURUSD, 1.10046)  # ask 1.10050
    [filled] = await backend.order_history(ACCOUNT)
    assert (filled.status, filled.execution_price) == (OrderStatus.FILLED, 1.1005)
    types = [e.order.order_type for e in recorder.executions() if e.order is not None]
    assert types == [OrderType.STOP_LIMIT, OrderType.LIMIT, OrderType.LIMIT]


async def test_stop_limit_waits_for_its_stop(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    await backend.place_order(
        ACCOUNT,
        pending(TradeSide.SELL, OrderType.STOP_LIMIT, stop_price=1.099, limit_price=1.0985),
    )
    backend.set_price(EURUSD, 1.09905)  # bid 1.09901: stop not reached
    _, [working] = await backend.reconcile(ACCOUNT)
    assert working.order_type is OrderType.STOP_LIMIT
    backend.set_price(EURUSD, 1.098)  # bid 1.09796: stop crossed, now below the sell limit
    _, [working] = await backend.reconcile(ACCOUNT)
    assert working.order_type is OrderType.LIMIT
    backend.set_price(EURUSD, 1.0992)  # bid 1.09916: at or above the limit
    [filled] = await backend.order_history(ACCOUNT)
    assert filled.execution_price == 1.09916


async def test_marketable_limit_fills_at_once_at_the_better_price(
    backend: SimulatedBackend,
) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(
        ACCOUNT, pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.2)
    )
    assert (order.status, order.execution_price) == (OrderStatus.FILLED, 1.10004)


async def test_random_walk_reaches_a_nearby_limit(backend: SimulatedBackend) -> None:
    spot = next(s for s in await backend.spots() if s.symbol_id == EURUSD)
    limit = round((spot.ask - 3) / 100_000, 5)
    await backend.place_order(ACCOUNT, pending(TradeSide.BUY, OrderType.LIMIT, limit_price=limit))
    for _ in range(5000):
        backend.step()
        if await backend.order_history(ACCOUNT):
            break
    [filled] = await backend.order_history(ACCOUNT)
    assert filled.execution_price is not None
    assert filled.execution_price <= limit


async def test_stop_loss_closes_a_long_with_a_loss(
    backend: SimulatedBackend, recorder: Recorder
) -> None:
    backend.set_price(EURUSD, 1.1)
    opened = await backend.place_order(ACCOUNT, buy(stop_loss=1.099))
    backend.set_price(EURUSD, 1.09904)  # bid 1.09900
    positions, _ = await backend.reconcile(ACCOUNT)
    assert positions == []
    closing = recorder.executions()[-1]
    assert closing.position is not None
    assert closing.deal is not None
    assert closing.position.status is PositionStatus.CLOSED
    assert closing.order is not None
    assert closing.order.closing_order
    assert closing.order.order_type is OrderType.STOP_LOSS_TAKE_PROFIT
    assert (closing.order.stop_price, closing.order.limit_price) == (1.099, None)
    assert closing.order.position_id == opened.position_id
    assert closing.deal.is_closing
    assert closing.deal.gross_profit == -10_400  # (1.09900 − 1.10004) × 100,000 = −104.00
    assert closing.balance is not None
    assert closing.balance.balance == 1_000_000 - 10_400


async def test_take_profit_closes_a_short_with_a_gain(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    await backend.place_order(ACCOUNT, sell(take_profit=1.099))
    backend.set_price(EURUSD, 1.09897)  # ask 1.09901: not yet
    assert len((await backend.reconcile(ACCOUNT))[0]) == 1
    backend.set_price(EURUSD, 1.09896)  # ask 1.09900
    assert (await backend.reconcile(ACCOUNT))[0] == []
    [_, closing] = await backend.deals(ACCOUNT)
    [fired] = [o for o in await backend.order_history(ACCOUNT) if o.order_id == closing.order_id]
    assert fired.order_type is OrderType.STOP_LOSS_TAKE_PROFIT
    assert (fired.stop_price, fired.limit_price) == (None, 1.099)
    assert closing.gross_profit == 9_600  # (1.09996 − 1.09900) × 100,000 = 96.00
    assert (await backend.balance(ACCOUNT)).balance == 1_009_600


async def test_partial_close_keeps_the_rest_open(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    opened = await backend.place_order(ACCOUNT, buy(volume=3 * LOT))
    assert opened.position_id is not None
    backend.set_price(EURUSD, 1.101)  # bid 1.10096
    closing = await backend.close_position(ACCOUNT, opened.position_id, LOT)
    assert closing.closing_order
    assert closing.position_id == opened.position_id
    assert (closing.side, closing.volume, closing.execution_price) == (TradeSide.SELL, LOT, 1.10096)
    [position], _ = await backend.reconcile(ACCOUNT)
    assert (position.volume, position.status) == (2 * LOT, PositionStatus.OPEN)
    assert position.used_margin == 2 * 110_004
    deal = (await backend.deals(ACCOUNT))[-1]
    assert (deal.is_closing, deal.volume, deal.gross_profit) == (True, LOT, 9_200)
    await backend.close_position(ACCOUNT, opened.position_id, 2 * LOT)
    assert (await backend.reconcile(ACCOUNT))[0] == []
    assert (await backend.balance(ACCOUNT)).balance == 1_000_000 + 3 * 9_200


async def test_closing_more_than_the_position_is_refused(backend: SimulatedBackend) -> None:
    opened = await backend.place_order(ACCOUNT, buy())
    assert opened.position_id is not None
    with pytest.raises(BackendError, match=r"cannot be closed: position \d+ holds 1 lot\."):
        await backend.close_position(ACCOUNT, opened.position_id, 2 * LOT)
    with pytest.raises(BackendError, match=r"not a multiple of 0\.01 lots"):
        await backend.close_position(ACCOUNT, opened.position_id, 150_000)


async def test_short_loses_when_price_rises(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    opened = await backend.place_order(ACCOUNT, sell())
    assert opened.position_id is not None
    backend.set_price(EURUSD, 1.101)  # ask 1.10104
    await backend.close_position(ACCOUNT, opened.position_id, LOT)
    assert (await backend.balance(ACCOUNT)).balance == 1_000_000 - 10_800


async def test_profit_is_converted_into_a_eur_deposit(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    opened = await backend.place_order(EUR_ACCOUNT, buy())
    assert opened.position_id is not None
    backend.set_price(EURUSD, 1.101)
    await backend.close_position(EUR_ACCOUNT, opened.position_id, LOT)
    deal = (await backend.deals(EUR_ACCOUNT))[-1]
    assert deal.gross_profit == round(92.00 / 1.101 * 100)


async def test_yen_profit_is_converted_into_usd(backend: SimulatedBackend) -> None:
    backend.set_price(USDJPY, 150.0)  # spread 10 points: bid 149.995, ask 150.005
    opened = await backend.place_order(
        ACCOUNT, NewOrder(USDJPY, TradeSide.BUY, LOT, OrderType.MARKET)
    )
    assert opened.position_id is not None
    assert opened.execution_price == 150.005
    backend.set_price(USDJPY, 151.005)  # bid 151.000
    assert backend.unrealized_pnl(ACCOUNT) == round(0.995 * 100_000 / 151.005 * 100)
    await backend.close_position(ACCOUNT, opened.position_id, LOT)
    assert (await backend.deals(ACCOUNT))[-1].gross_profit == round(99_500 / 151.005 * 100)


async def test_unrealized_pnl_and_equity_follow_prices(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    await backend.place_order(ACCOUNT, buy())
    await backend.place_order(ACCOUNT, sell())
    assert backend.unrealized_pnl(ACCOUNT) == -1_600  # two spreads of 8 points
    backend.set_price(EURUSD, 1.101)
    assert backend.unrealized_pnl(ACCOUNT) == 9_200 - 10_800
    assert backend.equity(ACCOUNT) == 1_000_000 - 1_600
    assert backend.unrealized_pnl(SAME_USER_ACCOUNT) == 0


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            50_000,
            "The volume 0.005 lots is below the minimum of 0.01 lots for EURUSD.",
        ),
        (
            2_000_000_000,
            "The volume 200 lots is above the maximum of 100 lots for EURUSD.",
        ),
        (
            LOT + 50_000,
            "The volume 1.005 lots is not a multiple of 0.01 lots for EURUSD.",
        ),
    ],
)
async def test_volume_is_checked_against_the_symbol(
    backend: SimulatedBackend, volume: int, message: str
) -> None:
    with pytest.raises(BackendError) as refused:
        await backend.place_order(ACCOUNT, buy(volume=volume))
    assert str(refused.value) == message


async def test_index_minimum_reads_in_lots(backend: SimulatedBackend) -> None:
    with pytest.raises(
        BackendError, match=r"0\.05 lots is below the minimum of 0\.1 lots for GER40"
    ):
        await backend.place_order(ACCOUNT, NewOrder(GER40, TradeSide.BUY, 5, OrderType.MARKET))


async def test_unknown_symbol_and_account_are_refused(backend: SimulatedBackend) -> None:
    with pytest.raises(BackendError, match="Symbol 999 does not exist"):
        await backend.place_order(ACCOUNT, NewOrder(999, TradeSide.BUY, LOT, OrderType.MARKET))
    with pytest.raises(BackendError, match="Trading account 42 does not exist"):
        await backend.place_order(42, buy())
    with pytest.raises(BackendError, match="Trading account 42 does not exist"):
        await backend.reconcile(42)


async def test_another_accounts_order_and_position_are_refused(
    backend: SimulatedBackend,
) -> None:
    backend.set_price(EURUSD, 1.1)
    working = await backend.place_order(
        ACCOUNT, pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.09)
    )
    opened = await backend.place_order(ACCOUNT, buy())
    assert opened.position_id is not None
    with pytest.raises(BackendError, match="does not exist on trading account 137792301"):
        await backend.cancel_order(SAME_USER_ACCOUNT, working.order_id)
    with pytest.raises(BackendError, match="does not exist on trading account 137792301"):
        await backend.close_position(SAME_USER_ACCOUNT, opened.position_id, LOT)
    with pytest.raises(BackendError, match="does not exist on trading account 137792301"):
        await backend.amend_position_protection(
            SAME_USER_ACCOUNT, opened.position_id, stop_loss=None, take_profit=None
        )


async def test_final_orders_and_closed_positions_cannot_change(
    backend: SimulatedBackend,
) -> None:
    backend.set_price(EURUSD, 1.1)
    working = await backend.place_order(
        ACCOUNT, pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.09)
    )
    await backend.cancel_order(ACCOUNT, working.order_id)
    with pytest.raises(BackendError, match=f"Order {working.order_id} is already cancelled"):
        await backend.cancel_order(ACCOUNT, working.order_id)
    opened = await backend.place_order(ACCOUNT, buy())
    assert opened.position_id is not None
    with pytest.raises(BackendError, match="is already filled"):
        await backend.cancel_order(ACCOUNT, opened.order_id)
    await backend.close_position(ACCOUNT, opened.position_id, LOT)
    with pytest.raises(BackendError, match="is already closed"):
        await backend.close_position(ACCOUNT, opened.position_id, LOT)
    with pytest.raises(BackendError, match="Order 1 does not exist"):
        await backend.cancel_order(ACCOUNT, 1)


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (buy(stop_loss=1.1), "The stop loss 1.10000 must be below 1.09996 for a buy on EURUSD."),
        (buy(take_profit=1.0999), "The take profit 1.09990 must be above 1.09996 for a buy"),
        (sell(stop_loss=1.1), "The stop loss 1.10000 must be above 1.10004 for a sell"),
        (sell(take_profit=1.1001), "The take profit 1.10010 must be below 1.10004 for a sell"),
        (
            pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.09, stop_loss=1.095),
            "The stop loss 1.09500 must be below 1.09000 for a buy",
        ),
        (pending(TradeSide.SELL, OrderType.STOP), "A stop order needs a stop price."),
        (
            pending(TradeSide.SELL, OrderType.STOP_LIMIT, stop_price=1.09),
            "A stop-limit order needs a limit price.",
        ),
        (buy(stop_loss=-1.0), "The stop loss must be above zero for EURUSD."),
    ],
)
async def test_bad_prices_are_refused(
    backend: SimulatedBackend, order: NewOrder, message: str
) -> None:
    backend.set_price(EURUSD, 1.1)
    with pytest.raises(BackendError) as refused:
        await backend.place_order(ACCOUNT, order)
    assert str(refused.value).startswith(message)


async def test_prices_are_rounded_to_the_symbol_digits(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(
        ACCOUNT,
        pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.0900049, take_profit=1.1234567),
    )
    assert (order.limit_price, order.take_profit) == (1.09, 1.12346)


async def test_amend_and_cancel_a_working_order(
    backend: SimulatedBackend, recorder: Recorder
) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(
        ACCOUNT, pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.09)
    )
    amended = await backend.amend_order(
        ACCOUNT,
        order.order_id,
        volume=2 * LOT,
        limit_price=1.095,
        stop_price=None,
        stop_loss=1.09,
        take_profit=1.11,
    )
    assert (amended.volume, amended.limit_price, amended.stop_loss) == (2 * LOT, 1.095, 1.09)
    assert (await backend.reconcile(ACCOUNT))[1] == [amended]
    cancelled = await backend.cancel_order(ACCOUNT, order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert await backend.order_history(ACCOUNT) == [cancelled]
    assert (await backend.reconcile(ACCOUNT))[1] == []
    assert [e.order for e in recorder.executions()] == [order, amended, cancelled]


async def test_amend_to_a_marketable_limit_fills(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    order = await backend.place_order(
        ACCOUNT, pending(TradeSide.BUY, OrderType.LIMIT, limit_price=1.09)
    )
    amended = await backend.amend_order(
        ACCOUNT,
        order.order_id,
        volume=LOT,
        limit_price=1.1001,
        stop_price=None,
        stop_loss=None,
        take_profit=None,
    )
    assert (amended.status, amended.execution_price) == (OrderStatus.FILLED, 1.10004)


async def test_amend_order_checks_volume(backend: SimulatedBackend) -> None:
    order = await backend.place_order(
        ACCOUNT, pending(TradeSide.SELL, OrderType.LIMIT, limit_price=9.0)
    )
    with pytest.raises(BackendError, match="below the minimum"):
        await backend.amend_order(
            ACCOUNT,
            order.order_id,
            volume=1,
            limit_price=9.0,
            stop_price=None,
            stop_loss=None,
            take_profit=None,
        )


async def test_position_protection_can_be_set_and_then_fires(
    backend: SimulatedBackend, recorder: Recorder
) -> None:
    backend.set_price(EURUSD, 1.1)
    opened = await backend.place_order(ACCOUNT, sell())
    assert opened.position_id is not None
    with pytest.raises(BackendError, match=r"stop loss 1\.09000 must be above 1\.10004 for a sell"):
        await backend.amend_position_protection(
            ACCOUNT, opened.position_id, stop_loss=1.09, take_profit=None
        )
    protected = await backend.amend_position_protection(
        ACCOUNT, opened.position_id, stop_loss=1.101, take_profit=None
    )
    assert (protected.stop_loss, protected.take_profit) == (1.101, None)
    assert recorder.executions()[-1] == ExecutionEvent(ACCOUNT, position=protected)
    backend.set_price(EURUSD, 1.10096)  # ask 1.10100
    assert (await backend.reconcile(ACCOUNT))[0] == []
    assert (await backend.deals(ACCOUNT))[-1].gross_profit == -10_400


async def test_ids_increase_per_kind(backend: SimulatedBackend) -> None:
    first = await backend.place_order(ACCOUNT, buy())
    second = await backend.place_order(SAME_USER_ACCOUNT, buy())
    assert second.order_id == first.order_id + 1
    assert first.position_id is not None
    assert second.position_id == first.position_id + 1
    deals = (await backend.deals(ACCOUNT)) + (await backend.deals(SAME_USER_ACCOUNT))
    assert deals[1].deal_id == deals[0].deal_id + 1


async def test_position_pnl_and_pip_value(backend: SimulatedBackend) -> None:
    backend.set_price(EURUSD, 1.1)
    opened = await backend.place_order(EUR_ACCOUNT, buy())
    backend.set_price(EURUSD, 1.101)
    account = await backend.account(EUR_ACCOUNT)
    assert account is not None
    [position], _ = await backend.reconcile(EUR_ACCOUNT)
    assert position.position_id == opened.position_id
    assert backend.position_pnl(position, account) == round(92.00 / 1.101 * 100)
    symbols = {s.name: s for s in await backend.symbols()}
    assert backend.pip_value(symbols["EURUSD"], account) == pytest.approx(10 / 1.101)
    usd_account = await backend.account(ACCOUNT)
    assert usd_account is not None
    assert backend.pip_value(symbols["EURUSD"], usd_account) == pytest.approx(10.0)
    backend.set_price(USDJPY, 150.0)
    assert backend.pip_value(symbols["USDJPY"], usd_account) == pytest.approx(1000 / 150.0)


async def test_depth_levels_start_at_the_spot_and_widen(backend: SimulatedBackend) -> None:
    spot = backend.set_price(EURUSD, 1.1)
    book = backend.depth(EURUSD)
    assert book.bids[0][0] == spot.bid
    assert book.asks[0][0] == spot.ask
    assert [price for price, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert [price for price, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert book.asks[-1][1] > book.asks[0][1]


@pytest.mark.parametrize("side", [TradeSide.BUY, TradeSide.SELL])
@pytest.mark.parametrize(
    ("account_id", "symbol_id", "opened_at", "moved_to"),
    [
        (ACCOUNT, EURUSD, 1.1, 1.1037),
        (EUR_ACCOUNT, EURUSD, 1.1, 1.0941),
        (ACCOUNT, USDJPY, 150.0, 151.005),
        (EUR_ACCOUNT, USDJPY, 150.0, 148.5),
    ],
)
async def test_unrealized_pnl_is_what_closing_realises(
    backend: SimulatedBackend,
    side: TradeSide,
    account_id: int,
    symbol_id: int,
    opened_at: float,
    moved_to: float,
) -> None:
    backend.set_price(symbol_id, opened_at)
    opened = await backend.place_order(account_id, NewOrder(symbol_id, side, LOT, OrderType.MARKET))
    backend.set_price(symbol_id, moved_to)
    account = await backend.account(account_id)
    assert account is not None
    [position] = [
        p for p in (await backend.reconcile(account_id))[0] if p.position_id == opened.position_id
    ]
    unrealized = backend.position_pnl(position, account)
    await backend.close_position(account_id, position.position_id, LOT)
    assert (await backend.deals(account_id))[-1].gross_profit == unrealized
