"""Every instance's trader sessions in every instance's admin API, and /admin/info's store.

In process: the listing's filters (state, account, search, sort by last activity) over this
instance's sessions and another instance's published ones, and what one instance publishes
is what the others read back. Then two real `tv-adapter serve --store redis://...` on one
real Redis: a session opened on A is listed by B, with `instance` = A's id, in the listing
and the detail; `/admin/info` says which store, where, how healthy and which instances are
alive; with Redis gone the listing is 503 and the store unhealthy, and it recovers by itself.
With SQLite the wire stays as it was: no `instance`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from adapter_core.admin.search import SearchQuery
from adapter_core.admin.session_directory import RemoteSession, SessionDirectory, remote_sessions
from adapter_core.admin.sessions_view import (
    SessionsView,
    TokenState,
    published_sessions,
    session_summary,
)
from adapter_core.backend.simulated import SimulatedBackend, load_demo_dataset
from adapter_core.sessions import SessionRegistry
from adapter_core.store.base import IssuedToken, TokenQuery
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.claims import TokenClaims
from tests.support.adapter_process import AdapterProcess
from tests.support.redis_server import RedisServer
from tests.support.tradingview_client import TradingViewClient, mint

NOW = 1_800_000_000.0
LOCAL_ACCOUNT = 137780091
REMOTE_ACCOUNT = 555000111
"""An account only the other instance's session is on (the tokens list no accounts)."""
WAIT = 15.0
"""Bound on waiting for what another instance publishes every second (or a health change)."""
T = TypeVar("T")


def claims(number: int, user_id: int = 14601, issued_at: int = 1_700_000_000) -> TokenClaims:
    return TokenClaims(
        number.to_bytes(16, "big"),
        user_id,
        ("BESTBROKER",),
        None,
        True,
        issued_at + number,
        int(NOW) + 86_400,
    )


def published(token: TokenClaims, account_id: int, last_activity: float) -> dict[str, Any]:
    """A session as another instance publishes it."""
    return {
        "tokenId": token.token_id_hex,
        "expiresAt": token.expires_at,
        "accountId": account_id,
        "brokerName": "BESTBROKER",
        "openedAt": last_activity - 30,
        "lastActivity": last_activity,
        "requestCount": 7,
        "clientAddress": "10.0.0.9",
        "userAgent": "Mozilla/5.0",
        "cached": {"positions": 1, "orders": 2, "orderHistory": 3, "deals": 4},
    }


# In process


LOCAL, REMOTE_ACTIVE, REMOTE_IDLE, UNUSED, BOTH = (claims(n) for n in range(1, 6))


@pytest.fixture
async def view(tmp_path: Path) -> AsyncIterator[SessionsView]:
    """Five tokens: one with a session here, two with one on instance B (active, idle), one
    unused, one with a session on each instance."""
    store = SqliteTokenStore(tmp_path / "tokens.sqlite")
    for token in (LOCAL, REMOTE_ACTIVE, REMOTE_IDLE, UNUSED, BOTH):
        await store.record_issued(IssuedToken(token, key_id=1))
    backend = SimulatedBackend(load_demo_dataset())
    registry = SessionRegistry(backend, clock=lambda: NOW - 20)
    account = await backend.account(LOCAL_ACCOUNT)
    assert account is not None
    for token in (LOCAL, BOTH):
        await registry.session_for(token, account, "127.0.0.1", "local-agent")
    snapshot = {
        "instance-b": [
            published(REMOTE_ACTIVE, REMOTE_ACCOUNT, NOW - 5),
            published(REMOTE_IDLE, REMOTE_ACCOUNT, NOW - 600),
            published(BOTH, REMOTE_ACCOUNT, NOW - 1),
        ]
    }

    async def directory() -> SessionDirectory:
        return SessionDirectory(registry, "instance-a", remote_sessions(snapshot))

    try:
        yield SessionsView(store, registry, directory)
    finally:
        await store.close()


