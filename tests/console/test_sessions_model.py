"""The Sessions table model: cells from COLUMNS, and edits replayed so selection survives."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from adapter_core.admin.sessions_view import TokenState
from console.models.sessions_model import ROW_ROLE, SORT_ROLE, SessionsModel
from console.services.formatting import file_name_part, local_time, relative_time
from console.services.session_columns import COLUMNS, INSTANCE_COLUMN, STATE_COLOURS, column_index
from console.services.session_query import SessionQuery
from console.services.session_rows import (
    CachedCounts,
    ChangeKind,
    RowSource,
    SessionChange,
    SessionRow,
    TraderSessionRow,
)

NOW = 1_780_000_000.0
DAY = 86_400.0
DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
(
    TOKEN,
    USER,
    BROKERS,
    ACCOUNTS,
    VERIFIED,
    STATE,
    ISSUED,
    EXPIRES,
    LAST_ACTIVITY,
    REQUESTS,
    TRADER_SESSIONS,
    POSITIONS,
    ORDERS,
    DEALS,
    INSTANCE,
) = range(15)
LAST_SHOWN = DEALS
"""The last column while the adapter has one instance (Instance is left out)."""
SELECT_ROWS = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def token_id(number: int) -> str:
    return f"{number:02x}" + "c0ffee" * 5


def trader_session(
    account_id: int,
    last_activity: float,
    *,
    requests: int = 10,
    positions: int = 1,
    orders: int = 2,
    deals: int = 3,
    instance: str | None = None,
) -> TraderSessionRow:
    return TraderSessionRow(
        instance=instance,
        account_id=account_id,
        broker_name="BESTBROKER",
        opened_at=last_activity - 600,
        last_activity=last_activity,
        request_count=requests,
        client_address="10.0.0.7",
        user_agent="TradingView",
        cached=CachedCounts(positions=positions, orders=orders, order_history=9, deals=deals),
    )


def row(
    number: int,
    *,
    user_id: int = 14601,
    brokers: tuple[str, ...] = ("BESTBROKER",),
    accounts: tuple[int, ...] | None = None,
    state: TokenState | None = TokenState.ISSUED,
    issued_at: float = NOW - 3 * DAY,
    expires_at: float = NOW + 29 * DAY + 60,
    sessions: tuple[TraderSessionRow, ...] = (),
    verified: bool = True,
) -> SessionRow:
    return SessionRow(
        token_id=token_id(number),
        user_id=user_id,
        broker_names=brokers,
        ctid_trader_account_ids=accounts,
        is_verified=verified,
        issued_at=issued_at,
        expires_at=expires_at,
        state=state,
        key_id="0a0b0c0d",
        revoked_at=NOW - 60 if state is TokenState.REVOKED else None,
        last_activity=max((s.last_activity for s in sessions), default=None),
        request_count=sum(s.request_count for s in sessions),
        trader_sessions=sessions,
    )


def active(number: int, last_activity: float, **claims: Any) -> SessionRow:
    """A token with one trader session whose last request was at `last_activity`."""
    return row(number, sessions=(trader_session(number, last_activity),), **claims)


def upsert(updated: SessionRow) -> SessionChange:
    return SessionChange(ChangeKind.UPSERT, updated.key, updated)


def remove(number: int) -> SessionChange:
    return SessionChange(ChangeKind.REMOVE, token_id(number))


def model_with(rows: list[SessionRow], clock: Clock | None = None) -> SessionsModel:
    model = SessionsModel(clock or Clock())
    model.reset(rows)
    return model


def shown(model: SessionsModel | QSortFilterProxyModel) -> list[str]:
    """Row keys in table order, read through Qt."""
    return [model.index(r, 0).data(ROW_ROLE).key for r in range(model.rowCount())]


def ids(*numbers: int) -> list[str]:
    return [token_id(n) for n in numbers]


def cell(model: SessionsModel, number: int, column: int, role: int = DISPLAY) -> Any:
    return model.index(number, column).data(role)


def selected(selection: QItemSelectionModel) -> list[str]:
    return sorted(index.data(ROW_ROLE).key for index in selection.selectedRows())


class Spy:
    """Records a model's change signals as plain tuples."""

    def __init__(self, model: SessionsModel) -> None:
        self.events: list[tuple[Any, ...]] = []
        model.dataChanged.connect(
            lambda top, bottom, roles=(): self.events.append(
                ("data", top.row(), bottom.row(), top.column(), bottom.column())
            )
        )
        model.rowsInserted.connect(lambda _, a, b: self.events.append(("insert", a, b)))
        model.rowsRemoved.connect(lambda _, a, b: self.events.append(("remove", a, b)))
        model.layoutChanged.connect(lambda *_: self.events.append(("layout",)))
        model.modelReset.connect(lambda: self.events.append(("reset",)))


