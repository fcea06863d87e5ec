"""The Sessions page at its 5,000-row cap, and the admin API's paged listing behind it.

Console side (Qt offscreen, in this process): synthetic typed rows (1,500 of them with trader
sessions) go through `SessionsModel` in a QTableView set up as the Sessions page sets it up
(sorting enabled, by last activity, newest first; no proxy). Each figure has a baseline
measured here, in the same run:

- first load against a bare QAbstractTableModel reset with the same rows in the same view
  (the floor Qt itself sets: no sorting, no formatting);
- a change of the find box's query against QSortFilterProxyModel's fixed-string filter on
  one column of that bare model;
- sorting by last activity against QSortFilterProxyModel.sort by `SORT_ROLE` over the same
  model;
- a burst of 1,000 feed changes through `apply` against resetting the model with the same
  rows (the longest frame when fed in batches of 100 is in the note);
- a `tick` (the timed columns of every row) against a dataChanged over every cell of the
  bare model.

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

import msgspec
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtCore import QSortFilterProxyModel as PlainProxy
from PySide6.QtWidgets import QAbstractItemView, QApplication, QTableView

from adapter_core.admin.sessions_view import SessionsView, TokenState
from adapter_core.backend.simulated import SimulatedBackend, load_demo_dataset
from adapter_core.sessions import SessionRegistry
from adapter_core.store.base import TokenQuery
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.claims import TokenClaims
from console.models.sessions_model import SORT_ROLE, SessionsModel
from console.services.session_columns import COLUMNS, column_index
from console.services.session_query import SessionQuery
from console.services.session_rows import (
    CachedCounts,
    ChangeKind,
    SessionChange,
    SessionRow,
    TraderSessionRow,
)
from tests.benchmarks.results import Figure

ROWS = 5_000
"""The Sessions page's cap (`SessionFeed`'s max_rows)."""
WITH_SESSIONS = 1_500
BURST = 1_000
FEED_BATCH = 100
"""The burst once more as a live feed might deliver it: apply calls of this many changes."""
ROUNDS = 5
PAGE = 50
STORE_TOKENS = 100_000
SMALL_STORE_TOKENS = 100
PAGE_REPEATS = 15
SEED = 20_260_101
BROKERS = ("BESTBROKER", "ICMARKETS", "PEPPERSTONE", "FXPRO", "SPOTWARE")
DEMO_ACCOUNT = 137780091
DAY = 86_400.0
USER = column_index("User")
ISSUED = column_index("Issued")
LAST_ACTIVITY = column_index("Last activity")
_DISPLAY = Qt.ItemDataRole.DisplayRole
_Index = QModelIndex | QPersistentModelIndex
_replace = msgspec.structs.replace


# Synthetic admin rows


def _trader_session(rng: random.Random, row: SessionRow, now: float) -> TraderSessionRow:
    accounts = row.ctid_trader_account_ids or (rng.randrange(137_780_000, 137_800_000),)
    last = now - rng.uniform(0, 900)
    return TraderSessionRow(
        account_id=rng.choice(accounts),
        broker_name=row.broker_names[0],
        opened_at=last - rng.uniform(0, 3 * 3600),
        last_activity=last,
        request_count=rng.randrange(1, 20_000),
        client_address=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        user_agent="Mozilla/5.0 (TradingView)",
        cached=CachedCounts(
            positions=rng.randrange(0, 8),
            orders=rng.randrange(0, 12),
            order_history=rng.randrange(0, 40),
            deals=rng.randrange(0, 60),
        ),
    )


def _with_sessions(
    row: SessionRow, sessions: tuple[TraderSessionRow, ...], now: float
) -> SessionRow:
    last = max((session.last_activity for session in sessions), default=None)
    state = row.state
    if state in (TokenState.ISSUED, TokenState.ACTIVE, TokenState.IDLE):
        live = last is not None and now - last < 60
        state = (
            TokenState.ISSUED if last is None else TokenState.ACTIVE if live else TokenState.IDLE
        )
    return _replace(
        row,
        state=state,
        last_activity=last,
        request_count=sum(session.request_count for session in sessions),
        trader_sessions=sessions,
    )


def synthetic_row(rng: random.Random, now: float) -> SessionRow:
    issued = now - rng.uniform(0, 30 * DAY)
    expires = issued + rng.choice((7, 30, 90)) * DAY
    revoked = rng.random() < 0.03
    state = (
        TokenState.REVOKED
        if revoked
        else TokenState.EXPIRED
        if expires <= now
        else TokenState.ISSUED
    )
    return SessionRow(
        token_id=rng.getrandbits(128).to_bytes(16, "big").hex(),
        user_id=rng.randrange(10_000, 60_000),
        broker_names=(rng.choice(BROKERS),),
        ctid_trader_account_ids=(
            tuple(sorted(rng.sample(range(137_780_000, 137_800_000), rng.randint(1, 3))))
            if rng.random() < 0.6
            else None
        ),
        is_verified=rng.random() < 0.8,
        issued_at=int(issued),
        expires_at=int(expires),
        key_id=f"{rng.getrandbits(32):08x}",
        state=state,
        revoked_at=int(now - rng.uniform(0, DAY)) if revoked else None,
    )


def synthetic_rows(count: int, with_sessions: int, now: float, seed: int) -> list[SessionRow]:
    rng = random.Random(seed)
    rows = [synthetic_row(rng, now) for _ in range(count)]
    live = [number for number, row in enumerate(rows) if row.state is TokenState.ISSUED]
    for number in rng.sample(live, with_sessions):
        row = rows[number]
        sessions = tuple(_trader_session(rng, row, now) for _ in range(rng.randint(1, 3)))
        rows[number] = _with_sessions(row, sessions, now)
    return rows


def burst(rows: list[SessionRow], now: float, rng: random.Random) -> list[SessionChange]:
    """1,000 feed changes: activity on live sessions, new tokens, logouts, removals."""
    active = [row for row in rows if row.trader_sessions]
    picked = rng.sample(active, 800 + 50)
    changes = []
    for row in picked[:800]:
        sessions = tuple(
            _replace(
                session,
                last_activity=now - rng.uniform(0, 2),
                request_count=session.request_count + rng.randrange(1, 4),
            )
            for session in row.trader_sessions
        )
        changes.append(_upsert(_with_sessions(row, sessions, now)))
    for row in picked[800:]:
        revoked = _replace(row, state=TokenState.REVOKED, revoked_at=now, trader_sessions=())
        changes.append(_upsert(revoked))
    for _ in range(100):
        new = _replace(
            synthetic_row(rng, now),
            issued_at=now,
            expires_at=now + 30 * DAY,
            state=TokenState.ISSUED,
            revoked_at=None,
        )
        changes.append(_upsert(new))
    untouched = {row.key for row in picked}
    gone = rng.sample([row for row in rows if row.key not in untouched], 50)
    changes += [SessionChange(ChangeKind.REMOVE, row.key) for row in gone]
    rng.shuffle(changes)
    return changes


def _upsert(row: SessionRow) -> SessionChange:
    return SessionChange(ChangeKind.UPSERT, row.key, row)


# The page, and a bare one for baselines


class BareModel(QAbstractTableModel):
    """The least a table model can do over the same rows: one raw field per cell, as text."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[str, ...]] = []

    def reset(self, rows: list[SessionRow]) -> None:
        self.beginResetModel()
        self._rows = [_fields(row) for row in rows]
        self.endResetModel()

    def touch_all(self) -> None:
        self.dataChanged.emit(
            self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1), [_DISPLAY]
        )

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section].title
        return None

    def data(self, index: _Index, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY or not index.isValid():
            return None
        return self._rows[index.row()][index.column()]


def _fields(row: SessionRow) -> tuple[str, ...]:
    """Fourteen raw fields as text, one per column: no formatting, no lookups."""
    return tuple(
        str(value)
        for value in (
            row.token_id,
            row.user_id,
            row.broker_names,
            row.ctid_trader_account_ids,
            row.is_verified,
            row.state,
            row.issued_at,
            row.expires_at,
            row.last_activity,
            row.request_count,
            len(row.trader_sessions),
            row.key_id,
            row.revoked_at,
            row.source,
        )
    )


def _app() -> QApplication:
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication([])


def _view(model: QAbstractTableModel | PlainProxy) -> QTableView:
    view = QTableView()
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().hide()
    view.setModel(model)
    model.setParent(view)
    view.resize(1400, 900)
    view.show()
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


def _best(action: Callable[[], object]) -> float:
    return min(_timed(action) for _ in range(ROUNDS))


def _page_view() -> QTableView:
    """The model in a view wired as the Sessions page wires them: sorting, no proxy."""
    view = _view(SessionsModel())
    view.horizontalHeader().setSortIndicator(LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
    view.setSortingEnabled(True)
    return view


def _console() -> list[Figure]:
    now = time.time()
    rows = synthetic_rows(ROWS, WITH_SESSIONS, now, SEED)
    with _closing(_page_view()) as page_view:
        model = page_view.model()
        assert isinstance(model, SessionsModel)
        with _closing(_view(BareModel())) as bare_view:
            bare = bare_view.model()
            assert isinstance(bare, BareModel)
            figures = [
                _load(model, bare, rows),
                _filter(model, bare, rows),
                _sort(page_view, model, rows),
                _apply(page_view, model, now),
                _tick(model, bare),
            ]
    return figures


def _load(model: SessionsModel, bare: BareModel, rows: list[SessionRow]) -> Figure:
    bare_ms = _best(partial(bare.reset, rows))
    load_ms = _best(partial(model.reset, rows))
    print(f"first load: {load_ms:.1f} ms (bare model reset {bare_ms:.1f} ms)")
    return Figure(
        "sessions_first_load_ms",
        load_ms,
        "ms",
        bare_ms,
        "ratio <= 3 (vs a bare QAbstractTableModel reset in the same view)",
        f"{ROWS:,} rows: reset, sort by last activity, QTableView shown offscreen; best of "
        f"{ROUNDS}",
    )


def _filter(model: SessionsModel, bare: BareModel, rows: list[SessionRow]) -> Figure:
    term = str(rows[0].user_id)[:2]
    query = SessionQuery(term)
    shown = sum(map(query.matches, rows))
    filter_ms, clear_ms = [], []
    for _ in range(ROUNDS):
        filter_ms.append(_timed(partial(model.set_query, query)))
        clear_ms.append(_timed(partial(model.set_query, SessionQuery())))
    state_ms = _timed(partial(model.set_query, SessionQuery(state=TokenState.ACTIVE)))
    model.set_query(SessionQuery())
    proxy = PlainProxy()
    proxy.setFilterKeyColumn(USER)
    proxy.setSourceModel(bare)
    with _closing(_view(proxy)):
        bare_filter_ms = []
        for _ in range(ROUNDS):
            bare_filter_ms.append(_timed(partial(proxy.setFilterFixedString, term)))
            _timed(partial(proxy.setFilterFixedString, ""))
    best, best_clear, best_bare = min(filter_ms), min(clear_ms), min(bare_filter_ms)
    print(
        f"query {term!r}: {best:.1f} ms ({shown:,} rows shown), cleared in {best_clear:.1f} ms, "
        f"state active {state_ms:.1f} ms (Qt fixed-string filter {best_bare:.1f} ms)"
    )
    return Figure(
        "sessions_filter_ms",
        best,
        "ms",
        best_bare,
        "ratio <= 2 (vs QSortFilterProxyModel's fixed-string filter on one column)",
        f"query {term!r} over user ids, accounts, token ids and brokers at {ROWS:,} rows "
        f"({shown:,} shown), rows leaving and arriving in runs; clearing it {best_clear:.1f} ms; "
        f"state filter {state_ms:.1f} ms; best of {ROUNDS}",
    )


def _sort(view: QTableView, model: SessionsModel, rows: list[SessionRow]) -> Figure:
    def resort() -> None:
        view.sortByColumn(ISSUED, Qt.SortOrder.DescendingOrder)
        view.sortByColumn(LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)

    sort_ms = _best(resort) / 2
    other = SessionsModel()
    other.reset(rows)
    proxy = PlainProxy()
    proxy.setSortRole(SORT_ROLE)
    proxy.setSourceModel(other)
    other.setParent(proxy)
    with _closing(_view(proxy)):

        def proxy_resort() -> None:
            proxy.sort(ISSUED, Qt.SortOrder.DescendingOrder)
            proxy.sort(LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)

        qt_sort_ms = _best(proxy_resort) / 2
    print(
        f"sort by last activity: {sort_ms:.1f} ms (QSortFilterProxyModel.sort {qt_sort_ms:.1f} ms)"
    )
    return Figure(
        "sessions_sort_ms",
        sort_ms,
        "ms",
        qt_sort_ms,
        "ratio <= 0.2 (vs QSortFilterProxyModel.sort by SORT_ROLE over the same model)",
        f"a header click at {ROWS:,} rows: the model sorts in Python, persistent indexes move; "
        f"half of issued-then-last-activity, best of {ROUNDS}",
    )


def _apply(view: QTableView, model: SessionsModel, now: float) -> Figure:
    rng = random.Random(SEED + 2)
    applies, resets, batch_frames = [], [], []
    for _ in range(ROUNDS):
        applies.append(_timed(partial(model.apply, burst(model.visible_rows(), now, rng))))
        resets.append(_timed(partial(model.reset, model.visible_rows())))
    view.selectRow(3)
    selected = model.row_at(view.selectionModel().selectedRows()[0].row()).key
    changes = burst(model.visible_rows(), now, rng)
    for first in range(0, len(changes), FEED_BATCH):
        batch_frames.append(_timed(partial(model.apply, changes[first : first + FEED_BATCH])))
    still = [model.row_at(index.row()).key for index in view.selectionModel().selectedRows()]
    kept = "kept" if still == [selected] or model.row_for(selected) is None else "LOST"
    apply_ms, reset_ms = statistics.median(applies), statistics.median(resets)
    print(
        f"{BURST:,} changes: apply {apply_ms:.1f} ms, reset {reset_ms:.1f} ms; in batches of "
        f"{FEED_BATCH}: longest frame {max(batch_frames):.1f} ms; selection {kept}"
    )
    return Figure(
        "sessions_apply_1000_ms",
        apply_ms,
        "ms",
        reset_ms,
        "ratio <= 1 (vs resetting the model with the same rows, which loses the selection)",
        f"{BURST:,} changes (800 activity, 50 logouts, 100 new, 50 removed) at {ROWS:,} rows, "
        f"sorted by last activity; median of {ROUNDS}; fed in batches of {FEED_BATCH} the "
        f"longest frame was {max(batch_frames):.1f} ms; selection {kept}",
    )


def _tick(model: SessionsModel, bare: BareModel) -> Figure:
    tick_ms = _best(model.tick)
    bare_ms = _best(bare.touch_all)
    print(f"tick: {tick_ms:.1f} ms (every cell of the bare model changed {bare_ms:.1f} ms)")
    return Figure(
        "sessions_tick_ms",
        tick_ms,
        "ms",
        bare_ms,
        "ratio <= 2 (vs dataChanged over every cell of the bare model)",
        f"the three timed columns of {ROWS:,} rows, repainted offscreen; best of {ROUNDS}",
    )


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
