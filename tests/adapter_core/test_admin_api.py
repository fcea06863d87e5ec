"""The admin API on a real `tv-adapter serve --demo`: sessions, operator logout, events, CORS."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import TradingViewClient, mint

ACCOUNT = "137780091"
EXTRA_ORIGIN = "https://tv.example-broker.com"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("admin") / "data"
    with AdapterProcess(data_dir, ["--demo", "--cors-origin", EXTRA_ORIGIN]) as process:
        yield process


@pytest.fixture
def admin(demo: AdapterProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {demo.broker_secret}"}
    with httpx.Client(base_url=demo.url, headers=headers, timeout=10) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert body["s"] == "ok", body
    return body.get("d")


def token_id_of(admin: httpx.Client, token: str) -> str:
    found = ok(admin.post("/admin/tokens/introspect", json={"token": token}))
    assert found["valid"] is True
    token_id: str = found["token"]["tokenId"]
    return token_id


def test_admin_needs_the_broker_secret(demo: AdapterProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-secret-wrong-secret"}):
        response = httpx.get(f"{demo.url}/admin/sessions", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["s"] == "error"


def test_info_reports_version_capabilities_and_counts(admin: httpx.Client) -> None:
    info = ok(admin.get("/admin/info"))
    assert {"tradingview", "admin", "events", "demo-crm"} <= set(info["capabilities"])
    assert info["uptimeSeconds"] >= 0
    assert "traderSessions" in info["counts"]


def test_a_used_token_is_listed_with_its_trader_sessions(
    demo: AdapterProcess, admin: httpx.Client
) -> None:
    token = mint(demo.url, demo.broker_secret, userId=14602, brokerNames=["BESTBROKER"])
    token_id = token_id_of(admin, token)
    assert ok(admin.get(f"/admin/sessions/{token_id}"))["state"] == "issued"
    client = TradingViewClient(demo.url, token)
    try:
        account = next(iter(client.account_ids()))
        client.ok("GET", f"/accounts/{account}/orders")
        client.ok("GET", f"/accounts/{account}/positions")
    finally:
        client.close()
    listing = ok(admin.get("/admin/sessions", params={"userId": 14602, "state": "active"}))
    rows = {row["tokenId"]: row for row in listing["rows"]}
    row = rows[token_id]
    assert row["state"] == "active"
    assert row["requestCount"] == 2
    [trader] = row["traderSessions"]
    assert str(trader["accountId"]) == account
    assert trader["userAgent"] == "tradingview-scripted-client/1"
    assert set(trader["cached"]) == {"positions", "orders", "orderHistory", "deals"}
    detail = ok(admin.get(f"/admin/sessions/{token_id}"))
    assert detail["traderSessions"][0]["orders"] == []


def test_filters_and_paging(demo: AdapterProcess, admin: httpx.Client) -> None:
    ids = [
        token_id_of(admin, mint(demo.url, demo.broker_secret, userId=14603, brokerNames=[b]))
        for b in ("BESTBROKER", "BESTBROKER-EU", "BESTBROKER")
    ]
    by_user = ok(admin.get("/admin/sessions", params={"userId": 14603, "limit": 500}))
    assert set(ids) <= {row["tokenId"] for row in by_user["rows"]}
    eu = ok(admin.get("/admin/sessions", params={"userId": 14603, "broker": "BESTBROKER-EU"}))
    assert ids[1] in {row["tokenId"] for row in eu["rows"]}
    assert all("BESTBROKER-EU" in row["brokerNames"] for row in eu["rows"])
    prefixed = ok(admin.get("/admin/sessions", params={"tokenIdPrefix": ids[2][:12]}))
    assert [row["tokenId"] for row in prefixed["rows"]] == [ids[2]]
    first = ok(admin.get("/admin/sessions", params={"limit": 2, "sort": "issuedAt"}))
    second = ok(admin.get("/admin/sessions", params={"limit": 2, "offset": 2}))
    assert first["total"] == second["total"] >= 3
    assert not {r["tokenId"] for r in first["rows"]} & {r["tokenId"] for r in second["rows"]}
    listed = ok(admin.get("/admin/sessions", params={"account": 137780091, "limit": 500}))
    for row in listed["rows"]:
        listed_ids = row["ctidTraderAccountIds"]
        assert (listed_ids and 137780091 in listed_ids) or any(
            s["accountId"] == 137780091 for s in row["traderSessions"]
        )


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"state": "sleeping"}, "state"),
        ({"sort": "colour"}, "sort"),
        ({"limit": "10000"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"tokenIdPrefix": "xyz"}, "tokenIdPrefix"),
        ({"order": "up"}, "order"),
    ],
)
def test_bad_listing_parameters_are_named(
    admin: httpx.Client, params: dict[str, str], named: str
) -> None:
    response = admin.get("/admin/sessions", params=params)
    assert response.status_code == 400
    assert named in response.json()["errmsg"]


def test_operator_logout_ends_the_sessions_and_the_token(
    demo: AdapterProcess, admin: httpx.Client
) -> None:
    token = mint(demo.url, demo.broker_secret)
    client = TradingViewClient(demo.url, token)
    try:
        client.ok("GET", f"/accounts/{ACCOUNT}/state")
        token_id = token_id_of(admin, token)
        done = ok(admin.post(f"/admin/sessions/{token_id}/logout"))
        assert done == {"tokenId": token_id, "state": "revoked", "sessionsClosed": 1}
        assert client.call("GET", f"/accounts/{ACCOUNT}/state").status_code == 401
        assert client.call("POST", "/logout").json()["s"] == "error"
    finally:
        client.close()
    row = ok(admin.get(f"/admin/sessions/{token_id}"))
    assert row["state"] == "revoked"
    [closed] = row["traderSessions"]
    assert closed["closedAt"] >= closed["lastActivity"]
    assert closed["accountId"] == int(ACCOUNT)
    assert closed["clientAddress"] == "127.0.0.1"
    assert closed["cached"] == {"positions": 0, "orders": 0, "orderHistory": 0, "deals": 0}
    assert "orders" not in closed  # the caches are gone: only what the session did stays
    assert row["requestCount"] == 1
    assert admin.post(f"/admin/sessions/{token_id}/logout").status_code == 409
    assert admin.post(f"/admin/sessions/{'0' * 32}/logout").status_code == 404


def test_tradingview_logout_clears_the_trader_sessions(
    demo: AdapterProcess, admin: httpx.Client
) -> None:
    token = mint(demo.url, demo.broker_secret)
    client = TradingViewClient(demo.url, token)
    try:
        client.ok("GET", f"/accounts/{ACCOUNT}/orders")
        token_id = token_id_of(admin, token)
        assert len(ok(admin.get(f"/admin/sessions/{token_id}"))["traderSessions"]) == 1
        assert client.call("POST", "/logout").json() == {"s": "ok"}
    finally:
        client.close()
    row = ok(admin.get(f"/admin/sessions/{token_id}"))
    assert row["state"] == "revoked"
    assert [session.get("closedAt") is not None for session in row["traderSessions"]] == [True]
    assert row["requestCount"] >= 1
    listed = ok(admin.get("/admin/sessions", params={"tokenIds": token_id}))["rows"]
    assert listed[0]["requestCount"] == row["requestCount"]


def test_introspection_of_garbage_and_of_a_tampered_token(
    demo: AdapterProcess, admin: httpx.Client
) -> None:
    assert ok(admin.post("/admin/tokens/introspect", json={"token": "garbage"}))["valid"] is False
    token = mint(demo.url, demo.broker_secret)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BA")
    assert ok(admin.post("/admin/tokens/introspect", json={"token": tampered}))["valid"] is False
    response = admin.post("/admin/tokens/introspect", json={"nottoken": 1})
    assert response.status_code == 400


def _read_events(url: str, secret: str, wanted: int, found: list[dict[str, Any]]) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.stream("GET", f"{url}/admin/events", headers=headers, timeout=10) as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                found.append({"kind": kind, "data": json.loads(line[6:])})
                if len(found) >= wanted:
                    return


def test_events_stream_issue_session_and_logout(demo: AdapterProcess) -> None:
    found: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=_read_events, args=(demo.url, demo.broker_secret, 6, found), daemon=True
    )
    reader.start()
    deadline = time.monotonic() + 5
    while not found and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found[0]["kind"] == "hello"
    token = mint(demo.url, demo.broker_secret)
    client = TradingViewClient(demo.url, token)
    try:
        client.ok("GET", f"/accounts/{ACCOUNT}/orders")
        client.call("POST", "/logout")
    finally:
        client.close()
    reader.join(10)
    kinds = [event["kind"] for event in found]
    assert kinds[1:] == [
        "token.issued",
        "session.opened",
        "session.activity",
        "session.closed",
        "token.logged_out",
    ], kinds
    assert len({event["data"]["tokenId"] for event in found[1:]}) == 1
    assert token not in json.dumps(found)


@pytest.mark.parametrize("origin", ["https://www.tradingview.com", "https://de.tradingview.com"])
def test_cors_for_tradingview_origins(demo: AdapterProcess, origin: str) -> None:
    preflight = httpx.options(
        f"{demo.url}/accounts/{ACCOUNT}/orders",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert int(preflight.headers["access-control-max-age"]) >= 600
    refused = httpx.get(f"{demo.url}/accounts", headers={"Origin": origin}, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (EXTRA_ORIGIN, True),
        ("https://evil.example", False),
        ("https://tradingview.com.evil.example", False),
        ("http://www.tradingview.com", False),
    ],
)
def test_cors_for_other_origins(demo: AdapterProcess, origin: str, allowed: bool) -> None:
    response = httpx.get(f"{demo.url}/accounts", headers={"Origin": origin}, timeout=10)
    assert ("access-control-allow-origin" in response.headers) is allowed


def test_sorting_by_last_activity_puts_the_latest_session_first(
    demo: AdapterProcess, admin: httpx.Client
) -> None:
    used = []
    for _ in range(2):
        token = mint(demo.url, demo.broker_secret)
        client = TradingViewClient(demo.url, token)
        try:
            client.ok("GET", f"/accounts/{ACCOUNT}/orders")
        finally:
            client.close()
        used.append(token_id_of(admin, token))
    unused = token_id_of(admin, mint(demo.url, demo.broker_secret))
    listing = ok(admin.get("/admin/sessions", params={"sort": "lastActivity", "limit": 500}))
    order = [row["tokenId"] for row in listing["rows"]]
    assert order.index(used[1]) < order.index(used[0]) < order.index(unused)
    page = ok(admin.get("/admin/sessions", params={"sort": "lastActivity", "limit": 1}))
    assert page["rows"][0]["lastActivity"] is not None
    assert page["total"] == listing["total"]


def test_listing_exactly_the_given_token_ids(demo: AdapterProcess, admin: httpx.Client) -> None:
    ids = [token_id_of(admin, mint(demo.url, demo.broker_secret)) for _ in range(3)]
    listing = ok(admin.get("/admin/sessions", params={"tokenIds": ",".join(ids[:2])}))
    assert {row["tokenId"] for row in listing["rows"]} == set(ids[:2])
    assert listing["total"] == 2
    issued = ok(admin.get("/admin/sessions", params={"tokenIds": ids[2], "state": "active"}))
    assert issued["rows"] == []
    bad = admin.get("/admin/sessions", params={"tokenIds": "nothex"})
    assert bad.status_code == 400
    assert "tokenIds" in bad.json()["errmsg"]


def test_q_finds_a_token_by_the_account_of_its_open_trader_session(
    demo: AdapterProcess, admin: httpx.Client
) -> None:
    """No token here lists 137781005 or belongs to a user whose id starts with its digits."""
    used = mint(demo.url, demo.broker_secret, userId=14603)
    unused = token_id_of(admin, mint(demo.url, demo.broker_secret, userId=14603))
    client = TradingViewClient(demo.url, used)
    try:
        client.ok("GET", "/accounts/137781005/orders")
    finally:
        client.close()
    listing = ok(admin.get("/admin/sessions", params={"q": "1377810"}))
    assert [row["tokenId"] for row in listing["rows"]] == [token_id_of(admin, used)]
    assert unused not in {row["tokenId"] for row in listing["rows"]}
    active = ok(admin.get("/admin/sessions", params={"q": "1377810", "state": "active"}))
    assert active["total"] == 1


def test_a_reconnection_with_last_event_id_resumes(demo: AdapterProcess) -> None:
    headers = {"Authorization": f"Bearer {demo.broker_secret}"}

    def first_events(extra: dict[str, str], wanted: int) -> list[tuple[str, str, str]]:
        """(id, event, data) of the first `wanted` events of one stream."""
        found: list[tuple[str, str, str]] = []
        event_id = kind = ""
        with httpx.stream(
            "GET", f"{demo.url}/admin/events", headers=headers | extra, timeout=10
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    found.append((event_id, kind, line[6:]))
                    event_id = ""
                    if len(found) >= wanted:
                        return found
        return found

    seen: list[tuple[str, str, str]] = []
    reader = threading.Thread(target=lambda: seen.extend(first_events({}, 2)), daemon=True)
    reader.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        info = httpx.get(f"{demo.url}/admin/info", headers=headers, timeout=10).json()["d"]
        if info["counts"]["eventSubscribers"]:
            break
        time.sleep(0.05)
    mint(demo.url, demo.broker_secret)
    reader.join(10)
    (_, hello, _), (last_id, kind, _) = seen
    assert (hello, kind) == ("hello", "token.issued")
    missed = mint(demo.url, demo.broker_secret)
    resumed = first_events({"Last-Event-ID": last_id}, 2)
    assert resumed[0][1] == "hello"
    assert json.loads(resumed[0][2])["resumed"] is True
    assert resumed[1][1] == "token.issued"
    assert int(resumed[1][0]) == int(last_id) + 1
    assert missed not in json.dumps(resumed)
    fresh = first_events({"Last-Event-ID": "not-a-number"}, 1)
    assert json.loads(fresh[0][2])["resumed"] is False