# Display


def test_columns_are_in_the_order_the_page_shows_them() -> None:
    titles = [column.title for column in COLUMNS]
    assert titles == [
        "Token id",
        "User",
        "Brokers",
        "Accounts",
        "Verified",
        "State",
        "Issued",
        "Expires",
        "Last activity",
        "Requests",
        "Trader sessions",
        "Positions",
        "Orders",
        "Deals",
        "Instance",
    ]
    assert [column_index(title) for title in titles] == list(range(15))
    assert column_index("Instance") == INSTANCE_COLUMN == INSTANCE
    with pytest.raises(ValueError, match="Tokens"):
        column_index("Tokens")


def test_every_column_shows_the_row_as_an_operator_reads_it() -> None:
    busy = row(
        1,
        accounts=(137780091, 137792301),
        state=TokenState.ACTIVE,
        sessions=(
            trader_session(137780091, NOW - 35, requests=7, positions=2, orders=1, deals=4),
            trader_session(137792301, NOW - 7200, requests=5, positions=1, orders=3, deals=0),
        ),
    )
    model = model_with([busy])
    assert model.columnCount() == len(COLUMNS) - 1  # one instance: no Instance column
    shown_text = [cell(model, 0, column) for column in range(model.columnCount())]
    assert shown_text == [
        "01c0ffeec0ff…",
        "14601",
        "BESTBROKER",
        "137780091, 137792301",
        "yes",
        "active",
        "3 d ago",
        "in 29 d",
        "35 s ago",
        "12",
        "2",
        "3",
        "4",
        "4",
    ]
    assert model.headerData(LAST_ACTIVITY, Qt.Orientation.Horizontal) == "Last activity"
    assert "trader sessions" in model.headerData(LAST_ACTIVITY, Qt.Orientation.Horizontal, TOOLTIP)
    assert model.headerData(USER, Qt.Orientation.Horizontal, TOOLTIP) is None
    assert cell(model, 0, TOKEN, TOOLTIP) == token_id(1)
    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    alignments = [cell(model, 0, c, Qt.ItemDataRole.TextAlignmentRole) for c in range(14)]
    numeric = {USER, REQUESTS, TRADER_SESSIONS, POSITIONS, ORDERS, DEALS}
    assert alignments == [right if c in numeric else None for c in range(14)]


def test_a_token_without_listed_accounts_or_sessions_reads_all_accounts_and_dash() -> None:
    model = model_with([row(1, accounts=None, verified=False)])
    assert cell(model, 0, ACCOUNTS) == "all accounts"
    assert cell(model, 0, VERIFIED) == "no"
    assert cell(model, 0, LAST_ACTIVITY) == "—"
    assert cell(model, 0, LAST_ACTIVITY, TOOLTIP) is None
    assert [cell(model, 0, c) for c in (TRADER_SESSIONS, POSITIONS, DEALS)] == ["0", "0", "0"]


def test_a_console_record_shows_what_is_unknown_and_says_why() -> None:
    record = SessionRow(
        token_id=None,
        user_id=14601,
        broker_names=("BESTBROKER",),
        ctid_trader_account_ids=None,
        is_verified=True,
        issued_at=NOW - 60,
        expires_at=NOW + DAY,
        state=None,
        source=RowSource.CONSOLE,
        record_id="rec-1",
    )
    probed = SessionRow(
        token_id=token_id(2),
        user_id=14601,
        broker_names=("BESTBROKER",),
        ctid_trader_account_ids=None,
        is_verified=True,
        issued_at=NOW - 60,
        expires_at=NOW + DAY,
        state=TokenState.ISSUED,
        probe_status=200,
        source=RowSource.CONSOLE,
        record_id="rec-2",
    )
    model = model_with([record, probed])
    number = model.visible_rows().index(record)
    assert cell(model, number, TOKEN) == "—"
    assert "never told" in cell(model, number, TOKEN, TOOLTIP)
    assert cell(model, number, STATE) == "unknown"
    assert "could not be asked" in cell(model, number, STATE, TOOLTIP)
    assert "GET /accounts" in cell(model, 1 - number, STATE, TOOLTIP)
    assert cell(model, 1 - number, STATE) == "issued"
    assert model.row_for("record:rec-1") is record


