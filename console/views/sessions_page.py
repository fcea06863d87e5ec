"""The Sessions page: every token and trader session, live, findable, and ended from here.

Rows come from the admin API and are kept current by its event stream; they are updated in
place, so selection, sort and scroll survive. Bulk logouts first list exactly what they will
hit. An adapter without an admin API gets the tokens minted from this console instead, said
plainly.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import html
import time
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
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

from console.context import ConsoleContext
from console.models.sessions_model import COLUMNS, SessionsFilterProxy, SessionsModel
from console.services.client import AdapterUnavailable
from console.services.session_feed import NO_ADMIN_API, FeedFilters, SessionFeed
from console.services.session_rows import ChangeKind, FeedStatus, SessionChange, SessionRow
from console.services.unmanaged import unmanaged_rows
from console.slots import async_slot
from console.views.confirm import confirm

STATES = ("issued", "active", "idle", "revoked", "expired")
STATUS_COLOURS = {
    FeedStatus.LIVE: "#2e7d32",
    FeedStatus.CONNECTING: "#f9a825",
    FeedStatus.RECONNECTING: "#ef6c00",
    FeedStatus.PAUSED: "#546e7a",
    FeedStatus.NOT_AVAILABLE: "#757575",
}
PREVIEW_ROWS = 5
TICK_MS = 2000


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "—"
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _describe(row: SessionRow) -> str:
    accounts = row.get("ctidTraderAccountIds")
    listed = "all accounts" if accounts is None else ", ".join(map(str, accounts))
    return (
        f"{row['tokenId'][:12]}…  user {row['userId']}  "
        f"{', '.join(row.get('brokerNames', []))}  ({listed})  {row.get('state')}"
    )


class SessionsPage(QWidget):
    def __init__(self, context: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._feed: SessionFeed | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._unmanaged = False
        self._tasks: set[asyncio.Future[None]] = set()
        self._columns_fitted = False
        self.model = SessionsModel()
        self.proxy = SessionsFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()

    # Layout

    def _build(self) -> None:
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Find: userId, broker, account id or token id prefix")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_changed)
        self.state = QComboBox(self)
        self.state.addItem("All states", None)
        for state in STATES:
            self.state.addItem(state.capitalize(), state)
        self.state.currentIndexChanged.connect(self._filter_changed)
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

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("Last activity"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

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
        export = QPushButton("Export view as CSV…", self)
        export.clicked.connect(self._export)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table).activated.connect(
            self._logout_selected
        )
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        actions = QHBoxLayout()
        for button in (self.logout_selected, self.logout_user, self.copy_id, export):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.progress)
        self.results = QListWidget(self)
        self.results.setMaximumHeight(90)
        self.results.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(splitter, 1)
        layout.addLayout(actions)
        layout.addWidget(self.results)
        self._selection_changed()

    # The feed

    def start(self) -> None:
        """(Re)connect for the active profile; called on show and on profile change."""
        self.stop()
        self.model.reset([])
        self.detail.clear()
        self._unmanaged = False
        self._feed_task = asyncio.ensure_future(self._run_feed())

    def stop(self) -> None:
        if self._feed is not None:
            self._feed.stop()
            self._feed = None
        if self._feed_task is not None:
            self._feed_task.cancel()
            self._feed_task = None

    async def _run_feed(self) -> None:
        profile = self._context.active_profile()
        if not profile.base_url:
            self._show_status(FeedStatus.NOT_AVAILABLE, "the adapter is not running")
            return
        secret = await self._context.secret(profile)
        if not secret:
            self._show_status(FeedStatus.NOT_AVAILABLE, "no bearer secret for this profile")
            return
        self._feed = SessionFeed(
            self._context.client(profile),
            secret,
            on_reset=self._on_reset,
            on_changes=self._on_changes,
            on_status=self._show_status,
        )
        self._feed.set_filters(self._filters())
        await self._feed.run()

    def _filters(self) -> FeedFilters:
        text = self.filter.text().strip()
        state = self.state.currentData()
        user = int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None
        return FeedFilters(state=state, user_id=user if user and user < 10**9 else None)

    def _fit_columns_once(self) -> None:
        """Size the columns to the first rows shown; after that the operator's widths stay."""
        if not self._columns_fitted and self.model.rowCount():
            self.table.resizeColumnsToContents()
            self._columns_fitted = True

    def _on_reset(self, rows: list[SessionRow], total: int) -> None:
        self.model.reset(rows)
        self._fit_columns_once()
        shown = len(rows)
        if total > shown:
            self._notice(
                f"Showing {shown:,} of {total:,} tokens; refine the search to find the others."
            )
        elif not self._unmanaged:
            self.notice.hide()
        self._tick()

    def _on_changes(self, changes: list[SessionChange]) -> None:
        self.model.apply(changes)
        self._fit_columns_once()
        self._refresh_detail()
        self._tick()

    def _show_status(self, status: FeedStatus, message: str) -> None:
        self.live.setText(f"● {status.value}")
        self.live.setToolTip(message)
        self.live.setStyleSheet(f"color: {STATUS_COLOURS[status]};")
        if status is not FeedStatus.NOT_AVAILABLE or self._unmanaged:
            return
        if message.startswith(NO_ADMIN_API):
            self._spawn(self._show_unmanaged(message))
        else:
            self._notice(f"Live sessions are not available: {message}")

    def _pause_toggled(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")
        if self._feed is not None:
            if paused:
                self._feed.pause()
            else:
                self._feed.resume()

    def _filter_changed(self) -> None:
        state = self.state.currentData()
        self.proxy.set_filter(self.filter.text(), {state} if state else None)
        if self._feed is not None:
            self._feed.set_filters(self._filters())
        self._selection_changed()

    def _tick(self) -> None:
        self.model.tick()
        feed = self._feed
        if feed is not None and feed.last_update is not None:
            self.updated.setText(f"updated {time.monotonic() - feed.last_update:.0f} s ago")

    def _notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine as a task we hold on to (asyncio keeps only weak references)."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Adapters without an admin API

    async def _show_unmanaged(self, reason: str) -> None:
        """Only the tokens minted here: probe each with GET /accounts, log out with the token."""
        self._unmanaged = True
        profile = self._context.active_profile()
        records = self._context.vault.list(profile.id)
        self._notice(
            f"This adapter offers no admin API ({reason}). Showing only the {len(records)} "
            "token(s) minted from this console for this profile; their state is probed with "
            "a harmless GET /accounts."
        )
        if not profile.base_url:
            return
        rows = await unmanaged_rows(self._context.client(profile), records)
        self.model.reset(rows)

    # Selection and detail

    def selected_rows(self) -> list[SessionRow]:
        rows = {
            self.proxy.mapToSource(index).row()
            for index in self.table.selectionModel().selectedRows()
        }
        return [self.model.row_at(row) for row in sorted(rows)]

    def _selection_changed(self, *_: QItemSelection) -> None:
        rows = self.selected_rows()
        live = [row for row in rows if row.get("state") not in ("revoked", "expired")]
        self.logout_selected.setEnabled(bool(live))
        self.logout_selected.setText(
            f"Log out {len(live)} selected" if len(live) > 1 else "Log out selected"
        )
        self.logout_user.setEnabled(len(rows) == 1 and not self._unmanaged)
        self.copy_id.setEnabled(len(rows) == 1)
        self._refresh_detail()

    def _refresh_detail(self) -> None:
        rows = self.selected_rows()
        if len(rows) != 1:
            self.detail.clear()
            return
        self._spawn(self._load_detail(rows[0]["tokenId"]))

    async def _load_detail(self, token_id: str) -> None:
        row = self.model.row_for(token_id)
        if row is None:
            return
        if not self._unmanaged:
            profile = self._context.active_profile()
            secret = await self._context.secret(profile)
            if secret:
                with contextlib.suppress(AdapterUnavailable):
                    answer = await self._context.client(profile).request(
                        "GET", f"/admin/sessions/{token_id}", bearer=secret
                    )
                    if answer.ok and isinstance(answer.data, dict):
                        row = answer.data
        self.detail.setHtml(_detail_html(row))

    def _copy_token_id(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            QGuiApplication.clipboard().setText(rows[0]["tokenId"])

    # Logouts

    @async_slot()
    async def _logout_selected(self) -> None:
        rows = [
            row for row in self.selected_rows() if row.get("state") not in ("revoked", "expired")
        ]
        if rows:
            await self._logout(rows, f"Log out {len(rows)} session(s)?")

    @async_slot()
    async def _logout_user(self) -> None:
        rows = self.selected_rows()
        if len(rows) != 1:
            return
        user_id = int(rows[0]["userId"])
        profile = self._context.active_profile()
        secret = await self._context.secret(profile)
        if not secret:
            return
        try:
            answer = await self._context.client(profile).request(
                "GET",
                "/admin/sessions",
                bearer=secret,
                params={"userId": str(user_id), "limit": "500"},
            )
        except AdapterUnavailable as exc:
            self._notice(str(exc))
            return
        found = answer.data.get("rows", []) if answer.ok and isinstance(answer.data, dict) else []
        targets = [row for row in found if row.get("state") not in ("revoked", "expired")]
        if not targets:
            self._notice(f"User {user_id} has no session that could be logged out.")
            return
        await self._logout(targets, f"Log out all {len(targets)} session(s) of user {user_id}?")

    async def _logout(self, rows: list[SessionRow], title: str) -> None:
        profile = self._context.active_profile()
        preview = "\n".join(_describe(row) for row in rows[:PREVIEW_ROWS])
        more = f"\n… and {len(rows) - PREVIEW_ROWS} more" if len(rows) > PREVIEW_ROWS else ""
        if not await confirm(
            self,
            title,
            f"On {profile.name}{' (PRODUCTION)' if profile.production else ''}, these "
            f"{len(rows)} token(s) will stop working:\n\n{preview}{more}",
            "Log out",
        ):
            return
        self.results.clear()
        self.results.show()
        self.progress.setRange(0, len(rows))
        self.progress.setValue(0)
        self.progress.show()
        self.logout_selected.setEnabled(False)
        try:
            for done, row in enumerate(rows, start=1):
                ok, text = await self._logout_one(profile.id, row)
                self.results.addItem(f"{'✔' if ok else '✖'} {row['tokenId'][:12]}…  {text}")
                self.progress.setValue(done)
        finally:
            self.progress.hide()
            self._selection_changed()

    async def _logout_one(self, profile_id: str, row: SessionRow) -> tuple[bool, str]:
        profile = self._context.active_profile()
        client = self._context.client(profile)
        token = row.get("_token")
        try:
            if isinstance(token, str):
                answer = await client.logout(token)
            else:
                secret = await self._context.secret(profile) or ""
                answer = await client.request(
                    "POST", f"/admin/sessions/{row['tokenId']}/logout", bearer=secret
                )
        except AdapterUnavailable as exc:
            ok, text = False, str(exc)
        else:
            ok, text = answer.ok, "logged out" if answer.ok else f"refused: {answer.errmsg}"
        self._context.activity.audit(
            profile_id=profile_id,
            profile_name=profile.name,
            token=token if isinstance(token, str) else "",
            token_id=row["tokenId"],
            ok=ok,
            result=text,
            secrets=self._context.known_secrets(),
        )
        if ok and isinstance(token, str):
            record_id = row.get("_record")
            if isinstance(record_id, str):
                self._context.vault.mark_logged_out(record_id, text)
        if ok and self._unmanaged:
            revoked = {**row, "state": "revoked"}
            self.model.apply([SessionChange(ChangeKind.UPSERT, row["tokenId"], revoked)])
        return ok, text

    def _export(self) -> None:
        dialog = QFileDialog(self, "Export the sessions shown as CSV")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        dialog.open()

    def export_to(self, path: Path) -> None:
        """The view as shown (filtered and sorted), token ids only, never a token."""
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in range(self.proxy.rowCount()):
                writer.writerow(
                    [_cell(self.proxy.index(row, column).data()) for column in range(len(COLUMNS))]
                )
        path.chmod(0o600)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _e(value: Any) -> str:
    """Escaped text: broker names and user agents come from outside."""
    return html.escape("" if value is None else str(value))


DETAIL_TABLES = (
    ("Positions", "positions", ("id", "instrument", "side", "qty", "avgPrice", "unrealizedPl")),
    ("Orders", "orders", ("id", "instrument", "side", "type", "qty", "status")),
    ("Deals", "deals", ("id", "instrument", "side", "qty", "price", "isClose")),
)


def _small_table(items: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{column}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(item.get(column))}</td>" for column in columns) + "</tr>"
        for item in items[:20]
    )
    return f"<table border='1' cellspacing='0' cellpadding='2'><tr>{head}</tr>{body}</table>"


def _detail_html(row: SessionRow) -> str:
    accounts = row.get("ctidTraderAccountIds")
    fields = (
        ("User", row.get("userId")),
        ("Brokers", ", ".join(row.get("brokerNames", []))),
        ("Accounts", "all" if accounts is None else ", ".join(map(str, accounts))),
        ("Verified", "yes" if row.get("isVerified") else "no"),
        ("State", row.get("state")),
        ("Issued", _when(row.get("issuedAt"))),
        ("Expires", _when(row.get("expiresAt"))),
        ("Last activity", _when(row.get("lastActivity"))),
    )
    parts = [f"<h3>Token {_e(row['tokenId'])}</h3><table>"]
    parts += [f"<tr><td><b>{name}</b></td><td>{_e(value)}</td></tr>" for name, value in fields]
    parts.append("</table>")
    for session in row.get("traderSessions", []):
        parts.append(
            f"<h4>Account {_e(session.get('accountId'))} ({_e(session.get('brokerName'))})</h4>"
            f"<p>{_e(session.get('requestCount'))} requests from "
            f"{_e(session.get('clientAddress'))}, {_e(session.get('userAgent'))}; "
            f"opened {_when(session.get('openedAt'))}</p>"
        )
        for title, key, columns in DETAIL_TABLES:
            items = session.get(key)
            if isinstance(items, list):
                parts.append(f"<b>{title}</b> ({len(items)})")
                if items:
                    parts.append(_small_table(items, columns))
    return "".join(parts)
