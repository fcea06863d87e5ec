"""The Activity table: every HTTP exchange the console made, newest first, already redacted."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from console.services.activity import Exchange

COLUMNS = ("Time", "Profile", "Method", "Path", "Status", "Duration")
_Index = QModelIndex | QPersistentModelIndex


def _status_text(exchange: Exchange) -> str:
    return "failed" if exchange.status is None else str(exchange.status)


class ActivityModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Exchange] = []

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
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return exchange.when.astimezone().isoformat(timespec="seconds")
        if role == Qt.ItemDataRole.ForegroundRole and column == 4:
            if exchange.status is None or exchange.status >= 400:
                return QColor("#c62828")
            return QColor("#2e7d32")
        if role == Qt.ItemDataRole.UserRole:
            return exchange
        return None

    def prepend(self, exchange: Exchange, evicted: Exchange | None = None) -> None:
        """A new exchange on top; the one the log's size limit pushed out leaves the bottom."""
        if evicted is not None and self._rows and self._rows[-1].seq == evicted.seq:
            last = len(self._rows) - 1
            self.beginRemoveRows(QModelIndex(), last, last)
            self._rows.pop()
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, exchange)
        self.endInsertRows()

    def set_rows(self, exchanges: list[Exchange]) -> None:
        self.beginResetModel()
        self._rows = list(reversed(exchanges))
        self.endResetModel()

    def exchange(self, row: int) -> Exchange:
        return self._rows[row]