def console_record(
    number: int, *, state: TokenState | None = TokenState.ISSUED, status: int | None = 200
) -> SessionRow:
    """A broker-only row as the Sessions page builds it: expiry assumed, state probed."""
    return SessionRow(
        token_id=None,
        user_id=14601 + number,
        broker_names=("BESTBROKER",),
        ctid_trader_account_ids=None,
        is_verified=True,
        issued_at=NOW - 60,
        expires_at=NOW + 29 * DAY + 60,
        expiry_assumed=True,
        state=state,
        probe_status=status,
        source=RowSource.CONSOLE,
        record_id=f"rec-{number}",
    )


def test_a_console_row_labels_what_is_assumed_and_shows_unknown_counts_as_unknown() -> None:
    model = model_with([console_record(1)])
    assert cell(model, 0, EXPIRES) == "in 29 d (assumed)"
    assert "(an assumption)" in cell(model, 0, EXPIRES, TOOLTIP)
    assert "not told by this adapter" in cell(model, 0, EXPIRES, TOOLTIP)
    unknown = (LAST_ACTIVITY, REQUESTS, TRADER_SESSIONS, POSITIONS, ORDERS, DEALS)
    assert [cell(model, 0, c) for c in unknown] == ["—"] * len(unknown)
    assert all("does not tell" in cell(model, 0, c, TOOLTIP) for c in unknown)
    assert cell(model, 0, STATE) == "issued"
    assert "answered 200" in cell(model, 0, STATE, TOOLTIP)


@pytest.mark.parametrize(
    ("status", "said"),
    [(404, "answered 404: this adapter does not serve it"), (500, "answered HTTP 500")],
)
def test_a_probe_that_told_nothing_leaves_the_state_assumed(status: int, said: str) -> None:
    model = model_with([console_record(1, status=status)])
    assert cell(model, 0, STATE) == "issued (assumed)"
    tooltip = cell(model, 0, STATE, TOOLTIP)
    assert tooltip.startswith("Assumed: ")
    assert said in tooltip
    assert "the probe told nothing" in tooltip


def test_a_refused_probe_or_the_console_record_says_where_the_state_comes_from() -> None:
    refused = console_record(1, state=TokenState.REVOKED, status=401)
    recorded = console_record(2, state=TokenState.REVOKED, status=None)
    model = model_with([refused, recorded])
    tips = {model.row_at(r).key: cell(model, r, STATE, TOOLTIP) for r in range(2)}
    assert "answered 401" in tips[refused.key]
    assert tips[recorded.key].startswith("From this console's record (it logged the token out)")
    assert [cell(model, r, STATE) for r in range(2)] == ["revoked", "revoked"]


def test_the_export_writes_full_token_ids_and_absolute_utc_times() -> None:
    busy = row(1, sessions=(trader_session(137780091, NOW - 35, requests=7, positions=2),))
    exported = [column.export_value(busy, NOW) for column in COLUMNS[:INSTANCE_COLUMN]]
    assert exported == [
        token_id(1),
        14601,
        "BESTBROKER",
        "all accounts",
        "yes",
        "issued",
        "2026-05-25T20:26:40Z",
        "2026-06-26T20:27:40Z",
        "2026-05-28T20:26:05Z",
        7,
        1,
        2,
        2,
        3,
    ]
    assumed = [column.export_value(console_record(1), NOW) for column in COLUMNS[:INSTANCE_COLUMN]]
    assert assumed[TOKEN] is None  # never told: an empty cell, not a dash or a made-up id
    assert assumed[EXPIRES] == "2026-06-26T20:27:40Z (assumed)"
    assert assumed[LAST_ACTIVITY:] == [None] * 6  # not known, not 0


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (0.4, "now"),
        (-35, "35 s ago"),
        (59.9, "in 59 s"),
        (300, "in 5 min"),
        (-2 * 3600 - 5, "2 h ago"),
        (29 * DAY + 60, "in 29 d"),
        (-400 * DAY, "400 d ago"),
    ],
)
def test_relative_time(offset: float, text: str) -> None:
    assert relative_time(NOW + offset, NOW) == text


