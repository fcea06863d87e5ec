"""The Activity page: every exchange the console made, filterable, exportable, all redacted."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelection, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QFileDialog,
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

from console.models.activity_model import ActivityModel
from console.services.activity import ActivityLog, Exchange, ExportError
from console.services.audit import AuditEntry

AUDIT_COLUMNS = ("When", "Profile", "Token", "Result", "Adapter's answer")


class ActivityPage(QWidget):
    def __init__(self, activity: ActivityLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._activity = activity
        self.model = ActivityModel()
        self.model.set_rows(activity.exchanges())
        activity.add_listener(self.model.prepend)
        activity.add_cleared_listener(lambda: self.model.set_rows([]))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by profile, method, path or status")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        export_json = QPushButton("Export JSON…", self)
        export_json.clicked.connect(lambda: self._export("json"))
        export_csv = QPushButton("Export CSV…", self)
        export_csv.clicked.connect(lambda: self._export("csv"))
        self.export_note = QLabel("", self)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
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
            self._add_audit(entry)
        activity.add_audit_listener(lambda entry, _evicted: self._add_audit(entry))

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

    def _add_audit(self, entry: AuditEntry) -> None:
        """Newest first: when, profile, which token, and what the adapter said."""
        self.audit.insertRow(0)
        values = (
            entry.when.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            entry.profile_name,
            entry.token_id[:12] + "…" if entry.token_id else entry.token_hint,
            "ok" if entry.ok else "failed",
            entry.result,
        )
        for column, value in enumerate(values):
            self.audit.setItem(0, column, QTableWidgetItem(value))

    def _show_selected(self, selected: QItemSelection, _: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            self.detail.clear()
            return
        exchange: Exchange = self.model.exchange(self.proxy.mapToSource(indexes[0]).row())
        headers = "\n".join(f"{name}: {value}" for name, value in exchange.request_headers.items())
        status = "no answer" if exchange.status is None else f"HTTP {exchange.status}"
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
        dialog = QFileDialog(self, f"Export the activity shown as {kind.upper()}")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(f"{kind.upper()} files (*.{kind})")
        dialog.setDefaultSuffix(kind)
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path), kind))
        dialog.open()

    def export_to(self, path: Path, kind: str) -> None:
        exchanges = self.visible_exchanges()
        try:
            if kind == "json":
                self._activity.export_json(path, exchanges)
            else:
                self._activity.export_csv(path, exchanges)
        except ExportError as exc:
            self.export_note.setText(str(exc))
            self.export_note.setStyleSheet("color: #c62828;")
            return
        self.export_note.setText(f"Exported {len(exchanges)} exchanges (redacted) to {path}.")
        self.export_note.setStyleSheet("")
