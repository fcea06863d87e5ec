"""The live session list: one load of the admin API's listing, then kept current by its events.

`SessionFeed.run()` opens `GET /admin/events`, loads (page by page, most recently active
first) up to `max_rows` rows matching the filters and hands them to `on_reset`; from then on the
token ids the events name are collected for `BATCH_WINDOW` seconds and refreshed in one
`GET /admin/sessions?tokenIds=...` with the same filters, and the differences are handed to
`on_changes` as one list. A dropped stream is reopened with exponential backoff and everything
reloaded, since events may have been missed. Two changes come with no event (a session going
idle after a minute without requests, a token without sessions expiring), so every `TIME_CHECK`
seconds the rows that time alone may have changed are refreshed too. Where several adapter
instances share a store, a session event relayed from another instance can arrive before
that instance published its sessions (it does every second), so such a token is refreshed
again `RELAYED_LAG` seconds later.

No Qt here: the callbacks run on the event loop that runs `run()` (the qasync loop in the
console), never from another thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from adapter_core.admin.sessions_view import IDLE_AFTER, TokenState
from console.services.client import (
    AdapterClient,
    AdapterUnavailable,
    EventStreamRefused,
    StreamEvent,
)
from console.services.session_query import SessionQuery
from console.services.session_rows import (
    ChangeKind,
    FeedStatus,
    RowDecodeError,
    SessionChange,
    SessionRow,
    decode_rows,
)

LIVE_STATES = frozenset({TokenState.ISSUED, TokenState.ACTIVE, TokenState.IDLE})

_log = logging.getLogger(__name__)

SESSIONS_PATH = "/admin/sessions"
PAGE_SIZE = 500
"""Rows per listing page, and token ids per refresh: the admin API's maximum for both."""
BATCH_WINDOW = 0.2
"""Seconds to collect the token ids events name before refreshing them in one request."""
MAX_PENDING = 2000
"""More changed tokens than this waiting (while paused, say) and a reload is cheaper."""
FIRST_RETRY = 0.5
LAST_RETRY = 30.0
TIME_CHECK = 10.0
"""Seconds between looks for rows that turned idle or expired without an event."""
RELAYED_LAG = 1.5
"""Seconds after a session event of another instance (it names its `instance`) to refresh the
token again: that instance publishes its sessions every second."""
HELLO_TIMEOUT = 15.0
"""Seconds the event stream may take to say hello once the adapter answered."""
NO_ADMIN_API = "this adapter has no admin API"
"""NOT_AVAILABLE messages start with one of these two."""
REFUSED = "the broker secret is not accepted"
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")

OnReset = Callable[[list[SessionRow], int], None]
OnChanges = Callable[[list[SessionChange]], None]
OnStatus = Callable[[FeedStatus, str], None]


class _Reload(enum.IntEnum):
    NONE = 0
    HELD = 1
    """Needed, but it may wait until the view is resumed."""
    NOW = 2
    """Needed even while paused: the operator changed the filters."""


class _NotAvailable(Exception):
    """The adapter has no admin API, or refuses the secret: retrying will not help."""


class _Retry(Exception):
    """Something a reconnection may cure; the message is for the operator."""


