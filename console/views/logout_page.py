"""The Logout page: log out a token minted here, or one pasted in (the broker-CRM case).

The answer is shown plainly: the adapter's own words when it refuses. Production profiles ask
first. Every logout is added to the audit list.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.context import ConsoleContext
from console.services.client import AdapterUnavailable
from console.services.redaction import mask
from console.services.vault import MintedRecord, VaultError
from console.slots import async_slot
from console.views.confirm import confirm

COLUMNS = ("Minted", "User", "Brokers", "Accounts", "Expires", "State", "Token")


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _state(record: MintedRecord) -> str:
    if record.logged_out_at is not None:
        return record.logout_result or "logged out"
    if record.expires_at <= datetime.now(UTC):
        return "expired"
    return "active"


class LogoutPage(QWidget):
    logged_out = Signal()

    def __init__(self, context: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._records: list[MintedRecord] = []

        minted_box = QGroupBox("Tokens minted from this console", self)
        self.minted_note = QLabel("", minted_box)
        self.table = QTableWidget(0, len(COLUMNS), minted_box)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.logout_selected = QPushButton("Log out selected token", minted_box)
        self.logout_selected.setEnabled(False)
        self.logout_selected.clicked.connect(self._logout_selected)
        minted_layout = QVBoxLayout(minted_box)
        minted_layout.addWidget(self.minted_note)
        minted_layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.logout_selected)
        minted_layout.addLayout(row)

        pasted_box = QGroupBox("A token from elsewhere (e.g. the broker's CRM)", self)
        self.pasted = QLineEdit(pasted_box)
        self.pasted.setEchoMode(QLineEdit.EchoMode.Password)
        self.pasted.setPlaceholderText("Paste the token here")
        reveal = QPushButton("Reveal", pasted_box)
        reveal.setCheckable(True)
        reveal.toggled.connect(
            lambda on: self.pasted.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        self.logout_pasted = QPushButton("Log out pasted token", pasted_box)
        self.logout_pasted.setEnabled(False)
        self.logout_pasted.clicked.connect(self._logout_pasted)
        self.pasted.textChanged.connect(
            lambda text: self.logout_pasted.setEnabled(bool(text.strip()))
        )
        pasted_layout = QHBoxLayout(pasted_box)
        pasted_layout.addWidget(self.pasted, 1)
        pasted_layout.addWidget(reveal)
        pasted_layout.addWidget(self.logout_pasted)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.result = QLabel("", self)
        self.result.setObjectName("logoutResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(minted_box, 1)
        layout.addWidget(pasted_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)

    def refresh(self) -> None:
        profile = self._context.active_profile()
        self._records = self._context.vault.list(profile.id)
        self.minted_note.setText(
            f"{len(self._records)} token(s) minted for {profile.name}; select one to log it out."
            if self._records
            else f"No token minted from this console for {profile.name} yet."
        )
        self.table.setRowCount(len(self._records))
        for row, record in enumerate(self._records):
            accounts = (
                "all" if record.account_ids is None else ", ".join(map(str, record.account_ids))
            )
            values = (
                _when(record.minted_at),
                str(record.user_id),
                ", ".join(record.broker_names),
                accounts,
                _when(record.expires_at),
                _state(record),
                mask(record.token),
            )
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self._selection_changed()

    def _selected(self) -> MintedRecord | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        return self._records[rows.pop()] if len(rows) == 1 else None

    def _selection_changed(self) -> None:
        record = self._selected()
        self.logout_selected.setEnabled(record is not None and record.logged_out_at is None)

    @async_slot()
    async def _logout_selected(self) -> None:
        record = self._selected()
        if record is not None:
            await self._logout(record.token, record)

    @async_slot()
    async def _logout_pasted(self) -> None:
        token = self.pasted.text().strip()
        if token:
            self._context.note_secret(token)
            await self._logout(token, None)

    async def _logout(self, token: str, record: MintedRecord | None) -> None:
        profile = self._context.active_profile()
        if profile.production and not await confirm(
            self,
            "Log out on a production adapter?",
            f"The token {mask(token)} will stop working on {profile.name} ({profile.base_url}).",
            "Log out",
        ):
            return
        buttons = (self.logout_selected, self.logout_pasted)
        for button in buttons:
            button.setEnabled(False)
        self.progress.show()
        try:
            answer = await self._context.client(profile).logout(token)
        except AdapterUnavailable as exc:
            self._show(str(exc), ok=False)
            self._context.audit_logout(profile, token, False, str(exc))
            return
        finally:
            self.progress.hide()
            self.logout_pasted.setEnabled(bool(self.pasted.text().strip()))
        if answer.ok:
            self._show(f"Logged out {mask(token)} on {profile.name}.", ok=True)
            result = "logged out"
        else:
            self._show(f"The adapter refused: {answer.errmsg}", ok=False)
            result = f"refused: {answer.errmsg}"
        if record is not None:
            try:
                self._context.vault.mark_logged_out(record.record_id, result)
            except VaultError as exc:
                self._show(f"{self.result.text()} ({exc})", ok=answer.ok)
        self._context.audit_logout(profile, token, answer.ok, result)
        self.refresh()
        self.logged_out.emit()

    def _show(self, text: str, *, ok: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("color: #2e7d32;" if ok else "color: #c62828;")
