"""The live session feed against a real `tv-adapter serve --demo` (no Qt here).

Each test filters on its own user id (or its own tokens), so they share one server. A relay on
127.0.0.1 that can cut its connections stands in for a network that drops the event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapter_core.server import base_url, bind_socket, server_config
from console.services import session_feed
from console.services.client import (
    MAX_EVENT_BYTES,
    AdapterClient,
    AdapterUnavailable,
    ClientSettings,
    EventStreamRefused,
    RawExchange,
)
from console.services.session_feed import FeedFilters, SessionFeed
from console.services.session_rows import ChangeKind, FeedStatus, SessionChange, SessionRow
from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import TradingViewClient, mint

pytestmark = pytest.mark.anyio

ACCOUNT = 137780091
TRADER = 14601
"""The demo user with access to ACCOUNT."""
WAIT = 5.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("feed") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


class Recorder:
    """What the feed handed over, and the view those callbacks build."""

    def __init__(self) -> None:
        self.resets: list[tuple[list[SessionRow], int]] = []
        self.batches: list[list[SessionChange]] = []
        self.statuses: list[tuple[FeedStatus, str]] = []
        self.view: dict[str, SessionRow] = {}
        self.run_task: asyncio.Future[None] | None = None

    def on_reset(self, rows: list[SessionRow], total: int) -> None:
        self.resets.append((rows, total))
        self.view = {row["tokenId"]: row for row in rows}

    def on_changes(self, changes: list[SessionChange]) -> None:
        self.batches.append(changes)
        for change in changes:
            if change.kind is ChangeKind.UPSERT:
                assert change.row is not None
                self.view[change.token_id] = change.row
            else:
                del self.view[change.token_id]

    def on_status(self, status: FeedStatus, message: str) -> None:
        self.statuses.append((status, message))

    def status(self) -> FeedStatus | None:
        return self.statuses[-1][0] if self.statuses else None

    def changes_for(self, token_id: str) -> list[SessionChange]:
        return [c for batch in self.batches for c in batch if c.token_id == token_id]


async def until(condition: Callable[[], object], what: str, within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(
    url: str,
    secret: str,
    filters: FeedFilters,
    *,
    max_rows: int = 5000,
    exchanges: list[RawExchange] | None = None,
) -> AsyncIterator[tuple[SessionFeed, Recorder]]:
    """A feed running as a task, stopped and awaited (with its client closed) on the way out."""
    recorder = Recorder()
    client = AdapterClient(
        ClientSettings(url, True, 10.0), (exchanges if exchanges is not None else []).append
    )
    feed = SessionFeed(
        client,
        secret,
        on_reset=recorder.on_reset,
        on_changes=recorder.on_changes,
        on_status=recorder.on_status,
        max_rows=max_rows,
    )
    feed.set_filters(filters)
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(feed.run())
    recorder.run_task = task
    try:
        yield feed, recorder
    finally:
        feed.stop()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(WAIT):
                await task
        await client.aclose()
    assert task.done()
    assert not task.cancelled(), "stop() makes run() return, not raise"
    left = {t for t in asyncio.all_tasks() - before if not t.get_name().startswith("relay")}
    assert left == set(), "the feed left tasks behind"


def admin_get(demo: AdapterProcess, path: str, **params: Any) -> Any:
    response = httpx.get(
        f"{demo.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {demo.broker_secret}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["d"]


def _mint_with_id(demo: AdapterProcess, claims: dict[str, Any]) -> tuple[str, str]:
    token = mint(demo.url, demo.broker_secret, **claims)
    response = httpx.post(
        f"{demo.url}/admin/tokens/introspect",
        json={"token": token},
        headers={"Authorization": f"Bearer {demo.broker_secret}"},
        timeout=10,
    )
    token_id: str = response.json()["d"]["token"]["tokenId"]
    return token, token_id


async def mint_token(demo: AdapterProcess, **claims: Any) -> tuple[str, str]:
    """(token, token id), minted off the event loop so the feed keeps reading meanwhile."""
    return await asyncio.to_thread(_mint_with_id, demo, claims)


def _trade_then_logout(url: str, token: str, logout: threading.Event) -> None:
    client = TradingViewClient(url, token)
    try:
        client.ok("GET", f"/accounts/{ACCOUNT}/orders")
        logout.wait(WAIT)
        assert client.call("POST", "/logout").json() == {"s": "ok"}
    finally:
        client.close()


async def stream_of(body: bytes, status: int = 200) -> list[tuple[str, dict[str, Any]]]:
    """What `stream_events` makes of an answer (served by httpx's mock transport)."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer s3cret"
        return httpx.Response(status, headers={"content-type": "text/event-stream"}, content=body)

    exchanges: list[RawExchange] = []
    client = AdapterClient(ClientSettings("http://adapter.test", True, 5.0), exchanges.append)
    await client.aclose()
    client._http = httpx.AsyncClient(
        base_url="http://adapter.test", transport=httpx.MockTransport(answer)
    )
    try:
        return [event async for event in client.stream_events("s3cret")]
    finally:
        await client.aclose()
        assert [(e.path, e.status) for e in exchanges] == [("/admin/events", status)]


async def test_the_event_stream_is_parsed_as_server_sent_events() -> None:
    body = (
        b'event: hello\ndata: {"version": "1"}\n\n'
        b": heartbeat\n\n"
        b'id: 7\r\nevent: token.issued\r\ndata: {"tokenId":\r\ndata: "ab"}\r\n\r\n'
        b"event: odd\ndata: [1, 2]\n\n"
        b'data: {"plain": true}\n\n'
        b'event: cut.short\ndata: {"never": "dispatched"}'
    )
    assert await stream_of(body) == [
        ("hello", {"version": "1"}),
        ("token.issued", {"tokenId": "ab"}),
        ("message", {"plain": True}),
    ]
    with pytest.raises(AdapterUnavailable, match="larger than"):
        await stream_of(b"data: " + b"x" * (MAX_EVENT_BYTES + 10))
    with pytest.raises(EventStreamRefused, match="no") as refused:
        await stream_of(b'{"s": "error", "errmsg": "no"}', status=401)
    assert refused.value.status == 401


async def test_initial_load_applies_the_filters_and_reports_the_total(
    demo: AdapterProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = 61001
    for broker in ("BESTBROKER", "BESTBROKER-EU", "BESTBROKER", "BESTBROKER-EU", "BESTBROKER"):
        await mint_token(demo, userId=user, brokerNames=[broker])

    filters = FeedFilters(user_id=user, broker="BESTBROKER-EU")
    async with running(demo.url, demo.broker_secret, filters) as (_, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        [(rows, total)] = seen.resets
        assert total == len(rows) == 2
        assert all(row["userId"] == user for row in rows)
        assert all("BESTBROKER-EU" in row["brokerNames"] for row in rows)
        assert seen.statuses[0][0] is FeedStatus.CONNECTING

    async with running(demo.url, demo.broker_secret, FeedFilters(user_id=user), max_rows=2) as (
        feed,
        seen,
    ):
        await until(lambda: seen.resets, "the first load")
        [(rows, total)] = seen.resets
        assert (len(rows), total) == (2, 5)
        assert feed.total == 5
        assert feed.last_update is not None

    monkeypatch.setattr(session_feed, "PAGE_SIZE", 2)  # three pages of 2, 2 and 1
    exchanges: list[RawExchange] = []
    async with running(
        demo.url, demo.broker_secret, FeedFilters(user_id=user), exchanges=exchanges
    ) as (_, seen):
        await until(lambda: seen.resets, "the first load")
        [(rows, total)] = seen.resets
        assert total == 5
        assert len({row["tokenId"] for row in rows}) == 5
        assert [e.path for e in exchanges].count("/admin/sessions") == 3


async def test_a_new_token_appears_as_an_upsert(demo: AdapterProcess) -> None:
    user = 61002
    async with running(demo.url, demo.broker_secret, FeedFilters(user_id=user)) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert seen.resets == [([], 0)]
        _, token_id = await mint_token(demo, userId=user)
        await until(lambda: token_id in seen.view, "the new token is shown")
        [change] = seen.changes_for(token_id)
        assert change.kind is ChangeKind.UPSERT
        assert change.row is not None
        assert change.row["state"] == "issued"
        assert feed.total == 1
        _, other_users = await mint_token(demo, userId=user + 1)
        await asyncio.sleep(session_feed.BATCH_WINDOW * 2)
        assert other_users not in seen.view


async def test_a_full_view_takes_no_new_tokens(demo: AdapterProcess) -> None:
    user = 61005
    await mint_token(demo, userId=user)
    filters = FeedFilters(user_id=user)
    async with running(demo.url, demo.broker_secret, filters, max_rows=1) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        _, token_id = await mint_token(demo, userId=user)
        await until(lambda: feed.total == 2, "the total counts the new token")
        assert token_id not in seen.view
        assert len(seen.view) == 1


async def test_a_trader_session_and_its_logout_update_the_row(demo: AdapterProcess) -> None:
    token, token_id = await mint_token(demo, userId=TRADER)
    filters = FeedFilters(user_id=TRADER, token_id_prefix=token_id[:16].upper())
    async with running(demo.url, demo.broker_secret, filters) as (_, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert [row["tokenId"] for row in seen.resets[0][0]] == [token_id]
        logout = threading.Event()
        trader = asyncio.ensure_future(
            asyncio.to_thread(_trade_then_logout, demo.url, token, logout)
        )
        try:
            await until(lambda: seen.view[token_id]["state"] == "active", "the row turns active")
            [session] = seen.view[token_id]["traderSessions"]
            assert session["accountId"] == ACCOUNT
            assert seen.view[token_id]["requestCount"] >= 1
        finally:
            logout.set()
            await trader
        await until(lambda: seen.view[token_id]["state"] == "revoked", "the row turns revoked")
        assert seen.view[token_id]["traderSessions"] == []


async def test_a_row_that_stops_matching_the_filter_is_removed(demo: AdapterProcess) -> None:
    token, token_id = await mint_token(demo, userId=TRADER)
    filters = FeedFilters(user_id=TRADER, state="active")
    async with running(demo.url, demo.broker_secret, filters) as (_, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert token_id not in seen.view
        logout = threading.Event()
        trader = asyncio.ensure_future(
            asyncio.to_thread(_trade_then_logout, demo.url, token, logout)
        )
        try:
            await until(lambda: token_id in seen.view, "the now active token is shown")
        finally:
            logout.set()
            await trader
        await until(lambda: token_id not in seen.view, "the revoked token is removed")
        assert [c.kind for c in seen.changes_for(token_id)][-1] is ChangeKind.REMOVE


async def test_pause_holds_changes_back_and_resume_delivers_them(demo: AdapterProcess) -> None:
    user = 61003
    async with running(demo.url, demo.broker_secret, FeedFilters(user_id=user)) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        feed.pause()
        assert seen.status() is FeedStatus.PAUSED
        ids = {(await mint_token(demo, userId=user))[1] for _ in range(3)}
        await until(lambda: feed.pending_count == 3, "the events were read")
        await asyncio.sleep(session_feed.BATCH_WINDOW * 3)
        assert seen.batches == []
        assert seen.status() is FeedStatus.PAUSED
        feed.resume()
        assert seen.status() is FeedStatus.LIVE
        await until(lambda: seen.batches, "the held changes")
        [batch] = seen.batches
        assert {c.token_id for c in batch} == ids
        assert all(c.kind is ChangeKind.UPSERT for c in batch)


async def test_changing_the_filters_reloads(demo: AdapterProcess) -> None:
    user = 61006
    _, first = await mint_token(demo, userId=user, brokerNames=["BESTBROKER"])
    _, second = await mint_token(demo, userId=user, brokerNames=["BESTBROKER-EU"])
    async with running(demo.url, demo.broker_secret, FeedFilters(user_id=user)) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert set(seen.view) == {first, second}
        feed.pause()  # a new filter is the operator's own doing: it reloads even when paused
        feed.set_filters(FeedFilters(user_id=user, broker="BESTBROKER-EU"))
        await until(lambda: len(seen.resets) == 2, "the reload")
        assert set(seen.view) == {second}
        assert seen.resets[-1][1] == 1


async def test_rows_that_time_alone_changes_are_refreshed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token without sessions expires with no event: the feed looks for such rows itself."""
    monkeypatch.setattr(session_feed, "TIME_CHECK", 0.2)
    with AdapterProcess(tmp_path / "short-lived", ["--token-ttl", "2s"]) as short:
        _, token_id = await mint_token(short, userId=61008)
        filters = FeedFilters(user_id=61008)
        async with running(short.url, short.broker_secret, filters) as (_, seen):
            await until(lambda: seen.status() is FeedStatus.LIVE, "live")
            assert seen.view[token_id]["state"] == "issued"
            await until(lambda: seen.view[token_id]["state"] == "expired", "the row expires")
            [change] = seen.changes_for(token_id)
            assert change.kind is ChangeKind.UPSERT


class CuttableRelay:
    """A TCP relay on 127.0.0.1 to the adapter: `cut()` drops every connection through it and
    `refuse` drops new ones as they arrive, like a network going away and coming back."""

    def __init__(self, target: str) -> None:
        parts = urllib.parse.urlsplit(target)
        assert parts.hostname is not None
        assert parts.port is not None
        self.target = (parts.hostname, parts.port)
        self.refuse = False
        self._transports: set[asyncio.WriteTransport] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> CuttableRelay:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        await self._server.wait_closed()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def cut(self) -> None:
        for transport in list(self._transports):
            transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        task.set_name("relay")
        self._handlers.add(task)
        self._transports.add(writer.transport)
        try:
            if self.refuse:
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._transports.add(up_writer.transport)
            try:
                pumps = [
                    asyncio.create_task(self._pump(reader, up_writer), name="relay-pump"),
                    asyncio.create_task(self._pump(up_reader, writer), name="relay-pump"),
                ]
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
            finally:
                up_writer.transport.abort()
                self._transports.discard(up_writer.transport)
        finally:
            writer.transport.abort()
            self._transports.discard(writer.transport)
            self._handlers.discard(task)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


async def test_a_dropped_stream_reconnects_and_reloads(demo: AdapterProcess) -> None:
    user = 61004
    _, before = await mint_token(demo, userId=user)
    filters = FeedFilters(user_id=user)
    async with (
        CuttableRelay(demo.url) as relay,
        running(relay.url, demo.broker_secret, filters) as (_, seen),
    ):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert set(seen.view) == {before}
        relay.refuse = True
        relay.cut()
        await until(lambda: seen.status() is FeedStatus.RECONNECTING, "reconnecting")
        assert "retrying in 0.5 s" in next(
            message for status, message in seen.statuses if status is FeedStatus.RECONNECTING
        )
        _, missed = await mint_token(demo, userId=user)  # its event cannot reach the feed
        relay.refuse = False
        await until(lambda: seen.status() is FeedStatus.LIVE, "live again")
        assert len(seen.resets) == 2, "reloaded after reconnecting"
        assert set(seen.view) == {before, missed}
        _, after = await mint_token(demo, userId=user)
        await until(lambda: after in seen.view, "events flow again")


async def test_stop_closes_the_stream(demo: AdapterProcess) -> None:
    def subscribers() -> int:
        count: int = admin_get(demo, "/admin/info")["counts"]["eventSubscribers"]
        return count

    async def count() -> int:
        return await asyncio.to_thread(subscribers)

    last = [await count()]

    async def settles_at(expected: int) -> bool:
        last[0] = await count()
        return last[0] == expected

    deadline = time.monotonic() + WAIT
    while not await settles_at(0):
        assert time.monotonic() < deadline, f"{last[0]} subscribers left from earlier tests"
        await asyncio.sleep(0.05)
    async with running(demo.url, demo.broker_secret, FeedFilters(user_id=61007)) as (_, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert await count() == 1
    deadline = time.monotonic() + WAIT
    while not await settles_at(0):
        assert time.monotonic() < deadline, "the event stream stayed open after stop()"
        await asyncio.sleep(0.05)


async def test_a_refused_secret_is_not_available(demo: AdapterProcess) -> None:
    async with running(demo.url, "not-the-secret-" * 3, FeedFilters()) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.NOT_AVAILABLE, "not available")
        assert seen.statuses[-1][1] == "the broker secret is not accepted"
        assert seen.resets == []
        assert feed.status[0] is FeedStatus.NOT_AVAILABLE
        await until(lambda: seen.run_task is not None and seen.run_task.done(), "run() ends")


@contextlib.contextmanager
def broker_only_adapter() -> Iterator[str]:
    """An adapter with the two documented endpoints and /accounts, nothing else (HTTP 404)."""

    async def generate(request: Request) -> Response:
        return JSONResponse({"s": "ok", "d": "token"})

    async def logout(request: Request) -> Response:
        return JSONResponse({"s": "ok"})

    async def accounts(request: Request) -> Response:
        return JSONResponse({"s": "ok", "d": []})

    app = Starlette(
        routes=[
            Route("/generate/token", generate, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/accounts", accounts),
        ]
    )
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app, "warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT
        while not server.started:
            assert thread.is_alive(), "the server thread ended"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()


async def test_an_adapter_without_the_admin_api_is_not_available() -> None:
    with broker_only_adapter() as url:
        async with running(url, "some-secret", FeedFilters()) as (feed, seen):
            await until(lambda: seen.status() is FeedStatus.NOT_AVAILABLE, "not available")
            assert "no admin API" in seen.statuses[-1][1]
            assert seen.resets == []
            await until(lambda: seen.run_task is not None and seen.run_task.done(), "run() ends")
            feed.pause()  # nothing to pause: the status stays
            assert seen.status() is FeedStatus.NOT_AVAILABLE
