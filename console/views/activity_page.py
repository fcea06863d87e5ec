"""The Activity page: every exchange the console made, filterable, exportable, all redacted.

The console polls on its own (health checks every few seconds, the session feed, capability
probes); shown by default, that polling would bury the operator's requests within minutes. So
it is recorded but hidden until asked for, and the page says how much is hidden.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from psygnal import SignalInstance
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QObject, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.models.activity_model import ActivityFilterProxy, ActivityModel
from console.services.activity import ActivityLog, Exchange, export_csv, export_json
from console.services.audit import AuditEntry
from console.services.export import ExportError
from console.services.tasks import TaskOwner
from console.views.file_dialogs import save_dialog

AUDIT_COLUMNS = ("When", "Profile", "Token", "Result", "Adapter's answer")


def disconnect_when_destroyed(
    owner: QObject, *connections: tuple[SignalInstance, Callable[..., Any]]
) -> None:
    """Undo psygnal `connections` when `owner` is destroyed.

    The log outlives its views; once a view's C++ side is gone its slots raise inside the log's
    emit, which would fail the HTTP request being recorded. The closure holds the slots, never
    `owner`, so it does not keep the destroyed widget's wrapper alive.
    """

    def disconnect() -> None:
        for signal, slot in connections:
            signal.disconnect(slot)

    owner.destroyed.connect(disconnect)


def add_audit_row(table: QTableWidget, entry: AuditEntry, evicted: AuditEntry | None) -> None:
    """Newest first: when, profile, which token, and what the adapter said; the row the trail's
    bound pushed out leaves the bottom, so the table never outgrows the trail."""
    if evicted is not None and table.rowCount() > 0:
        table.removeRow(table.rowCount() - 1)
    table.insertRow(0)
    values = (
        entry.when.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        entry.profile_name,
        entry.token_id[:12] + "…" if entry.token_id else entry.token_hint,
        "ok" if entry.ok else "failed",
        entry.result,
    )
    for column, value in enumerate(values):
        table.setItem(0, column, QTableWidgetItem(value))


class ActivityPage(QWidget):
    def __init__(self, activity: ActivityLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = TaskOwner("the Activity page")
        self.model = ActivityModel(self)
        self.model.set_rows(activity.exchanges())
        self.proxy = ActivityFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by profile, method, path or status")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_changed)
        self.show_background = QCheckBox("Show background polling", self)
        self.show_background.setToolTip(
            "Health checks, the Sessions page's refreshes and capability probes the console "
            "sends on its own."
        )
        self.show_background.toggled.connect(self._background_toggled)
        self.hidden_note = QLabel("", self)
        self.hidden_note.setStyleSheet("color: #757575;")
        export_json = QPushButton("Export JSON…", self)
        export_json.clicked.connect(lambda: self._export("json"))
        export_csv = QPushButton("Export CSV…", self)
        export_csv.clicked.connect(lambda: self._export("csv"))
        self.export_note = QLabel("", self)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.show_background)
        top.addWidget(self.hidden_note)
        top.addWidget(export_json)
        top.addWidget(export_csv)

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._show_selected)
        # Qt drops the selection silently on a reset (the log cleared): the detail follows.
        self.proxy.modelReset.connect(self._show_selected)
        self._selected: int | None = None
        """The `seq` of the exchange the detail shows, None when it shows none."""

        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select an exchange to see its request and answer.")
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.audit = QTableWidget(0, len(AUDIT_COLUMNS), self)
        self.audit.setHorizontalHeaderLabels(AUDIT_COLUMNS)
        self.audit.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.audit.verticalHeader().hide()
        audit_header = self.audit.horizontalHeader()
        audit_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        audit_header.setStretchLastSection(True)
        for entry in activity.audit_entries():
            add_audit_row(self.audit, entry, None)
        audit_slot = partial(add_audit_row, self.audit)
        activity.recorded.connect(self.model.prepend)
        activity.cleared.connect(self.model.clear)
        activity.audit_trail.added.connect(audit_slot)
        disconnect_when_destroyed(
            self,
            (activity.recorded, self.model.prepend),
            (activity.cleared, self.model.clear),
            (activity.audit_trail.added, audit_slot),
        )
        for change in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            change.connect(self._show_hidden_count)
        self._show_hidden_count()

        self.tabs = QTabWidget(self)
        exchanges = QWidget(self.tabs)
        exchanges_layout = QVBoxLayout(exchanges)
        exchanges_layout.setContentsMargins(0, 0, 0, 0)
        exchanges_layout.addLayout(top)
        exchanges_layout.addWidget(splitter, 1)
        self.tabs.addTab(exchanges, "Exchanges")
        self.tabs.addTab(self.audit, "Logouts (audit)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.export_note)

    def _filter_changed(self, text: str) -> None:
        self._keeping_selection(lambda: self.proxy.setFilterFixedString(text))

    def _background_toggled(self, show: bool) -> None:
        self._keeping_selection(lambda: self.proxy.set_show_background(show))
        self._show_hidden_count()

    def _keeping_selection(self, refilter: Callable[[], None]) -> None:
        """Refilter, then select the same exchange again, or nothing if it is filtered out.

        Across a filter change Qt can leave the highlight on another row and report the
        selection as gone, so the highlight and the detail would disagree; the exchange is
        found again by its `seq` instead.
        """
        kept = self._selected
        refilter()
        selection = self.table.selectionModel()
        source_row = None if kept is None else self.model.row_of(kept)
        index = (
            QModelIndex()
            if source_row is None
            else self.proxy.mapFromSource(self.model.index(source_row, 0))
        )
        if index.isValid():
            selection.setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.table.scrollTo(index)
        else:
            selection.clear()
        self._show_selected()

    def _show_hidden_count(self) -> None:
        hidden = 0 if self.proxy.show_background else self.model.background_count
        noun = "exchange" if hidden == 1 else "exchanges"
        self.hidden_note.setText(f"{hidden} background {noun} hidden")
        self.hidden_note.setVisible(hidden > 0)

    def _show_selected(self, *_: QItemSelection) -> None:
        """The detail follows what is selected now, not the change Qt reported."""
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            self._selected = None
            self.detail.clear()
            return
        exchange: Exchange = self.model.exchange(self.proxy.mapToSource(indexes[0]).row())
        self._selected = exchange.seq
        headers = "\n".join(f"{name}: {value}" for name, value in exchange.request_headers.items())
        status = "no answer" if exchange.status is None else f"HTTP {exchange.status}"
        if exchange.expected:
            status += f" (expected: this probe asks for a {exchange.status})"
        elif exchange.refusal is not None:
            status += f", refused: {exchange.refusal or '(no errmsg)'}"
        if exchange.background:
            status += ", background polling"
        self.detail.setPlainText(
            f"{exchange.method} {exchange.path}  ({exchange.profile_name}, "
            f"{exchange.when.astimezone().isoformat(timespec='seconds')})\n{headers}\n\n"
            f"{exchange.request_body}\n\n— {status} in {exchange.duration_ms:.0f} ms —\n"
            f"{exchange.error or exchange.response_body}"
        )

    def visible_exchanges(self) -> list[Exchange]:
        return [
            self.model.exchange(self.proxy.mapToSource(self.proxy.index(row, 0)).row())
            for row in range(self.proxy.rowCount())
        ]

    def _export(self, kind: str) -> None:
        stamp = time.strftime("%Y-%m-%d")
        dialog = save_dialog(
            self, f"Export the activity shown as {kind.upper()}", f"activity-{stamp}.{kind}"
        )
        dialog.setNameFilter(f"{kind.upper()} files (*.{kind})")
        dialog.setDefaultSuffix(kind)
        dialog.fileSelected.connect(lambda path: self.tasks.spawn(self.export_to(Path(path), kind)))
        dialog.open()

    async def export_to(self, path: Path, kind: str) -> None:
        """Write the rows the table shows (filters and hidden polling apply) as `kind`; the
        file is written off the GUI thread."""
        exchanges = self.visible_exchanges()
        write = export_json if kind == "json" else export_csv
        try:
            await asyncio.get_running_loop().run_in_executor(None, write, path, exchanges)
        except ExportError as exc:
            self.export_note.setText(str(exc))
            self.export_note.setStyleSheet("color: #c62828;")
            return
        note = f"Exported {len(exchanges)} exchanges (redacted) to {path}."
        if self.model.background_count and not self.proxy.show_background:
            note += " Hidden background polling is not included."
        self.export_note.setText(note)
        self.export_note.setStyleSheet("")
