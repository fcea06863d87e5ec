"""The demo data set holds what the demo scenarios rely on, and bad files fail clearly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from adapter_core.backend.model import SymbolCategory
from adapter_core.backend.simulated import DatasetError, load_demo_dataset
from adapter_core.backend.simulated.dataset import DEFAULT_PATH, parse_dataset


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def test_user_14601_has_accounts_under_both_brokers() -> None:
    dataset = load_demo_dataset()
    brokers = {
        a.ctid_trader_account_id: a.broker_name for a in dataset.accounts if a.user_id == 14601
    }
    assert brokers == {
        137780091: "BESTBROKER",
        137792301: "BESTBROKER",
        137800001: "BESTBROKER-EU",
    }
    assert dataset.brokers == {"BESTBROKER", "BESTBROKER-EU"}


def test_other_users_mix_live_and_demo_accounts_under_both_brokers() -> None:
    dataset = load_demo_dataset()
    others = [a for a in dataset.accounts if a.user_id not in (14601, None)]
    assert len({a.user_id for a in others}) >= 2
    assert {a.broker_name for a in others} == {"BESTBROKER", "BESTBROKER-EU"}
    assert {a.is_live for a in others} == {True, False}
    assert any(a.user_id is None for a in dataset.accounts)


def test_deposit_currencies_are_usd_except_one_eur_account() -> None:
    currencies = [a.deposit_currency for a in load_demo_dataset().accounts]
    assert currencies.count("EUR") == 1
    assert set(currencies) == {"USD", "EUR"}


def test_symbols_cover_majors_metal_index_and_crypto() -> None:
    symbols = {seed.symbol.name: seed.symbol for seed in load_demo_dataset().symbols}
    assert {"EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCHF", "XAUUSD", "BTCUSD"} <= set(symbols)
    assert {"US500", "GER40"} & set(symbols)
    assert {s.category for s in symbols.values()} == set(SymbolCategory)
    assert symbols["EURUSD"].lot_size == 10_000_000


def test_seed_and_balances_are_loaded() -> None:
    dataset = load_demo_dataset()
    assert dataset.seed == 20240611
    assert dataset.balances[137780091] == 1_000_000


def test_bad_category_names_the_symbol(raw: dict[str, Any]) -> None:
    raw["symbols"][0]["category"] = "bond"
    with pytest.raises(DatasetError, match=r"Symbol 'EURUSD': category 'bond'"):
        parse_dataset(raw)


def test_missing_field_names_the_account(raw: dict[str, Any]) -> None:
    del raw["accounts"][1]["traderLogin"]
    with pytest.raises(
        DatasetError, match=r"Account 137792301: 'traderLogin' must be an integer, not None"
    ):
        parse_dataset(raw)


def test_link_to_unknown_user_is_refused(raw: dict[str, Any]) -> None:
    raw["accounts"][0]["userId"] = 99
    with pytest.raises(DatasetError, match="linked to unknown user 99"):
        parse_dataset(raw)


def test_missing_conversion_path_fails_at_load(raw: dict[str, Any]) -> None:
    raw["accounts"][0]["depositCurrency"] = "SEK"
    with pytest.raises(DatasetError, match="no forex symbol converts EURUSD's USD into SEK"):
        parse_dataset(raw)


def test_duplicate_account_is_refused(raw: dict[str, Any]) -> None:
    raw["accounts"].append(raw["accounts"][0])
    with pytest.raises(DatasetError, match="account 137780091 appears more than once"):
        parse_dataset(raw)


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(DatasetError, match="Cannot read the demo data set"):
        load_demo_dataset(path)
