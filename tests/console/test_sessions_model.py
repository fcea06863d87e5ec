"""The Sessions table: rows updated in place from feed changes, shown, filtered and sorted."""

from __future__ import annotations

import sys
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
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from console.models.sessions_model import (
    COL_ACCOUNTS,
    COL_BROKERS,
    COL_DEALS,
    COL_EXPIRES,
    COL_ISSUED,
    COL_LAST_ACTIVITY,
    COL_ORDERS,
    COL_POSITIONS,
    COL_REQUESTS,
    COL_STATE,
    COL_TOKEN,
    COL_TRADER_SESSIONS,
    COL_USER,
    COL_VERIFIED,
    COLUMNS,
    SORT_ROLE,
    STATES,
    TIME_COLUMNS,
    RowFilter,
    SessionsFilterProxy,
    SessionsModel,
    local_time,
    relative_time,
    state_colour,
)
from console.services.session_rows import ChangeKind, SessionChange, SessionRow

NOW = 1_780_000_000.0
DAY = 86_400.0
DISPLAY = Qt.ItemDataRole.DisplayRole
USER = Qt.ItemDataRole.UserRole


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
) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "brokerName": "BESTBROKER",
        "openedAt": last_activity - 600,
        "lastActivity": last_activity,
        "requestCount": requests,
        "clientAddress": "10.0.0.7",
        "userAgent": "TradingView",
        "cached": {"positions": positions, "orders": orders, "orderHistory": 9, "deals": deals},
    }


def row(
    number: int,
    *,
    user_id: int = 14601,
    brokers: tuple[str, ...] = ("BESTBROKER",),
    accounts: list[int] | None = None,
    state: str = "issued",
    issued_at: float = NOW - 3 * DAY,
    expires_at: float = NOW + 29 * DAY + 60,
    sessions: list[dict[str, Any]] | None = None,
    verified: bool = True,
) -> SessionRow:
    sessions = sessions or []
    return {
        "tokenId": token_id(number),
        "userId": user_id,
        "brokerNames": list(brokers),
        "ctidTraderAccountIds": accounts,
        "isVerified": verified,
        "issuedAt": issued_at,
        "expiresAt": expires_at,
        "keyId": "0a0b0c0d",
        "state": state,
        "revokedAt": NOW - 60 if state == "revoked" else None,
        "lastActivity": max((s["lastActivity"] for s in sessions), default=None),
        "requestCount": sum(s["requestCount"] for s in sessions),
        "traderSessions": sessions,
    }


def upsert(updated: SessionRow) -> SessionChange:
    return SessionChange(ChangeKind.UPSERT, updated["tokenId"], updated)


def remove(number: int) -> SessionChange:
    return SessionChange(ChangeKind.REMOVE, token_id(number))


def model_with(rows: list[SessionRow], clock: Clock | None = None) -> SessionsModel:
    model = SessionsModel(clock or Clock())
    model.reset(rows)
    return model


def shown(model: SessionsModel | QSortFilterProxyModel) -> list[str]:
    """Token ids in table order."""
    return [model.index(r, 0).data(USER)["tokenId"] for r in range(model.rowCount())]


def cell(model: SessionsModel, number: int, column: int, role: int = DISPLAY) -> Any:
    return model.index(number, column).data(role)


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


def test_every_column_shows_the_row_as_an_operator_reads_it() -> None:
    busy = row(
        1,
        accounts=[137780091, 137792301],
        state="active",
        sessions=[
            trader_session(137780091, NOW - 35, requests=7, positions=2, orders=1, deals=4),
            trader_session(137792301, NOW - 7200, requests=5, positions=1, orders=3, deals=0),
        ],
    )
    model = model_with([busy])
    shown_text = [cell(model, 0, column) for column in range(len(COLUMNS))]
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
    assert model.headerData(COL_LAST_ACTIVITY, Qt.Orientation.Horizontal) == "Last activity"
    assert cell(model, 0, COL_TOKEN, Qt.ItemDataRole.ToolTipRole) == token_id(1)
    assert cell(model, 0, COL_REQUESTS, Qt.ItemDataRole.TextAlignmentRole) == int(
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )


def test_a_token_without_listed_accounts_or_sessions_reads_all_and_dash() -> None:
    model = model_with([row(1, accounts=None, verified=False)])
    assert cell(model, 0, COL_ACCOUNTS) == "all"
    assert cell(model, 0, COL_VERIFIED) == "no"
    assert cell(model, 0, COL_LAST_ACTIVITY) == "—"
    assert cell(model, 0, COL_LAST_ACTIVITY, Qt.ItemDataRole.ToolTipRole) is None
    assert [cell(model, 0, c) for c in (COL_TRADER_SESSIONS, COL_POSITIONS, COL_DEALS)] == [
        "0",
        "0",
        "0",
    ]


