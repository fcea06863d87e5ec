"""The Sessions page at 100,000 tokens, and the admin API's paged listing behind it.

Console side (Qt offscreen, in this process): synthetic rows shaped like the admin API's
(10,000 of them with trader sessions) go through `SessionsModel`, `SessionsFilterProxy` and a
QTableView set up as the Sessions page sets it up (sorted by last activity, newest first).
Each figure has a baseline measured here, in the same run:

- first page load against a bare table model behind a plain QSortFilterProxyModel in the
  same view (the floor Qt itself sets: no sorting, no formatting);
- a text filter against Qt's own fixed-string filter on one column of that bare model;
- sorting by last activity against Qt's proxy sorting the same model by `SORT_ROLE`, which
  is what the model's own sort replaces;
- a burst of 1,000 feed changes through `apply` against resetting the model with the same
  rows, and the longest frame (one `apply` plus processEvents) against the 50 ms budget.

Admin side: one page of 50 from `SessionsView.list` over a real SqliteTokenStore holding
100,000 issued tokens, against the same page from a store holding 100.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtCore import QSortFilterProxyModel as PlainProxy
from PySide6.QtWidgets import QAbstractItemView, QApplication, QTableView

from adapter_core.admin.sessions_view import SessionsView
from adapter_core.backend.simulated import SimulatedBackend, load_demo_dataset
from adapter_core.sessions import SessionRegistry
from adapter_core.store.base import TokenQuery
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.claims import TokenClaims
from console.models.sessions_model import (
    COL_ISSUED,
    COL_LAST_ACTIVITY,
    COL_USER,
    COLUMNS,
    SORT_ROLE,
    SessionsFilterProxy,
    SessionsModel,
)
from console.services.session_rows import ChangeKind, SessionChange, SessionRow
from tests.benchmarks.results import Figure

ROWS = 100_000
WITH_SESSIONS = 10_000
SMALL_ROWS = 10_000
SMALL_WITH_SESSIONS = 2_000
BURST = 1_000
FEED_BATCH = 100
"""The burst once more as a live feed might deliver it: apply calls of this many changes."""
ROUNDS = 3
FRAME_BUDGET_MS = 50.0
PAGE = 50
STORE_TOKENS = 100_000
SMALL_STORE_TOKENS = 100
PAGE_REPEATS = 15
SEED = 20_260_101
BROKERS = ("BESTBROKER", "ICMARKETS", "PEPPERSTONE", "FXPRO", "SPOTWARE")
DEMO_ACCOUNT = 137780091
DAY = 86_400.0
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FIELDS = (
    "tokenId",
    "userId",
    "brokerNames",
    "ctidTraderAccountIds",
    "isVerified",
    "state",
    "issuedAt",
    "expiresAt",
    "lastActivity",
    "requestCount",
    "traderSessions",
    "keyId",
    "revokedAt",
    "requestCount",
)
"""What the bare baseline model shows per column: the raw field, as text."""
_Index = QModelIndex | QPersistentModelIndex


# Synthetic admin rows


def _trader_session(rng: random.Random, row: SessionRow, now: float) -> dict[str, Any]:
    accounts = row["ctidTraderAccountIds"] or [rng.randrange(137_780_000, 137_800_000)]
    last = now - rng.uniform(0, 900)
    return {
        "accountId": rng.choice(accounts),
        "brokerName": row["brokerNames"][0],
        "openedAt": last - rng.uniform(0, 3 * 3600),
        "lastActivity": last,
        "requestCount": rng.randrange(1, 20_000),
        "clientAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": "Mozilla/5.0 (TradingView)",
        "cached": {
            "positions": rng.randrange(0, 8),
            "orders": rng.randrange(0, 12),
            "orderHistory": rng.randrange(0, 40),
            "deals": rng.randrange(0, 60),
        },
    }


def _with_sessions(row: SessionRow, sessions: list[dict[str, Any]], now: float) -> SessionRow:
    last = max((session["lastActivity"] for session in sessions), default=None)
    state = row["state"]
    if state in ("issued", "active", "idle"):
        state = "issued" if last is None else "active" if now - last < 60 else "idle"
    return {
        **row,
        "state": state,
        "lastActivity": last,
        "requestCount": sum(session["requestCount"] for session in sessions),
        "traderSessions": sessions,
    }


def synthetic_row(rng: random.Random, now: float) -> SessionRow:
    issued = now - rng.uniform(0, 30 * DAY)
    expires = issued + rng.choice((7, 30, 90)) * DAY
    listed = rng.random() < 0.6
    revoked = rng.random() < 0.03
    state = "revoked" if revoked else "expired" if expires <= now else "issued"
    return {
        "tokenId": rng.getrandbits(128).to_bytes(16, "big").hex(),
        "userId": rng.randrange(10_000, 60_000),
        "brokerNames": [rng.choice(BROKERS)],
        "ctidTraderAccountIds": (
            sorted(rng.sample(range(137_780_000, 137_800_000), rng.randint(1, 3)))
            if listed
            else None
        ),
        "isVerified": rng.random() < 0.8,
        "issuedAt": int(issued),
        "expiresAt": int(expires),
        "keyId": f"{rng.getrandbits(32):08x}",
        "state": state,
        "revokedAt": int(now - rng.uniform(0, DAY)) if revoked else None,
        "lastActivity": None,
        "requestCount": 0,
        "traderSessions": [],
    }


def synthetic_rows(count: int, with_sessions: int, now: float, seed: int) -> list[SessionRow]:
    rng = random.Random(seed)
    rows = [synthetic_row(rng, now) for _ in range(count)]
    live = [number for number, row in enumerate(rows) if row["state"] == "issued"]
    for number in rng.sample(live, with_sessions):
        row = rows[number]
        sessions = [_trader_session(rng, row, now) for _ in range(rng.randint(1, 3))]
        rows[number] = _with_sessions(row, sessions, now)
    return rows


def burst(rows: list[SessionRow], now: float, rng: random.Random) -> list[SessionChange]:
    """1,000 feed changes: activity on live sessions, new tokens, logouts, removals."""
    active = [row for row in rows if row["traderSessions"]]
    picked = rng.sample(active, 800 + 50)
    changes = []
    for row in picked[:800]:
        sessions = [
            {
                **session,
                "lastActivity": now - rng.uniform(0, 2),
                "requestCount": session["requestCount"] + rng.randrange(1, 4),
            }
            for session in row["traderSessions"]
        ]
        busier = _with_sessions(row, sessions, now)
        changes.append(SessionChange(ChangeKind.UPSERT, row["tokenId"], busier))
    for row in picked[800:]:
        revoked = {**row, "state": "revoked", "revokedAt": int(now), "traderSessions": []}
        changes.append(SessionChange(ChangeKind.UPSERT, row["tokenId"], revoked))
    for _ in range(100):
        row = synthetic_row(rng, now)
        row.update(issuedAt=int(now), expiresAt=int(now + 30 * DAY), state="issued", revokedAt=None)
        changes.append(SessionChange(ChangeKind.UPSERT, row["tokenId"], row))
    untouched = {row["tokenId"] for row in picked}
    gone = rng.sample([row for row in rows if row["tokenId"] not in untouched], 50)
    changes += [SessionChange(ChangeKind.REMOVE, row["tokenId"]) for row in gone]
    rng.shuffle(changes)
    return changes


# The page, and a bare one for baselines


class BareModel(QAbstractTableModel):
    """The least a table model can do over the same rows: one raw field per cell, as text."""

    def __init__(self, rows: list[SessionRow]) -> None:
        super().__init__()
        self._rows = rows

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY or not index.isValid():
            return None
        return str(self._rows[index.row()][_FIELDS[index.column()]])


def _app() -> QApplication:
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication([])


def _view(model: QAbstractTableModel | PlainProxy) -> QTableView:
    view = QTableView()
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().hide()
    view.setModel(model)
    view.resize(1400, 900)
    return view


@contextmanager
def _closing(view: QTableView) -> Iterator[QTableView]:
    try:
        yield view
    finally:
        view.close()
        view.deleteLater()
        _app().processEvents()


def _timed(action: Callable[[], object]) -> float:
    """Milliseconds for `action` plus the events it leaves for Qt to process."""
    app = _app()
    app.processEvents()
    started = time.perf_counter()
    action()
    app.processEvents()
    return (time.perf_counter() - started) * 1000


class Page:
    """Model, proxy and view wired as the Sessions page wires them."""

    def __init__(self) -> None:
        self.model = SessionsModel()
        self.proxy = SessionsFilterProxy()
        self.proxy.setSourceModel(self.model)
        self.view = _view(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COL_LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
        self.view.show()

    def rows(self) -> list[SessionRow]:
        return [self.model.row_at(number) for number in range(self.model.rowCount())]


def _load_page(rows: list[SessionRow]) -> Page:
    page = Page()
    page.model.reset(rows)
    return page


def _load_bare(rows: list[SessionRow]) -> QTableView:
    model = BareModel(rows)
    proxy = PlainProxy()
    proxy.setSourceModel(model)
    view = _view(proxy)
    model.setParent(view)
    proxy.setParent(view)
    view.show()
    return view


def _best_load(load: Callable[[], Any]) -> tuple[float, Any]:
    best, kept = float("inf"), None
    for _ in range(ROUNDS):
        if kept is not None:
            _close(kept)
        started = time.perf_counter()
        kept = load()
        _app().processEvents()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, kept


def _close(thing: Any) -> None:
    view = thing.view if isinstance(thing, Page) else thing
    with _closing(view):
        pass


def _console() -> list[Figure]:
    now = time.time()
    started = time.perf_counter()
    rows = synthetic_rows(ROWS, WITH_SESSIONS, now, SEED)
    print(f"{ROWS:,} synthetic rows in {time.perf_counter() - started:.1f}s")

    bare_ms, bare_view = _best_load(lambda: _load_bare(rows))
    load_ms, page = _best_load(lambda: _load_page(rows))
    print(f"first page load: {load_ms:.0f} ms (bare model {bare_ms:.0f} ms)")

    term = str(rows[0]["userId"])[:3]
    filter_ms = _timed(partial(page.proxy.set_text, term))
    shown = page.proxy.rowCount()
    warm_ms = _timed(partial(page.proxy.set_text, term[:2]))  # backspace: fields now cached
    clear_ms = _timed(partial(page.proxy.set_text, ""))
    bare_proxy = bare_view.model()
    assert isinstance(bare_proxy, PlainProxy)
    bare_proxy.setFilterKeyColumn(COL_USER)
    bare_filter_ms = _timed(lambda: bare_proxy.setFilterFixedString(term))
    print(
        f"filter {term!r}: {filter_ms:.0f} ms, {shown:,} rows shown, cleared in {clear_ms:.0f} ms, "
        f"then {term[:2]!r} (fields cached) {warm_ms:.0f} ms "
        f"(Qt fixed-string filter {bare_filter_ms:.0f} ms)"
    )
    _close(bare_view)

    page.view.sortByColumn(COL_ISSUED, Qt.SortOrder.DescendingOrder)
    sort_ms = _timed(
        lambda: page.view.sortByColumn(COL_LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
    )
    qt_sort_ms = _qt_proxy_sort_ms(rows)
    print(f"sort by last activity: {sort_ms:.0f} ms (Qt proxy sort {qt_sort_ms:.0f} ms)")

    apply_ms, reset_ms, frames, batch_frames, tick_ms = _bursts(page, now)
    print(
        f"1,000 changes: apply {apply_ms:.0f} ms, reset {reset_ms:.0f} ms; frames "
        f"{', '.join(f'{frame:.0f}' for frame in frames)} ms; in batches of {FEED_BATCH}: "
        f"longest {max(batch_frames):.0f} ms; tick {tick_ms:.0f} ms"
    )
    _close(page)

    small = synthetic_rows(SMALL_ROWS, SMALL_WITH_SESSIONS, now, SEED + 1)
    small_page = _load_page(small)
    small_apply_ms, small_reset_ms, small_frames, _, _ = _bursts(small_page, now)
    print(f"at {SMALL_ROWS:,} rows: apply {small_apply_ms:.0f} ms, reset {small_reset_ms:.0f} ms")
    _close(small_page)

    return [
        Figure(
            "sessions_first_load_ms",
            load_ms,
            "ms",
            bare_ms,
            "ratio <= 3 (vs a bare model + plain proxy in the same view, unsorted)",
            f"{ROWS:,} rows: reset, sort by last activity, proxy, QTableView shown offscreen",
        ),
        Figure(
            "sessions_filter_ms",
            filter_ms,
            "ms",
            bare_filter_ms,
            "ratio <= 1 (vs Qt's fixed-string filter on one column)",
            f"first text filter {term!r} over userId, brokers, accounts, token id ({shown:,} "
            f"shown); then {term[:2]!r} {warm_ms:.0f} ms (search fields cached); clearing "
            f"{clear_ms:.0f} ms",
        ),
        Figure(
            "sessions_sort_ms",
            sort_ms,
            "ms",
            qt_sort_ms,
            "ratio <= 0.1 (vs Qt's proxy sorting by SORT_ROLE)",
            f"sort {ROWS:,} rows by last activity: the model sorts, the proxy passes rows through",
        ),
        Figure(
            "sessions_apply_1000_ms",
            apply_ms,
            "ms",
            reset_ms,
            "ratio <= 0.5 (vs resetting the model with the same rows)",
            f"{BURST:,} changes (800 activity, 50 logouts, 100 new, 50 removed) at {ROWS:,} "
            f"rows, sorted by last activity; median of {ROUNDS}",
        ),
        Figure(
            "sessions_apply_frame_ms",
            max(frames),
            "ms",
            FRAME_BUDGET_MS,
            "ratio <= 1 (the longest frame vs a 50 ms budget)",
            f"one apply of {BURST:,} changes + processEvents, worst of {ROUNDS}; fed in "
            f"batches of {FEED_BATCH} the longest frame was {max(batch_frames):.0f} ms; "
            f"tick() {tick_ms:.0f} ms",
        ),
        Figure(
            "sessions_apply_1000_at_10k_ms",
            small_apply_ms,
            "ms",
            small_reset_ms,
            "ratio <= 0.5 (vs resetting the model with the same rows)",
            f"the same burst at {SMALL_ROWS:,} rows; longest frame {max(small_frames):.0f} ms",
        ),
    ]


def _qt_proxy_sort_ms(rows: list[SessionRow]) -> float:
    """Qt's own proxy sort over the same model and rows, in a view like the page's."""
    model = SessionsModel()
    model.reset(rows)
    proxy = PlainProxy()
    proxy.setSortRole(SORT_ROLE)
    proxy.setSourceModel(model)
    with _closing(_view(proxy)) as view:
        proxy.setParent(view)
        view.show()
        _app().processEvents()
        return _timed(lambda: proxy.sort(COL_LAST_ACTIVITY, Qt.SortOrder.DescendingOrder))


def _bursts(page: Page, now: float) -> tuple[float, float, list[float], list[float], float]:
    rng = random.Random(SEED + 2)
    selected = page.proxy.index(3, 0)
    page.view.selectRow(selected.row())
    applies, resets, batch_frames = [], [], []
    for _ in range(ROUNDS):
        applies.append(_timed(partial(page.model.apply, burst(page.rows(), now, rng))))
        resets.append(_timed(partial(page.model.reset, page.rows())))
    changes = burst(page.rows(), now, rng)
    for first in range(0, len(changes), FEED_BATCH):
        batch_frames.append(_timed(partial(page.model.apply, changes[first : first + FEED_BATCH])))
    tick_ms = max(_timed(page.model.tick) for _ in range(ROUNDS))
    return statistics.median(applies), statistics.median(resets), applies, batch_frames, tick_ms


# Admin API


def _fill_store(path: Path, tokens: int, now: int, rng: random.Random) -> list[TokenClaims]:
    """Write issued tokens straight into the store's schema: record_issued is one commit each."""
    claims = []
    for _ in range(tokens):
        issued = now - rng.randrange(0, 30 * 86_400)
        listed = rng.random() < 0.6
        claims.append(
            TokenClaims(
                rng.getrandbits(128).to_bytes(16, "big"),
                rng.randrange(10_000, 60_000),
                (rng.choice(BROKERS),),
                tuple(sorted(rng.sample(range(137_780_000, 137_800_000), 2))) if listed else None,
                rng.random() < 0.8,
                issued,
                issued + 30 * 86_400,
            )
        )
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.executemany(
                "INSERT INTO issued_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        c.token_id,
                        c.user_id,
                        json.dumps(list(c.broker_names)),
                        None if c.account_ids is None else json.dumps(list(c.account_ids)),
                        int(c.is_verified),
                        c.issued_at,
                        c.expires_at,
                        0x0A0B0C0D,
                    )
                    for c in claims
                ),
            )
            connection.executemany(
                "INSERT INTO revocations VALUES (?, ?, ?)",
                ((c.token_id, now - 60, c.expires_at) for c in claims[: tokens // 100]),
            )
    finally:
        connection.close()
    return claims


async def _page_ms(tokens: int) -> tuple[float, float]:
    """Median ms for one page of 50, by issue time and by last activity."""
    now = int(time.time())
    with tempfile.TemporaryDirectory(prefix="tv-adapter-bench-") as directory:
        path = Path(directory) / "tokens.sqlite"
        store = SqliteTokenStore(path)
        try:
            claims = _fill_store(path, tokens, now, random.Random(SEED + tokens))
            backend = SimulatedBackend(load_demo_dataset())
            registry = SessionRegistry(backend)
            account = await backend.account(DEMO_ACCOUNT)
            assert account is not None
            newest = sorted(claims, key=lambda c: c.issued_at, reverse=True)
            for token in newest[:5] + newest[-5:]:
                await registry.session_for(token, account, "127.0.0.1", "bench")
            view = SessionsView(store, registry)
            query = TokenQuery(now=now, limit=PAGE)
            timings: dict[bool, list[float]] = {False: [], True: []}
            for by_last_activity in (False, True):
                for _ in range(PAGE_REPEATS + 1):  # the first one warms the reader up
                    started = time.perf_counter()
                    listing = await view.list(query, None, by_last_activity)
                    timings[by_last_activity].append((time.perf_counter() - started) * 1000)
                    assert listing.total == tokens
                    assert len(listing.rows) == min(PAGE, tokens)
            return (
                statistics.median(timings[False][1:]),
                statistics.median(timings[True][1:]),
            )
        finally:
            await store.close()


def _admin() -> list[Figure]:
    big_ms, big_activity_ms = asyncio.run(_page_ms(STORE_TOKENS))
    small_ms, small_activity_ms = asyncio.run(_page_ms(SMALL_STORE_TOKENS))
    print(
        f"admin page of {PAGE}: {big_ms:.2f} ms at {STORE_TOKENS:,} tokens, {small_ms:.2f} ms at "
        f"{SMALL_STORE_TOKENS}; by last activity {big_activity_ms:.2f} / {small_activity_ms:.2f} ms"
    )
    return [
        Figure(
            "admin_sessions_page_ms",
            big_ms,
            "ms",
            small_ms,
            f"<= 50 ms at {STORE_TOKENS:,} tokens (baseline: the same page at "
            f"{SMALL_STORE_TOKENS} tokens)",
            f"SessionsView.list over SqliteTokenStore, newest first, page of {PAGE} with the "
            f"total count; by last activity {big_activity_ms:.2f} ms "
            f"(at {SMALL_STORE_TOKENS}: {small_activity_ms:.2f} ms)",
        )
    ]


def measure() -> list[Figure]:
    _app()
    started = time.perf_counter()
    figures = _console() + _admin()
    print(f"sessions view benchmarks took {time.perf_counter() - started:.1f}s")
    return figures


if __name__ == "__main__":
    from tests.benchmarks.results import RESULTS_FILE, print_table, write_results

    results = measure()
    print()
    print_table(results)
    write_results(results)
    print(f"\nwritten to {RESULTS_FILE}")
