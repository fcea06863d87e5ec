"""Stricter input for TradingView's forms: ASCII decimal numbers, exact enums, bounded requestIds.

Python's float() reads `1_0` as ten, `١٠` (Arabic-Indic) and `１` (fullwidth) as numbers; a
trailing space on `buy` used to be stripped away. An order must be what the trader typed, and a
session's idempotency memory must stay small whatever a client sends as requestId.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter_core.tradingview.forms import Form, FormError, request_id
from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import TradingViewClient, mint

ACCOUNT = "137792301"
"""User 14601's demo BESTBROKER account."""


@pytest.mark.parametrize("text", ["1_0", "١٠", "１", " 1", "1 ", "inf", "nan", "1e", "+1", "0x1"])
def test_a_number_is_ascii_decimal_only(text: str) -> None:
    with pytest.raises(FormError, match="digits 0-9"):
        Form([("qty", text)]).number("qty")


@pytest.mark.parametrize(
    ("text", "value"), [("10", 10.0), ("0.01", 0.01), (".5", 0.5), ("1e2", 100.0)]
)
def test_plain_decimals_are_read(text: str, value: float) -> None:
    assert Form([("qty", text)]).number("qty") == value


@pytest.mark.parametrize("text", ["buy ", " buy", "BUY", "buy\t"])
def test_an_enum_is_exact(text: str) -> None:
    with pytest.raises(FormError, match="must be one of"):
        Form([("side", text)]).choice("side", {"buy": 1, "sell": 2})


def test_a_request_id_is_short_and_plain() -> None:
    assert request_id("a1B2-c3_d4.e5:f6") == "a1B2-c3_d4.e5:f6"
    assert request_id(None) is None
    assert request_id("") is None
    for bad in ("x" * 65, "has space", "ünïcode", "a/b"):
        with pytest.raises(FormError, match="requestId must be"):
            request_id(bad)


@pytest.fixture(scope="module")
def trader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TradingViewClient]:
    data_dir: Path = tmp_path_factory.mktemp("strict") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        client = TradingViewClient(process.url, mint(process.url, process.broker_secret))
        yield client
        client.close()


def _order(
    trader: TradingViewClient, qty: str, side: str = "buy", rid: str | None = None
) -> dict[str, object]:
    params = {"requestId": rid} if rid is not None else None
    form = {"instrument": "EURUSD", "qty": qty, "side": side, "type": "market"}
    response = trader.call("POST", f"/accounts/{ACCOUNT}/orders", params=params, form=form)
    assert response.status_code == 200
    answer: dict[str, object] = response.json()
    return answer


@pytest.mark.parametrize("qty", ["1_0", "١", "１"])
def test_the_adapter_refuses_numbers_that_are_not_ascii_decimals(
    trader: TradingViewClient, qty: str
) -> None:
    before = trader.ok("GET", f"/accounts/{ACCOUNT}/orders")
    answer = _order(trader, qty)
    assert answer["s"] == "error"
    assert "digits 0-9" in str(answer["errmsg"])
    assert trader.ok("GET", f"/accounts/{ACCOUNT}/orders") == before


def test_the_adapter_refuses_a_side_with_a_space(trader: TradingViewClient) -> None:
    answer = _order(trader, "0.01", side="buy ")
    assert answer["s"] == "error"
    assert "side must be one of" in str(answer["errmsg"])


def test_the_adapter_refuses_a_long_request_id_and_keeps_a_normal_one(
    trader: TradingViewClient,
) -> None:
    refused = _order(trader, "0.01", rid="r" * 1_000)
    assert refused["s"] == "error"
    assert "requestId must be" in str(refused["errmsg"])
    first = _order(trader, "0.01", rid="same-request-1")
    again = _order(trader, "0.01", rid="same-request-1")
    assert first["s"] == "ok"
    assert again == first  # the same order, not a second one


def test_closing_a_position_that_never_existed_says_so(trader: TradingViewClient) -> None:
    response = trader.call("DELETE", f"/accounts/{ACCOUNT}/positions/999999999")
    assert response.json() == {"s": "error", "errmsg": "There is no such position."}


def test_a_pip_is_the_minimum_tick_except_for_forex_and_its_value_follows(
    trader: TradingViewClient,
) -> None:
    instruments = {i["name"]: i for i in trader.ok("GET", f"/accounts/{ACCOUNT}/instruments")}
    for instrument in instruments.values():
        if instrument["type"] != "forex":
            assert instrument["pipSize"] == instrument["minTick"], instrument["name"]
    gold, euro = instruments["XAUUSD"], instruments["EURUSD"]
    assert gold["pipSize"] == 0.01
    assert euro["pipSize"] == 0.0001  # forex: the pip, ten ticks of 0.00001
    # one lot of gold moving one pip (0.01 USD an ounce) on 100 ounces: 1 USD on a USD account
    assert gold["pipValue"] == pytest.approx(1.0)


def test_an_order_with_a_duration_config_does_not_offer_is_refused(
    trader: TradingViewClient,
) -> None:
    form = {"instrument": "EURUSD", "qty": "0.01", "side": "buy", "type": "market"}
    refused = trader.call(
        "POST", f"/accounts/{ACCOUNT}/orders", form=form | {"durationType": "XYZ"}
    ).json()
    assert refused == {"s": "error", "errmsg": "durationType must be one of GTC."}
    accepted = trader.call(
        "POST", f"/accounts/{ACCOUNT}/orders", form=form | {"durationType": "GTC"}
    ).json()
    assert accepted["s"] == "ok"


def test_a_stop_on_the_wrong_side_of_the_market_is_refused(trader: TradingViewClient) -> None:
    quotes = trader.ok("GET", "/quotes", params={"accountId": ACCOUNT, "symbols": "EURUSD"})
    bid, ask = quotes[0]["v"]["bid"], quotes[0]["v"]["ask"]
    form = {"instrument": "EURUSD", "qty": "0.01", "type": "stop"}
    below = trader.call(
        "POST",
        f"/accounts/{ACCOUNT}/orders",
        form=form | {"side": "buy", "stopPrice": str(round(bid * 0.9, 5))},
    ).json()
    assert below["s"] == "error"
    assert "A buy stop must be above the market price" in below["errmsg"]
    above = trader.call(
        "POST",
        f"/accounts/{ACCOUNT}/orders",
        form=form | {"side": "sell", "stopPrice": str(round(ask * 1.1, 5))},
    ).json()
    assert above["s"] == "error"
    assert "A sell stop must be below the market price" in above["errmsg"]
    waiting = trader.ok(
        "POST",
        f"/accounts/{ACCOUNT}/orders",
        form=form | {"side": "buy", "stopPrice": str(round(ask * 1.1, 5))},
    )
    order_id = waiting["orderId"]
    status = {o["id"]: o["status"] for o in trader.ok("GET", f"/accounts/{ACCOUNT}/orders")}
    assert status[order_id] == "working"  # a stop on the right side waits
    trader.ok("DELETE", f"/accounts/{ACCOUNT}/orders/{order_id}")