def test_no_cell_ever_shows_the_token_itself() -> None:
    """Rows of tokens minted here carry the token (for logout); only its id may show."""
    minted = {**row(1), "tokenId": "rec-1", "_token": "eyJhbGciOi.secret.token", "state": "?"}
    model = model_with([minted])
    roles = (DISPLAY, Qt.ItemDataRole.ToolTipRole, SORT_ROLE)
    texts = [str(cell(model, 0, c, role)) for c in range(len(COLUMNS)) for role in roles]
    assert not any("secret" in text for text in texts)
    assert cell(model, 0, COL_TOKEN) == "rec-1"


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
    model = model_with([row(1, sessions=[trader_session(1, NOW - 120)])])
    for column, field in ((COL_ISSUED, "issuedAt"), (COL_EXPIRES, "expiresAt")):
        tip = cell(model, 0, column, Qt.ItemDataRole.ToolTipRole)
        assert tip == local_time(model.row_at(0)[field])
    assert cell(model, 0, COL_LAST_ACTIVITY) == "2 min ago"
    assert cell(model, 0, COL_LAST_ACTIVITY, Qt.ItemDataRole.ToolTipRole) == local_time(NOW - 120)


def test_each_state_has_its_own_colour_and_one_cached_icon(qapp: Any) -> None:
    rows = [row(n, state=state) for n, state in enumerate([*STATES, "unknown"])]
    model = model_with(rows)
    colours = {state: state_colour(state).name() for state in [*STATES, "unknown"]}
    assert len(set(colours.values())) == len(colours)
    for number, state in enumerate([*STATES, "unknown"]):
        icon = cell(model, number, COL_STATE, Qt.ItemDataRole.DecorationRole)
        assert isinstance(icon, QIcon)
        again = cell(model, number, COL_STATE, Qt.ItemDataRole.DecorationRole)
        assert icon.cacheKey() == again.cacheKey()  # drawn once, shared
        centre = icon.pixmap(12, 12).toImage().pixelColor(6, 6)
        assert centre.name() == colours[state]
        assert cell(model, number, COL_STATE) == state
    assert cell(model, 0, COL_USER, Qt.ItemDataRole.DecorationRole) is None


def test_sort_role_gives_raw_numbers_and_user_role_the_row() -> None:
    busy = row(1, sessions=[trader_session(1, NOW - 5, requests=40)])
    model = model_with([busy])
    assert cell(model, 0, COL_REQUESTS, SORT_ROLE) == 40.0
    assert cell(model, 0, COL_LAST_ACTIVITY, SORT_ROLE) == NOW - 5
    assert cell(model, 0, COL_USER, SORT_ROLE) == 14601.0
    assert cell(model, 0, COL_ACCOUNTS, SORT_ROLE) == -1.0  # all accounts
    assert cell(model, 0, COL_BROKERS, SORT_ROLE) == "bestbroker"
    assert model.data(model.index(0, COL_TOKEN), USER) is busy
    assert cell(model, 0, COL_TOKEN, USER) == busy  # through Qt: an equal copy
    idle = model_with([row(2)])
    assert cell(idle, 0, COL_LAST_ACTIVITY, SORT_ROLE) == 0.0


def test_tick_refreshes_the_time_columns_of_every_row() -> None:
    clock = Clock()
    model = model_with([row(1, sessions=[trader_session(1, NOW - 30)]), row(2)], clock)
    spy = Spy(model)
    clock.now += 60
    model.tick()
    assert spy.events == [("data", 0, 1, TIME_COLUMNS[0], TIME_COLUMNS[-1])]
    assert cell(model, 0, COL_LAST_ACTIVITY) == "1 min ago"


# Model checks and in-place changes


