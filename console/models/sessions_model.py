"""The Sessions table for Qt: a thin adapter over `SessionTable`, driven by `COLUMNS`.

`SessionTable` decides which rows show and in what order and describes each change as edits;
this model replays them on its own copy of the visible rows between Qt's begin and end calls
(insert, remove, dataChanged, a layout change moving persistent indexes), so selection and
scroll survive live updates, filtering and sorting. There is no proxy model: a QTableView with
sorting enabled calls `sort` here. What a cell shows comes from its `Column`.

The last column, Instance, is part of the model only while the adapter has several instances:
the rows' sessions are on more than one, or `/admin/info` reported more than one
(`set_reported_instances`). It comes and goes as a column insert or removal at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from adapter_core.admin.sessions_view import TokenState
from console.services.session_columns import (
    COLUMNS,
    INSTANCE_COLUMN,
    STATE_COLOURS,
    Column,
    column_index,
)
from console.services.session_query import SessionQuery
from console.services.session_rows import SessionChange, SessionRow
from console.services.session_table import (
    Changed,
    Edit,
    Inserted,
    Removed,
    Reordered,
    Reset,
    SessionTable,
)

ROW_ROLE = Qt.ItemDataRole.UserRole
"""The cell's `SessionRow`."""
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""The column's raw sort key: numbers and timestamps, not display text."""
_STATE_COLUMN = column_index("State")
_ICON_SIZE = 12
_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_Index = QModelIndex | QPersistentModelIndex


def _timed_runs() -> list[tuple[int, int]]:
    """(first, last) of each run of adjacent timed columns: a tick is one signal per run."""
    runs: list[tuple[int, int]] = []
    for number, column in enumerate(COLUMNS):
        if column.timed and runs and runs[-1][1] == number - 1:
            runs[-1] = (runs[-1][0], number)
        elif column.timed:
            runs.append((number, number))
    return runs


_TIMED_RUNS = _timed_runs()

_ICONS: dict[TokenState | None, QIcon] = {}


def state_icon(state: TokenState | None) -> QIcon:
    """A small disc in the state's colour, drawn once per state and shared."""
    icon = _ICONS.get(state)
    if icon is None:
        pixmap = QPixmap(_ICON_SIZE, _ICON_SIZE)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(STATE_COLOURS[state]))
        painter.drawEllipse(1, 1, _ICON_SIZE - 2, _ICON_SIZE - 2)
        painter.end()
        icon = _ICONS[state] = QIcon(pixmap)
    return icon


class SessionsModel(QAbstractTableModel):
    """The visible rows of a `SessionTable`, in its order, as Qt asks for them."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._clock = clock
        self._now = clock()
        """What relative times are relative to: moved on by `tick`, `reset` and `apply`."""
        self._table = SessionTable()
        self._rows: list[SessionRow] = []
        """The visible rows as Qt last heard of them: changed only by replaying edits."""
        self._columns: tuple[Column, ...] = COLUMNS[:INSTANCE_COLUMN]
        """The columns as Qt last heard of them: the Instance column only with several."""
        self._reported_instances = 0

    # The page's interface

    def reset(self, rows: list[SessionRow]) -> None:
        self._now = self._clock()
        self._replay(self._table.reset(rows))
        self._show_instances()

    def replace(self, rows: list[SessionRow]) -> None:
        """Every row anew, applied as changes: the selection stays on the rows still there."""
        self._now = self._clock()
        self._replay(self._table.replace(rows))
        self._show_instances()

    def apply(self, changes: list[SessionChange]) -> None:
        self._now = self._clock()
        self._replay(self._table.apply(changes))
        self._show_instances()

    def set_reported_instances(self, count: int) -> None:
        """How many instances the adapter said it has (`/admin/info`); 0 when not told."""
        self._reported_instances = count
        self._show_instances()

    @property
    def instance_column_shown(self) -> bool:
        return len(self._columns) == len(COLUMNS)

    def columns(self) -> tuple[Column, ...]:
        """The columns shown, in order."""
        return self._columns

    def set_query(self, query: SessionQuery) -> None:
        self._replay(self._table.set_query(query))

    def hold_order(self, held: bool) -> None:
        """While held (the pointer is over the table) rows stay put; release sorts once."""
        self._replay(self._table.hold(held))

    def tick(self) -> None:
        """Relative times move on: only the timed columns are asked for again."""
        self._now = self._clock()
        if self._rows:
            bottom = len(self._rows) - 1
            for first, last in _TIMED_RUNS:
                self.dataChanged.emit(self.index(0, first), self.index(bottom, last), [_DISPLAY])

    def row_at(self, row: int) -> SessionRow:
        return self._rows[row]

    def row_for(self, key: str) -> SessionRow | None:
        """A row by key, even when the query hides it."""
        return self._table.row(key)

    def visible_rows(self) -> list[SessionRow]:
        return self._rows.copy()

    def total_rows(self) -> int:
        """Every row held, visible or not."""
        return len(self._table)

    # Qt's interface

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == _DISPLAY:
            return self._columns[section].title
        if role == _TOOLTIP:
            return self._columns[section].tip
        return None

    def data(self, index: _Index, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], self._columns[index.column()]
        if role == _DISPLAY:
            return column.text(row, self._now)
        if role == _ALIGNMENT:
            return _RIGHT if column.numeric else None
        if role == _DECORATION:
            return state_icon(row.state) if index.column() == _STATE_COLUMN else None
        if role == _TOOLTIP:
            return column.tooltip(row)
        if role == SORT_ROLE:
            return column.sort_key(row)
        if role == ROW_ROLE:
            return row
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """What a sorting QTableView calls on a header click; it sorts even while held."""
        self._replay(self._table.sort(column, order == Qt.SortOrder.DescendingOrder))

    # Inside

    def _replay(self, edits: list[Edit]) -> None:
        root = QModelIndex()
        for edit in edits:
            if isinstance(edit, Reset):
                self.beginResetModel()
                edit.replay(self._rows)
                self.endResetModel()
            elif isinstance(edit, Removed):
                self.beginRemoveRows(root, edit.first, edit.last)
                edit.replay(self._rows)
                self.endRemoveRows()
            elif isinstance(edit, Inserted):
                self.beginInsertRows(root, edit.first, edit.last)
                edit.replay(self._rows)
                self.endInsertRows()
            elif isinstance(edit, Changed):
                edit.replay(self._rows)
                self.dataChanged.emit(
                    self.index(edit.first, 0), self.index(edit.last, len(self._columns) - 1)
                )
            else:
                self._reorder(edit)

    def _show_instances(self) -> None:
        """Insert or remove the Instance column as the instances reported go above or to 1."""
        several = len(self._table.instances()) > 1 or self._reported_instances > 1
        if several == self.instance_column_shown:
            return
        root = QModelIndex()
        if several:
            self.beginInsertColumns(root, INSTANCE_COLUMN, INSTANCE_COLUMN)
            self._columns = COLUMNS
            self.endInsertColumns()
        else:
            self.beginRemoveColumns(root, INSTANCE_COLUMN, INSTANCE_COLUMN)
            self._columns = COLUMNS[:INSTANCE_COLUMN]
            self.endRemoveColumns()

    def _reorder(self, edit: Reordered) -> None:
        """Move the rows in one layout change; persistent indexes (the selection) move along."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        edit.replay(self._rows)
        after = [self.index(edit.order[index.row()], index.column()) for index in before]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()