def test_times_show_relative_with_the_exact_local_time_as_tooltip() -> None:
    model = model_with([active(1, NOW - 120, state=TokenState.REVOKED)])
    assert cell(model, 0, ISSUED, TOOLTIP) == local_time(model.row_at(0).issued_at)
    assert cell(model, 0, EXPIRES, TOOLTIP) == local_time(model.row_at(0).expires_at)
    assert cell(model, 0, LAST_ACTIVITY) == "2 min ago"
    assert cell(model, 0, LAST_ACTIVITY, TOOLTIP) == local_time(NOW - 120)
    assert cell(model, 0, STATE, TOOLTIP) == f"revoked at {local_time(NOW - 60)}"


def test_each_state_has_its_own_colour_and_one_cached_icon(qapp: Any) -> None:
    states = [*TokenState, None]
    model = model_with([row(n, state=state) for n, state in enumerate(states)])
    assert len(set(STATE_COLOURS.values())) == len(states)
    for number in range(len(states)):
        state = model.row_at(number).state
        icon = cell(model, number, STATE, Qt.ItemDataRole.DecorationRole)
        assert isinstance(icon, QIcon)
        again = cell(model, number, STATE, Qt.ItemDataRole.DecorationRole)
        assert icon.cacheKey() == again.cacheKey()  # drawn once, shared
        centre = icon.pixmap(12, 12).toImage().pixelColor(6, 6)
        assert centre.name() == STATE_COLOURS[state]
        assert cell(model, number, STATE) == ("unknown" if state is None else state.value)
    assert cell(model, 0, USER, Qt.ItemDataRole.DecorationRole) is None


def test_sort_role_gives_raw_numbers_and_row_role_the_row() -> None:
    busy = row(1, sessions=(trader_session(1, NOW - 5, requests=40),))
    model = model_with([busy])
    assert cell(model, 0, REQUESTS, SORT_ROLE) == 40
    assert cell(model, 0, LAST_ACTIVITY, SORT_ROLE) == NOW - 5
    assert cell(model, 0, USER, SORT_ROLE) == 14601
    assert cell(model, 0, ACCOUNTS, SORT_ROLE) == -1  # all accounts
    assert cell(model, 0, BROKERS, SORT_ROLE) == "bestbroker"
    assert model.data(model.index(0, TOKEN), ROW_ROLE) is busy
    assert cell(model, 0, TOKEN, ROW_ROLE) is busy  # through Qt: the very row
    idle = model_with([row(2)])
    assert cell(idle, 0, LAST_ACTIVITY, SORT_ROLE) == 0.0


def test_tick_refreshes_only_the_time_columns_of_every_row() -> None:
    clock = Clock()
    model = model_with([active(1, NOW - 30), row(2)], clock)
    spy = Spy(model)
    clock.now += 60
    model.tick()
    timed = [number for number, column in enumerate(COLUMNS) if column.timed]
    assert timed == [ISSUED, EXPIRES, LAST_ACTIVITY]
    assert spy.events == [("data", 0, 1, ISSUED, LAST_ACTIVITY)]
    assert cell(model, 0, LAST_ACTIVITY) == "1 min ago"
    model.reset([])
    model.tick()
    assert spy.events[-1] == ("reset",)


def test_invalid_indexes_and_unknown_roles_give_nothing() -> None:
    model = model_with([row(1)])
    assert model.data(QModelIndex()) is None
    assert model.index(5, 0).data() is None
    assert cell(model, 0, USER, Qt.ItemDataRole.BackgroundRole) is None
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.headerData(INSTANCE, Qt.Orientation.Horizontal) is None  # not shown
    assert model.index(0, INSTANCE).data() is None
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.columnCount(model.index(0, 0)) == 0


# The Instance column: several adapter instances on one store


def on(number: int, *instances: str) -> SessionRow:
    """An active token with a trader session on each of `instances`."""
    return row(
        number,
        state=TokenState.ACTIVE,
        sessions=tuple(
            trader_session(137780091 + n, NOW - 5, instance=name)
            for n, name in enumerate(instances)
        ),
    )


class ColumnSpy:
    def __init__(self, model: SessionsModel) -> None:
        self.events: list[tuple[str, int, int]] = []
        model.columnsInserted.connect(lambda _, a, b: self.events.append(("insert", a, b)))
        model.columnsRemoved.connect(lambda _, a, b: self.events.append(("remove", a, b)))


def instance_cells(model: SessionsModel) -> dict[str, str]:
    return {
        model.index(r, 0).data(ROW_ROLE).key: cell(model, r, INSTANCE)
        for r in range(model.rowCount())
    }


