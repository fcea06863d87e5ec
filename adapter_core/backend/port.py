"""The port every trading backend implements: cTrader's Open API reduced to what the adapter needs.

Calls are async because a real backend is a network service. Changes are pushed to listeners
as events, the way cTrader's ExecutionEvent and SpotEvent arrive, so the adapter's trader
sessions can keep their caches current without polling the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from adapter_core.backend.model import (
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
from adapter_core.refusals import Refusal


class BackendError(Refusal):
    """The backend refused an operation; the message is a sentence a trader can read.

    A `Refusal`, so a TradingView route answers it as a business error without catching it.
    """


@dataclass(frozen=True, slots=True)
class ExecutionEvent:
    """Something happened to an account's orders, positions or balance."""

    ctid_trader_account_id: int
    order: Order | None = None
    position: Position | None = None
    deal: Deal | None = None
    balance: Balance | None = None


@dataclass(frozen=True, slots=True)
class SpotEvent:
    spots: Sequence[Spot]


BackendEvent = ExecutionEvent | SpotEvent
EventListener = Callable[[BackendEvent], None]


class TradingBackend(Protocol):
    async def start(self) -> None:
        """Begin producing prices and events."""

    async def stop(self) -> None: ...

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        """Call `listener` for every event from now on; returns the unsubscribe function."""

    async def user(self, user_id: int) -> User | None: ...

    async def accounts_of(self, user_id: int) -> list[TraderAccount]:
        """Every account linked to the cTID, under any broker."""

    async def account(self, account_id: int) -> TraderAccount | None: ...

    async def balance(self, account_id: int) -> Balance: ...

    async def symbols(self) -> list[Symbol]:
        """The symbols every account trades (one server, one symbol list)."""

    async def spots(self) -> list[Spot]:
        """The latest price of every symbol: one price stream shared by every account."""

    def depth(self, symbol_id: int) -> Depth:
        """The order book of a symbol as the backend last saw it (no round trip)."""

    async def reconcile(self, account_id: int) -> tuple[list[Position], list[Order]]:
        """Open positions and working (accepted) orders of the account."""

    async def order_history(self, account_id: int) -> list[Order]:
        """Orders that reached a final status, oldest first."""

    async def deals(self, account_id: int) -> list[Deal]:
        """Executed deals, oldest first."""

    async def place_order(self, account_id: int, order: NewOrder) -> Order: ...

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
    ) -> Order: ...

    async def cancel_order(self, account_id: int, order_id: int) -> Order: ...

    async def amend_position_protection(
        self,
        account_id: int,
        position_id: int,
        *,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> Position: ...

    async def close_position(self, account_id: int, position_id: int, volume: int) -> Order:
        """Close all or part of a position with a market order; returns that order."""

    async def create_user(self, name: str) -> User:
        """Demo CRM: register a cTID (source document, case A)."""

    async def create_account(
        self, broker_name: str, *, is_live: bool, deposit_currency: str, balance: int
    ) -> TraderAccount:
        """Demo CRM: open an account under a broker, not yet linked (cases A and B).

        `balance` is in hundredths of the deposit currency: new accounts have two money digits.
        """

    async def link_account(self, account_id: int, user_id: int) -> TraderAccount:
        """Demo CRM: link an account to a cTID so TradingView tokens can reach it."""

    def position_pnl(self, position: Position, account: TraderAccount) -> int:
        """Unrealised P&L of an open position at the latest prices, in account money units.

        Synchronous: computed from prices the backend already holds, never a round trip.
        """

    def pip_value(self, symbol: Symbol, account: TraderAccount) -> float:
        """What one pip on one lot is worth in the account's deposit currency, now."""
