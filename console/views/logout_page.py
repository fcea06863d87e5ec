"""The Logout page: log out a token minted here, or one pasted in (the broker-CRM case).

The answer is shown plainly: the adapter's own words when it refuses. Production profiles ask
first. Every logout is added to the audit list. Each minted token's state is what the adapter
says now (or, where it cannot be asked, the console's record, labelled as such).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
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

from adapter_core.admin.sessions_view import TokenState
from console.services.formatting import accounts_text, count, local_time
from console.services.logouts import LogoutOutcome, LogoutTarget
from console.services.minted import MintedToken, StateSource
from console.services.operations import AdapterOps
from console.services.redaction import mask
from console.services.session_rows import FINAL_STATES
from console.services.tasks import TaskOwner
from console.services.workspace import Workspace
from console.slots import task_slot
from console.views.confirm import confirm

COLUMNS = ("Minted", "User", "Brokers", "Accounts", "Expires", "State", "Token")


def _none_minted(ops: AdapterOps) -> str:
    """Not "yet" where this run cannot list what earlier runs minted."""
    unlisted = ops.earlier_minted_unlisted
    if unlisted is None:
        return f"No token minted from this console for {ops.profile.name} yet."
    return f"No token minted for {ops.profile.name} in this run. {unlisted}"


def _state_text(token: MintedToken) -> str:
    """The state, and where the console has it from when the adapter was not asked now."""
    if token.source is not StateSource.RECORD:
        return token.state_text
    if token.state is TokenState.REVOKED:
        return "revoked (logged out from this console)"
    if token.state is TokenState.EXPIRED:
        return "expired"
    return "unknown (the adapter could not be asked)"


class LogoutPage(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = TaskOwner("the Logout page")
        self._ops = workspace.active
        self._tokens: list[MintedToken] = []

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
        header.setStretchLastSection(True)
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
        self.reveal_pasted = QPushButton("Reveal", pasted_box)
        self.reveal_pasted.setCheckable(True)
        self.reveal_pasted.toggled.connect(self._reveal_pasted)
        self.logout_pasted = QPushButton("Log out pasted token", pasted_box)
        self.logout_pasted.setEnabled(False)
        self.logout_pasted.clicked.connect(self._logout_pasted)
        self.pasted.textChanged.connect(
            lambda text: self.logout_pasted.setEnabled(bool(text.strip()))
        )
        pasted_layout = QHBoxLayout(pasted_box)
        pasted_layout.addWidget(self.pasted, 1)
        pasted_layout.addWidget(self.reveal_pasted)
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

    # The profile

    def show_ops(self, ops: AdapterOps) -> None:
        """Another profile is active: its tokens replace the last one's, results are cleared."""
        self._ops.minted.disconnect(self._refresh_soon)
        self._ops.logged_out.disconnect(self._refresh_soon)
        self._ops = ops
        ops.minted.connect(self._refresh_soon)
        ops.logged_out.connect(self._refresh_soon)
        self.result.setText("")
        self.pasted.clear()
        self.reveal_pasted.setChecked(False)
        self._tokens = []
        self.table.setRowCount(0)
        self.refresh()

    def _refresh_soon(self, *_: object) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Ask the adapter what became of each minted token (in the background)."""
        self.minted_note.setText(f"Asking {self._ops.profile.name} about the tokens minted here…")
        self.tasks.spawn(self._refresh(self._ops))

    async def _refresh(self, ops: AdapterOps) -> None:
        tokens = await ops.minted_tokens()
        if ops is not self._ops:
            return
        self._tokens = tokens
        name = ops.profile.name
        self.minted_note.setText(
            f"{count(len(tokens), 'token')} minted for {name}; states as of "
            f"{local_time(time.time(), zone=False)[-8:]}. Select one to log it out."
            if tokens
            else _none_minted(ops)
        )
        self.table.setRowCount(len(tokens))
        for row, token in enumerate(tokens):
            record = token.record
            expires = local_time(record.expires_at.timestamp(), zone=False)
            values = (
                local_time(record.minted_at.timestamp(), zone=False),
                str(record.user_id),
                ", ".join(record.broker_names),
                accounts_text(record.account_ids),
                f"{expires} (assumed)" if record.expiry_assumed else expires,
                _state_text(token),
                mask(record.token),
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == COLUMNS.index("State"):
                    item.setToolTip(f"From {token.source.value}")
                self.table.setItem(row, column, item)
        self._selection_changed()

    def _selected(self) -> MintedToken | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        return self._tokens[rows.pop()] if len(rows) == 1 else None

    def _selection_changed(self) -> None:
        token = self._selected()
        ended = token is not None and token.state in FINAL_STATES
        self.logout_selected.setEnabled(token is not None and not ended)

    @task_slot
    async def _logout_selected(self) -> None:
        token = self._selected()
        if token is not None:
            await self._logout(LogoutTarget.for_record(token.record))

    def _reveal_pasted(self, shown: bool) -> None:
        """As the Tokens page's Reveal: the button says what pressing it does next."""
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.pasted.setEchoMode(mode)
        self.reveal_pasted.setText("Hide" if shown else "Reveal")

    @task_slot
    async def _logout_pasted(self) -> None:
        token = self.pasted.text().strip()
        if token and await self._logout(LogoutTarget.pasted(token)):
            self.pasted.clear()  # a token logged out is of no more use; a refused one stays

    async def _logout(self, target: LogoutTarget) -> bool:
        """Log `target` out and say how it went; True when it was logged out. The button
        pressed keeps the keyboard focus (disabled while sending, Qt would pass it on)."""
        ops = self._ops
        profile = ops.profile
        if profile.production and not await confirm(
            self,
            "Log out on a production adapter?",
            f"The token {target.label} will stop working on {profile.name} ({profile.base_url}).",
            "Log out",
        ):
            return False
        focused = QApplication.focusWidget()
        buttons = (self.logout_selected, self.logout_pasted)
        for button in buttons:
            button.setEnabled(False)
        self.progress.show()
        self.result.setText("")
        try:
            [result] = await ops.logout([target])
        finally:
            self.progress.hide()
            self.logout_pasted.setEnabled(bool(self.pasted.text().strip()))
            self._selection_changed()
            if focused in buttons and focused.isEnabled():
                focused.setFocus()
        if ops is not self._ops:
            return False
        if result.ok:
            self._show(f"Logged out {target.label} on {profile.name}.", ok=True)
        elif result.outcome is LogoutOutcome.REFUSED:
            self._show(f"The adapter refused: {result.message}", ok=False)
        else:
            self._show(f"Not sent: {result.message}", ok=False)
        return result.ok

    def _show(self, text: str, *, ok: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("color: #2e7d32;" if ok else "color: #c62828;")
