"""The Sessions page: every token and trader session, live, findable, and ended from here.

Rows come from the admin API and are kept current by its event stream; they are updated in
place, so selection, sort and scroll survive, and they hold still while the pointer is over
the table. Bulk logouts first list exactly what they will hit. An adapter without an admin
API gets the tokens minted from this console instead, probed for their state, said plainly:
what the console assumes is labelled so, what it cannot know is shown as unknown, and each
refresh updates those rows in place too, so the selection holds.
Where several adapter instances share a store, an Instance column says which holds each
token's sessions (only then: `SessionsModel` decides).
Every workflow is the active profile's `AdapterOps`; the page only shows and asks.
"""

from __future__ import annotations

import asyncio
import enum
import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from adapter_core.admin.sessions_view import TokenState
from console.models.sessions_model import SessionsModel
from console.services.client import AdapterUnavailable
from console.services.export import ExportError, write_csv
from console.services.formatting import accounts_text, count, local_time, short_id
from console.services.logouts import LogoutResult, LogoutTarget
from console.services.operations import AdapterOps
from console.services.session_columns import COLUMNS, INSTANCE_COLUMN, column_index
from console.services.session_console import (
    UNREPORTED,
    console_rows,
    expiry_assumption,
    is_console,
    state_basis,
    state_text,
)
from console.services.session_feed import SessionFeed
from console.services.session_query import QueryError, SessionQuery
from console.services.session_rows import (
    DetailItem,
    FeedStatus,
    SessionChange,
    SessionRow,
)
from console.services.store_status import StoreStatus
from console.services.tasks import TaskOwner, off_thread
from console.services.workspace import Workspace
from console.slots import task_slot
from console.views.confirm import confirm
from console.views.feedback import copy_to_clipboard
from console.views.file_dialogs import save_dialog

STATUS_COLOURS = {
    FeedStatus.LIVE: "#2e7d32",
    FeedStatus.CONNECTING: "#f9a825",
    FeedStatus.RECONNECTING: "#ef6c00",
    FeedStatus.PAUSED: "#546e7a",
    FeedStatus.NOT_AVAILABLE: "#757575",
}
PREVIEW_ROWS = 5
TICK_MS = 2000
CONSOLE_REPROBE_MS = 30_000
"""Without an admin API, the minted tokens are probed again this often."""


class _Mode(enum.Enum):
    NONE = "none"
    LIVE = "live"
    """The admin API's listing and event stream."""
    CONSOLE = "console"
    """No admin API: the tokens this console minted, probed."""


def _describe(row: SessionRow) -> str:
    return (
        f"{short_id(row.token_id)}  user {row.user_id}  {', '.join(row.broker_names)}  "
        f"({accounts_text(row.ctid_trader_account_ids)})  {state_text(row)}"
    )


