"""The Activity table: every HTTP exchange the console made, newest first, already redacted.

The model is a thin adapter over `ActivityLog`: its page feeds it from the log's `recorded` and
`cleared` signals. Colour carries one meaning only: red is a request that went wrong (no
answer, or an error status or `s: "error"` envelope nobody asked for; `/logout` refuses with
HTTP 200). The console's own polling is drawn muted, and a probe's expected answer (a 400 or
404 it asked for) is drawn as the success it is.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from console.services.activity import Exchange

COLUMNS = ("Time", "Profile", "Method", "Path", "Status", "Duration")
STATUS_COLUMN = COLUMNS.index("Status")
FAILURE_COLOUR = QColor("#c62828")
SUCCESS_COLOUR = QColor("#2e7d32")
EXPECTED_COLOUR = QColor("#5f7f66")
"""Grey-green: not a failure, but not the operator's own success either."""
BACKGROUND_COLOUR = QColor("#808080")
_Index = QModelIndex | QPersistentModelIndex


def _status_text(exchange: Exchange) -> str:
    """The number alone would show a refused logout (HTTP 200) as a success."""
    if exchange.status is None:
        return "failed"
    if exchange.expected:
        return f"{exchange.status} (expected)"
    if exchange.refusal is not None:
        return f"{exchange.status} · error"
    return str(exchange.status)


def _status_tip(exchange: Exchange) -> str | None:
    if exchange.expected:
        return f"expected: this probe asks for a {exchange.status}"
    if exchange.status is None:
        return exchange.error
    if exchange.refusal is not None:
        return f"The adapter refused: {exchange.refusal or '(no errmsg)'}"
    return None


class ActivityModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Exchange] = []
        self._background = 0

    @property
    def background_count(self) -> int:
        """How many rows are the console's own polling (what the page can hide)."""
        return self._background

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        exchange = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                exchange.when.astimezone().strftime("%H:%M:%S"),
                exchange.profile_name,
                exchange.method,
                exchange.path,
                _status_text(exchange),
                f"{exchange.duration_ms:.0f} ms",
            )[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return exchange.when.astimezone().isoformat(timespec="seconds")
            if column == STATUS_COLUMN:
                return _status_tip(exchange)
            return "background polling by the console" if exchange.background else None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == STATUS_COLUMN:
                if exchange.failed:
                    return FAILURE_COLOUR
                return EXPECTED_COLOUR if exchange.expected else SUCCESS_COLOUR
            return BACKGROUND_COLOUR if exchange.background else None
        if role == Qt.ItemDataRole.UserRole:
            return exchange
        return None

    def prepend(self, exchange: Exchange, evicted: Exchange | None = None) -> None:
        """A new exchange on top; the one the log's size limit pushed out leaves the bottom."""
        if evicted is not None and self._rows and self._rows[-1].seq == evicted.seq:
            last = len(self._rows) - 1
            self.beginRemoveRows(QModelIndex(), last, last)
            self._background -= self._rows.pop().background
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, exchange)
        self._background += exchange.background
        self.endInsertRows()

    def set_rows(self, exchanges: list[Exchange]) -> None:
        """Replace every row with `exchanges` (oldest first, as the log lists them)."""
        self.beginResetModel()
        self._rows = list(reversed(exchanges))
        self._background = sum(exchange.background for exchange in exchanges)
        self.endResetModel()

    def clear(self) -> None:
        """Forget every row: the log was cleared."""
        self.set_rows([])

    def exchange(self, row: int) -> Exchange:
        return self._rows[row]

    def row_of(self, seq: int) -> int | None:
        """The row showing exchange `seq`, None once it has left the log (the page re-finds
        its selection by this after a filter change)."""
        return next((row for row, held in enumerate(self._rows) if held.seq == seq), None)


class ActivityFilterProxy(QSortFilterProxyModel):
    """The text filter over every column, plus hiding the console's own polling.

    Hiding is a filter, not a separate list, so the exchanges stay in the log and in the model
    and reappear, in place, when the operator asks to see them.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show_background = False
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    @property
    def show_background(self) -> bool:
        return self._show_background

    def set_show_background(self, show: bool) -> None:
        if show != self._show_background:
            self._show_background = show
            # Not invalidateRowsFilter (deprecated in Qt 6.10) nor its replacement
            # begin/endFilterChange (absent before 6.10): the console supports Qt 6.8.
            self.invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._show_background:
            exchange = (
                self.sourceModel()
                .index(source_row, 0, source_parent)
                .data(Qt.ItemDataRole.UserRole)
            )
            if isinstance(exchange, Exchange) and exchange.background:
                return False
        return super().filterAcceptsRow(source_row, source_parent)
