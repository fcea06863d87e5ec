"""cTIDs, trader accounts and balances, plus the demo CRM that creates and links them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from adapter_core.backend.model import Balance, TraderAccount, User
from adapter_core.backend.port import BackendError
from adapter_core.backend.simulated.dataset import DemoDataset

NEW_ACCOUNT_LEVERAGE_IN_CENTS = 10_000
"""1:100, a common retail default for accounts opened through the demo CRM."""

NEW_ACCOUNT_MONEY_DIGITS = 2


class AccountBook:
    def __init__(self, dataset: DemoDataset, can_deposit_in: Callable[[str], bool]) -> None:
        self._users = {user.user_id: user for user in dataset.users}
        self._accounts = {a.ctid_trader_account_id: a for a in dataset.accounts}
        self._balances = dict(dataset.balances)
        self._brokers = dataset.brokers
        self._can_deposit_in = can_deposit_in
        self._next_user_id = max(self._users) + 1
        self._next_account_id = max(self._accounts) + 1
        self._next_login = max(a.trader_login for a in dataset.accounts) + 1

    def user(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def account(self, account_id: int) -> TraderAccount | None:
        return self._accounts.get(account_id)

    def require(self, account_id: int) -> TraderAccount:
        account = self._accounts.get(account_id)
        if account is None:
            raise BackendError(f"Trading account {account_id} does not exist.")
        return account

    def accounts_of(self, user_id: int) -> list[TraderAccount]:
        return [a for a in self._accounts.values() if a.user_id == user_id]

    def balance(self, account_id: int) -> Balance:
        account = self.require(account_id)
        return Balance(account_id, self._balances[account_id], account.money_digits)

    def book_profit(self, account_id: int, amount: int) -> Balance:
        """Add realised P&L (negative for a loss) to the balance."""
        self.require(account_id)
        self._balances[account_id] += amount
        return self.balance(account_id)

    def create_user(self, name: str) -> User:
        if not name.strip():
            raise BackendError("A cTID needs a name.")
        user = User(self._next_user_id, name.strip())
        self._users[user.user_id] = user
        self._next_user_id += 1
        return user

    def create_account(
        self, broker_name: str, *, is_live: bool, deposit_currency: str, balance: int
    ) -> TraderAccount:
        if broker_name not in self._brokers:
            known = ", ".join(sorted(self._brokers))
            raise BackendError(f"The broker {broker_name!r} is not one of {known}.")
        if not self._can_deposit_in(deposit_currency):
            raise BackendError(f"Accounts cannot be opened in {deposit_currency!r} here.")
        if balance < 0:
            raise BackendError("An account cannot open with a negative balance.")
        account = TraderAccount(
            ctid_trader_account_id=self._next_account_id,
            trader_login=self._next_login,
            broker_name=broker_name,
            is_live=is_live,
            deposit_currency=deposit_currency,
            money_digits=NEW_ACCOUNT_MONEY_DIGITS,
            leverage_in_cents=NEW_ACCOUNT_LEVERAGE_IN_CENTS,
            user_id=None,
        )
        self._accounts[account.ctid_trader_account_id] = account
        self._balances[account.ctid_trader_account_id] = balance
        self._next_account_id += 1
        self._next_login += 1
        return account

    def link_account(self, account_id: int, user_id: int) -> TraderAccount:
        """Link once; linking again to the same cTID is harmless, to another one is refused."""
        account = self.require(account_id)
        if user_id not in self._users:
            raise BackendError(f"The cTID {user_id} does not exist.")
        if account.user_id is not None and account.user_id != user_id:
            raise BackendError(f"Trading account {account_id} is already linked to another cTID.")
        linked = dataclasses.replace(account, user_id=user_id)
        self._accounts[account_id] = linked
        return linked
