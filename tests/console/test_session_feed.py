"""The live session feed against a real `tv-adapter serve --demo` (no Qt here).

Each test searches for its own user id (or its own tokens), so they share one server. A user id
finds by prefix, but no other user id or account id here starts with one of the five-digit ids
the tests use (610xx, and 14601), and five digits are too short to match a token id: so
`SessionQuery("61001")` finds exactly user 61001's tokens. Where the old filters combined two
terms, a test asks for a state as well, or compares with the adapter's unfiltered listing. A
relay on 127.0.0.1 that can cut its connections stands in for a network that drops the event
stream; a small Starlette app stands in for adapters that behave differently.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
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
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from adapter_core.admin.sessions_view import TokenState
from adapter_core.server import base_url, bind_socket, server_config
from console.services import session_feed
from console.services.client import (
    MAX_EVENT_BYTES,
    AdapterClient,
    AdapterUnavailable,
    ClientSettings,
    EventStreamRefused,
    RawExchange,
    StreamEvent,
)
from console.services.session_feed import SessionFeed
from console.services.session_query import SessionQuery
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
        self.view = {row.key: row for row in rows}

    def on_changes(self, changes: list[SessionChange]) -> None:
        self.batches.append(changes)
        for change in changes:
            if change.kind is ChangeKind.UPSERT:
                assert change.row is not None
                self.view[change.key] = change.row
            else:
                del self.view[change.key]

    def on_status(self, status: FeedStatus, message: str) -> None:
        self.statuses.append((status, message))

    def status(self) -> FeedStatus | None:
        return self.statuses[-1][0] if self.statuses else None

    def changes_for(self, token_id: str) -> list[SessionChange]:
        return [c for batch in self.batches for c in batch if c.key == token_id]


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
    query: SessionQuery,
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
    feed.set_query(query)
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


def _every_row(demo: AdapterProcess) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = admin_get(demo, "/admin/sessions", offset=len(rows), limit=500)
        rows += page["rows"]
        if not page["rows"] or len(rows) >= page["total"]:
            return rows


async def every_row(demo: AdapterProcess) -> list[dict[str, Any]]:
    """Every token the adapter lists, unfiltered (the JSON rows), read off the event loop."""
    return await asyncio.to_thread(_every_row, demo)


def listing_params(exchanges: list[RawExchange]) -> list[dict[str, str]]:
    """The query parameters of each `GET /admin/sessions` the feed sent, in order."""
    return [
        dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(e.path).query))
        for e in exchanges
        if urllib.parse.urlsplit(e.path).path == session_feed.SESSIONS_PATH
    ]


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


class ChunkedBody(httpx.AsyncByteStream):
    """A body that arrives `size` bytes at a time, as from a network (`content=` bytes would be
    read in full before the client sees the response)."""

    def __init__(self, body: bytes, size: int) -> None:
        self._body = body
        self._size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), self._size):
            yield self._body[start : start + self._size]


async def stream_of(body: bytes, status: int = 200, chunk: int = 5) -> list[StreamEvent]:
    """What `stream_events` makes of an answer (served by httpx's mock transport)."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer s3cret"
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(status, headers=headers, stream=ChunkedBody(body, chunk))

    exchanges: list[RawExchange] = []
    client = AdapterClient(ClientSettings("http://adapter.test", True, 5.0), exchanges.append)
    await client._http.aclose()  # its transport is swapped for the mock, the client kept
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
        StreamEvent("hello", {"version": "1"}, None),
        StreamEvent("token.issued", {"tokenId": "ab"}, "7"),
        StreamEvent("message", {"plain": True}, "7"),  # an id holds until another replaces it
    ]
    with pytest.raises(AdapterUnavailable, match="larger than"):
        await stream_of(b"data: " + b"x" * (MAX_EVENT_BYTES + 10), chunk=64 * 1024)
    with pytest.raises(EventStreamRefused, match="no") as refused:
        await stream_of(b'{"s": "error", "errmsg": "no"}', status=401)
    assert refused.value.status == 401