class SessionsPage(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = TaskOwner("the Sessions page")
        self._ops = workspace.active
        self._vault = workspace.vault
        self._feed: SessionFeed | None = None
        self._mode = _Mode.NONE
        self._columns_fitted = False
        self.model = SessionsModel()
        self._build()
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()
        self._reprobe = QTimer(self)
        self._reprobe.setInterval(CONSOLE_REPROBE_MS)
        self._reprobe.timeout.connect(self._load_console_rows)

    # Layout

    def _build(self) -> None:
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(
            "Find: userId or account id (or their first digits), broker name, token id prefix"
        )
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._query_changed)
        self.state = QComboBox(self)
        self.state.addItem("All states", None)
        for state in TokenState:
            self.state.addItem(state.value.capitalize(), state)
        self.state.currentIndexChanged.connect(self._query_changed)
        self.live = QLabel("● not connected", self)
        self.live.setObjectName("liveIndicator")
        self.pause = QPushButton("Pause", self)
        self.pause.setCheckable(True)
        self.pause.setToolTip("Hold live updates (the stream stays connected)")
        self.pause.toggled.connect(self._pause_toggled)
        self.updated = QLabel("", self)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.state)
        top.addWidget(self.live)
        top.addWidget(self.pause)
        top.addWidget(self.updated)

        self.notice = QLabel("", self)
        self.notice.setObjectName("sessionsNotice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.empty_note = QLabel("", self)
        self.empty_note.setObjectName("sessionsEmpty")
        self.empty_note.setStyleSheet("color: palette(mid); padding: 4px;")
        self.empty_note.hide()

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(column_index("Last activity"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        # A reset drops the selection without a selectionChanged (Qt clears it silently), so
        # the buttons and the detail are told here; connected after the view's own handler.
        self.model.modelReset.connect(self._selection_changed)
        self.table.viewport().installEventFilter(self)
        self.model.columnsInserted.connect(self._instance_column_shown)

        self.detail = QTextBrowser(self)
        self.detail.setPlaceholderText("Select a session to see its claims and cached data.")
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.logout_selected = QPushButton("Log out selected", self)
        self.logout_selected.setToolTip("Log out the selected sessions (Delete)")
        self.logout_selected.clicked.connect(self._logout_selected)
        self.logout_user = QPushButton("Log out all of this user…", self)
        self.logout_user.clicked.connect(self._logout_user)
        self.copy_id = QPushButton("Copy token id", self)
        self.copy_id.clicked.connect(self._copy_token_id)
        self.panel_button = QPushButton("Trading Panel preview", self)
        self.panel_button.setToolTip(
            "What TradingView shows this trader (for tokens this console minted and still holds)"
        )
        self.panel_button.setEnabled(False)
        self.panel_button.clicked.connect(self._open_panel)
        self.open_panel: Callable[[AdapterOps, str], None] | None = None
        """Set by the controller: opens the Trading Panel preview for a token."""
        export = QPushButton("Export view as CSV…", self)
        export.clicked.connect(self._export)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table).activated.connect(
            self._logout_selected
        )
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        actions = QHBoxLayout()
        for button in (
            self.logout_selected,
            self.logout_user,
            self.copy_id,
            self.panel_button,
            export,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.progress)
        self.results = QListWidget(self)
        self.results.setMaximumHeight(90)
        self.results.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(self.empty_note)
        layout.addWidget(splitter, 1)
        layout.addLayout(actions)
        layout.addWidget(self.results)
        self._selection_changed()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Rows hold still while the pointer is over the table, so nothing moves under it."""
        if watched is self.table.viewport():
            if event.type() == QEvent.Type.Enter:
                self.model.hold_order(True)
            elif event.type() == QEvent.Type.Leave:
                self.model.hold_order(False)
        return super().eventFilter(watched, event)

    # The profile

    def show_ops(self, ops: AdapterOps) -> None:
        """Another profile is active: nothing of the last one stays, not even the search."""
        self._stop_feed()
        self._ops.minted.disconnect(self._console_changed)
        self._ops.logged_out.disconnect(self._console_changed)
        self._ops.store_changed.disconnect(self._store_changed)
        self._ops = ops
        ops.store_changed.connect(self._store_changed)
        self._mode = _Mode.NONE
        self._reprobe.stop()
        for widget in (self.filter, self.state):
            widget.blockSignals(True)
        self.filter.clear()
        self.state.setCurrentIndex(0)
        for widget in (self.filter, self.state):
            widget.blockSignals(False)
        self.pause.setChecked(False)
        self.model.set_query(SessionQuery())
        self.model.reset([])
        self.model.set_reported_instances(0)  # until this profile's adapter says
        self.detail.clear()
        self.results.clear()
        self.results.hide()
        self.notice.hide()
        self.empty_note.hide()
        self.updated.setText("")
        self._show_status(FeedStatus.CONNECTING, f"connecting to {ops.profile.name}")
        self.tasks.spawn(self._start(ops))

    def _stop_feed(self) -> None:
        if self._feed is not None:
            self._feed.stop()
            self._feed = None

    async def _start(self, ops: AdapterOps) -> None:
        if not ops.running:
            self._show_status(FeedStatus.NOT_AVAILABLE, "the embedded adapter is not running")
            self._notice("The embedded adapter is not running: Adapter › Start starts it.")
            return
        secret = await ops.secret()
        if not secret:
            self._show_status(FeedStatus.NOT_AVAILABLE, "no bearer secret for this profile")
            self._notice(f"No bearer secret is stored for {ops.profile.name}: edit the profile.")
            return
        offered = await ops.capabilities(refresh=True)
        if ops is not self._ops:
            return
        if "admin" not in offered:
            self._start_console_mode(ops)
            return
        self._mode = _Mode.LIVE
        self._feed = ops.session_feed(
            secret,
            on_reset=self._on_reset,
            on_changes=self._on_changes,
            on_status=self._show_status,
        )
        self._feed.set_query(self._query() or SessionQuery())
        await self._feed.run()

    def _query(self) -> SessionQuery | None:
        """What the find box and the state filter ask for; None (and a notice) if unusable."""
        try:
            chosen = self.state.currentData()  # Qt hands the str enum back as a plain str
            return SessionQuery(self.filter.text(), TokenState(chosen) if chosen else None)
        except QueryError as exc:
            self._notice(str(exc))
            return None

    def _fit_columns_once(self) -> None:
        """Size the columns to the first rows shown, wide enough for what their cells can
        become (a state turning `revoked`, a time turning `59 min ago`); after that the
        operator's widths stay."""
        if self._columns_fitted or not self.model.rowCount():
            return
        self.table.resizeColumnsToContents()
        metrics = self.table.fontMetrics()
        padding = metrics.horizontalAdvance("MM")
        longest = {
            column_index("State"): [
                "unknown",
                "issued (assumed)",
                *(state.value for state in TokenState),
            ],
            **{index: ["59 min ago"] for index, column in enumerate(COLUMNS) if column.timed},
        }
        for index, texts in longest.items():
            wanted = max(metrics.horizontalAdvance(text) for text in texts) + 2 * padding
            self.table.setColumnWidth(index, max(self.table.columnWidth(index), wanted))
        self._columns_fitted = True

    def _store_changed(self, store: StoreStatus | None) -> None:
        """The adapter told its instances anew (`/admin/info`): the Instance column follows."""
        self.model.set_reported_instances(0 if store is None else len(store.instances))

    def _instance_column_shown(self, parent: QModelIndex, first: int, last: int) -> None:
        """The model's last column is shown beside the token, where it is seen without
        scrolling (the header moves it; the model's column numbers stay as they are)."""
        if first <= INSTANCE_COLUMN <= last:
            header = self.table.horizontalHeader()
            header.moveSection(header.visualIndex(INSTANCE_COLUMN), 1)
            self.table.resizeColumnToContents(INSTANCE_COLUMN)

    def _on_reset(self, rows: list[SessionRow], total: int) -> None:
        self.model.reset(rows)
        self._fit_columns_once()
        shown = len(rows)
        if total > shown:
            self._notice(
                f"Showing {shown:,} of {count(total, 'token')}; refine the search to find the "
                "others."
            )
        else:
            self.notice.hide()
        self._show_emptiness()
        self._tick()

    def _on_changes(self, changes: list[SessionChange]) -> None:
        self.model.apply(changes)
        self._show_emptiness()
        self._fit_columns_once()
        self._selection_changed()
        self._tick()

    def _show_status(self, status: FeedStatus, message: str) -> None:
        self.live.setText(f"● {status.value}")
        self.live.setToolTip(message)
        self.live.setStyleSheet(f"color: {STATUS_COLOURS[status]};")
        self.pause.setEnabled(status in (FeedStatus.LIVE, FeedStatus.PAUSED))
        if status is FeedStatus.NOT_AVAILABLE and self._mode is _Mode.LIVE:
            self._notice(f"Live sessions are not available: {message}.")

    def _pause_toggled(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")
        if self._feed is not None:
            if paused:
                self._feed.pause()
            else:
                self._feed.resume()

    def _query_changed(self) -> None:
        query = self._query()
        if query is None:
            return
        if self._mode is not _Mode.NONE:
            self.notice.hide()
        self.model.set_query(query)
        if self._feed is not None:
            self._feed.set_query(query)
        self._show_emptiness()
        self._selection_changed()

    def _show_emptiness(self) -> None:
        """An empty table says why: nothing matches the search, or nothing was issued yet."""
        text = ""
        if self._mode is not _Mode.NONE and self.model.rowCount() == 0:
            query = self._query()
            if query is not None and (query.text or query.state is not None):
                state = f" in state {query.state.value}" if query.state is not None else ""
                what = f"“{query.text}”" if query.text else "the state filter"
                text = f"No token matches {what}{state}." if query.text else f"No token{state}."
            elif self._mode is _Mode.LIVE:
                text = "The adapter has issued no token yet: mint one on the Tokens page."
        self.empty_note.setText(text)
        self.empty_note.setVisible(bool(text))

    def _tick(self) -> None:
        self.model.tick()
        feed = self._feed
        if feed is not None and feed.last_update is not None:
            seconds = time.monotonic() - feed.last_update
            self.updated.setText(f"updated {seconds:.0f} s ago")

    def _notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    # Adapters without an admin API

    def _start_console_mode(self, ops: AdapterOps) -> None:
        self._mode = _Mode.CONSOLE
        self._show_status(FeedStatus.NOT_AVAILABLE, "this adapter has no admin API")
        ops.minted.connect(self._console_changed)
        ops.logged_out.connect(self._console_changed)
        self._reprobe.start()
        self._load_console_rows()

    def _console_changed(self, *_: object) -> None:
        self._load_console_rows()

    def _load_console_rows(self) -> None:
        if self._mode is _Mode.CONSOLE:
            self.tasks.spawn(self._console_rows(self._ops))

    async def _console_rows(self, ops: AdapterOps) -> None:
        """Only the tokens minted here: each probed with GET /accounts, logged out by token.

        Probed here rather than with `ops.minted_tokens()`, which keeps only a state and so
        cannot tell a 200 from a 404 that established nothing. The rows are replaced as
        changes, not reset, so the rows still there keep the selection (and what Log out
        selected acts on) across the periodic refresh.
        """
        records = await off_thread(self._vault.list, ops.profile.id)
        rows = await console_rows(ops.client, records)
        if ops is not self._ops or self._mode is not _Mode.CONSOLE:
            return
        self._notice(
            f"This adapter offers no admin API, so only the {count(len(rows), 'token')} "
            f"minted from this console for {ops.profile.name} are shown. Their state comes from "
            f"a harmless GET /accounts with each token, last asked at "
            f"{local_time(time.time(), zone=False)[-8:]}; what the console assumes says so, "
            "and what only an admin API reports is shown as unknown (—)."
        )
        self.model.replace(rows)
        self._show_emptiness()
        self._fit_columns_once()
        self._selection_changed()

    # Selection and detail

    def selected_rows(self) -> list[SessionRow]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return [self.model.row_at(row) for row in sorted(rows)]

    def _selection_changed(self, *_: QItemSelection) -> None:
        rows = self.selected_rows()
        live = [row for row in rows if row.can_log_out]
        self.logout_selected.setEnabled(bool(live))
        self.logout_selected.setText(
            f"Log out {len(live)} selected" if len(live) > 1 else "Log out selected"
        )
        self.logout_user.setEnabled(len(rows) == 1 and self._mode is _Mode.LIVE)
        self.copy_id.setEnabled(len(rows) == 1 and rows[0].token_id is not None)
        self.panel_button.setEnabled(False)
        if len(rows) == 1 and rows[0].can_log_out and rows[0].token_id is not None:
            self.tasks.spawn(self._offer_panel(self._ops, rows[0].token_id))
        self._refresh_detail()

    async def _offer_panel(self, ops: AdapterOps, token_id: str) -> None:
        """The preview needs the token itself: only for sessions this console minted."""
        held = await ops.held_token(token_id)
        rows = self.selected_rows()
        current = len(rows) == 1 and rows[0].token_id == token_id and ops is self._ops
        self.panel_button.setEnabled(current and held is not None)

    @task_slot
    async def _open_panel(self) -> None:
        rows = self.selected_rows()
        ops = self._ops
        if len(rows) != 1 or rows[0].token_id is None or self.open_panel is None:
            return
        token = await ops.held_token(rows[0].token_id)
        if token is not None and ops is self._ops:
            self.open_panel(ops, token)

    def _refresh_detail(self) -> None:
        rows = self.selected_rows()
        if len(rows) != 1:
            self.detail.clear()
            return
        self.tasks.spawn(self._load_detail(self._ops, rows[0]))

    async def _load_detail(self, ops: AdapterOps, row: SessionRow) -> None:
        note = ""
        try:
            detail = await ops.session_detail(row)
        except AdapterUnavailable as exc:
            detail, note = row, f"The adapter could not give the cached data: {exc}"
        current = self.selected_rows()
        if ops is self._ops and len(current) == 1 and current[0].key == row.key:
            self.detail.setHtml(_detail_html(detail, note))

    def _copy_token_id(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1 and rows[0].token_id:
            copy_to_clipboard(rows[0].token_id, self.copy_id)

    # Logouts

    @task_slot
    async def _logout_selected(self) -> None:
        rows = [row for row in self.selected_rows() if row.can_log_out]
        if rows:
            await self._logout(rows, f"Log out {count(len(rows), 'session')}?")

    @task_slot
    async def _logout_user(self) -> None:
        rows = self.selected_rows()
        if len(rows) != 1:
            return
        user_id = rows[0].user_id
        ops = self._ops
        try:
            targets = await ops.user_sessions(user_id)
        except AdapterUnavailable as exc:
            self._notice(str(exc))
            return
        if ops is not self._ops:
            return
        if not targets:
            self._notice(f"User {user_id} has no session that could be logged out.")
            return
        await self._logout(
            targets, f"Log out all {count(len(targets), 'session')} of user {user_id}?"
        )

    async def _logout(self, rows: list[SessionRow], title: str) -> None:
        ops = self._ops
        profile = ops.profile
        preview = "\n".join(_describe(row) for row in rows[:PREVIEW_ROWS])
        more = f"\n… and {len(rows) - PREVIEW_ROWS} more" if len(rows) > PREVIEW_ROWS else ""
        if not await confirm(
            self,
            title,
            f"On {profile.name}{' (PRODUCTION)' if profile.production else ''}, "
            f"{'this token' if len(rows) == 1 else f'these {len(rows)} tokens'} will stop "
            f"working:\n\n{preview}{more}",
            "Log out",
        ):
            return
        self.results.clear()
        self.results.show()
        self.progress.setRange(0, len(rows))
        self.progress.setValue(0)
        self.progress.show()
        self.logout_selected.setEnabled(False)

        def progress(result: LogoutResult) -> None:
            if ops is self._ops:
                mark = "✔" if result.ok else "✖"
                self.results.addItem(f"{mark} {result.target.label}  {result.audit_text}")
                self.progress.setValue(self.progress.value() + 1)

        try:
            await ops.logout([LogoutTarget.for_row(row) for row in rows], progress)
        finally:
            self.progress.hide()
            self._selection_changed()

    def _export(self) -> None:
        stamp = time.strftime("%Y-%m-%d")
        dialog = save_dialog(self, "Export the sessions shown as CSV", f"sessions-{stamp}.csv")
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(lambda path: self.tasks.spawn(self.export_to(Path(path))))
        dialog.open()

    async def export_to(self, path: Path) -> None:
        """The view as shown (filtered and sorted), but with full token ids (never a token) and
        absolute UTC times, which mean the same once saved; written off the GUI thread."""
        now = time.time()
        columns = self.model.columns()
        rows = [
            [column.export_value(row, now) for column in columns]
            for row in self.model.visible_rows()
        ]
        header = [column.title for column in columns]
        loop = asyncio.get_running_loop()
        try:
            written = await loop.run_in_executor(None, write_csv, path, header, rows)
        except ExportError as exc:
            self._notice(str(exc))
            return
        self._notice(f"Exported {count(written, 'row')} to {path}.")


def _e(value: Any) -> str:
    """Escaped text: broker names and user agents come from outside."""
    return html.escape("" if value is None else str(value))


DETAIL_TABLES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Positions",
        "positions",
        (
            ("id", "id"),
            ("instrument", "instrument"),
            ("side", "side"),
            ("qty", "qty"),
            ("avg price", "avg_price"),
            ("unrealised P&L", "unrealized_pl"),
        ),
    ),
    (
        "Orders",
        "orders",
        (
            ("id", "id"),
            ("instrument", "instrument"),
            ("side", "side"),
            ("type", "type"),
            ("qty", "qty"),
            ("status", "status"),
        ),
    ),
    (
        "Deals",
        "deals",
        (
            ("id", "id"),
            ("instrument", "instrument"),
            ("side", "side"),
            ("qty", "qty"),
            ("price", "price"),
            ("closing", "is_close"),
        ),
    ),
)


def _small_table(items: tuple[DetailItem, ...], columns: tuple[tuple[str, str], ...]) -> str:
    head = "".join(f"<th>{title}</th>" for title, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(getattr(item, name))}</td>" for _, name in columns) + "</tr>"
        for item in items[:20]
    )
    return f"<table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>"


def _detail_html(row: SessionRow, note: str = "") -> str:
    basis = state_basis(row)
    console = is_console(row)
    fields = (
        ("User", row.user_id),
        ("Brokers", ", ".join(row.broker_names)),
        ("Accounts", accounts_text(row.ctid_trader_account_ids)),
        ("Verified", "yes" if row.is_verified else "no"),
        ("State", state_text(row)),
        *([("State from", basis)] if basis is not None else []),
        ("Issued", local_time(row.issued_at)),
        (
            "Expires",
            expiry_assumption(row.expires_at) if row.expiry_assumed else local_time(row.expires_at),
        ),
        ("Revoked", local_time(row.revoked_at)),
        ("Last activity", UNREPORTED if console else local_time(row.last_activity)),
        ("Requests", UNREPORTED if console else row.request_count),
    )
    title = row.token_id or "(id not told by the adapter)"
    parts = [f"<h3>Token {_e(title)}</h3>"]
    if note:
        parts.append(f"<p><i>{_e(note)}</i></p>")
    parts.append("<table>")
    parts += [f"<tr><td><b>{name}</b></td><td>{_e(value)}</td></tr>" for name, value in fields]
    parts.append("</table>")
    if console:
        parts.append(
            f"<p><i>Trader sessions and their cached positions, orders and deals: "
            f"{_e(UNREPORTED)}.</i></p>"
        )
    for session in row.trader_sessions:
        on = f" on instance {_e(session.instance)}" if session.instance is not None else ""
        parts.append(
            f"<h4>Account {_e(session.account_id)} ({_e(session.broker_name)}){on}</h4>"
            f"<p>{_e(count(session.request_count, 'request'))} from "
            f"{_e(session.client_address or 'an unknown address')}, "
            f"{_e(session.user_agent or 'no user agent')}; opened "
            f"{local_time(session.opened_at)}"
            + (
                f"; closed {local_time(session.closed_at)} (its cached data is gone)"
                if session.closed_at is not None
                else ""
            )
            + "</p>"
        )
        remote = session.instance is not None and session.orders is None and not note
        if remote and session.closed_at is None:  # the detail came, without this one's caches
            parts.append(
                f"<p><i>Its cached positions, orders and deals are held by instance "
                f"{_e(session.instance)}; this one only lists the session.</i></p>"
            )
        for heading, key, columns in DETAIL_TABLES:
            items: tuple[DetailItem, ...] | None = getattr(session, key)
            if items is None:
                continue
            parts.append(f"<p><b>{heading}</b> ({len(items)})</p>")
            if items:
                parts.append(_small_table(items, columns))
    return "".join(parts)