def test_the_instance_column_is_in_the_model_only_while_sessions_are_on_several_instances(
    qtmodeltester: ModelTester,
) -> None:
    model = model_with([on(1, "a"), on(2, "a"), row(3)])
    qtmodeltester.check(model, force_py=True)  # type: ignore[no-untyped-call]
    spy = ColumnSpy(model)
    assert (model.columnCount(), model.instance_column_shown) == (len(COLUMNS) - 1, False)
    assert model.headerData(INSTANCE, Qt.Orientation.Horizontal) is None
    model.apply([upsert(on(4, "b"))])
    assert spy.events == [("insert", INSTANCE, INSTANCE)]
    assert (model.columnCount(), model.instance_column_shown) == (len(COLUMNS), True)
    assert model.headerData(INSTANCE, Qt.Orientation.Horizontal) == "Instance"
    assert model.columns() == COLUMNS
    assert instance_cells(model) == {
        token_id(1): "a",
        token_id(2): "a",
        token_id(3): "",
        token_id(4): "b",
    }
    model.apply([upsert(on(2, "b", "a"))])
    assert cell(model, model_row(model, 2), INSTANCE) == "a, b"
    model.sort(INSTANCE, Qt.SortOrder.AscendingOrder)
    assert shown(model) == ids(3, 1, 2, 4)
    model.set_query(SessionQuery(state=TokenState.REVOKED))  # hidden rows still count
    assert model.rowCount() == 0
    assert model.instance_column_shown
    model.set_query(SessionQuery())
    model.apply([remove(4)])
    assert model.instance_column_shown  # token 2 still has a session on each
    assert len(spy.events) == 1
    model.apply([upsert(on(2, "a"))])
    assert spy.events[-1] == ("remove", INSTANCE, INSTANCE)
    assert model.columnCount() == len(COLUMNS) - 1
    model.reset([on(5, "x"), on(6, "y")])
    assert spy.events[-1] == ("insert", INSTANCE, INSTANCE)
    model.reset([])
    assert spy.events[-1] == ("remove", INSTANCE, INSTANCE)
    assert len(spy.events) == 4
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]


def model_row(model: SessionsModel, number: int) -> int:
    return shown(model).index(token_id(number))


def test_the_column_shows_as_soon_as_the_adapter_reports_several_instances(
    qtmodeltester: ModelTester,
) -> None:
    model = model_with([row(1)])
    qtmodeltester.check(model, force_py=True)  # type: ignore[no-untyped-call]
    spy = ColumnSpy(model)
    model.set_reported_instances(1)
    assert spy.events == []
    model.set_reported_instances(3)
    assert spy.events == [("insert", INSTANCE, INSTANCE)]
    assert instance_cells(model) == {token_id(1): ""}  # no session anywhere yet
    model.set_reported_instances(1)
    assert spy.events[-1] == ("remove", INSTANCE, INSTANCE)
    model.apply([upsert(on(2, "a")), upsert(on(3, "b"))])
    model.set_reported_instances(1)  # the rows' sessions are on two: it stays
    assert model.instance_column_shown
    model.set_reported_instances(0)
    assert model.instance_column_shown
    assert len(spy.events) == 3
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]


# Model checks and in-place changes


def test_model_passes_qt_model_checks_after_every_kind_of_operation(
    qtmodeltester: ModelTester,
) -> None:
    model = model_with([active(n, NOW - n) for n in range(6)])
    revoked = [row(n, state=TokenState.REVOKED) for n in (9, 10)]
    operations: list[Callable[[], None]] = [
        lambda: model.apply([remove(2), upsert(row(3, user_id=7)), upsert(row(40))]),
        lambda: model.sort(USER, Qt.SortOrder.DescendingOrder),
        lambda: model.hold_order(True),
        lambda: model.apply([upsert(active(5, NOW + 10, user_id=1)), upsert(row(42)), remove(0)]),
        lambda: model.hold_order(False),
        lambda: model.set_query(SessionQuery(state=TokenState.REVOKED)),
        lambda: model.apply([upsert(r) for r in revoked]),
        lambda: model.set_query(SessionQuery()),
        lambda: model.reset([row(n) for n in range(3)]),
        model.tick,
    ]
    qtmodeltester.check(model, force_py=True)  # type: ignore[no-untyped-call]
    # The Python tester above now re-checks on every signal; Qt's own checks afresh after each.
    for operation in operations:
        operation()
        qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    assert model.rowCount() == 3


