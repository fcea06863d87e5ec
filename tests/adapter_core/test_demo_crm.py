"""The demo CRM over HTTP: the source document's cases A, B and C, then TradingView sees it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import TradingViewClient, mint


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("crm") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


@pytest.fixture
def crm(demo: AdapterProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {demo.broker_secret}"}
    with httpx.Client(base_url=demo.url, headers=headers, timeout=10) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    return body["d"]


def accounts_seen(demo: AdapterProcess, user_id: int, brokers: list[str]) -> set[str]:
    client = TradingViewClient(
        demo.url, mint(demo.url, demo.broker_secret, userId=user_id, brokerNames=brokers)
    )
    try:
        response = client.call("GET", "/accounts").json()
        return {a["id"] for a in response["d"]} if response["s"] == "ok" else set()
    finally:
        client.close()


def test_case_a_new_user_new_account_linked(demo: AdapterProcess, crm: httpx.Client) -> None:
    user = ok(crm.post("/demo/users", json={"name": "Dana Ilić"}))
    account = ok(
        crm.post(
            "/demo/accounts",
            json={"brokerName": "BESTBROKER", "isLive": False, "balance": 2500},
        )
    )
    assert account["userId"] is None
    assert accounts_seen(demo, user["userId"], ["BESTBROKER"]) == set()
    linked = ok(
        crm.post(
            f"/demo/accounts/{account['ctidTraderAccountId']}/link", json={"userId": user["userId"]}
        )
    )
    assert linked["userId"] == user["userId"]
    assert accounts_seen(demo, user["userId"], ["BESTBROKER"]) == {
        str(account["ctidTraderAccountId"])
    }
    client = TradingViewClient(demo.url, mint(demo.url, demo.broker_secret, userId=user["userId"]))
    try:
        state = client.ok("GET", f"/accounts/{account['ctidTraderAccountId']}/state")
    finally:
        client.close()
    assert state["balance"] == 2500


def test_case_b_existing_user_gets_another_account(demo: AdapterProcess, crm: httpx.Client) -> None:
    before = accounts_seen(demo, 14602, ["BESTBROKER", "BESTBROKER-EU"])
    account = ok(crm.post("/demo/accounts", json={"brokerName": "BESTBROKER-EU"}))
    ok(crm.post(f"/demo/accounts/{account['ctidTraderAccountId']}/link", json={"userId": 14602}))
    after = accounts_seen(demo, 14602, ["BESTBROKER", "BESTBROKER-EU"])
    assert after == before | {str(account["ctidTraderAccountId"])}
    listed = ok(crm.get("/demo/users/14602/accounts"))
    assert account["ctidTraderAccountId"] in {a["ctidTraderAccountId"] for a in listed}


def test_case_c_linked_accounts_cannot_be_taken_by_another_user(crm: httpx.Client) -> None:
    response = crm.post("/demo/accounts/137780091/link", json={"userId": 14602})
    assert response.status_code == 409
    assert response.json()["s"] == "error"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/demo/users", {}, 400),
        ("/demo/users", {"name": 7}, 400),
        ("/demo/accounts", {"brokerName": "NOBROKER"}, 409),
        ("/demo/accounts", {"brokerName": "BESTBROKER", "balance": -1}, 400),
        ("/demo/accounts", {"brokerName": "BESTBROKER", "isLive": "yes"}, 400),
        ("/demo/accounts/137790777/link", {"userId": 99999999}, 409),
        ("/demo/accounts/abc/link", {"userId": 14601}, 400),
    ],
)
def test_bad_crm_requests_are_refused_in_words(
    crm: httpx.Client, path: str, body: dict[str, Any], status: int
) -> None:
    response = crm.post(path, json=body)
    assert response.status_code == status
    assert response.json()["errmsg"]


def test_the_crm_needs_the_broker_secret(demo: AdapterProcess) -> None:
    response = httpx.post(f"{demo.url}/demo/users", json={"name": "x"}, timeout=10)
    assert response.status_code == 401


def test_without_demo_there_is_no_crm(tmp_path: Path) -> None:
    with AdapterProcess(tmp_path / "data") as plain:
        response = httpx.post(
            f"{plain.url}/demo/users",
            json={"name": "x"},
            headers={"Authorization": f"Bearer {plain.broker_secret}"},
            timeout=10,
        )
    assert response.status_code == 404