def test_model_passes_qt_model_checks_through_reset_and_changes(
    qtmodeltester: ModelTester,
) -> None:
    model = model_with([row(n, sessions=[trader_session(n, NOW - n)]) for n in range(6)])
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    model.apply([remove(2), upsert(row(3, user_id=7)), upsert(row(40)), upsert(row(41))])
    model.sort(COL_LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
    model.apply([upsert(row(5, sessions=[trader_session(5, NOW + 10)])), upsert(row(42))])
    model.apply([remove(0), remove(1), upsert(row(1))])
    model.reset([row(n) for n in range(3)])
    qtmodeltester.check(model, force_py=True)  # type: ignore[no-untyped-call]
    model.apply([upsert(row(9, state="revoked")), remove(1)])
    model.set_filter(RowFilter("", {"revoked"}))
    model.apply([upsert(row(10, state="revoked")), upsert(row(9, state="expired"))])
    model.set_filter(RowFilter())
    assert model.rowCount() == 4


def test_proxy_passes_qt_model_checks(qtmodeltester: ModelTester) -> None:
    model = model_with([row(n, user_id=100 + n) for n in range(8)])
    proxy = SessionsFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)  # type: ignore[no-untyped-call]
    proxy.sort(COL_USER, Qt.SortOrder.DescendingOrder)
    proxy.set_text("10")
    proxy.set_states({"issued"})
    model.apply([upsert(row(20, user_id=105)), remove(3), upsert(row(4, state="revoked"))])
    proxy.set_text("")
    proxy.set_states(None)
    assert proxy.rowCount() == 8


def test_new_rows_are_appended_in_one_insert() -> None:
    model = model_with([row(1), row(2)])
    spy = Spy(model)
    model.apply([upsert(row(3)), upsert(row(4)), upsert(row(5))])
    assert spy.events == [("insert", 2, 4)]
    assert shown(model) == [token_id(n) for n in (1, 2, 3, 4, 5)]
    assert model.row_number(token_id(5)) == 4


def test_only_changed_rows_emit_data_changed_for_all_their_columns() -> None:
    model = model_with([row(n) for n in range(5)])
    spy = Spy(model)
    model.apply([upsert(row(1)), upsert(row(3, state="revoked")), upsert(row(4))])
    assert spy.events == [("data", 3, 3, 0, len(COLUMNS) - 1)]
    assert cell(model, 3, COL_STATE) == "revoked"
    spy.events.clear()
    model.apply([upsert(row(n)) for n in (0, 1, 2, 4)])
    assert spy.events == []


def test_remove_by_id_removes_contiguous_rows_together_and_keeps_the_index_right() -> None:
    model = model_with([row(n) for n in range(10)])
    spy = Spy(model)
    model.apply([remove(2), remove(3), remove(4), remove(7), remove(99)])
    assert spy.events == [("remove", 7, 7), ("remove", 2, 4)]
    assert shown(model) == [token_id(n) for n in (0, 1, 5, 6, 8, 9)]
    for number, token in enumerate(shown(model)):
        assert model.row_number(token) == number
    assert model.row_for(token_id(3)) is None
    assert model.row_number(token_id(3)) is None


def test_only_the_latest_change_of_a_token_in_a_batch_counts() -> None:
    model = model_with([row(1), row(2)])
    model.apply([upsert(row(1, user_id=5)), remove(1), remove(2), upsert(row(2, user_id=6))])
    assert shown(model) == [token_id(2)]
    assert cell(model, 0, COL_USER) == "6"


def test_persistent_indexes_follow_their_row_through_updates_removals_and_inserts() -> None:
    model = model_with([row(n, user_id=100 + n) for n in range(8)])
    kept = QPersistentModelIndex(model.index(5, COL_USER))
    model.apply([upsert(row(5, user_id=777)), remove(1), remove(2), upsert(row(30, user_id=130))])
    assert kept.isValid()
    assert kept.row() == 3 == model.row_number(token_id(5))
    assert kept.data() == "777"
    model.sort(COL_USER, Qt.SortOrder.DescendingOrder)
    assert kept.row() == 0
    model.apply([upsert(row(31, user_id=999))])
    assert kept.row() == 1
    assert kept.data(USER)["tokenId"] == token_id(5)