def test_new_rows_take_their_place_in_the_sort_in_one_insert_per_place() -> None:
    model = model_with([row(n, user_id=10 * n) for n in range(1, 6)])
    model.sort(USER, Qt.SortOrder.AscendingOrder)
    spy = Spy(model)
    model.apply([upsert(row(7, user_id=25)), upsert(row(8, user_id=26)), upsert(row(9, user_id=5))])
    assert spy.events == [("insert", 2, 3), ("insert", 0, 0)]
    users = [cell(model, r, USER) for r in range(model.rowCount())]
    assert users == ["5", "10", "20", "25", "26", "30", "40", "50"]


def test_while_held_new_rows_are_appended_in_one_insert() -> None:
    model = model_with([row(1), row(2)])
    model.hold_order(True)
    spy = Spy(model)
    model.apply([upsert(row(3)), upsert(row(4)), upsert(row(5))])
    assert spy.events == [("insert", 2, 4)]
    assert shown(model) == ids(2, 1, 5, 4, 3)
    model.hold_order(False)
    assert spy.events[-1] == ("layout",)
    assert shown(model) == ids(5, 4, 3, 2, 1)


def test_only_changed_rows_emit_data_changed_for_all_their_columns() -> None:
    model = model_with([row(n) for n in range(5)])  # rows 4 3 2 1 0
    spy = Spy(model)
    model.apply([upsert(row(1)), upsert(row(3, state=TokenState.REVOKED)), upsert(row(4))])
    assert spy.events == [("data", 1, 1, 0, LAST_SHOWN)]
    assert cell(model, 1, STATE) == "revoked"
    spy.events.clear()
    model.apply([upsert(row(n)) for n in (0, 1, 2, 4)])
    assert spy.events == []


def test_removals_go_in_contiguous_runs_from_the_bottom() -> None:
    model = model_with([row(n) for n in range(10)])  # rows 9 to 0
    spy = Spy(model)
    model.apply([remove(2), remove(3), remove(4), remove(7), remove(99)])
    assert spy.events == [("remove", 5, 7), ("remove", 2, 2)]
    assert shown(model) == ids(9, 8, 6, 5, 1, 0)
    assert model.row_for(token_id(3)) is None
    assert model.total_rows() == 6


def test_only_the_latest_change_of_a_token_in_a_batch_counts() -> None:
    model = model_with([row(1), row(2)])
    model.apply([upsert(row(1, user_id=5)), remove(1), remove(2), upsert(row(2, user_id=6))])
    assert shown(model) == ids(2)
    assert cell(model, 0, USER) == "6"


def test_a_changed_sort_key_reports_the_new_data_then_moves_the_row() -> None:
    model = model_with([row(n, user_id=10 * n) for n in range(1, 5)])
    model.sort(USER, Qt.SortOrder.AscendingOrder)
    spy = Spy(model)
    model.apply([upsert(row(1, user_id=45)), upsert(row(3, user_id=31))])
    last = LAST_SHOWN
    assert spy.events == [("data", 0, 0, 0, last), ("data", 2, 2, 0, last), ("layout",)]
    assert [cell(model, r, USER) for r in range(4)] == ["20", "31", "40", "45"]


def test_persistent_indexes_follow_their_row_through_updates_removals_and_inserts() -> None:
    model = model_with([row(n, user_id=100 + n) for n in range(8)])
    model.sort(USER, Qt.SortOrder.AscendingOrder)
    kept = QPersistentModelIndex(model.index(5, USER))
    model.apply([upsert(row(5, user_id=777)), remove(1), remove(2), upsert(row(30, user_id=130))])
    assert kept.isValid()
    assert kept.row() == 6  # moved past 106, 107 and the new 130
    assert kept.data() == "777"
    model.sort(USER, Qt.SortOrder.DescendingOrder)
    assert kept.row() == 0
    model.apply([upsert(row(31, user_id=999))])
    assert kept.row() == 1
    assert kept.data(ROW_ROLE).key == token_id(5)
    model.apply([remove(5)])
    assert not kept.isValid()


