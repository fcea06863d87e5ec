"""Trading through TradingView's Broker REST API on a real `tv-adapter serve --demo`.

The scripted client sends what the Trading Panel sends (form bodies, `locale`, Origin), and
every check is a TradingView semantic from the reference: order and bracket statuses, bracket
parents and ids, positions closing to quantity 0, executions, realised P&L in the balance,
accounts sealed between users, and business errors as HTTP 200 `s:error` sentences.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import TradingViewClient, mint

JSON = dict[str, Any]

ALEX = "137780091"
"""User 14601's live BESTBROKER account."""
ALEX_DEMO = "137792301"
"""User 14601's demo BESTBROKER account; only the realised-P&L test trades on it."""
PRIYA = "137780412"
"""User 14602's BESTBROKER account."""
SYMBOL = "EURUSD"
LOT_UNITS = 100_000
"""EURUSD units per lot; P&L per lot per 1.0 of price is this many USD (USD accounts)."""
FAR = 0.05
"""Five hundred EURUSD pips: no simulated tick gets near a price this far away."""
WAIT_TIMEOUT = 5.0
SENTENCE = re.compile(r"[A-Z][^\n]{8,}[.!?]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("trading") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


def _client(demo: AdapterProcess, locale: str = "en", **claims: Any) -> TradingViewClient:
    return TradingViewClient(demo.url, mint(demo.url, demo.broker_secret, **claims), locale)


@pytest.fixture
def alex(demo: AdapterProcess) -> Iterator[TradingViewClient]:
    client = _client(demo)
    yield client
    client.close()


@pytest.fixture
def priya(demo: AdapterProcess) -> Iterator[TradingViewClient]:
    client = _client(demo, userId=14602, brokerNames=["BESTBROKER"])
    yield client
    client.close()


# Helpers: what the Trading Panel does, one call each


def quote(client: TradingViewClient, account: str) -> tuple[float, float]:
    answer = client.ok("GET", "/quotes", params={"accountId": account, "symbols": SYMBOL})[0]
    assert answer["s"] == "ok", answer
    return float(answer["v"]["bid"]), float(answer["v"]["ask"])


def place(client: TradingViewClient, account: str, **fields: Any) -> str:
    """POST an order with the fields TradingView always adds (currentAsk/Bid, durationType)."""
    bid, ask = quote(client, account)
    form = {
        "instrument": SYMBOL,
        "qty": "0.1",
        "side": "buy",
        "currentAsk": ask,
        "currentBid": bid,
        "durationType": "GTC",
        **fields,
    }
    placed = client.ok("POST", f"/accounts/{account}/orders", form=form)
    order_id: str = placed["orderId"]
    assert isinstance(order_id, str)
    assert order_id
    return order_id


def place_far_limit(client: TradingViewClient, account: str, **fields: Any) -> tuple[str, float]:
    """A buy limit far below the market: it stays working for the whole module."""
    bid, _ = quote(client, account)
    limit = round(bid - FAR, 5)
    return place(client, account, type="limit", limitPrice=limit, **fields), limit


def orders(client: TradingViewClient, account: str) -> dict[str, JSON]:
    return {order["id"]: order for order in client.ok("GET", f"/accounts/{account}/orders")}


def positions(client: TradingViewClient, account: str) -> dict[str, JSON]:
    shown = client.ok("GET", f"/accounts/{account}/positions")
    return {position["id"]: position for position in shown}


def executions(client: TradingViewClient, account: str) -> list[JSON]:
    found: list[JSON] = client.ok(
        "GET", f"/accounts/{account}/executions", params={"instrument": SYMBOL}
    )
    return found


def balance(client: TradingViewClient, account: str) -> float:
    return float(client.ok("GET", f"/accounts/{account}/state")["balance"])


def wait_for(probe: Callable[[], JSON | None], what: str) -> JSON:
    """Poll `probe` until it returns something, for at most WAIT_TIMEOUT seconds."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {WAIT_TIMEOUT}s")
        time.sleep(0.1)


def open_position(client: TradingViewClient, account: str, **fields: Any) -> tuple[str, str]:
    """Place a market buy and wait for its fill; returns (order id, position id)."""
    order_id = place(client, account, type="market", **fields)

    def filled() -> JSON | None:
        order = orders(client, account).get(order_id)
        return order if order is not None and order["status"] == "filled" else None

    wait_for(filled, f"the fill of market order {order_id}")
    opening = [e for e in executions(client, account) if e["orderId"] == order_id]
    assert len(opening) == 1, opening
    assert opening[0]["isClose"] is False
    position_id: str = opening[0]["positionId"]
    assert position_id in positions(client, account)
    return order_id, position_id


def expect_error(response: httpx.Response) -> str:
    """A business refusal: HTTP 200, exactly `s:error` and a readable sentence."""
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"s", "errmsg"}, body
    assert body["s"] == "error", body
    message: str = body["errmsg"]
    assert SENTENCE.fullmatch(message), message
    for jargon in ("Traceback", "Exception", "Error:", "None", "KeyError"):
        assert jargon not in message, message
    return message


def children_of(shown: dict[str, JSON], parent_id: str) -> dict[str, JSON]:
    return {i: o for i, o in shown.items() if o.get("parentId") == parent_id}


# Orders


def test_a_far_limit_order_works_modifies_and_cancels(alex: TradingViewClient) -> None:
    order_id, limit = place_far_limit(alex, ALEX)
    order = orders(alex, ALEX)[order_id]
    assert order["status"] == "working"
    assert order["type"] == "limit"
    assert order["side"] == "buy"
    assert order["instrument"] == SYMBOL
    assert order["qty"] == pytest.approx(0.1)
    assert order["limitPrice"] == pytest.approx(limit)
    assert "parentId" not in order

    new_limit = round(limit - 0.001, 5)
    bid, ask = quote(alex, ALEX)
    modified = alex.call(
        "PUT",
        f"/accounts/{ALEX}/orders/{order_id}",
        form={
            "qty": "0.2",
            "limitPrice": new_limit,
            "currentAsk": ask,
            "currentBid": bid,
            "durationType": "GTC",
        },
    )
    assert modified.status_code == 200
    assert modified.json() == {"s": "ok"}
    order = orders(alex, ALEX)[order_id]
    assert order["status"] == "working"
    assert order["qty"] == pytest.approx(0.2)
    assert order["limitPrice"] == pytest.approx(new_limit)

    cancelled = alex.call("DELETE", f"/accounts/{ALEX}/orders/{order_id}")
    assert cancelled.status_code == 200
    assert cancelled.json() == {"s": "ok"}
    order = orders(alex, ALEX)[order_id]  # final orders stay in /orders for at least 60 s
    assert order["status"] == "cancelled"
    assert order["qty"] == pytest.approx(0.2)
    history = {o["id"]: o for o in alex.ok("GET", f"/accounts/{ALEX}/ordersHistory")}
    assert history[order_id]["status"] == "cancelled"
    assert all(o["status"] in {"filled", "cancelled", "rejected"} for o in history.values())


def test_a_modification_needs_qty(alex: TradingViewClient) -> None:
    order_id, limit = place_far_limit(alex, ALEX)
    try:
        message = expect_error(
            alex.call("PUT", f"/accounts/{ALEX}/orders/{order_id}", form={"limitPrice": limit})
        )
        assert "qty" in message
        assert orders(alex, ALEX)[order_id]["qty"] == pytest.approx(0.1)
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/orders/{order_id}")


def test_an_order_with_brackets_shows_two_inactive_children(alex: TradingViewClient) -> None:
    bid, _ = quote(alex, ALEX)
    limit = round(bid - FAR, 5)
    stop_loss, take_profit = round(limit - 0.01, 5), round(limit + 0.01, 5)
    order_id = place(
        alex, ALEX, type="limit", limitPrice=limit, stopLoss=stop_loss, takeProfit=take_profit
    )
    try:
        shown = orders(alex, ALEX)
        assert shown[order_id]["status"] == "working"
        children = children_of(shown, order_id)
        assert len(children) == 2, children
        for child in children.values():
            assert child["parentType"] == "order"
            assert child["status"] == "inactive"
            assert child["side"] == "sell"
            assert child["qty"] == pytest.approx(0.1)
            assert child["instrument"] == SYMBOL
        by_type = {child["type"]: child for child in children.values()}
        assert set(by_type) == {"stop", "limit"}
        assert by_type["stop"]["stopPrice"] == pytest.approx(stop_loss)
        assert by_type["limit"]["limitPrice"] == pytest.approx(take_profit)
        assert by_type["stop"]["id"] == f"{order_id}-sl"
        assert by_type["limit"]["id"] == f"{order_id}-tp"
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/orders/{order_id}")


def test_a_bracket_removed_by_modification_is_reported_cancelled(
    alex: TradingViewClient,
) -> None:
    """Reference §2.4 PUT: "the removed bracket must then appear as cancelled in /orders"."""
    bid, _ = quote(alex, ALEX)
    limit = round(bid - FAR, 5)
    stop_loss, take_profit = round(limit - 0.01, 5), round(limit + 0.01, 5)
    order_id = place(
        alex, ALEX, type="limit", limitPrice=limit, stopLoss=stop_loss, takeProfit=take_profit
    )
    try:
        alex.ok(
            "PUT",
            f"/accounts/{ALEX}/orders/{order_id}",
            form={"qty": "0.1", "limitPrice": limit, "stopLoss": stop_loss},
        )
        shown = orders(alex, ALEX)
        assert shown[f"{order_id}-sl"]["status"] == "inactive"
        assert f"{order_id}-tp" in shown, "the removed take-profit vanished from /orders"
        assert shown[f"{order_id}-tp"]["status"] == "cancelled"
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/orders/{order_id}")


def test_cancelling_a_parent_reports_its_brackets_cancelled(alex: TradingViewClient) -> None:
    """Reference §4: cancelling the parent cancels the children; final orders stay ≥ 60 s."""
    bid, _ = quote(alex, ALEX)
    limit = round(bid - FAR, 5)
    order_id = place(
        alex,
        ALEX,
        type="limit",
        limitPrice=limit,
        stopLoss=round(limit - 0.01, 5),
        takeProfit=round(limit + 0.01, 5),
    )
    alex.ok("DELETE", f"/accounts/{ALEX}/orders/{order_id}")
    shown = orders(alex, ALEX)
    assert shown[order_id]["status"] == "cancelled"
    children = children_of(shown, order_id)
    assert set(children) == {f"{order_id}-sl", f"{order_id}-tp"}, "brackets vanished"
    assert {child["status"] for child in children.values()} == {"cancelled"}


# Positions


def test_market_brackets_move_onto_the_position_with_stable_ids(
    alex: TradingViewClient,
) -> None:
    bid, ask = quote(alex, ALEX)
    stop_loss, take_profit = round(bid - FAR, 5), round(ask + FAR, 5)
    order_id, position_id = open_position(alex, ALEX, stopLoss=stop_loss, takeProfit=take_profit)
    try:
        for _ in range(2):  # the same answer on every poll: TradingView diffs them
            shown = orders(alex, ALEX)
            sl, tp = shown[f"{order_id}-sl"], shown[f"{order_id}-tp"]
            for child in (sl, tp):
                assert child["status"] == "working"
                assert child["parentType"] == "position"
                assert child["parentId"] == position_id
                assert child["side"] == "sell"
                assert child["qty"] == pytest.approx(0.1)
            assert sl["type"] == "stop"
            assert sl["stopPrice"] == pytest.approx(stop_loss)
            assert tp["type"] == "limit"
            assert tp["limitPrice"] == pytest.approx(take_profit)
            assert not children_of(shown, order_id), "brackets still hang off the filled order"
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}")


def test_bracket_ids_are_the_same_for_a_session_opened_later(
    demo: AdapterProcess, alex: TradingViewClient
) -> None:
    """A refreshed token (or a second browser) must see the same bracket ids (§4 diffing)."""
    bid, ask = quote(alex, ALEX)
    order_id, position_id = open_position(
        alex, ALEX, stopLoss=round(bid - FAR, 5), takeProfit=round(ask + FAR, 5)
    )
    later = _client(demo)
    try:
        seen_first = set(children_of(orders(alex, ALEX), position_id))
        seen_later = set(children_of(orders(later, ALEX), position_id))
        assert seen_first == {f"{order_id}-sl", f"{order_id}-tp"}
        assert seen_later == seen_first
    finally:
        later.close()
        alex.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}")


def test_position_bracket_then_close_books_the_realised_pnl(alex: TradingViewClient) -> None:
    _, position_id = open_position(alex, ALEX_DEMO)
    bid, _ = quote(alex, ALEX_DEMO)
    stop_loss = round(bid - FAR, 5)
    answer = alex.call(
        "PUT", f"/accounts/{ALEX_DEMO}/positions/{position_id}", form={"stopLoss": stop_loss}
    )
    assert answer.json() == {"s": "ok"}
    brackets = children_of(orders(alex, ALEX_DEMO), position_id)
    assert len(brackets) == 1, brackets
    (bracket,) = brackets.values()
    assert bracket["id"] == f"p{position_id}-sl"
    assert bracket["parentType"] == "position"
    assert bracket["status"] == "working"
    assert bracket["type"] == "stop"
    assert bracket["stopPrice"] == pytest.approx(stop_loss)
    assert bracket["side"] == "sell"
    assert bracket["qty"] == pytest.approx(0.1)

    before = balance(alex, ALEX_DEMO)
    closed = alex.call("DELETE", f"/accounts/{ALEX_DEMO}/positions/{position_id}")
    assert closed.status_code == 200
    assert closed.json() == {"s": "ok"}
    after = balance(alex, ALEX_DEMO)

    position = positions(alex, ALEX_DEMO).get(position_id)
    assert position is None or position["qty"] == 0, position
    still = children_of(orders(alex, ALEX_DEMO), position_id)
    assert all(child["status"] != "working" for child in still.values()), still
    deals = [e for e in executions(alex, ALEX_DEMO) if e["positionId"] == position_id]
    opening = [e for e in deals if not e["isClose"]]
    closing = [e for e in deals if e["isClose"]]
    assert len(opening) == 1
    assert len(closing) == 1, deals
    assert closing[0]["side"] == "sell"
    assert closing[0]["qty"] == pytest.approx(0.1)
    assert closing[0]["instrument"] == SYMBOL
    realised = (closing[0]["price"] - opening[0]["price"]) * 0.1 * LOT_UNITS
    assert after - before == pytest.approx(realised, abs=0.011)
    state = alex.ok("GET", f"/accounts/{ALEX_DEMO}/state")
    assert state["equity"] == pytest.approx(state["balance"] + state["unrealizedPl"])


def test_closing_a_position_reports_its_brackets_cancelled(alex: TradingViewClient) -> None:
    """Reference §4: "closing a position cancels its brackets (report them `cancelled`)"."""
    bid, ask = quote(alex, ALEX)
    order_id, position_id = open_position(
        alex, ALEX, stopLoss=round(bid - FAR, 5), takeProfit=round(ask + FAR, 5)
    )
    alex.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}")
    shown = orders(alex, ALEX)
    for bracket_id in (f"{order_id}-sl", f"{order_id}-tp"):
        assert bracket_id in shown, f"{bracket_id} vanished from /orders"
        assert shown[bracket_id]["status"] == "cancelled"


def _open_with_tight_brackets(client: TradingViewClient, account: str) -> tuple[str, str]:
    """A market buy with SL and TP two points either side of the bid: a few ticks hit one.

    The bid can move between the quote and the placement, making a level invalid; then the
    adapter refuses the order and we try again with a fresh quote.
    """
    for _ in range(3):
        bid, ask = quote(client, account)
        form = {
            "instrument": SYMBOL,
            "qty": "0.1",
            "side": "buy",
            "type": "market",
            "stopLoss": round(bid - 0.00002, 5),
            "takeProfit": round(bid + 0.00002, 5),
            "currentAsk": ask,
            "currentBid": bid,
        }
        body = client.call("POST", f"/accounts/{account}/orders", form=form).json()
        if body["s"] == "ok":
            order_id: str = body["d"]["orderId"]
            opening = [e for e in executions(client, account) if e["orderId"] == order_id]
            assert len(opening) == 1, opening
            return order_id, opening[0]["positionId"]
    pytest.fail(f"no bracketed market order was accepted: {body}")


def _closed_by_a_bracket(client: TradingViewClient, account: str) -> tuple[str, str]:
    """A position opened with tight brackets, waited for until one of them closes it."""
    order_id, position_id = _open_with_tight_brackets(client, account)

    def closed() -> JSON | None:
        position = positions(client, account).get(position_id, {"qty": 0})
        return position if position["qty"] == 0 else None

    try:
        wait_for(closed, f"a bracket of position {position_id} triggering")
    finally:
        if positions(client, account).get(position_id, {"qty": 0})["qty"]:
            client.ok("DELETE", f"/accounts/{account}/positions/{position_id}")
    return order_id, position_id


def test_a_triggered_bracket_is_filled_and_its_sibling_cancelled(
    alex: TradingViewClient,
) -> None:
    """Reference §4: OCO between SL and TP; final orders stay in /orders at least 60 s."""
    order_id, position_id = _closed_by_a_bracket(alex, ALEX)
    closing = [e for e in executions(alex, ALEX) if e["positionId"] == position_id]
    assert [e["isClose"] for e in closing] == [False, True]
    shown = orders(alex, ALEX)
    sl, tp = shown.get(f"{order_id}-sl"), shown.get(f"{order_id}-tp")
    assert sl is not None, "the stop-loss vanished from /orders"
    assert tp is not None, "the take-profit vanished from /orders"
    assert {sl["status"], tp["status"]} == {"filled", "cancelled"}
    filled = sl if sl["status"] == "filled" else tp
    assert isinstance(filled["avgPrice"], float)  # TradingView: "provided for filled orders"
    assert filled["filledQty"] == filled["qty"]
    assert "avgPrice" not in (tp if filled is sl else sl)


def test_a_bracket_child_is_moved_and_cancelled_by_its_own_id(alex: TradingViewClient) -> None:
    bid, _ = quote(alex, ALEX)
    order_id, position_id = open_position(
        alex, ALEX, stopLoss=round(bid - FAR, 5), takeProfit=round(bid + FAR, 5)
    )
    moved = round(bid - FAR / 2, 5)
    answer = alex.call("PUT", f"/accounts/{ALEX}/orders/{order_id}-sl", form={"stopPrice": moved})
    assert answer.json() == {"s": "ok"}
    assert alex.call("DELETE", f"/accounts/{ALEX}/orders/{order_id}-tp").json() == {"s": "ok"}
    shown = orders(alex, ALEX)
    assert shown[f"{order_id}-sl"]["stopPrice"] == pytest.approx(moved)
    assert shown[f"{order_id}-sl"]["status"] == "working"
    assert shown[f"{order_id}-tp"]["status"] == "cancelled"
    again = expect_error(alex.call("DELETE", f"/accounts/{ALEX}/orders/{order_id}-tp"))
    assert "no longer working" in again
    alex.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}")


def test_a_bracket_added_again_is_a_new_order_and_the_cancelled_one_stays_cancelled(
    alex: TradingViewClient,
) -> None:
    """TradingView: a status only goes from transitional to final, and ids are unique."""
    bid, _ = quote(alex, ALEX)
    limit = round(bid - FAR, 5)
    take_profit = round(limit + 0.01, 5)
    order_id = place(alex, ALEX, type="limit", limitPrice=limit, takeProfit=take_profit)
    try:
        path = f"/accounts/{ALEX}/orders/{order_id}"
        alex.ok("PUT", path, form={"qty": "0.1", "limitPrice": limit})
        alex.ok("PUT", path, form={"qty": "0.1", "limitPrice": limit, "takeProfit": take_profit})
        shown = orders(alex, ALEX)
        assert shown[f"{order_id}-tp"]["status"] == "cancelled"
        children = children_of(shown, order_id)
        live = [i for i, child in children.items() if child["status"] == "inactive"]
        assert len(live) == 1, children
        assert live[0] != f"{order_id}-tp", children
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/orders/{order_id}")


def test_a_position_bracket_added_again_never_revives_the_cancelled_one(
    alex: TradingViewClient,
) -> None:
    _, ask = quote(alex, ALEX)
    order_id, position_id = open_position(alex, ALEX, takeProfit=round(ask + FAR, 5))
    try:
        alex.ok("DELETE", f"/accounts/{ALEX}/orders/{order_id}-tp")
        alex.ok(
            "PUT",
            f"/accounts/{ALEX}/positions/{position_id}",
            form={"takeProfit": round(ask + FAR / 2, 5)},
        )
        shown = orders(alex, ALEX)
        assert shown[f"{order_id}-tp"]["status"] == "cancelled"
        working = {
            i for i, o in children_of(shown, position_id).items() if o["status"] == "working"
        }
        assert len(working) == 1, shown
        assert f"{order_id}-tp" not in working, shown
        moved = round(ask + FAR / 3, 5)
        (again,) = working
        alex.ok("PUT", f"/accounts/{ALEX}/orders/{again}", form={"limitPrice": moved})
        assert orders(alex, ALEX)[again]["limitPrice"] == pytest.approx(moved)
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}")
    shown = orders(alex, ALEX)
    assert shown[f"{order_id}-tp"]["status"] == "cancelled"
    assert shown[again]["status"] == "cancelled"


def test_a_second_login_sees_the_orders_positions_and_brackets_of_the_first(
    demo: AdapterProcess, alex: TradingViewClient
) -> None:
    """TradingView: /orders is every order of the trading session, whichever login asks."""
    order_id, position_id = _closed_by_a_bracket(alex, ALEX)
    later = _client(demo)
    try:
        assert orders(later, ALEX) == orders(alex, ALEX)
        assert positions(later, ALEX)[position_id]["qty"] == 0
        history = {o["id"] for o in later.ok("GET", f"/accounts/{ALEX}/ordersHistory")}
        assert {order_id, f"{order_id}-sl", f"{order_id}-tp"} <= history
        assert executions(later, ALEX) == executions(alex, ALEX)
    finally:
        later.close()


def test_partial_close_with_amount(alex: TradingViewClient) -> None:
    _, position_id = open_position(alex, ALEX)
    try:
        alex.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}", form={"amount": "0.05"})
        position = positions(alex, ALEX)[position_id]
        assert position["qty"] == pytest.approx(0.05)
        assert position["side"] == "buy"
        closing = [
            e for e in executions(alex, ALEX) if e["positionId"] == position_id and e["isClose"]
        ]
        assert len(closing) == 1
        assert closing[0]["qty"] == pytest.approx(0.05)
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}")
    assert positions(alex, ALEX).get(position_id, {"qty": 0})["qty"] == 0


# Accounts are sealed between users


def _refused_everywhere(
    intruder: TradingViewClient,
    own_account: str,
    victim_account: str,
    victim_order: str,
    victim_position: str,
) -> None:
    on_victim = f"/accounts/{victim_account}"
    on_own = f"/accounts/{own_account}"
    limit_form = {"qty": "0.3", "limitPrice": "0.5"}
    calls: list[tuple[str, str, JSON | None, JSON | None]] = [
        ("GET", f"{on_victim}/instruments", None, None),
        ("GET", f"{on_victim}/state", None, None),
        ("GET", f"{on_victim}/orders", None, None),
        ("GET", f"{on_victim}/positions", None, None),
        ("GET", f"{on_victim}/ordersHistory", None, None),
        ("GET", f"{on_victim}/executions", {"instrument": SYMBOL}, None),
        (
            "POST",
            f"{on_victim}/orders",
            None,
            {"instrument": SYMBOL, "qty": "0.01", "side": "buy", "type": "market"},
        ),
        ("PUT", f"{on_victim}/orders/{victim_order}", None, limit_form),
        ("DELETE", f"{on_victim}/orders/{victim_order}", None, None),
        ("PUT", f"{on_victim}/positions/{victim_position}", None, {"stopLoss": "0.5"}),
        ("DELETE", f"{on_victim}/positions/{victim_position}", None, None),
        ("DELETE", f"{on_victim}/positions/{victim_position}", None, {"amount": "0.01"}),
        # The victim's order and position ids under the intruder's own account id.
        ("PUT", f"{on_own}/orders/{victim_order}", None, limit_form),
        ("DELETE", f"{on_own}/orders/{victim_order}", None, None),
        ("PUT", f"{on_own}/positions/{victim_position}", None, {"stopLoss": "0.5"}),
        ("DELETE", f"{on_own}/positions/{victim_position}", None, None),
    ]
    for method, path, params, form in calls:
        response = intruder.call(method, path, params=params, form=form)
        message = expect_error(response)
        assert victim_account not in message or victim_account in path, (path, message)
        assert "balance" not in message.lower(), (path, message)


def test_swapped_tokens_are_refused_on_every_account_endpoint(
    alex: TradingViewClient, priya: TradingViewClient
) -> None:
    assert ALEX in alex.account_ids()
    assert PRIYA in priya.account_ids()
    assert PRIYA not in alex.account_ids()
    assert ALEX not in priya.account_ids()
    alex_order, alex_limit = place_far_limit(alex, ALEX)
    _, alex_position = open_position(alex, ALEX)
    priya_order, priya_limit = place_far_limit(priya, PRIYA)
    _, priya_position = open_position(priya, PRIYA)
    before = {
        ALEX: (orders(alex, ALEX), positions(alex, ALEX), balance(alex, ALEX)),
        PRIYA: (orders(priya, PRIYA), positions(priya, PRIYA), balance(priya, PRIYA)),
    }
    try:
        _refused_everywhere(priya, PRIYA, ALEX, alex_order, alex_position)
        _refused_everywhere(alex, ALEX, PRIYA, priya_order, priya_position)
        for client, account, order_id, limit, position_id in (
            (alex, ALEX, alex_order, alex_limit, alex_position),
            (priya, PRIYA, priya_order, priya_limit, priya_position),
        ):
            shown = orders(client, account)
            assert set(shown) == set(before[account][0]), "an intruder placed an order"
            assert shown[order_id]["status"] == "working"
            assert shown[order_id]["qty"] == pytest.approx(0.1)
            assert shown[order_id]["limitPrice"] == pytest.approx(limit)
            held = positions(client, account)
            assert held[position_id]["qty"] == pytest.approx(0.1)
            assert not children_of(shown, position_id), "an intruder set a bracket"
            assert balance(client, account) == before[account][2]
    finally:
        alex.ok("DELETE", f"/accounts/{ALEX}/orders/{alex_order}")
        alex.ok("DELETE", f"/accounts/{ALEX}/positions/{alex_position}")
        priya.ok("DELETE", f"/accounts/{PRIYA}/orders/{priya_order}")
        priya.ok("DELETE", f"/accounts/{PRIYA}/positions/{priya_position}")


# Business errors and tolerated fields


def test_business_errors_are_http_200_sentences(alex: TradingViewClient) -> None:
    path = f"/accounts/{ALEX}"
    market = {"instrument": SYMBOL, "side": "buy", "type": "market"}

    message = expect_error(alex.call("POST", f"{path}/orders", form={**market, "qty": "0.001"}))
    assert "minimum" in message
    message = expect_error(
        alex.call("POST", f"{path}/orders", form={**market, "qty": "0.1", "instrument": "NOPE"})
    )
    assert "NOPE" in message

    order_id, limit = place_far_limit(alex, ALEX)
    alex.ok("DELETE", f"{path}/orders/{order_id}")
    expect_error(
        alex.call("PUT", f"{path}/orders/{order_id}", form={"qty": "0.1", "limitPrice": limit})
    )
    expect_error(alex.call("DELETE", f"{path}/orders/{order_id}"))
    expect_error(alex.call("DELETE", f"{path}/orders/abc"))
    expect_error(alex.call("PUT", f"{path}/orders/abc", form={"qty": "0.1"}))

    _, position_id = open_position(alex, ALEX)
    alex.ok("DELETE", f"{path}/positions/{position_id}")
    expect_error(alex.call("DELETE", f"{path}/positions/{position_id}"))
    expect_error(alex.call("PUT", f"{path}/positions/{position_id}", form={"stopLoss": "0.5"}))
    expect_error(alex.call("DELETE", f"{path}/positions/abc"))
    expect_error(alex.call("GET", f"{path}/executions"))


@pytest.mark.parametrize("locale", ["en", "de_DE", "zh_TW", "ar_AE"])
def test_locale_and_extra_fields_are_accepted_everywhere(demo: AdapterProcess, locale: str) -> None:
    client = _client(demo, locale)
    try:
        client.ok("GET", "/config")
        assert ALEX in client.account_ids()
        for endpoint in ("instruments", "state", "orders", "positions", "ordersHistory"):
            client.ok("GET", f"/accounts/{ALEX}/{endpoint}")
        executions(client, ALEX)
        quote(client, ALEX)
        order_id, limit = place_far_limit(client, ALEX)  # adds currentAsk/Bid, durationType
        bid, ask = quote(client, ALEX)
        extra = {"currentAsk": ask, "currentBid": bid, "durationType": "GTC"}
        client.ok(
            "PUT",
            f"/accounts/{ALEX}/orders/{order_id}",
            form={"qty": "0.2", "limitPrice": limit, **extra},
        )
        assert orders(client, ALEX)[order_id]["qty"] == pytest.approx(0.2)
        client.ok("DELETE", f"/accounts/{ALEX}/orders/{order_id}")
        _, position_id = open_position(client, ALEX)
        client.ok(
            "PUT",
            f"/accounts/{ALEX}/positions/{position_id}",
            form={"stopLoss": round(bid - FAR, 5), **extra},
        )
        client.ok("DELETE", f"/accounts/{ALEX}/positions/{position_id}", form=extra)
    finally:
        client.close()
