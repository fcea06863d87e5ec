"""TradingView's Broker REST API on a real `tv-adapter serve --demo`, used as TradingView does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import TradingViewClient, mint

ACCOUNT = "137780091"
FILL_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("demo") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


@pytest.fixture
def trader(demo: AdapterProcess) -> Iterator[TradingViewClient]:
    client = TradingViewClient(demo.url, mint(demo.url, demo.broker_secret))
    yield client
    client.close()


def test_a_token_sees_exactly_the_accounts_it_grants(demo: AdapterProcess) -> None:
    def accounts(**claims: object) -> set[str]:
        client = TradingViewClient(demo.url, mint(demo.url, demo.broker_secret, **claims))
        try:
            return client.account_ids()
        finally:
            client.close()

    assert accounts() == {"137780091", "137792301"}
    assert accounts(brokerNames=["BESTBROKER", "BESTBROKER-EU"]) == {
        "137780091",
        "137792301",
        "137800001",
    }
    assert accounts(ctidTraderAccountIds=[137780091]) == {"137780091"}


def test_accounts_carry_is_verified_from_the_token_and_honest_flags(demo: AdapterProcess) -> None:
    client = TradingViewClient(demo.url, mint(demo.url, demo.broker_secret, isVerified=False))
    try:
        account = client.ok("GET", "/accounts")[0]
    finally:
        client.close()
    assert account["isVerified"] is False
    assert account["config"]["supportLogout"] is True
    assert account["type"] in {"live", "demo"}


def test_config_instruments_state_and_quotes(trader: TradingViewClient) -> None:
    config = trader.ok("GET", "/config")
    assert config["pullingInterval"]["orders"] <= 1000
    instruments = trader.ok("GET", f"/accounts/{ACCOUNT}/instruments")
    names = {instrument["name"] for instrument in instruments}
    assert {"EURUSD", "XAUUSD", "BTCUSD"} <= names
    state = trader.ok("GET", f"/accounts/{ACCOUNT}/state")
    assert state["balance"] > 0
    assert state["equity"] == pytest.approx(state["balance"] + state["unrealizedPl"])
    quotes = trader.ok("GET", "/quotes", params={"accountId": ACCOUNT, "symbols": "EURUSD,NOPE"})
    assert quotes[0]["s"] == "ok"
    assert quotes[0]["v"]["bid"] < quotes[0]["v"]["ask"]
    assert quotes[1] == {"s": "error", "n": "NOPE", "v": {}, "errmsg": "Unknown symbol."}


def _place_market(trader: TradingViewClient, request_id: str) -> str:
    quote = trader.ok("GET", "/quotes", params={"accountId": ACCOUNT, "symbols": "EURUSD"})[0]
    placed = trader.ok(
        "POST",
        f"/accounts/{ACCOUNT}/orders",
        params={"requestId": request_id},
        form={
            "instrument": "EURUSD",
            "qty": "0.1",
            "side": "buy",
            "type": "market",
            "currentAsk": quote["v"]["ask"],
            "currentBid": quote["v"]["bid"],
        },
    )
    order_id: str = placed["orderId"]
    return order_id


def test_a_market_order_fills_and_shows_everywhere(trader: TradingViewClient) -> None:
    order_id = _place_market(trader, "req-fill-1")
    deadline = time.monotonic() + FILL_TIMEOUT
    while True:
        orders = {o["id"]: o for o in trader.ok("GET", f"/accounts/{ACCOUNT}/orders")}
        if orders.get(order_id, {}).get("status") == "filled" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert orders[order_id]["status"] == "filled"
    assert orders[order_id]["qty"] == pytest.approx(0.1)
    positions = trader.ok("GET", f"/accounts/{ACCOUNT}/positions")
    assert any(p["instrument"] == "EURUSD" and p["qty"] == pytest.approx(0.1) for p in positions)
    executions = trader.ok(
        "GET", f"/accounts/{ACCOUNT}/executions", params={"instrument": "EURUSD"}
    )
    assert any(e["orderId"] == order_id and e["isClose"] is False for e in executions)


def test_request_id_makes_placement_idempotent(trader: TradingViewClient) -> None:
    assert _place_market(trader, "req-once") == _place_market(trader, "req-once")


def test_bad_orders_are_refused_in_words(trader: TradingViewClient) -> None:
    path = f"/accounts/{ACCOUNT}/orders"
    for form, words in [
        ({"instrument": "EURUSD", "side": "buy", "type": "market"}, "qty"),
        ({"instrument": "NOPE", "qty": "1", "side": "buy", "type": "market"}, "NOPE"),
        ({"instrument": "EURUSD", "qty": "1", "side": "up", "type": "market"}, "side"),
        ({"instrument": "EURUSD", "qty": "-1", "side": "buy", "type": "market"}, "qty"),
        ({"instrument": "EURUSD", "qty": "1", "side": "buy", "type": "limit"}, "limitPrice"),
    ]:
        response = trader.call("POST", path, form=form)
        assert response.status_code == 200
        body = response.json()
        assert body["s"] == "error", (form, body)
        assert words in body["errmsg"], (form, body)


def test_another_users_account_is_refused(demo: AdapterProcess) -> None:
    other = mint(demo.url, demo.broker_secret, userId=14602, brokerNames=["BESTBROKER"])
    client = TradingViewClient(demo.url, other)
    try:
        mine = client.account_ids()
        assert ACCOUNT not in mine
        response = client.call("GET", f"/accounts/{ACCOUNT}/orders")
        assert response.json()["s"] == "error"
        assert ACCOUNT not in response.text or "not available" in response.json()["errmsg"]
    finally:
        client.close()


def test_after_logout_every_endpoint_answers_401(demo: AdapterProcess) -> None:
    token = mint(demo.url, demo.broker_secret)
    client = TradingViewClient(demo.url, token)
    try:
        client.ok("GET", f"/accounts/{ACCOUNT}/orders")
        assert client.call("POST", "/logout").json() == {"s": "ok"}
        for method, path in [
            ("GET", "/config"),
            ("GET", "/accounts"),
            ("GET", f"/accounts/{ACCOUNT}/instruments"),
            ("GET", f"/accounts/{ACCOUNT}/state"),
            ("GET", f"/accounts/{ACCOUNT}/orders"),
            ("GET", f"/accounts/{ACCOUNT}/positions"),
            ("GET", f"/accounts/{ACCOUNT}/ordersHistory"),
            ("GET", "/quotes"),
        ]:
            response = client.call(method, path)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["s"] == "error"
    finally:
        client.close()


def test_depth_is_sorted_ascending_around_the_quote(trader: TradingViewClient) -> None:
    book = trader.ok("GET", "/depth", params={"accountId": ACCOUNT, "symbol": "XAUUSD"})
    bids = [level[0] for level in book["bids"]]
    asks = [level[0] for level in book["asks"]]
    assert bids == sorted(bids)
    assert asks == sorted(asks)
    assert max(bids) < min(asks)
    assert all(volume > 0 for _, volume in book["bids"] + book["asks"])
    unknown = trader.call("GET", "/depth", params={"accountId": ACCOUNT, "symbol": "NOPE"})
    assert unknown.json()["s"] == "error"


@pytest.mark.parametrize("account", ["١٣٧٧٨٠٠٩١", "¹", "0137780091x", "9" * 40])
def test_account_ids_are_plain_ascii_digits(trader: TradingViewClient, account: str) -> None:
    response = trader.call("GET", f"/accounts/{account}/state")
    assert response.status_code == 200
    assert response.json() == {
        "s": "error",
        "errmsg": "This account is not available to your login.",
    }