def test_a_selection_stays_on_its_tokens_through_apply_sort_hold_and_query() -> None:
    sessions = [trader_session(n, NOW - 100 * n) for n in range(6)]
    model = model_with([row(n, sessions=(sessions[n],)) for n in range(6)])
    assert shown(model) == ids(0, 1, 2, 3, 4, 5)
    selection = QItemSelectionModel(model)
    selection.select(model.index(3, 0), SELECT_ROWS)
    selection.select(model.index(4, 0), SELECT_ROWS)
    model.apply(
        [
            upsert(row(5, sessions=(trader_session(5, NOW + 5),))),  # jumps to the top
            remove(1),
            upsert(row(9)),  # no activity: goes last
            upsert(row(3, user_id=42, sessions=(sessions[3],))),  # changes in place
        ]
    )
    assert shown(model) == ids(5, 0, 2, 3, 4, 9)
    assert selected(selection) == ids(3, 4)
    assert sorted(model.row_at(i.row()).key for i in selection.selectedRows()) == ids(3, 4)

    model.sort(USER, Qt.SortOrder.AscendingOrder)
    assert shown(model)[0] == token_id(3)  # user 42
    assert selected(selection) == ids(3, 4)

    model.hold_order(True)
    model.apply([upsert(row(4, user_id=1, sessions=(sessions[4],))), upsert(row(11, user_id=2))])
    assert shown(model)[-1] == token_id(11)  # held: new rows last, row 4 stays put
    assert selected(selection) == ids(3, 4)
    model.hold_order(False)
    assert shown(model)[:2] == ids(4, 11)
    assert selected(selection) == ids(3, 4)

    model.set_query(SessionQuery("14601"))  # row 3 is now user 42, row 4 user 1
    assert selected(selection) == []
    assert token_id(3) not in shown(model)
    assert model.row_for(token_id(3)) is not None
    assert model.total_rows() == 7


def test_replacing_every_row_keeps_the_selection_on_the_rows_still_there() -> None:
    """What the broker-only path's periodic reload does: no reset, so no lost selection."""
    model = model_with([console_record(n) for n in range(3)])
    selection = QItemSelectionModel(model)
    spy = Spy(model)
    kept = console_record(1)
    selection.select(model.index(model.visible_rows().index(kept), 0), SELECT_ROWS)
    model.replace([console_record(0, state=TokenState.REVOKED, status=401), kept])
    assert ("reset",) not in spy.events
    assert [index.data(ROW_ROLE) for index in selection.selectedRows()] == [kept]
    assert model.total_rows() == 2
    assert model.row_for(console_record(0).key) == console_record(
        0, state=TokenState.REVOKED, status=401
    )
    model.replace([kept])
    assert [index.data(ROW_ROLE) for index in selection.selectedRows()] == [kept]


