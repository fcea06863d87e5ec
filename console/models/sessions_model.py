"""The Sessions table: one row per token, kept current in place from the admin API's feed.

`SessionsModel` holds the admin API's rows as they are (plain dicts keyed by tokenId) and
applies feed changes in place: a changed row emits `dataChanged`, new rows are inserted and
gone rows removed with begin/end calls, so selection and scroll survive live updates.

Filtering and sorting are done by the model, in Python. `SessionsFilterProxy` keeps the proxy
interface the page uses (`set_text`, `set_states`, `sort`, `mapToSource`) and hands both to
the model. Measured at 100,000 rows: Qt's proxy sort asks `data()` for both rows of every
comparison, a call into Python each time (about 5 s), and a Python `filterAcceptsRow` costs
about 55 ms per re-filter pass, which Qt runs on every reorder and every `tick()`; here a
sort takes about 0.1 s, a burst of 1,000 changes about 50 ms and a tick about 15 ms
(`make bench`, the sessions_* figures).

While a sort is active the shown rows stay in order: new rows go to their place, and rows
whose sort key changed move in one layout change per `apply`, persistent indexes (so the
selection) moving with them. `SORT_ROLE` gives the raw keys (numbers, timestamps) to any
other proxy or consumer.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from console.services.session_rows import ChangeKind, SessionChange, SessionRow

COLUMNS = (
    "Token",
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
)
(
    COL_TOKEN,
    COL_USER,
    COL_BROKERS,
    COL_ACCOUNTS,
    COL_VERIFIED,
    COL_STATE,
    COL_ISSUED,
    COL_EXPIRES,
    COL_LAST_ACTIVITY,
    COL_REQUESTS,
    COL_TRADER_SESSIONS,
    COL_POSITIONS,
    COL_ORDERS,
    COL_DEALS,
) = range(len(COLUMNS))
TIME_COLUMNS = (COL_ISSUED, COL_EXPIRES, COL_LAST_ACTIVITY)
"""Contiguous: `tick()` refreshes them with one signal."""
NUMBER_COLUMNS = frozenset(
    {COL_USER, COL_REQUESTS, COL_TRADER_SESSIONS, COL_POSITIONS, COL_ORDERS, COL_DEALS}
)
HEADER_TIPS = {
    COL_TOKEN: "The token's id (never the token itself); the full id in the cell's tooltip",
    COL_ACCOUNTS: "The accounts the token lists, or all accounts of the user",
    COL_EXPIRES: "Relative to now; the exact local time in the cell's tooltip",
    COL_LAST_ACTIVITY: "The most recent request over the token's trader sessions",
    COL_REQUESTS: "Requests over the token's trader sessions",
    COL_POSITIONS: "Open positions cached over the token's trader sessions",
    COL_ORDERS: "Orders cached over the token's trader sessions",
    COL_DEALS: "Deals cached over the token's trader sessions",
}
SHORT_ID_LENGTH = 12
STATES = ("issued", "active", "idle", "revoked", "expired")
STATE_COLOURS = {
    "issued": "#1e88e5",
    "active": "#43a047",
    "idle": "#fb8c00",
    "revoked": "#e53935",
    "expired": "#757575",
}
UNKNOWN_STATE_COLOUR = "#bdbdbd"
"""Rows probed without an admin API can be in state "unknown"."""
_STATE_RANK = {"active": 0, "idle": 1, "issued": 2, "expired": 3, "revoked": 4}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""Raw sort keys: numbers and timestamps (a missing last activity is 0.0), strings for ids."""
NO_TIME = "—"
_ICON_SIZE = 12
_DISPLAY = Qt.ItemDataRole.DisplayRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_USER = Qt.ItemDataRole.UserRole
_TIME_ROLES = [_DISPLAY, _TOOLTIP]
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_Index = QModelIndex | QPersistentModelIndex


# Cell text


