"""The demo data set: users, accounts, symbols and starting prices, checked before any trading.

Every problem found at load time is reported with the entry it concerns, so a hand-edited
file fails with a sentence that points at the mistake instead of an error mid-trade.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from adapter_core.backend.model import (
    PRICE_SCALE,
    Symbol,
    SymbolCategory,
    TraderAccount,
    User,
)
from adapter_core.backend.simulated.conversion import find_path
from adapter_core.resources import resource_path

DEFAULT_PATH = resource_path("demo-backend.json")

T = TypeVar("T")

KIND_NAMES: dict[type, str] = {int: "an integer", str: "a string", bool: "true or false"}


class DatasetError(ValueError):
    """The demo data set is malformed; the message names the offending entry."""


@dataclass(frozen=True, slots=True)
class SymbolSeed:
    """A symbol with the price it starts at."""

    symbol: Symbol
    mid: int
    """Starting mid in 1/100000 of a price unit."""
    spread_points: int
    """Ask minus bid in points (10^-digits)."""


@dataclass(frozen=True, slots=True)
class DemoDataset:
    seed: int
    users: tuple[User, ...]
    accounts: tuple[TraderAccount, ...]
    balances: Mapping[int, int]
    """Starting balance per ctidTraderAccountId, in money units."""
    symbols: tuple[SymbolSeed, ...]

    @property
    def brokers(self) -> frozenset[str]:
        return frozenset(account.broker_name for account in self.accounts)


def load_demo_dataset(path: Path | None = None) -> DemoDataset:
    """Read and validate the data set; the packaged demo file unless `path` is given."""
    source = path or DEFAULT_PATH
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"Cannot read the demo data set {source}: {error}") from error
    return parse_dataset(raw)


def parse_dataset(raw: Any) -> DemoDataset:
    """Build model objects from decoded JSON, checking references and conversions."""
    if not isinstance(raw, dict):
        raise DatasetError("The demo data set must be a JSON object.")
    seed = _field(raw, "seed", int, "the data set")
    users = tuple(_entries(raw, "users", _user))
    accounts_and_balances = list(_entries(raw, "accounts", _account))
    symbols = tuple(_entries(raw, "symbols", _symbol))
    accounts = tuple(account for account, _ in accounts_and_balances)
    _check_unique("user", [user.user_id for user in users])
    _check_unique("account", [account.ctid_trader_account_id for account in accounts])
    _check_unique("symbol", [seed.symbol.symbol_id for seed in symbols])
    _check_unique("symbol name", [seed.symbol.name for seed in symbols])
    user_ids = {user.user_id for user in users}
    for account in accounts:
        if account.user_id is not None and account.user_id not in user_ids:
            raise DatasetError(
                f"Account {account.ctid_trader_account_id} is linked to unknown user "
                f"{account.user_id}."
            )
    _check_conversions(symbols, accounts)
    balances = {
        account.ctid_trader_account_id: balance for account, balance in accounts_and_balances
    }
    return DemoDataset(seed, users, accounts, balances, symbols)


def _entries(raw: dict[str, Any], key: str, build: Callable[[dict[str, Any]], T]) -> list[T]:
    items = raw.get(key)
    if not isinstance(items, list) or not items:
        raise DatasetError(f"The data set needs a non-empty list '{key}'.")
    result = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DatasetError(f"Entry {index} of '{key}' must be an object.")
        result.append(build(item))
    return result


def _field(item: dict[str, Any], key: str, kind: type[T], where: str) -> T:
    value = item.get(key)
    # bool is an int in Python; a flag in an integer field is still a mistake.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise DatasetError(f"{where}: '{key}' must be {KIND_NAMES[kind]}, not {value!r}.")
    return value


def _number(item: dict[str, Any], key: str, where: str) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise DatasetError(f"{where}: '{key}' must be a positive number, not {value!r}.")
    return float(value)


def _positive(item: dict[str, Any], key: str, where: str) -> int:
    value = _field(item, key, int, where)
    if value <= 0:
        raise DatasetError(f"{where}: '{key}' must be positive, not {value}.")
    return value


def _user(item: dict[str, Any]) -> User:
    where = f"User {item.get('userId')!r}"
    name = _field(item, "name", str, where)
    if not name.strip():
        raise DatasetError(f"{where}: 'name' must not be blank.")
    return User(_positive(item, "userId", where), name)


def _account(item: dict[str, Any]) -> tuple[TraderAccount, int]:
    where = f"Account {item.get('ctidTraderAccountId')!r}"
    user_id = item.get("userId")
    if user_id is not None:
        user_id = _positive(item, "userId", where)
    balance = _field(item, "balance", int, where)
    if balance < 0:
        raise DatasetError(f"{where}: 'balance' must not be negative.")
    account = TraderAccount(
        ctid_trader_account_id=_positive(item, "ctidTraderAccountId", where),
        trader_login=_positive(item, "traderLogin", where),
        broker_name=_field(item, "brokerName", str, where),
        is_live=_field(item, "isLive", bool, where),
        deposit_currency=_field(item, "depositCurrency", str, where),
        money_digits=_field(item, "moneyDigits", int, where),
        leverage_in_cents=_positive(item, "leverageInCents", where),
        user_id=user_id,
    )
    return account, balance


def _symbol(item: dict[str, Any]) -> SymbolSeed:
    where = f"Symbol {item.get('name', item.get('symbolId'))!r}"
    category_name = _field(item, "category", str, where)
    try:
        category = SymbolCategory(category_name)
    except ValueError:
        allowed = ", ".join(member.value for member in SymbolCategory)
        raise DatasetError(
            f"{where}: category {category_name!r} is not one of {allowed}."
        ) from None
    digits = _field(item, "digits", int, where)
    if not 0 <= digits <= 5:
        raise DatasetError(f"{where}: 'digits' must be between 0 and 5, not {digits}.")
    symbol = Symbol(
        symbol_id=_positive(item, "symbolId", where),
        name=_field(item, "name", str, where),
        description=_field(item, "description", str, where),
        category=category,
        base_asset=_field(item, "baseAsset", str, where),
        quote_asset=_field(item, "quoteAsset", str, where),
        digits=digits,
        pip_position=_field(item, "pipPosition", int, where),
        lot_size=_positive(item, "lotSize", where),
        min_volume=_positive(item, "minVolume", where),
        max_volume=_positive(item, "maxVolume", where),
        step_volume=_positive(item, "stepVolume", where),
        margin_rate=_number(item, "marginRate", where),
    )
    if symbol.min_volume > symbol.max_volume or symbol.min_volume % symbol.step_volume:
        raise DatasetError(
            f"{where}: 'minVolume' must not exceed 'maxVolume' and must be a multiple of "
            "'stepVolume'."
        )
    mid = round(_number(item, "mid", where) * PRICE_SCALE)
    spread = _positive(item, "spreadPoints", where)
    if spread * 10 ** (5 - digits) >= mid:
        raise DatasetError(f"{where}: the spread must be smaller than the price.")
    return SymbolSeed(symbol, mid, spread)


def _check_unique(kind: str, keys: list[int] | list[str]) -> None:
    seen: set[int | str] = set()
    for key in keys:
        if key in seen:
            raise DatasetError(f"The {kind} {key!r} appears more than once.")
        seen.add(key)


def _check_conversions(
    symbols: tuple[SymbolSeed, ...], accounts: tuple[TraderAccount, ...]
) -> None:
    """Every quote currency must convert into every deposit currency, or P&L cannot be booked."""
    plain = [seed.symbol for seed in symbols]
    for account in accounts:
        for symbol in plain:
            if find_path(plain, symbol.quote_asset, account.deposit_currency) is None:
                raise DatasetError(
                    f"Account {account.ctid_trader_account_id}: no forex symbol converts "
                    f"{symbol.name}'s {symbol.quote_asset} into {account.deposit_currency}."
                )