async def test_initial_load_applies_the_query_and_reports_the_total(
    demo: AdapterProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = 61001
    minted: dict[str, str] = {}
    for broker in ("BESTBROKER", "BESTBROKER-EU", "BESTBROKER", "BESTBROKER-EU", "BESTBROKER"):
        _, token_id = await mint_token(demo, userId=user, brokerNames=[broker])
        minted[token_id] = broker

    # One search term: the broker alone, so other tests' BESTBROKER-EU tokens match too; the
    # adapter's unfiltered listing says which those are.
    everything = await every_row(demo)
    europe = {row["tokenId"] for row in everything if "BESTBROKER-EU" in row["brokerNames"]}
    assert europe & set(minted) == {t for t, broker in minted.items() if broker != "BESTBROKER"}
    async with running(demo.url, demo.broker_secret, SessionQuery("BESTBROKER-EU")) as (_, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        [(rows, total)] = seen.resets
        assert total == len(rows) == len(europe)
        assert {row.token_id for row in rows} == europe
        assert all("BESTBROKER-EU" in row.broker_names for row in rows)
        assert seen.statuses[0][0] is FeedStatus.CONNECTING

    by_user = SessionQuery(str(user))
    async with running(demo.url, demo.broker_secret, by_user, max_rows=2) as (feed, seen):
        await until(lambda: seen.resets, "the first load")
        [(rows, total)] = seen.resets
        assert (len(rows), total) == (2, 5)
        assert all(row.user_id == user for row in rows)
        assert feed.total == 5
        assert feed.last_update is not None

    monkeypatch.setattr(session_feed, "PAGE_SIZE", 2)  # three pages of 2, 2 and 1
    exchanges: list[RawExchange] = []
    async with running(demo.url, demo.broker_secret, by_user, exchanges=exchanges) as (_, seen):
        await until(lambda: seen.resets, "the first load")
        [(rows, total)] = seen.resets
        assert total == 5
        assert {row.token_id for row in rows} == set(minted)
        assert [params["q"] for params in listing_params(exchanges)] == [str(user)] * 3


async def test_a_new_token_appears_as_an_upsert(demo: AdapterProcess) -> None:
    user = 61002
    async with running(demo.url, demo.broker_secret, SessionQuery(str(user))) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert seen.resets == [([], 0)]
        _, token_id = await mint_token(demo, userId=user)
        await until(lambda: token_id in seen.view, "the new token is shown")
        [change] = seen.changes_for(token_id)
        assert change.kind is ChangeKind.UPSERT
        assert change.row is not None
        assert change.row.state is TokenState.ISSUED
        assert feed.total == 1
        _, other_users = await mint_token(demo, userId=user + 1)
        await asyncio.sleep(session_feed.BATCH_WINDOW * 2)
        assert other_users not in seen.view


async def test_a_full_view_takes_no_new_tokens(demo: AdapterProcess) -> None:
    user = 61005
    await mint_token(demo, userId=user)
    query = SessionQuery(str(user))
    async with running(demo.url, demo.broker_secret, query, max_rows=1) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        _, token_id = await mint_token(demo, userId=user)
        await until(lambda: feed.total == 2, "the total counts the new token")
        assert token_id not in seen.view
        assert len(seen.view) == 1


async def test_a_trader_session_and_its_logout_update_the_row(demo: AdapterProcess) -> None:
    token, token_id = await mint_token(demo, userId=TRADER)
    query = SessionQuery(token_id[:16].upper())  # a token id prefix, in either case
    async with running(demo.url, demo.broker_secret, query) as (_, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert [row.token_id for row in seen.resets[0][0]] == [token_id]
        logout = threading.Event()
        trader = asyncio.ensure_future(
            asyncio.to_thread(_trade_then_logout, demo.url, token, logout)
        )
        try:
            await until(
                lambda: seen.view[token_id].state is TokenState.ACTIVE, "the row turns active"
            )
            [session] = seen.view[token_id].trader_sessions
            assert session.account_id == ACCOUNT
            assert seen.view[token_id].request_count >= 1
        finally:
            logout.set()
            await trader
        await until(
            lambda: seen.view[token_id].state is TokenState.REVOKED, "the row turns revoked"
        )
        assert [s.closed_at is not None for s in seen.view[token_id].trader_sessions] == [True]


async def test_a_row_that_stops_matching_the_query_is_removed(demo: AdapterProcess) -> None:
    token, token_id = await mint_token(demo, userId=TRADER)
    query = SessionQuery(str(TRADER), state=TokenState.ACTIVE)
    async with running(demo.url, demo.broker_secret, query) as (_, seen):
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
    async with running(demo.url, demo.broker_secret, SessionQuery(str(user))) as (feed, seen):
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
        assert {c.key for c in batch} == ids
        assert all(c.kind is ChangeKind.UPSERT for c in batch)


async def test_changing_the_query_reloads(demo: AdapterProcess) -> None:
    user = 61006
    _, first = await mint_token(demo, userId=user, brokerNames=["BESTBROKER"])
    _, second = await mint_token(demo, userId=user, brokerNames=["BESTBROKER-EU"])
    async with running(demo.url, demo.broker_secret, SessionQuery(str(user))) as (feed, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert set(seen.view) == {first, second}
        feed.pause()  # a new query is the operator's own doing: it reloads even when paused
        feed.set_query(SessionQuery(second[:16]))  # narrowed to one of the two: its id prefix
        await until(lambda: len(seen.resets) == 2, "the reload")
        assert set(seen.view) == {second}
        assert seen.resets[-1][1] == 1


def lists_an_account_starting(row: dict[str, Any], prefix: str) -> bool:
    """A listed account, or the account of an open trader session, starts with `prefix`."""
    listed = row["ctidTraderAccountIds"] or []
    in_session = [
        session["accountId"] for session in row["traderSessions"] if "closedAt" not in session
    ]
    return any(str(account).startswith(prefix) for account in [*listed, *in_session])


async def test_a_query_typed_while_running_reloads_with_it(demo: AdapterProcess) -> None:
    _, listing = await mint_token(demo, userId=TRADER, ctidTraderAccountIds=[ACCOUNT])
    _, elsewhere = await mint_token(
        demo, userId=TRADER, brokerNames=["BESTBROKER-EU"], ctidTraderAccountIds=[137800001]
    )
    _, unlisted = await mint_token(demo, userId=61009)
    exchanges: list[RawExchange] = []
    async with running(demo.url, demo.broker_secret, SessionQuery(), exchanges=exchanges) as (
        feed,
        seen,
    ):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert {listing, elsewhere, unlisted} <= set(seen.view)
        assert "q" not in listing_params(exchanges)[0]
        loads = len(listing_params(exchanges))

        feed.set_query(SessionQuery("1377"))  # what the operator types in the find box
        await until(lambda: len(seen.resets) == 2, "the reload")
        assert [params["q"] for params in listing_params(exchanges)[loads:]] == ["1377"]
        everything = await every_row(demo)
        assert not [row for row in everything if str(row["userId"]).startswith("1377")]
        expected = {row["tokenId"] for row in everything if lists_an_account_starting(row, "1377")}
        assert listing in expected
        assert elsewhere not in expected
        assert unlisted not in expected
        assert set(seen.view) == expected
        assert seen.resets[-1][1] == len(expected)
        assert feed.total == len(expected)

        # and it keeps following with that query
        _, later = await mint_token(demo, userId=14602, ctidTraderAccountIds=[137780412])
        _, not_wanted = await mint_token(demo, userId=61009)
        await until(lambda: later in seen.view, "the new token listing 137780412 is shown")
        await asyncio.sleep(session_feed.BATCH_WINDOW * 2)
        assert not_wanted not in seen.view


async def test_rows_that_time_alone_changes_are_refreshed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token without sessions expires with no event: the feed looks for such rows itself."""
    monkeypatch.setattr(session_feed, "TIME_CHECK", 0.2)
    with AdapterProcess(tmp_path / "short-lived", ["--token-ttl", "2s"]) as short:
        _, token_id = await mint_token(short, userId=61008)
        query = SessionQuery("61008")
        async with running(short.url, short.broker_secret, query) as (_, seen):
            await until(lambda: seen.status() is FeedStatus.LIVE, "live")
            assert seen.view[token_id].state is TokenState.ISSUED
            await until(lambda: seen.view[token_id].state is TokenState.EXPIRED, "the row expires")
            [change] = seen.changes_for(token_id)
            assert change.kind is ChangeKind.UPSERT


class CuttableRelay:
    """A TCP relay on 127.0.0.1 to the adapter: `cut()` drops every connection through it and
    `refuse` drops new ones as they arrive, like a network going away and coming back.
    `received` keeps every byte the adapter sent through it."""

    def __init__(self, target: str) -> None:
        parts = urllib.parse.urlsplit(target)
        assert parts.hostname is not None
        assert parts.port is not None
        self.target = (parts.hostname, parts.port)
        self.refuse = False
        self.received = bytearray()
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
                    asyncio.create_task(
                        self._pump(up_reader, writer, self.received), name="relay-pump"
                    ),
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
    async def _pump(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        record: bytearray | None = None,
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if record is not None:
                    record += data
                writer.write(data)
                await writer.drain()


async def test_a_dropped_stream_reconnects_and_reloads(demo: AdapterProcess) -> None:
    user = 61004
    _, before = await mint_token(demo, userId=user)
    async with (
        CuttableRelay(demo.url) as relay,
        running(relay.url, demo.broker_secret, SessionQuery(str(user))) as (_, seen),
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


_EVENT_ID = re.compile(rb"^id: (\S+)\r?$", re.MULTILINE)


async def test_a_reconnection_sends_the_last_event_id(demo: AdapterProcess) -> None:
    user = 61010
    exchanges: list[RawExchange] = []

    def streams() -> list[RawExchange]:
        return [e for e in exchanges if e.path == "/admin/events" and e.status == 200]

    async with (
        CuttableRelay(demo.url) as relay,
        running(relay.url, demo.broker_secret, SessionQuery(str(user)), exchanges=exchanges) as (
            _,
            seen,
        ),
    ):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        minted = {(await mint_token(demo, userId=user))[1] for _ in range(2)}
        await until(lambda: minted <= set(seen.view), "the token.issued events were read")
        await asyncio.sleep(session_feed.BATCH_WINDOW)  # nothing else on its way to the feed
        sent = [match.decode() for match in _EVENT_ID.findall(bytes(relay.received))]
        assert len(sent) >= 2, "the adapter numbers its events"
        relay.cut()
        await until(lambda: len(streams()) == 2, "the event stream is opened again")
        await until(lambda: seen.status() is FeedStatus.LIVE, "live again")
        first, second = streams()
        assert "Last-Event-ID" not in first.request_headers, "no event seen before the first"
        assert second.request_headers["Last-Event-ID"] == sent[-1]


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
    async with running(demo.url, demo.broker_secret, SessionQuery("61007")) as (_, seen):
        await until(lambda: seen.status() is FeedStatus.LIVE, "live")
        assert await count() == 1
    deadline = time.monotonic() + WAIT
    while not await settles_at(0):
        assert time.monotonic() < deadline, "the event stream stayed open after stop()"
        await asyncio.sleep(0.05)


async def test_a_refused_secret_is_not_available(demo: AdapterProcess) -> None:
    async with running(demo.url, "not-the-secret-" * 3, SessionQuery()) as (feed, seen):
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
    with serving(app) as url:
        yield url


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """`app` served by uvicorn on 127.0.0.1 in a thread of its own; yields its base URL."""
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
        async with running(url, "some-secret", SessionQuery()) as (feed, seen):
            await until(lambda: seen.status() is FeedStatus.NOT_AVAILABLE, "not available")
            assert "no admin API" in seen.statuses[-1][1]
            assert seen.resets == []
            await until(lambda: seen.run_task is not None and seen.run_task.done(), "run() ends")
            feed.pause()  # nothing to pause: the status stays
            assert seen.status() is FeedStatus.NOT_AVAILABLE


class ResumingAdapter:
    """Just `/admin/sessions` (always empty) and `/admin/events`: the first stream sends two
    numbered events and ends; each later one says hello with `resumed: true`, as an adapter that
    replays what a reconnecting client missed would."""

    def __init__(self) -> None:
        self.last_event_ids: list[str | None] = []
        """The `Last-Event-ID` of each request for the event stream."""
        self.listings = 0
        self.app = Starlette(
            routes=[
                Route("/admin/sessions", self._sessions),
                Route("/admin/events", self._events),
            ]
        )

    async def _sessions(self, request: Request) -> Response:
        self.listings += 1
        return JSONResponse({"s": "ok", "d": {"total": 0, "offset": 0, "limit": 1, "rows": []}})

    async def _events(self, request: Request) -> Response:
        self.last_event_ids.append(request.headers.get("last-event-id"))
        first = len(self.last_event_ids) == 1

        async def stream() -> AsyncIterator[bytes]:
            if first:
                yield b'event: hello\ndata: {"version": "test"}\n\n'
                yield b'id: 41\nevent: session.activity\ndata: {"userId": 1}\n\n'
                yield b'id: 42\nevent: session.activity\ndata: {"userId": 2}\n\n'
                return
            yield b'event: hello\ndata: {"version": "test", "resumed": true}\n\n'
            while True:
                await asyncio.sleep(1)
                yield b": heartbeat\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")


async def test_a_resumed_stream_is_not_reloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed skips its reload after a reconnection when the adapter's hello says resumed."""
    monkeypatch.setattr(session_feed, "FIRST_RETRY", 0.05)
    adapter = ResumingAdapter()
    with serving(adapter.app) as url:
        async with running(url, "some-secret", SessionQuery()) as (_, seen):

            def lives() -> int:
                return [status for status, _ in seen.statuses].count(FeedStatus.LIVE)

            await until(lambda: lives() == 2, "live, the stream ends, live again")
            assert adapter.last_event_ids == [None, "42"]
            assert len(seen.resets) == 1, "the adapter resumed: nothing was missed"
            assert adapter.listings == 1