async def listed(
    view: SessionsView,
    state: TokenState | None = None,
    by_last_activity: bool = False,
    **conditions: Any,
) -> list[dict[str, Any]]:
    query = replace(TokenQuery(now=int(NOW), limit=50), **conditions)
    return (await view.list(query, state, by_last_activity)).rows


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["tokenId"] for row in rows]


@pytest.mark.anyio
async def test_rows_carry_every_instances_sessions_each_naming_its_instance(
    view: SessionsView,
) -> None:
    rows = {row["tokenId"]: row for row in await listed(view)}
    both = rows[BOTH.token_id_hex]
    assert [s["instance"] for s in both["traderSessions"]] == ["instance-a", "instance-b"]
    assert [s["accountId"] for s in both["traderSessions"]] == [LOCAL_ACCOUNT, REMOTE_ACCOUNT]
    assert both["requestCount"] == 1 + 7
    assert both["lastActivity"] == NOW - 1
    remote = rows[REMOTE_ACTIVE.token_id_hex]["traderSessions"]
    assert remote == [
        {
            key: value
            for key, value in published(REMOTE_ACTIVE, REMOTE_ACCOUNT, NOW - 5).items()
            if key not in ("tokenId", "expiresAt")
        }
        | {"instance": "instance-b"}
    ]
    assert rows[UNUSED.token_id_hex]["traderSessions"] == []


@pytest.mark.anyio
async def test_the_state_filter_counts_the_other_instances_sessions(view: SessionsView) -> None:
    assert set(ids(await listed(view, TokenState.ACTIVE))) == {
        LOCAL.token_id_hex,
        REMOTE_ACTIVE.token_id_hex,
        BOTH.token_id_hex,
    }
    assert ids(await listed(view, TokenState.IDLE)) == [REMOTE_IDLE.token_id_hex]
    assert ids(await listed(view, TokenState.ISSUED)) == [UNUSED.token_id_hex]


@pytest.mark.anyio
async def test_account_and_search_find_tokens_by_another_instances_session(
    view: SessionsView,
) -> None:
    on_remote_account = {REMOTE_ACTIVE.token_id_hex, REMOTE_IDLE.token_id_hex, BOTH.token_id_hex}
    assert set(ids(await listed(view, account_id=REMOTE_ACCOUNT))) == on_remote_account
    search = SearchQuery.parse(str(REMOTE_ACCOUNT)[:6])
    assert set(ids(await listed(view, search=search))) == on_remote_account
    local = {LOCAL.token_id_hex, BOTH.token_id_hex}
    assert set(ids(await listed(view, account_id=LOCAL_ACCOUNT))) == local


@pytest.mark.anyio
async def test_sorting_by_last_activity_interleaves_the_instances(view: SessionsView) -> None:
    rows = await listed(view, by_last_activity=True, descending=True)
    assert ids(rows) == [
        BOTH.token_id_hex,  # NOW - 1, on B
        REMOTE_ACTIVE.token_id_hex,  # NOW - 5, on B
        LOCAL.token_id_hex,  # NOW - 20, here
        REMOTE_IDLE.token_id_hex,  # NOW - 600, on B
        UNUSED.token_id_hex,
    ]
    second_page = await listed(view, by_last_activity=True, descending=True, offset=2, limit=2)
    assert ids(second_page) == [LOCAL.token_id_hex, REMOTE_IDLE.token_id_hex]


@pytest.mark.anyio
async def test_what_an_instance_publishes_the_others_read_as_its_sessions() -> None:
    backend = SimulatedBackend(load_demo_dataset())
    registry = SessionRegistry(backend, clock=lambda: NOW)
    account = await backend.account(LOCAL_ACCOUNT)
    assert account is not None
    session = await registry.session_for(LOCAL, account, "192.0.2.7", "agent/1")
    # Through JSON, as Redis carries it.
    snapshot = {"instance-a": orjson.loads(orjson.dumps(published_sessions(registry)))}
    [read] = remote_sessions(snapshot)
    assert read.summary == session_summary(session, "instance-a")
    assert (read.token_id, read.expires_at) == (LOCAL.token_id, LOCAL.expires_at)
    assert (read.account_id, read.last_activity, read.request_count) == (
        LOCAL_ACCOUNT,
        NOW,
        1,
    )
    assert "instance" not in session_summary(session)


