"""`TradingBackend` without a network: the demo data set, simulated prices and a local engine.

Prices tick on an asyncio task; tests call `step()` instead to advance one tick at a time
with nothing left to chance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from adapter_core.backend.model import (
    PRICE_SCALE,
    Balance,
    Deal,
    Depth,
    NewOrder,
    Order,
    Position,
    Spot,
    Symbol,
    TraderAccount,
    User,
)
from adapter_core.backend.port import (
    BackendError,
    BackendEvent,
    EventListener,
    SpotEvent,
)
from adapter_core.backend.simulated.accounts import AccountBook
from adapter_core.backend.simulated.conversion import Converter
from adapter_core.backend.simulated.dataset import DemoDataset, load_demo_dataset
from adapter_core.backend.simulated.engine import TradingEngine
from adapter_core.backend.simulated.prices import PriceFeed

logger = logging.getLogger(__name__)
DEPTH_LEVELS = 5


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SimulatedBackend:
    """A self-contained cTrader stand-in for demos and tests."""

    def __init__(
        self,
        dataset: DemoDataset | None = None,
        *,
        tick_interval: float = 0.25,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        data = dataset or load_demo_dataset()
        symbols = [seed.symbol for seed in data.symbols]
        self._clock = clock
        self._tick_interval = tick_interval
        self._listeners: list[EventListener] = []
        self._task: asyncio.Task[None] | None = None
        self._symbols = symbols
        self._converter = Converter(symbols)
        self._feed = PriceFeed(data.symbols, data.seed, clock())
        self._book = AccountBook(data, self._can_deposit_in)
        self._engine = TradingEngine(
            self._book, symbols, self._feed, self._converter, self._dispatch
        )

    # Lifecycle and events

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="simulated-prices")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def step(self) -> list[Spot]:
        """Advance every price one tick, then fire whatever orders and protections it reaches."""
        now = self._clock()
        spots = self._feed.tick(now)
        self._dispatch(SpotEvent(spots))
        self._engine.on_prices(now)
        return spots

    def set_price(self, symbol_id: int, mid: float) -> Spot:
        """Put one symbol at a chosen mid (price units), for scripted demos and tests."""
        self._engine.symbol(symbol_id)
        if mid <= 0:
            raise BackendError("A price must be above zero.")
        now = self._clock()
        spot = self._feed.set_mid(symbol_id, round(mid * PRICE_SCALE), now)
        self._dispatch(SpotEvent([spot]))
        self._engine.on_prices(now)
        return spot

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick_interval)
            self.step()

    def _dispatch(self, event: BackendEvent) -> None:
        """A failing listener must not stop the price stream or the other listeners."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("A backend event listener failed")

    def _can_deposit_in(self, currency: str) -> bool:
        return all(self._converter.can_convert(s.quote_asset, currency) for s in self._symbols)

    # Reference data

    async def user(self, user_id: int) -> User | None:
        return self._book.user(user_id)

    async def accounts_of(self, user_id: int) -> list[TraderAccount]:
        return self._book.accounts_of(user_id)

    async def account(self, account_id: int) -> TraderAccount | None:
        return self._book.account(account_id)

    async def balance(self, account_id: int) -> Balance:
        return self._book.balance(account_id)

    async def symbols(self) -> list[Symbol]:
        return list(self._symbols)

    async def spots(self) -> list[Spot]:
        return self._feed.spots()

    # Trading state

    def depth(self, symbol_id: int) -> Depth:
        """A simulated book: DEPTH_LEVELS levels a point apart, more volume further out."""
        symbol = self._engine.symbol(symbol_id)
        spot = self._feed.spot(symbol_id)
        point = PRICE_SCALE // 10**symbol.digits
        levels = range(DEPTH_LEVELS)
        return Depth(
            symbol_id,
            bids=tuple((spot.bid - i * point, symbol.lot_size * (i + 1)) for i in levels),
            asks=tuple((spot.ask + i * point, symbol.lot_size * (i + 1)) for i in levels),
        )

    async def reconcile(self, account_id: int) -> tuple[list[Position], list[Order]]:
        return self._engine.open_positions(account_id), self._engine.working_orders(account_id)

    async def order_history(self, account_id: int) -> list[Order]:
        return self._engine.order_history(account_id)

    async def deals(self, account_id: int) -> list[Deal]:
        return self._engine.deals(account_id)

    def unrealized_pnl(self, account_id: int) -> int:
        """Open positions' P&L at current prices, in the account's money units."""
        return self._engine.unrealized_pnl(account_id)

    def position_pnl(self, position: Position, account: TraderAccount) -> int:
        return self._engine.position_pnl(position, account)

    def pip_value(self, symbol: Symbol, account: TraderAccount) -> float:
        return self._engine.pip_value(symbol, account)

    def equity(self, account_id: int) -> int:
        """Balance plus unrealised P&L, in the account's money units."""
        return self._book.balance(account_id).balance + self.unrealized_pnl(account_id)

    # Trading

    async def place_order(self, account_id: int, order: NewOrder) -> Order:
        return self._engine.place_order(account_id, order, self._clock())

    async def amend_order(
        self,
        account_id: int,
        order_id: int,
        *,
        volume: int,
        limit_price: float | None,
        stop_price: float | None,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> Order:
        return self._engine.amend_order(
            account_id,
            order_id,
            volume=volume,
            limit_price=limit_price,
            stop_price=stop_price,
            stop_loss=stop_loss,
            take_profit=take_profit,
            now_ms=self._clock(),
        )

    async def cancel_order(self, account_id: int, order_id: int) -> Order:
        return self._engine.cancel_order(account_id, order_id, self._clock())

    async def amend_position_protection(
        self,
        account_id: int,
        position_id: int,
        *,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> Position:
        return self._engine.amend_position_protection(
            account_id,
            position_id,
            stop_loss=stop_loss,
            take_profit=take_profit,
            now_ms=self._clock(),
        )

    async def close_position(self, account_id: int, position_id: int, volume: int) -> Order:
        return self._engine.close_position(account_id, position_id, volume, self._clock())

    # Demo CRM

    async def create_user(self, name: str) -> User:
        return self._book.create_user(name)

    async def create_account(
        self, broker_name: str, *, is_live: bool, deposit_currency: str, balance: int
    ) -> TraderAccount:
        return self._book.create_account(
            broker_name, is_live=is_live, deposit_currency=deposit_currency, balance=balance
        )

    async def link_account(self, account_id: int, user_id: int) -> TraderAccount:
        return self._book.link_account(account_id, user_id)
