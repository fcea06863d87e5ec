"""The demo CRM: new cTIDs, new accounts and links, as the onboarding cases need them.

Case A: a new person gets a cTID, an account and a link. Case B: an existing cTID gets a new
account under a second broker. Case C: everything is already linked, so the backend only
reports the accounts, and refuses to hand one of them to another cTID.
"""

from __future__ import annotations

import pytest

from adapter_core.backend.model import NewOrder, OrderStatus, OrderType, TradeSide
from adapter_core.backend.port import BackendError
from adapter_core.backend.simulated import SimulatedBackend

pytestmark = pytest.mark.anyio


async def test_case_a_new_user_with_a_first_account(backend: SimulatedBackend) -> None:
    user = await backend.create_user("  Dana Kovacs ")
    assert user.name == "Dana Kovacs"
    assert user.user_id > 14603
    assert await backend.user(user.user_id) == user
    account = await backend.create_account(
        "BESTBROKER", is_live=False, deposit_currency="USD", balance=250_000
    )
    assert account.user_id is None
    assert (account.broker_name, account.is_live, account.money_digits) == ("BESTBROKER", False, 2)
    assert (await backend.balance(account.ctid_trader_account_id)).balance == 250_000
    assert await backend.accounts_of(user.user_id) == []
    linked = await backend.link_account(account.ctid_trader_account_id, user.user_id)
    assert linked.user_id == user.user_id
    assert await backend.accounts_of(user.user_id) == [linked]
    assert await backend.account(account.ctid_trader_account_id) == linked


async def test_case_b_existing_user_adds_a_broker(backend: SimulatedBackend) -> None:
    account = await backend.create_account(
        "BESTBROKER-EU", is_live=True, deposit_currency="EUR", balance=0
    )
    await backend.link_account(account.ctid_trader_account_id, 14602)
    brokers = {a.broker_name for a in await backend.accounts_of(14602)}
    assert brokers == {"BESTBROKER", "BESTBROKER-EU"}


async def test_case_c_linked_accounts_stay_with_their_user(backend: SimulatedBackend) -> None:
    linked = {a.ctid_trader_account_id for a in await backend.accounts_of(14601)}
    assert linked == {137780091, 137792301, 137800001}
    with pytest.raises(BackendError, match="already linked to another cTID"):
        await backend.link_account(137780091, 14602)
    assert (await backend.link_account(137780091, 14601)).user_id == 14601
    unlinked = await backend.link_account(137790777, 14603)
    assert unlinked in await backend.accounts_of(14603)


async def test_new_ids_never_repeat(backend: SimulatedBackend) -> None:
    users = [await backend.create_user(f"User {n}") for n in range(3)]
    accounts = [
        await backend.create_account("BESTBROKER", is_live=False, deposit_currency="USD", balance=0)
        for _ in range(3)
    ]
    assert len({u.user_id for u in users}) == 3
    assert len({a.ctid_trader_account_id for a in accounts}) == 3
    assert len({a.trader_login for a in accounts}) == 3


async def test_refusals(backend: SimulatedBackend) -> None:
    with pytest.raises(BackendError, match="The broker 'OTHERBROKER' is not one of BESTBROKER, "):
        await backend.create_account(
            "OTHERBROKER", is_live=False, deposit_currency="USD", balance=0
        )
    with pytest.raises(BackendError, match="cannot be opened in 'SEK'"):
        await backend.create_account("BESTBROKER", is_live=False, deposit_currency="SEK", balance=0)
    with pytest.raises(BackendError, match="negative balance"):
        await backend.create_account(
            "BESTBROKER", is_live=False, deposit_currency="USD", balance=-1
        )
    with pytest.raises(BackendError, match="needs a name"):
        await backend.create_user(" ")
    with pytest.raises(BackendError, match="Trading account 1 does not exist"):
        await backend.link_account(1, 14601)
    with pytest.raises(BackendError, match="The cTID 1 does not exist"):
        await backend.link_account(137790777, 1)


async def test_lookups_of_unknown_ids(backend: SimulatedBackend) -> None:
    assert await backend.user(1) is None
    assert await backend.account(1) is None
    assert await backend.accounts_of(1) == []
    with pytest.raises(BackendError):
        await backend.balance(1)


async def test_new_account_can_trade_in_eur(backend: SimulatedBackend) -> None:
    account = await backend.create_account(
        "BESTBROKER", is_live=False, deposit_currency="EUR", balance=100_000
    )
    order = await backend.place_order(
        account.ctid_trader_account_id, NewOrder(10, TradeSide.BUY, 100, OrderType.MARKET)
    )
    assert order.status is OrderStatus.FILLED