def test_a_sorting_table_view_sorts_the_model_itself_and_keeps_the_selection(
    qtbot: QtBot,
) -> None:
    requests = [5, 40, 100, 9]
    model = model_with(
        [row(n, sessions=(trader_session(n, NOW - n, requests=r),)) for n, r in enumerate(requests)]
        + [row(9)]
    )
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSortingEnabled(True)
    view.sortByColumn(LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
    assert shown(model) == ids(0, 1, 2, 3, 9)  # no activity sorts last
    view.selectRow(2)
    view.sortByColumn(REQUESTS, Qt.SortOrder.AscendingOrder)
    column = [cell(model, r, REQUESTS) for r in range(model.rowCount())]
    assert column == ["0", "5", "9", "40", "100"]
    assert selected(view.selectionModel()) == ids(2)
    assert view.selectionModel().selectedRows()[0].row() == 4
    view.sortByColumn(ORDERS, Qt.SortOrder.DescendingOrder)
    assert cell(model, 4, ORDERS) == "0"


def test_a_plain_qt_proxy_sorts_numerically_by_the_sort_role() -> None:
    """SORT_ROLE serves other proxies too: Qt compares the raw numbers, not the text."""
    requests = [5, 40, 100, 9]
    model = model_with(
        [row(n, sessions=(trader_session(n, NOW - n, requests=r),)) for n, r in enumerate(requests)]
    )
    proxy = QSortFilterProxyModel()
    proxy.setSortRole(SORT_ROLE)
    proxy.setSourceModel(model)
    proxy.sort(REQUESTS, Qt.SortOrder.DescendingOrder)
    assert [proxy.index(r, REQUESTS).data() for r in range(4)] == ["100", "40", "9", "5"]


def test_a_burst_of_changes_at_the_page_cap_lands_in_order() -> None:
    rows = [
        row(n, user_id=n, sessions=(trader_session(n, NOW - n),) if n % 10 == 0 else ())
        for n in range(5_000)
    ]
    model = model_with(rows)
    changes = [
        upsert(row(n, user_id=n, sessions=(trader_session(n, NOW + n),)))
        for n in range(0, 4_000, 10)
    ]
    changes += [upsert(row(20_000 + n)) for n in range(100)] + [remove(n) for n in range(1, 200, 2)]
    model.apply(changes)
    assert model.rowCount() == 5_000
    assert cell(model, 0, USER) == "3990"
    assert model.visible_rows() == sorted(
        model.visible_rows(), key=lambda r: (r.last_activity or 0.0, r.key), reverse=True
    )


def test_emitting_from_python_does_not_use_up_true() -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to True per emit and aborts the
    interpreter after a few hundred (pyproject excludes it); this catches such a binding."""
    model = model_with([row(1)])
    before = sys.getrefcount(True)
    for _ in range(100):
        model.tick()
    assert sys.getrefcount(True) >= before


# Filtering


@pytest.fixture
def found() -> SessionsModel:
    return model_with(
        [
            row(0x1A, user_id=14601, accounts=(137780091,)),
            row(0x2B, user_id=146, brokers=("Pepperstone",), state=TokenState.REVOKED),
            row(
                0x3C,
                user_id=9001,
                brokers=("ICMarkets", "BESTBROKER"),
                state=TokenState.ACTIVE,
                sessions=(trader_session(555000111, NOW - 5),),
            ),
            row(0x4D, user_id=31460, brokers=("FXPRO",), accounts=(42,), state=TokenState.EXPIRED),
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("146", [0x2B, 0x1A]),  # userId prefix; 31460 contains 146 but does not start with it
        ("13778", [0x1A]),  # a listed account id
        ("555000111", [0x3C]),  # an account seen through a trader session
        ("bestbroker", [0x3C, 0x1A]),
        ("4dc0ffee", [0x4D]),  # token id prefix
        ("", [0x3C, 0x4D, 0x2B, 0x1A]),
    ],
)
def test_the_query_shows_what_the_adapter_would_list(
    found: SessionsModel, text: str, expected: list[int]
) -> None:
    found.set_query(SessionQuery(text))
    assert shown(found) == ids(*expected)
    assert found.visible_rows() == [found.row_at(r) for r in range(found.rowCount())]
    assert found.total_rows() == 4


def test_state_query(found: SessionsModel) -> None:
    found.set_query(SessionQuery(state=TokenState.REVOKED))
    assert shown(found) == ids(0x2B)
    found.set_query(SessionQuery("146", TokenState.ISSUED))
    assert shown(found) == ids(0x1A)
    found.set_query(SessionQuery("9001", TokenState.REVOKED))
    assert shown(found) == []
    found.set_query(SessionQuery())
    assert len(shown(found)) == 4


def test_the_query_follows_feed_changes(found: SessionsModel) -> None:
    found.set_query(SessionQuery(state=TokenState.ISSUED))
    assert shown(found) == ids(0x1A)
    found.apply(
        [
            upsert(row(0x1A, user_id=14601, state=TokenState.ACTIVE)),  # leaves the query
            upsert(row(0x60, user_id=1)),  # new and shown
            upsert(row(0x61, user_id=2, state=TokenState.REVOKED)),  # new and hidden
        ]
    )
    assert shown(found) == ids(0x60)
    assert found.row_for(token_id(0x61)) is not None  # known, not shown
    assert found.total_rows() == 6
    found.apply([upsert(row(0x61, user_id=2))])
    assert shown(found) == ids(0x61, 0x60)


def test_filtering_keeps_the_selection_on_rows_still_shown(found: SessionsModel) -> None:
    selection = QItemSelectionModel(found)
    selection.select(found.index(0, 0), SELECT_ROWS)
    selection.select(found.index(3, 0), SELECT_ROWS)
    assert selected(selection) == ids(0x1A, 0x3C)
    found.set_query(SessionQuery("bestbroker"))
    assert selected(selection) == ids(0x1A, 0x3C)
    found.set_query(SessionQuery("9001"))
    assert selected(selection) == ids(0x3C)
    found.set_query(SessionQuery())
    assert selected(selection) == ids(0x3C)


@pytest.mark.parametrize(
    ("name", "part"),
    [("Staging EU (new)", "staging-eu-new"), ("Брокер", "profile"), ("Prod 2", "prod-2")],
)
def test_a_profile_name_becomes_a_file_name_part(name: str, part: str) -> None:
    assert file_name_part(name) == part