def relative_time(timestamp: float, now: float) -> str:
    """'in 29 d', '2 h ago', '35 s ago', 'now': the largest whole unit, rounded down."""
    delta = timestamp - now
    seconds = abs(delta)
    if seconds < 1:
        return "now"
    if seconds < 60:
        amount, unit = int(seconds), "s"
    elif seconds < 3600:
        amount, unit = int(seconds // 60), "min"
    elif seconds < 86400:
        amount, unit = int(seconds // 3600), "h"
    else:
        amount, unit = int(seconds // 86400), "d"
    return f"in {amount} {unit}" if delta > 0 else f"{amount} {unit} ago"


def local_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def short_id(token_id: str) -> str:
    return f"{token_id[:SHORT_ID_LENGTH]}…" if len(token_id) > SHORT_ID_LENGTH else token_id


def _sessions(row: SessionRow) -> list[dict[str, Any]]:
    sessions = row.get("traderSessions")
    return sessions if isinstance(sessions, list) else []


def _cached(session: dict[str, Any], key: str) -> int:
    """A count from a listing row (`cached`), or the length of a detail row's list."""
    cached = session.get("cached")
    value = cached.get(key) if isinstance(cached, dict) else session.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return len(value) if isinstance(value, list | tuple) else 0


def cached_total(row: SessionRow, key: str) -> int:
    """positions, orders, orderHistory or deals, summed over the token's trader sessions."""
    return sum(_cached(session, key) for session in _sessions(row))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _accounts_text(row: SessionRow) -> str:
    accounts = row.get("ctidTraderAccountIds")
    return "all" if accounts is None else ", ".join(str(account) for account in accounts)


_TIME_FIELDS = {COL_ISSUED: "issuedAt", COL_EXPIRES: "expiresAt", COL_LAST_ACTIVITY: "lastActivity"}
_CACHED_FIELDS = {COL_POSITIONS: "positions", COL_ORDERS: "orders", COL_DEALS: "deals"}


def _display(row: SessionRow, column: int, now: float) -> str:
    if column == COL_TOKEN:
        return short_id(str(row.get("tokenId", "")))
    if column == COL_USER:
        return str(row.get("userId", ""))
    if column == COL_BROKERS:
        return ", ".join(row.get("brokerNames") or ())
    if column == COL_ACCOUNTS:
        return _accounts_text(row)
    if column == COL_VERIFIED:
        return "yes" if row.get("isVerified") else "no"
    if column == COL_STATE:
        return str(row.get("state", ""))
    if column in TIME_COLUMNS:
        timestamp = _time(row, _TIME_FIELDS[column])
        return NO_TIME if timestamp is None else relative_time(timestamp, now)
    if column == COL_REQUESTS:
        return str(int(_number(row.get("requestCount"))))
    if column == COL_TRADER_SESSIONS:
        return str(len(_sessions(row)))
    return str(cached_total(row, _CACHED_FIELDS[column]))


def _tooltip(row: SessionRow, column: int) -> str | None:
    if column == COL_TOKEN:
        return str(row.get("tokenId", ""))
    if column == COL_ACCOUNTS:
        return _accounts_text(row)
    if column in TIME_COLUMNS:
        timestamp = _time(row, _TIME_FIELDS[column])
        return None if timestamp is None else local_time(timestamp)
    if column == COL_STATE:
        revoked_at = _time(row, "revokedAt")
        return None if revoked_at is None else f"revoked at {local_time(revoked_at)}"
    return None


def _time(row: SessionRow, field: str) -> float | None:
    value = row.get(field)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _field_number(field: str) -> Callable[[SessionRow], float]:
    def key(row: SessionRow) -> float:
        value: Any = row.get(field)
        kind = type(value)  # not isinstance: a bool is no number here
        return float(value) if (kind is float or kind is int) and value > 0 else 0.0

    return key


def _accounts_key(row: SessionRow) -> float:
    accounts = row.get("ctidTraderAccountIds")
    return -1.0 if accounts is None else float(min(accounts, default=0))


def _cached_key(field: str) -> Callable[[SessionRow], float]:
    return lambda row: float(cached_total(row, field)) if row.get("traderSessions") else 0.0


_SORT_KEYS: tuple[Callable[[SessionRow], Any], ...] = (
    lambda row: str(row.get("tokenId", "")),
    _field_number("userId"),
    lambda row: ", ".join(row.get("brokerNames") or ()).lower(),
    _accounts_key,
    lambda row: 1.0 if row.get("isVerified") else 0.0,
    lambda row: float(_STATE_RANK.get(str(row.get("state")), len(_STATE_RANK))),
    _field_number("issuedAt"),
    _field_number("expiresAt"),
    _field_number("lastActivity"),
    _field_number("requestCount"),
    lambda row: float(len(_sessions(row))),
    _cached_key("positions"),
    _cached_key("orders"),
    _cached_key("deals"),
)
"""One key function per column; a missing or non-positive number sorts as 0.0."""


def sort_key(row: SessionRow, column: int) -> Any:
    """What `SORT_ROLE` returns: numbers for every column but Token and Brokers (text)."""
    return _SORT_KEYS[column](row)


def search_fields(row: SessionRow) -> tuple[str, str]:
    """What the text filter looks in, lower case: marked ids (user, token, accounts), brokers.

    Each id follows a separator and a one-letter mark (u, t, a), so a term can match the
    start of one field: separator, "u", "146" finds user 14601 but not 31460. Broker names
    match anywhere in the name.
    """
    get = row.get
    ids = f"\x1fu{get('userId', '')}\x1ft{str(get('tokenId', '')).lower()}"
    accounts = get("ctidTraderAccountIds")
    if accounts:
        ids += "\x1fa" + "\x1fa".join(map(str, accounts))
    sessions = get("traderSessions")
    if sessions:
        ids += "".join([f"\x1fa{session.get('accountId')}" for session in sessions])
    names = get("brokerNames")
    return ids, "\x1f".join(map(str, names)).lower() if names else ""


class RowFilter:
    """The text and state filter, as the Sessions page's search box and state menu set it.

    The text is a list of terms (split on spaces and commas), all of which must match,
    case-insensitively, one of: the userId (exact or prefix), a broker name (any part), a
    listed or trader-session account id (exact or prefix), the token id (prefix). `states`
    is the set of states shown; None, or a set holding every state, shows every row
    (including rows whose state is unknown).
    """

    __slots__ = ("_needles", "states", "terms")

    def __init__(self, text: str = "", states: Iterable[str] | None = None) -> None:
        self.terms = tuple(text.lower().replace(",", " ").split())
        allowed = None if states is None else frozenset(states)
        self.states = None if allowed is None or allowed >= frozenset(STATES) else allowed
        self._needles = tuple(
            (f"\x1fu{term}", f"\x1ft{term}", f"\x1fa{term}", term) for term in self.terms
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RowFilter)
            and other.terms == self.terms
            and other.states == self.states
        )

    def __hash__(self) -> int:
        return hash((self.terms, self.states))

    @property
    def active(self) -> bool:
        return bool(self.terms) or self.states is not None

    def accepts_state(self, row: SessionRow) -> bool:
        return self.states is None or row.get("state") in self.states

    def accepts_text(self, fields: tuple[str, str]) -> bool:
        ids, brokers = fields
        if len(self._needles) == 1:
            user, token, account, term = self._needles[0]
            return user in ids or token in ids or account in ids or term in brokers
        return all(
            user in ids or token in ids or account in ids or term in brokers
            for user, token, account, term in self._needles
        )

    def accepts(self, row: SessionRow) -> bool:
        return self.accepts_state(row) and (not self.terms or self.accepts_text(search_fields(row)))


NO_FILTER = RowFilter()


_ICONS: dict[str, QIcon] = {}


def state_colour(state: str) -> QColor:
    return QColor(STATE_COLOURS.get(state, UNKNOWN_STATE_COLOUR))


def state_icon(state: str) -> QIcon:
    """A small filled disc in the state's colour, drawn once per state."""
    icon = _ICONS.get(state)
    if icon is None:
        pixmap = QPixmap(_ICON_SIZE, _ICON_SIZE)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(state_colour(state))
        painter.drawEllipse(1, 1, _ICON_SIZE - 2, _ICON_SIZE - 2)
        painter.end()
        icon = _ICONS[state] = QIcon(pixmap)
    return icon


def _position(keys: Sequence[Any], key: Any, descending: bool) -> int:
    """Where `key` goes in sorted `keys`: after every equal key."""
    low, high = 0, len(keys)
    while low < high:
        middle = (low + high) // 2
        if (keys[middle] >= key) if descending else (keys[middle] <= key):
            low = middle + 1
        else:
            high = middle
    return low


def _runs(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted numbers as (first, last) runs of consecutive values."""
    runs: list[tuple[int, int]] = []
    for number in sorted(numbers):
        if runs and runs[-1][1] == number - 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


class SessionsModel(QAbstractTableModel):
    """Every known row (`row_for`), and as table rows the ones the filter shows, in order."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._clock = clock
        self._now = clock()
        self._all: dict[str, SessionRow] = {}
        """Every row by tokenId, shown or not, in arrival order."""
        self._rows: list[SessionRow] = []
        self._ids: list[str] = []
        self._keys: list[Any] = []
        """Sort keys of the shown rows, in row order, while a sort is active."""
        self._index: dict[str, int] = {}
        """Shown tokenId → row number; numbers from `_stale_from` on are repaired when read."""
        self._stale_from: int | None = None
        self._filter = NO_FILTER
        self._search: dict[str, tuple[str, str]] = {}
        """`search_fields` by tokenId, while a text filter is set."""
        self._sort_column = -1
        self._descending = False

    # Qt's interface

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == _DISPLAY:
            return COLUMNS[section]
        if role == _TOOLTIP:
            return HEADER_TIPS.get(section)
        return None

    def data(self, index: _Index, role: int = _DISPLAY) -> Any:
        number = index.row()
        if not index.isValid() or not 0 <= number < len(self._rows):
            return None
        row = self._rows[number]
        column = index.column()
        if role == _DISPLAY:
            return _display(row, column, self._now)
        if role == SORT_ROLE:
            return sort_key(row, column)
        if role == _DECORATION:
            return state_icon(str(row.get("state"))) if column == COL_STATE else None
        if role == _TOOLTIP:
            return _tooltip(row, column)
        if role == _ALIGNMENT:
            return _RIGHT if column in NUMBER_COLUMNS else None
        if role == _USER:
            return row
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by `column`'s `SORT_ROLE` and keep them so (-1: stop keeping)."""
        self._sort_column = column if 0 <= column < len(COLUMNS) else -1
        self._descending = order == Qt.SortOrder.DescendingOrder
        if self._sort_column < 0:
            self._keys = []
            return
        self._keys = list(map(_SORT_KEYS[self._sort_column], self._rows))
        self._reorder()

    # Reading

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    @property
    def row_filter(self) -> RowFilter:
        return self._filter

    def total(self) -> int:
        """How many rows the model knows, shown or not."""
        return len(self._all)

    def row_number(self, token_id: str) -> int | None:
        """The table row of a shown token; None if unknown or filtered out."""
        return self._numbers().get(token_id)

    def row_for(self, token_id: str) -> SessionRow | None:
        """A token's row, even when the filter hides it."""
        return self._all.get(token_id)

    def row_at(self, index: int | _Index) -> SessionRow:
        """The row at a table row number or a model index of this model."""
        return self._rows[index if isinstance(index, int) else index.row()]

    # Changing

    def reset(self, rows: Iterable[SessionRow]) -> None:
        """Replace every row (the admin API's listing); a repeated tokenId keeps the last row."""
        self.beginResetModel()
        self._all = {row["tokenId"]: row for row in rows}
        self._search = {}
        self._now = self._clock()
        self._show(self._accepted())
        self.endResetModel()

    def set_filter(self, row_filter: RowFilter) -> None:
        """Show the rows `row_filter` accepts; selection stays on rows that stay shown."""
        if row_filter == self._filter:
            return
        self._filter = row_filter
        if not row_filter.terms:
            self._search = {}
        shown = self._accepted()
        same = len(shown) == len(self._ids)
        if same and (shown == self._ids or set(shown) == self._index.keys()):
            return  # the same rows (a sort keeps them in another order than arrival)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        persistent_ids = [self._ids[index.row()] for index in persistent]
        self._show(shown)
        if persistent:
            self._move_persistent(persistent, persistent_ids)
        self.layoutChanged.emit()

    def apply(self, changes: Iterable[SessionChange]) -> None:
        """Apply the feed's changes in place: removals, then updates, then new rows."""
        final: dict[str, SessionRow | None] = {}
        for change in changes:
            if change.kind is ChangeKind.UPSERT and change.row is None:
                continue
            final.pop(change.token_id, None)  # only a token's latest change counts
            final[change.token_id] = change.row if change.kind is ChangeKind.UPSERT else None
        removed: list[str] = []
        updated: list[tuple[str, SessionRow]] = []
        added: list[tuple[str, SessionRow]] = []
        shown = self._index
        for token_id, row in final.items():
            if row is None:
                if self._all.pop(token_id, None) is not None:
                    self._search.pop(token_id, None)
                    if token_id in shown:
                        removed.append(token_id)
                continue
            if self._all.get(token_id) == row:
                continue
            self._all[token_id] = row
            self._search.pop(token_id, None)
            if self._accepts(token_id, row):
                (updated if token_id in shown else added).append((token_id, row))
            elif token_id in shown:
                removed.append(token_id)
        if not (removed or updated or added):
            return
        self._now = self._clock()
        numbers = self._numbers()
        gone = sorted(numbers[token_id] for token_id in removed)
        places = [numbers[token_id] for token_id, _ in updated]
        self._remove(removed)
        # Where updated rows are once the removals closed up, without renumbering every row.
        places = [place - bisect_left(gone, place) for place in places] if gone else places
        moved = self._update(updated, places)
        unsorted = bool(moved)
        if unsorted or self._sort_column < 0:
            self._append(added)
        else:
            unsorted = self._insert_sorted(added)
        if unsorted:
            self._reorder(known_unsorted=True)
        if moved:
            numbers = self._numbers()
            self._changed([numbers[token_id] for token_id in moved])

    def tick(self) -> None:
        """Relative times move on: refresh the time columns of every shown row."""
        self._now = self._clock()
        if self._rows:
            first, last = TIME_COLUMNS[0], TIME_COLUMNS[-1]
            self.dataChanged.emit(
                self.index(0, first),
                self.index(len(self._rows) - 1, last),
                _TIME_ROLES,
            )

    # Inside

    def _accepted(self) -> list[str]:
        """The tokenIds the filter shows, in arrival order."""
        row_filter = self._filter
        if not row_filter.active:
            return list(self._all)
        states = row_filter.states
        if not row_filter.terms and states is not None:
            return [token_id for token_id, row in self._all.items() if row.get("state") in states]
        search, accepts, shown = self._search, row_filter.accepts_text, []
        for token_id, row in self._all.items():
            if states is not None and row.get("state") not in states:
                continue
            fields = search.get(token_id)
            if fields is None:
                fields = search[token_id] = search_fields(row)
            if accepts(fields):
                shown.append(token_id)
        return shown

    def _accepts(self, token_id: str, row: SessionRow) -> bool:
        row_filter = self._filter
        if not row_filter.accepts_state(row):
            return False
        if not row_filter.terms:
            return True
        fields = self._search.get(token_id)
        if fields is None:
            fields = self._search[token_id] = search_fields(row)
        return row_filter.accepts_text(fields)

    def _show(self, token_ids: list[str]) -> None:
        """Make these the shown rows, sorted if a sort is active."""
        every = len(token_ids) == len(self._all)
        rows = list(self._all.values()) if every else [self._all[t] for t in token_ids]
        if self._sort_column >= 0 and rows:
            keys = list(map(_SORT_KEYS[self._sort_column], rows))
            order = sorted(range(len(keys)), key=keys.__getitem__, reverse=self._descending)
            pick = itemgetter(*order)
            rows, token_ids, keys = (
                _picked(pick, rows),
                _picked(pick, token_ids),
                _picked(pick, keys),
            )
            self._keys = keys
        else:
            self._keys = []
        self._rows, self._ids = rows, token_ids
        self._index = dict(zip(token_ids, range(len(token_ids)), strict=True))
        self._stale_from = None

    def _move_persistent(self, persistent: list[QModelIndex], token_ids: list[str]) -> None:
        """Point persistent indexes at their rows' new places (invalid if no longer shown)."""
        numbers = self._numbers()
        moved = []
        for token_id, index in zip(token_ids, persistent, strict=True):
            number = numbers.get(token_id)
            moved.append(QModelIndex() if number is None else self.index(number, index.column()))
        self.changePersistentIndexList(persistent, moved)

    def _remove(self, token_ids: list[str]) -> None:
        numbers = self._numbers()
        for first, last in reversed(_runs(numbers[token_id] for token_id in token_ids)):
            self.beginRemoveRows(QModelIndex(), first, last)
            for token_id in self._ids[first : last + 1]:
                del self._index[token_id]
            del self._rows[first : last + 1]
            del self._ids[first : last + 1]
            if self._keys:
                del self._keys[first : last + 1]
            self._mark_stale(first)
            self.endRemoveRows()

    def _update(self, updates: list[tuple[str, SessionRow]], places: list[int]) -> list[str]:
        """Replace shown rows; the ones a changed sort key put out of order are returned.

        Rows that stay in place are announced now; moved ones once they have moved.
        """
        changed = []
        for (_, row), number in zip(updates, places, strict=True):
            self._rows[number] = row
            if self._sort_column >= 0:
                self._keys[number] = sort_key(row, self._sort_column)
            changed.append(number)
        moved = [
            number for number in changed if self._sort_column >= 0 and not self._in_order(number)
        ]
        if moved:
            out = set(moved)
            changed = [number for number in changed if number not in out]
        self._changed(changed)
        return [self._ids[number] for number in moved]

    def _changed(self, numbers: Iterable[int]) -> None:
        last_column = len(COLUMNS) - 1
        for first, last in _runs(numbers):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_column))

    def _in_order(self, number: int) -> bool:
        keys, key, last = self._keys, self._keys[number], len(self._keys) - 1
        if self._descending:
            return (number == 0 or keys[number - 1] >= key) and (
                number == last or key >= keys[number + 1]
            )
        return (number == 0 or keys[number - 1] <= key) and (
            number == last or key <= keys[number + 1]
        )

    def _append(self, added: list[tuple[str, SessionRow]]) -> None:
        if not added:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
        for number, (token_id, row) in enumerate(added, start=first):
            self._rows.append(row)
            self._ids.append(token_id)
            self._index[token_id] = number
            if self._sort_column >= 0:
                self._keys.append(sort_key(row, self._sort_column))
        self.endInsertRows()

    _MAX_INSERT_PLACES = 8
    """New rows for more places than this: one append and one re-sort are cheaper."""

    def _insert_sorted(self, added: list[tuple[str, SessionRow]]) -> bool:
        """Insert new rows where the sort puts them; True if they were appended unsorted."""
        if not added:
            return False
        column, descending = self._sort_column, self._descending
        keyed = [(sort_key(row, column), token_id, row) for token_id, row in added]
        keyed.sort(key=itemgetter(0), reverse=descending)
        places: dict[int, list[tuple[Any, str, SessionRow]]] = {}
        for item in keyed:
            places.setdefault(_position(self._keys, item[0], descending), []).append(item)
        if len(places) > self._MAX_INSERT_PLACES:
            self._append(added)
            return True
        for place in sorted(places, reverse=True):
            group = places[place]
            self.beginInsertRows(QModelIndex(), place, place + len(group) - 1)
            self._rows[place:place] = [row for _, _, row in group]
            self._ids[place:place] = [token_id for _, token_id, _ in group]
            self._keys[place:place] = [key for key, _, _ in group]
            self._index.update((token_id, place) for _, token_id, _ in group)
            self._mark_stale(place)
            self.endInsertRows()
        return False

    def _reorder(self, *, known_unsorted: bool = False) -> None:
        """Put the shown rows back in sort order in one layout change (persistent indexes move)."""
        keys = self._keys
        order = sorted(range(len(keys)), key=keys.__getitem__, reverse=self._descending)
        if not known_unsorted and order == list(range(len(order))):
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        persistent_ids = [self._ids[index.row()] for index in persistent]
        pick = itemgetter(*order)
        self._rows, self._ids, self._keys = (
            _picked(pick, self._rows),
            _picked(pick, self._ids),
            _picked(pick, keys),
        )
        self._index = dict(zip(self._ids, range(len(self._ids)), strict=True))
        self._stale_from = None
        if persistent:
            self._move_persistent(persistent, persistent_ids)
        self.layoutChanged.emit()

    def _mark_stale(self, first: int) -> None:
        """Row numbers from `first` on shifted: one O(n) repair when next read, not per change."""
        if self._stale_from is None or first < self._stale_from:
            self._stale_from = first

    def _numbers(self) -> dict[str, int]:
        first = self._stale_from
        if first is not None:
            self._stale_from = None
            ids = self._ids
            self._index.update(zip(ids[first:], range(first, len(ids)), strict=True))
        return self._index


def _picked(pick: Callable[[list[Any]], Any], items: list[Any]) -> list[Any]:
    """`itemgetter(*order)` over a list, as a list (one index gives a bare item, not a tuple)."""
    picked = pick(items)
    return list(picked) if len(items) > 1 else [picked]


class SessionsFilterProxy(QSortFilterProxyModel):
    """The Sessions page's filter and sort; over a `SessionsModel` the model does both.

    `set_text` and `set_states` build a `RowFilter` and `sort` picks the order, and both are
    handed to the model, which keeps its shown rows filtered and sorted in Python. Qt's
    proxy would instead call into Python once per row for every re-filter pass (each
    reorder, each `tick`) and per comparison when sorting: at 100,000 rows that is about
    55 ms a pass and 5 s a sort. This proxy then only passes rows through (one proxy per
    model: the filter lives in the model). Over another model it is a plain
    QSortFilterProxyModel sorting by `SORT_ROLE`, and the text and state filter do nothing.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sessions: SessionsModel | None = None
        self._text = ""
        self._states: frozenset[str] | None = None
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self.setDynamicSortFilter(True)
        self.setSortRole(SORT_ROLE)

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        super().setSourceModel(model)
        self._sessions = model if isinstance(model, SessionsModel) else None
        self._push_filter()

    def set_text(self, text: str) -> None:
        self.set_filter(text, self._states)

    def set_states(self, states: Iterable[str] | None) -> None:
        """The states shown; None (or every state) shows all rows."""
        self.set_filter(self._text, states)

    def set_filter(self, text: str, states: Iterable[str] | None) -> None:
        """Both at once: one pass over the rows instead of two."""
        self._text = text
        self._states = None if states is None else frozenset(states)
        self._push_filter()

    @property
    def row_filter(self) -> RowFilter:
        return RowFilter(self._text, self._states)

    def _push_filter(self) -> None:
        if self._sessions is not None:
            self._sessions.set_filter(self.row_filter)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._sessions is None:
            super().sort(column, order)
            return
        self._sort_column, self._sort_order = column, order
        self._sessions.sort(column, order)

    def sortColumn(self) -> int:
        return self._sort_column if self._sessions is not None else super().sortColumn()

    def sortOrder(self) -> Qt.SortOrder:
        return self._sort_order if self._sessions is not None else super().sortOrder()