class SessionFeed:
    def __init__(
        self,
        client: AdapterClient,
        secret: str,
        *,
        on_reset: OnReset,
        on_changes: OnChanges,
        on_status: OnStatus,
        max_rows: int = 5000,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self._client = client
        self._secret = secret
        self._on_reset = on_reset
        self._on_changes = on_changes
        self._on_status = on_status
        self._max_rows = max_rows
        self._clock = clock
        self._wall_clock = wall_clock
        self._time_checked: dict[str, SessionRow] = {}
        """Rows already refreshed because time may have changed them (skip them until changed)."""
        self._query = SessionQuery()
        self._last_event_id: str | None = None
        """The last event's id: a reconnection resumes after it where the adapter can."""
        self._resumed = False
        self._rows: dict[str, SessionRow] = {}
        self._total = 0
        self._pending: dict[str, bool] = {}
        """Token ids events named since the last refresh: True if one was token.issued."""
        self._rechecks: dict[str, asyncio.TimerHandle] = {}
        """Tokens to refresh again once another instance published their sessions."""
        self._reload = _Reload.NONE
        self._loaded = False
        self._paused = False
        self._flush_now = False
        self._wake: asyncio.Event | None = None
        self._body: asyncio.Task[None] | None = None
        self._body_cancelled = False
        self._stopped = False
        self._connection = FeedStatus.CONNECTING
        self._message = ""
        self._shown: tuple[FeedStatus, str] | None = None
        self.last_update: float | None = None
        """`clock()` when a load or a change was last handed over; None before the first."""

    # What the page reads

    @property
    def query(self) -> SessionQuery:
        return self._query

    @property
    def rows(self) -> list[SessionRow]:
        """The rows the view holds now (a new list; the rows themselves are shared)."""
        return list(self._rows.values())

    @property
    def total(self) -> int:
        """How many tokens match the filters: exact after a load, estimated from events since."""
        return self._total

    @property
    def status(self) -> tuple[FeedStatus, str]:
        return self._effective_status()

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def pending_count(self) -> int:
        """Tokens changed but not refreshed yet (held back while paused)."""
        return len(self._pending)

    # What the page does

    def set_query(self, query: SessionQuery) -> None:
        """Show what matches `query` instead: reloads at once (even while paused)."""
        if query == self._query:
            return
        self._query = query
        self._reload = _Reload.NOW
        self._pending.clear()
        self._poke()

    def pause(self) -> None:
        """Keep reading events but hold the changes back until `resume()`."""
        if not self._paused:
            self._paused = True
            self._publish_status()

    def resume(self) -> None:
        """Apply what was held back, in one batch (or one reload)."""
        if self._paused:
            self._paused = False
            self._flush_now = True
            self._poke()
            self._publish_status()

    def stop(self) -> None:
        """Cancel `run()`: it closes the stream, waits for its own tasks and returns."""
        self._stopped = True
        self._cancel_rechecks()
        self._cancel_body()

    def _cancel_body(self) -> None:
        """Cancel the body once: a second cancellation would land in its clean-up (the event
        stream's response being closed) and cut it short, leaving the connection open."""
        body = self._body
        if body is not None and not self._body_cancelled:
            self._body_cancelled = True
            body.cancel()

    async def run(self) -> None:
        """Load, then follow the events until `stop()`; only CancelledError escapes.

        The body runs as its own task, awaited with `asyncio.wait`, so a cancellation of
        `run()` reaches it once, from here, rather than again through the await.
        """
        if self._stopped or self._body is not None:
            return
        body = asyncio.ensure_future(self._run_forever())
        self._body = body
        try:
            await asyncio.wait([body])
        finally:
            self._cancel_rechecks()
            if not body.done():  # run() itself was cancelled: wait for the body to wind down
                self._cancel_body()
                await asyncio.wait([body])
        if not body.cancelled():
            body.result()  # what ended it, if it failed

    # The connection

    async def _run_forever(self) -> None:
        self._wake = asyncio.Event()
        delay = FIRST_RETRY
        self._set_connection(FeedStatus.CONNECTING, f"connecting to {self._base_url}")
        while True:
            try:
                await self._connect_and_follow()
            except _NotAvailable as exc:
                self._set_connection(FeedStatus.NOT_AVAILABLE, str(exc))
                return
            except _Retry as exc:
                reason = str(exc)
            except AdapterUnavailable as exc:
                reason = str(exc)
            except TimeoutError:
                reason = "the event stream did not start in time"
            except Exception as exc:
                _log.exception("The session feed failed")
                reason = f"unexpected error: {exc}"
            if self._connection is FeedStatus.LIVE:
                delay = FIRST_RETRY  # it had worked: start the backoff over
            self._set_connection(FeedStatus.RECONNECTING, f"{reason} — retrying in {delay:g} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY)

    @property
    def _base_url(self) -> str:
        return self._client.settings.base_url

    async def _connect_and_follow(self) -> None:
        connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        reader = asyncio.ensure_future(self._read(connected))
        reader.add_done_callback(lambda _: self._poke())
        try:
            await asyncio.wait([connected, reader], return_when=asyncio.FIRST_COMPLETED)
            if not connected.done():
                reader.result()  # raises what ended it
                raise _Retry("the adapter closed the event stream")
            if not (self._resumed and self._loaded):
                self._reload = max(self._reload, _Reload.HELD if self._loaded else _Reload.NOW)
            if self._reload is _Reload.NOW or (self._reload and not self._paused):
                await self._load()
            self._set_connection(FeedStatus.LIVE, f"connected to {self._base_url}")
            await self._follow(reader)
        finally:
            connected.cancel()
            reader.cancel()  # once: waiting with asyncio.wait passes no second one on
            await asyncio.wait([reader])

    async def _read(self, connected: asyncio.Future[None]) -> None:
        """Collect the token ids events name; raises (or returns) when the stream ends."""
        events = self._client.stream_events(self._secret, last_event_id=self._last_event_id)
        async with contextlib.aclosing(events):
            try:
                async with asyncio.timeout(HELLO_TIMEOUT):
                    first = await anext(events, None)
            except EventStreamRefused as exc:
                raise self._refusal(exc.status, str(exc), "/admin/events") from None
            if first is None:
                return
            self._resumed = first.kind == "hello" and first.data.get("resumed") is True
            connected.set_result(None)
            self._note(first)
            async for event in events:
                self._note(event)

    def _note(self, event: StreamEvent) -> None:
        if event.id is not None:
            self._last_event_id = event.id
        token_id = event.data.get("tokenId")
        if not isinstance(token_id, str) or not _TOKEN_ID.fullmatch(token_id):
            return
        if token_id not in self._rows and not self._query.could_match_event(event.data):
            return
        issued = event.kind == "token.issued"
        self._pending[token_id] = self._pending.get(token_id, False) or issued
        if len(self._pending) > MAX_PENDING:
            self._pending.clear()
            self._reload = max(self._reload, _Reload.HELD)
        if event.kind.startswith("session.") and isinstance(event.data.get("instance"), str):
            self._recheck_later(token_id)
        self._poke()

    def _recheck_later(self, token_id: str) -> None:
        """Refresh the token again once its instance has published its sessions (one wait
        per token at a time: a later event's own refresh is already queued meanwhile)."""
        if token_id in self._rechecks or self._stopped:
            return

        def due() -> None:
            del self._rechecks[token_id]
            self._pending.setdefault(token_id, False)
            self._poke()

        self._rechecks[token_id] = asyncio.get_running_loop().call_later(RELAYED_LAG, due)

    def _cancel_rechecks(self) -> None:
        for handle in self._rechecks.values():
            handle.cancel()
        self._rechecks.clear()

    async def _follow(self, reader: asyncio.Future[None]) -> None:
        wake = self._wake
        assert wake is not None
        loop = asyncio.get_running_loop()
        next_check = loop.time() + TIME_CHECK
        while True:
            if reader.done():
                reader.result()
                raise _Retry("the adapter closed the event stream")
            if self._reload is _Reload.NOW or (self._reload and not self._paused):
                await self._load()
                continue
            if self._pending and not self._paused:
                if not self._flush_now:
                    await asyncio.sleep(BATCH_WINDOW)
                self._flush_now = False
                if not self._reload and not self._paused:
                    await self._refresh()
                continue
            if loop.time() >= next_check:
                next_check = loop.time() + TIME_CHECK
                if not self._paused and self._queue_changed_by_time():
                    self._flush_now = True
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_check):
                    await wake.wait()

    def _queue_changed_by_time(self) -> bool:
        """Queue the rows whose state the clock may have changed (active → idle, → expired)."""
        now = self._wall_clock()
        queued = False
        for token_id, row in self._rows.items():
            if self._time_checked.get(token_id) is row:
                continue
            expiring = row.state in LIVE_STATES and row.expires_at <= now
            idling = (
                row.state is TokenState.ACTIVE
                and row.last_activity is not None
                and now - row.last_activity >= IDLE_AFTER
            )
            if expiring or idling:
                self._time_checked[token_id] = row
                self._pending.setdefault(token_id, False)
                queued = True
        return queued

    # Loading and refreshing

    async def _load(self) -> None:
        query = self._query
        self._reload = _Reload.NONE
        self._pending.clear()
        rows: dict[str, SessionRow] = {}
        total = 0
        offset = 0
        for _ in range(self._max_rows // PAGE_SIZE + 3):
            limit = min(PAGE_SIZE, self._max_rows - len(rows))
            params = {
                **query.params(),
                "sort": "lastActivity",
                "order": "desc",
                "offset": str(offset),
                "limit": str(limit),
            }
            page, total = await self._list(params)
            if query is not self._query:
                return  # the query changed meanwhile: that reload comes next
            for row in page:
                rows.setdefault(row.key, row)
            offset += len(page)
            if len(page) < limit or offset >= total or len(rows) >= self._max_rows:
                break
        self._rows = rows
        self._time_checked.clear()
        self._total = max(total, len(rows))
        self._loaded = True
        self.last_update = self._clock()
        self._deliver(self._on_reset, list(rows.values()), self._total)

    async def _refresh(self) -> None:
        query = self._query
        pending, self._pending = self._pending, {}
        full = len(self._rows) >= self._max_rows
        wanted = [
            token_id
            for token_id, issued in pending.items()
            if token_id in self._rows or issued or not full
        ]
        returned: dict[str, SessionRow] = {}
        for start in range(0, len(wanted), PAGE_SIZE):
            chunk = wanted[start : start + PAGE_SIZE]
            params = {**query.params(), "tokenIds": ",".join(chunk), "limit": str(len(chunk))}
            page, _ = await self._list(params)
            returned.update((row.key, row) for row in page)
            if query is not self._query:
                return  # a reload is due and covers these
        if self._paused:  # paused while asking: hold these back too
            for token_id, issued in pending.items():
                self._pending[token_id] = self._pending.get(token_id, False) or issued
            return
        changes: list[SessionChange] = []
        for token_id in wanted:
            row = returned.get(token_id)
            shown = self._rows.get(token_id)
            if row is None:
                if shown is not None:
                    del self._rows[token_id]
                    self._time_checked.pop(token_id, None)
                    self._total = max(self._total - 1, len(self._rows))
                    changes.append(SessionChange(ChangeKind.REMOVE, token_id))
            elif shown is not None:
                if shown != row:
                    self._rows[token_id] = row
                    changes.append(SessionChange(ChangeKind.UPSERT, token_id, row))
            else:
                if pending[token_id] or len(self._rows) >= self._total:
                    self._total += 1  # new to the filter (not one counted but not shown)
                if len(self._rows) < self._max_rows:
                    self._rows[token_id] = row
                    changes.append(SessionChange(ChangeKind.UPSERT, token_id, row))
        if changes:
            self.last_update = self._clock()
            self._deliver(self._on_changes, changes)

    async def _list(self, params: dict[str, str]) -> tuple[list[SessionRow], int]:
        answer = await self._client.request(
            "GET", SESSIONS_PATH, bearer=self._secret, params=params, background=True
        )
        if not answer.ok:
            raise self._refusal(answer.status, answer.errmsg or "", SESSIONS_PATH)
        data = answer.data
        total = data.get("total") if isinstance(data, dict) else None
        if not isinstance(total, int):
            raise _Retry(f"{SESSIONS_PATH} answered without a listing")
        try:
            return decode_rows(data.get("rows")), total
        except RowDecodeError as exc:
            raise _Retry(str(exc)) from None

    def _refusal(self, status: int, message: str, path: str) -> Exception:
        if status == 404:
            return _NotAvailable(f"{NO_ADMIN_API} (HTTP 404 on {path})")
        if status == 401:
            return _NotAvailable(REFUSED)
        return _Retry(f"{path} answered HTTP {status}: {message}")

    # Callbacks

    def _deliver(self, callback: Callable[..., None], *args: Any) -> None:
        """A failing callback is the page's bug: log it, and keep the feed going."""
        try:
            callback(*args)
        except Exception:
            _log.exception("A session feed callback failed")

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _set_connection(self, status: FeedStatus, message: str) -> None:
        self._connection = status
        self._message = message
        self._publish_status()

    def _effective_status(self) -> tuple[FeedStatus, str]:
        if self._paused and self._connection is FeedStatus.LIVE:
            return FeedStatus.PAUSED, "updates paused: changes are held back until resumed"
        return self._connection, self._message

    def _publish_status(self) -> None:
        shown = self._effective_status()
        if self._body is None or shown == self._shown:
            return
        self._shown = shown
        self._deliver(self._on_status, *shown)