def test_selection_in_a_sorted_view_stays_on_its_token_while_rows_move(qtbot: QtBot) -> None:
    sessions = [trader_session(n, NOW - 100 * n) for n in range(6)]
    model = model_with([row(n, sessions=[sessions[n]]) for n in range(6)])
    proxy = SessionsFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(COL_LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
    assert shown(proxy) == [token_id(n) for n in range(6)]
    selection = QItemSelectionModel(proxy)
    selection.select(
        proxy.index(3, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    model.apply(
        [
            upsert(row(5, sessions=[trader_session(5, NOW + 5)])),  # jumps to the top
            remove(1),
            upsert(row(9)),  # no activity: goes last
            upsert(row(3, user_id=42, sessions=[sessions[3]])),  # changes in place
        ]
    )
    assert shown(proxy) == [token_id(n) for n in (5, 0, 2, 3, 4, 9)]
    chosen = [index.data(USER)["tokenId"] for index in selection.selectedRows()]
    assert chosen == [token_id(3)]
    source_row = proxy.mapToSource(selection.selectedRows()[0]).row()
    assert model.row_at(source_row)["userId"] == 42


def test_a_sorted_model_inserts_new_rows_where_they_belong() -> None:
    model = model_with([row(n, user_id=10 * n) for n in range(1, 6)])
    model.sort(COL_USER, Qt.SortOrder.AscendingOrder)
    spy = Spy(model)
    model.apply([upsert(row(7, user_id=25)), upsert(row(8, user_id=26)), upsert(row(9, user_id=5))])
    assert spy.events == [("insert", 2, 3), ("insert", 0, 0)]
    assert [cell(model, r, COL_USER) for r in range(model.rowCount())] == [
        "5",
        "10",
        "20",
        "25",
        "26",
        "30",
        "40",
        "50",
    ]
    for number, token in enumerate(shown(model)):
        assert model.row_number(token) == number


def test_a_changed_sort_key_moves_the_row_and_then_reports_its_new_data() -> None:
    model = model_with([row(n, user_id=10 * n) for n in range(1, 5)])
    model.sort(COL_USER, Qt.SortOrder.AscendingOrder)
    spy = Spy(model)
    model.apply([upsert(row(1, user_id=45)), upsert(row(3, user_id=31))])
    assert spy.events == [("data", 2, 2, 0, len(COLUMNS) - 1), ("layout",), ("data", 3, 3, 0, 13)]
    assert [cell(model, r, COL_USER) for r in range(4)] == ["20", "31", "40", "45"]


def test_applying_a_thousand_changes_to_ten_thousand_rows_is_quick() -> None:
    """A guard against accidental O(n²); `make bench` has the real figures."""
    rows = [
        row(n, user_id=n, sessions=[trader_session(n, NOW - n)] if n % 10 == 0 else None)
        for n in range(10_000)
    ]
    model = model_with(rows)
    model.sort(COL_LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
    changes = [
        upsert(row(n, user_id=n, sessions=[trader_session(n, NOW + n)])) for n in range(0, 8000, 10)
    ]
    changes += [upsert(row(20_000 + n)) for n in range(100)] + [remove(n) for n in range(1, 200, 2)]
    model.apply(changes)
    assert model.rowCount() == 10_000
    assert cell(model, 0, COL_USER) == "7990"


def test_emitting_from_python_does_not_use_up_true() -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to True per emit and aborts the
    interpreter after a few hundred (pyproject excludes it); this catches such a binding."""
    model = model_with([row(1)])
    before = sys.getrefcount(True)
    for _ in range(100):
        model.tick()
    assert sys.getrefcount(True) >= before


# Filter and sort through the proxy


@pytest.fixture
def proxy() -> SessionsFilterProxy:
    rows = [
        row(0x1A, user_id=14601, brokers=("BESTBROKER",), accounts=[137780091]),
        row(0x2B, user_id=146, brokers=("Pepperstone",), accounts=None, state="revoked"),
        row(
            0x3C,
            user_id=9001,
            brokers=("ICMarkets", "BESTBROKER"),
            state="active",
            sessions=[trader_session(555000111, NOW - 5)],
        ),
        row(0x4D, user_id=31460, brokers=("FXPRO",), accounts=[42], state="expired"),
    ]
    rows.append({**row(0x5E, user_id=7, brokers=("Other",)), "state": "unknown"})
    proxy = SessionsFilterProxy()
    proxy.setSourceModel(model_with(rows))
    return proxy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14601", [0x1A]),
        ("146", [0x1A, 0x2B]),  # userId prefix; 31460 contains 146 but does not start with it
        ("pepper", [0x2B]),
        ("  BROKER ", [0x1A, 0x3C]),
        ("13778", [0x1A]),  # a listed account id
        ("555000111", [0x3C]),  # an account seen through a trader session
        ("3C", [0x3C]),  # token id prefix, any case
        ("4dc0ffee", [0x4D]),
        ("c0ffee", []),  # not a prefix of any id
        ("146, bestbroker", [0x1A]),  # every term must match
        ("", [0x1A, 0x2B, 0x3C, 0x4D, 0x5E]),
    ],
)
def test_text_filter(proxy: SessionsFilterProxy, text: str, expected: list[int]) -> None:
    proxy.set_text(text)
    assert shown(proxy) == [token_id(n) for n in expected]


def test_row_filter_on_its_own() -> None:
    assert RowFilter("146 best", {"issued"}).accepts(row(1, user_id=14601))
    assert not RowFilter("146", {"issued"}).accepts(row(1, user_id=14601, state="idle"))
    assert not RowFilter("460").accepts(row(1, user_id=14601))
    assert not RowFilter().active
    assert RowFilter("", STATES) == RowFilter()


def test_state_filter(proxy: SessionsFilterProxy) -> None:
    proxy.set_states({"revoked", "expired"})
    assert shown(proxy) == [token_id(0x2B), token_id(0x4D)]
    proxy.set_text("146")
    assert shown(proxy) == [token_id(0x2B)]
    proxy.set_text("")
    proxy.set_states(STATES)  # every state: rows in an unknown state show too
    assert len(shown(proxy)) == 5
    proxy.set_states(set())
    assert shown(proxy) == []
    proxy.set_states(None)
    assert len(shown(proxy)) == 5
    proxy.set_filter("best", {"active"})
    assert shown(proxy) == [token_id(0x3C)]
    assert proxy.row_filter == RowFilter("BEST", {"active"})


def test_the_filter_follows_feed_changes(proxy: SessionsFilterProxy) -> None:
    model = proxy.sourceModel()
    assert isinstance(model, SessionsModel)
    proxy.set_states({"issued"})
    assert shown(proxy) == [token_id(0x1A)]
    model.apply(
        [
            upsert(row(0x1A, user_id=14601, state="active")),  # leaves the filter
            upsert(row(0x60, user_id=1)),  # new and shown
            upsert(row(0x61, user_id=2, state="revoked")),  # new and hidden
        ]
    )
    assert shown(proxy) == [token_id(0x60)]
    assert model.row_for(token_id(0x61)) is not None  # known, not shown
    assert model.row_number(token_id(0x61)) is None
    assert model.total() == 7
    model.apply([upsert(row(0x61, user_id=2))])
    assert shown(proxy) == [token_id(0x60), token_id(0x61)]


def test_filtering_keeps_the_selection_on_rows_still_shown(proxy: SessionsFilterProxy) -> None:
    selection = QItemSelectionModel(proxy)
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    selection.select(proxy.index(0, 0), flags)
    selection.select(proxy.index(2, 0), flags)
    proxy.set_text("bestbroker")
    assert [i.data(USER)["tokenId"] for i in selection.selectedRows()] == [
        token_id(0x1A),
        token_id(0x3C),
    ]
    proxy.set_text("icmarkets")
    assert [i.data(USER)["tokenId"] for i in selection.selectedRows()] == [token_id(0x3C)]


def test_proxy_sorts_numerically_by_the_sort_role() -> None:
    requests = [5, 40, 100, 9]
    model = model_with(
        [row(n, sessions=[trader_session(n, NOW - n, requests=r)]) for n, r in enumerate(requests)]
        + [row(9)]
    )
    proxy = SessionsFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(COL_REQUESTS, Qt.SortOrder.AscendingOrder)
    column = [proxy.index(r, COL_REQUESTS).data() for r in range(proxy.rowCount())]
    assert column == ["0", "5", "9", "40", "100"]
    assert (proxy.sortColumn(), proxy.sortOrder()) == (COL_REQUESTS, Qt.SortOrder.AscendingOrder)
    proxy.sort(COL_LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
    assert shown(proxy) == [token_id(n) for n in (0, 1, 2, 3, 9)]  # no activity sorts last
    proxy.sort(COL_ORDERS, Qt.SortOrder.DescendingOrder)
    assert proxy.index(4, COL_ORDERS).data() == "0"


def test_a_plain_qt_proxy_sorts_numerically_by_the_sort_role() -> None:
    """SORT_ROLE serves other proxies too: Qt compares the raw numbers, not the text."""
    requests = [5, 40, 100, 9]
    model = model_with(
        [row(n, sessions=[trader_session(n, NOW - n, requests=r)]) for n, r in enumerate(requests)]
    )
    proxy = QSortFilterProxyModel()
    proxy.setSortRole(SORT_ROLE)
    proxy.setSourceModel(model)
    proxy.sort(COL_REQUESTS, Qt.SortOrder.DescendingOrder)
    assert [proxy.index(r, COL_REQUESTS).data() for r in range(4)] == ["100", "40", "9", "5"]


def test_invalid_indexes_and_unknown_roles_give_nothing() -> None:
    model = model_with([row(1)])
    assert model.data(QModelIndex()) is None
    assert model.index(5, 0).data() is None
    assert cell(model, 0, COL_USER, Qt.ItemDataRole.BackgroundRole) is None
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.rowCount(model.index(0, 0)) == 0