@pytest.mark.parametrize(
    "broken",
    [
        {"tokenId": "not hex"},
        {"tokenId": "abcd"},
        {"lastActivity": "yesterday"},
        {"cached": None},
        {"accountId": None},
    ],
)
def test_a_session_this_version_cannot_read_is_left_out(broken: dict[str, Any]) -> None:
    good = published(LOCAL, LOCAL_ACCOUNT, NOW)
    assert RemoteSession.read("b", good) is not None
    assert RemoteSession.read("b", good | broken) is None
    assert remote_sessions({"b": [good | broken, good], "c": "not a list"}) == [
        RemoteSession.read("b", good)
    ]


# Two real instances on one real Redis


def eventually(probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """Poll until `probe` gives something, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g} s")
        time.sleep(0.05)


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert body["s"] == "ok", body
    return body.get("d")


def admin(process: AdapterProcess) -> httpx.Client:
    headers = {"Authorization": f"Bearer {process.broker_secret}"}
    return httpx.Client(base_url=process.url, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def pair(
    redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AdapterProcess, AdapterProcess]]:
    data_dir = tmp_path_factory.mktemp("cluster") / "data"
    arguments = ["--demo", "--store", redis.url]
    with AdapterProcess(data_dir, arguments) as a, AdapterProcess(data_dir, arguments) as b:
        yield a, b


def instance_of(process: AdapterProcess) -> str:
    with admin(process) as client:
        instance: str = ok(client.get("/admin/info"))["store"]["instance"]
        return instance


def open_session(process: AdapterProcess, user_id: int) -> tuple[str, str]:
    """A token minted and used on `process`: (token, its id)."""
    token = mint(process.url, process.broker_secret, userId=user_id, brokerNames=["BESTBROKER"])
    trader = TradingViewClient(process.url, token)
    try:
        account = next(iter(trader.account_ids()))
        trader.ok("GET", f"/accounts/{account}/orders")
    finally:
        trader.close()
    with admin(process) as client:
        found = ok(client.post("/admin/tokens/introspect", json={"token": token}))
    return token, found["token"]["tokenId"]


def test_a_session_opened_on_one_instance_is_listed_by_the_other(
    pair: tuple[AdapterProcess, AdapterProcess],
) -> None:
    a, b = pair
    a_id, b_id = instance_of(a), instance_of(b)
    assert a_id != b_id
    _, token_id = open_session(a, user_id=14602)
    with admin(b) as on_b:

        def listed_on_b() -> dict[str, Any] | None:
            rows = ok(on_b.get("/admin/sessions", params={"userId": 14602, "state": "active"}))
            found = [row for row in rows["rows"] if row["tokenId"] == token_id]
            return found[0] if found else None

        row = eventually(listed_on_b, "B listing A's session as active")
        [session] = row["traderSessions"]
        assert session["instance"] == a_id
        assert session["userAgent"] == "tradingview-scripted-client/1"
        assert row["requestCount"] == 1  # the orders, on A
        account = session["accountId"]
        by_account = ok(on_b.get("/admin/sessions", params={"account": account, "limit": 500}))
        assert token_id in {r["tokenId"] for r in by_account["rows"]}
        latest = ok(on_b.get("/admin/sessions", params={"sort": "lastActivity", "limit": 1}))
        assert [r["tokenId"] for r in latest["rows"]] == [token_id]
        detail = ok(on_b.get(f"/admin/sessions/{token_id}"))
        [remote] = detail["traderSessions"]
        assert remote["instance"] == a_id
        assert "orders" not in remote  # A holds the caches; B only lists the session
    with admin(a) as on_a:
        [local] = ok(on_a.get(f"/admin/sessions/{token_id}"))["traderSessions"]
        assert local["instance"] == a_id
        assert local["orders"] == []


def test_an_operator_logout_on_one_instance_counts_the_others_sessions(
    pair: tuple[AdapterProcess, AdapterProcess],
) -> None:
    a, b = pair
    _, token_id = open_session(a, user_id=14603)
    with admin(b) as on_b:

        def seen_on_b() -> bool | None:
            row = ok(on_b.get(f"/admin/sessions/{token_id}"))
            return True if row["traderSessions"] else None

        eventually(seen_on_b, "B seeing A's session")
        closed = ok(on_b.post(f"/admin/sessions/{token_id}/logout"))
        assert closed["sessionsClosed"] == 1
    with admin(a) as on_a:

        def revoked_on_a() -> dict[str, Any] | None:
            row = ok(on_a.get(f"/admin/sessions/{token_id}"))
            return row if row["state"] == "revoked" else None

        row = eventually(revoked_on_a, "A seeing the logout")
        [ended] = row["traderSessions"]
        assert ended["closedAt"] is not None
        assert ended["instance"] == instance_of(a)


def test_info_says_which_store_where_how_healthy_and_which_instances(
    pair: tuple[AdapterProcess, AdapterProcess], redis: RedisServer
) -> None:
    a, b = pair
    expected = sorted([instance_of(a), instance_of(b)])
    for process in pair:
        with admin(process) as client:

            def both_seen() -> dict[str, Any] | None:
                store: dict[str, Any] = ok(client.get("/admin/info"))["store"]
                return store if store["instances"] == expected else None

            store = eventually(both_seen, "both instances in /admin/info")
            assert store == {
                "kind": "redis",
                "address": redis.url,
                "instance": instance_of(process),
                "healthy": True,
                "problem": None,
                "instances": expected,
            }


def test_without_redis_the_listing_is_503_and_the_store_unhealthy_until_it_returns(
    tmp_path: Path,
) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    try:
        arguments = ["--demo", "--store", redis.url]
        with AdapterProcess(tmp_path / "data", arguments) as adapter, admin(adapter) as client:
            ok(client.get("/admin/sessions"))
            redis.kill()
            response = client.get("/admin/sessions")
            assert response.status_code == 503
            assert response.json() == {
                "s": "error",
                "errmsg": "The token store cannot be read right now. Try again.",
            }

            def unhealthy() -> dict[str, Any] | None:
                store: dict[str, Any] = ok(client.get("/admin/info"))["store"]
                return None if store["healthy"] else store

            store = eventually(unhealthy, "/admin/info reporting the store unhealthy")
            assert "Redis" in store["problem"]
            assert store["instances"] == [store["instance"]]
            redis.start()

            def healthy() -> dict[str, Any] | None:
                store: dict[str, Any] = ok(client.get("/admin/info"))["store"]
                return store if store["healthy"] else None

            assert eventually(healthy, "the store healthy again")["problem"] is None
            ok(client.get("/admin/sessions"))
    finally:
        redis.kill()


def test_with_sqlite_sessions_name_no_instance_and_the_store_says_so(tmp_path: Path) -> None:
    with AdapterProcess(tmp_path / "data", ["--demo"]) as adapter, admin(adapter) as client:
        _, token_id = open_session(adapter, user_id=14601)
        [session] = ok(client.get(f"/admin/sessions/{token_id}"))["traderSessions"]
        assert "instance" not in session
        rows = ok(client.get("/admin/sessions", params={"userId": 14601}))["rows"]
        assert "instance" not in rows[0]["traderSessions"][0]
        assert ok(client.get("/admin/info"))["store"] == {
            "kind": "sqlite",
            "address": None,
            "instance": None,
            "healthy": True,
            "problem": None,
            "instances": [],
        }
