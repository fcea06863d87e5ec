"""A preview of TradingView's Trading Panel, fed by the adapter's TradingView API with a token.

Broker list, the "connect" pop-up, then (once the token arrives) an account selector, the
account summary row, Positions / Orders / History tabs and an order ticket. Every figure is
what the adapter last answered, polled at the intervals its `/config` gives; after a logout
the next call's 401 ends the session here, as it would in TradingView.
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.demo.panel import PanelSession, Update
from console.services.tasks import TaskOwner

PANEL_STYLE = """
#tradingPanel { background: #131722; color: #d1d4dc; }
#tradingPanel QLabel { color: #d1d4dc; }
#tradingPanel QTableWidget { background: #1e222d; color: #d1d4dc; gridline-color: #2a2e39;
  border: none; }
#tradingPanel QHeaderView::section { background: #1e222d; color: #787b86; border: none;
  padding: 3px; }
#tradingPanel QTabBar::tab { background: #131722; color: #787b86; padding: 5px 12px; }
#tradingPanel QTabBar::tab:selected { color: #d1d4dc; border-bottom: 2px solid #2962ff; }
#tradingPanel QListWidget { background: #1e222d; color: #d1d4dc; border: none; }
#tradingPanel QPushButton { background: #2a2e39; color: #d1d4dc; border: 1px solid #363a45;
  padding: 4px 10px; border-radius: 3px; }
#tradingPanel QPushButton:checked#buy { background: #089981; color: white; }
#tradingPanel QPushButton:checked#sell { background: #f23645; color: white; }
#tradingPanel QPushButton#connect { background: #2962ff; color: white; }
#tradingPanel QPushButton:disabled { color: #5d606b; background: #1e222d; }
#tradingPanel QLabel[stale="true"] { color: #5d606b; }
"""
BROKERS = ("BESTBROKER (cTrader)", "Other Broker", "Another Broker", "Paper Trading")
ORDER_COLUMNS = ("Id", "Symbol", "Side", "Type", "Qty", "Price", "Status")
POSITION_COLUMNS = ("Id", "Symbol", "Side", "Qty", "Avg price", "P&L")


def _table(columns: tuple[str, ...], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            table.setItem(row, column, QTableWidgetItem(value))


def _money(value: Any, sign: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"-{sign}{-value:,.2f}" if value < 0 else f"{sign}{value:,.2f}"


class TradingPanel(QFrame):
    connect_requested = Signal()
    """The trader pressed Connect in the pop-up (stage 6)."""
    logout_requested = Signal()
    """The trader pressed Log out (TradingView's logout)."""
    reconnect_requested = Signal()
    order_requested = Signal(str, str, str, float, object)
    """account id, side, type, quantity, limit price (or None)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tradingPanel")
        self.setStyleSheet(PANEL_STYLE)
        self.tasks = TaskOwner("the Trading Panel preview")
        self._session: PanelSession | None = None
        self._poll: asyncio.Task[None] | None = None
        self._accounts: list[dict[str, Any]] = []
        self._instruments: list[dict[str, Any]] = []
        title = QLabel("<b>Trading Panel</b> · TradingView (preview)", self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._broker_list())
        self.pages.addWidget(self._connect_popup())
        self.waiting = QLabel("", self)
        self.waiting.setWordWrap(True)
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages.addWidget(self.waiting)
        self.pages.addWidget(self._connected())
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.pages, 1)
        self.show_brokers()

    # The pages

    def _broker_list(self) -> QWidget:
        page = QWidget(self)
        self.brokers = QListWidget(page)
        for name in BROKERS:
            item = QListWidgetItem(name, self.brokers)
            if name != BROKERS[0]:
                item.setFlags(Qt.ItemFlag.NoItemFlags)
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Choose a broker to trade with", page))
        layout.addWidget(self.brokers)
        return page

    def _connect_popup(self) -> QWidget:
        page = QWidget(self)
        box = QFrame(page)
        box.setStyleSheet("background: #1e222d; border-radius: 6px;")
        text = QLabel(
            "<b>Connect BESTBROKER</b><br>Connect one or more of your BESTBROKER accounts to "
            "TradingView. You will continue in BESTBROKER's client area.",
            box,
        )
        text.setWordWrap(True)
        self.connect_button = QPushButton("Connect", box)
        self.connect_button.setObjectName("connect")
        self.connect_button.clicked.connect(self.connect_requested)
        inner = QVBoxLayout(box)
        inner.addWidget(text)
        inner.addWidget(self.connect_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(box)
        layout.addStretch(1)
        return page

    def _connected(self) -> QWidget:
        page = QWidget(self)
        self.account = QComboBox(page)
        self.account.currentIndexChanged.connect(self._account_chosen)
        self.logout_button = QPushButton("Log out", page)
        self.logout_button.clicked.connect(self.logout_requested)
        top = QHBoxLayout()
        top.addWidget(self.account, 1)
        top.addWidget(self.logout_button)
        self.summary: dict[str, QLabel] = {}
        row = QGridLayout()
        for column, (key, title) in enumerate(
            (("balance", "Balance"), ("equity", "Equity"), ("unrealizedPl", "Unrealized P&L"))
        ):
            caption = QLabel(title, page)
            caption.setStyleSheet("color: #787b86;")
            value = QLabel("—", page)
            value.setObjectName(f"summary-{key}")
            value.setStyleSheet("font-size: 15px; font-weight: bold;")
            row.addWidget(caption, 0, column)
            row.addWidget(value, 1, column)
            self.summary[key] = value
        self.tabs = QTabWidget(page)
        self.positions = _table(POSITION_COLUMNS, page)
        self.orders = _table(ORDER_COLUMNS, page)
        self.history = _table(ORDER_COLUMNS, page)
        self.tabs.addTab(self.positions, "Positions")
        self.tabs.addTab(self.orders, "Orders")
        self.tabs.addTab(self.history, "History")
        self.ended = QLabel("", page)
        self.ended.setWordWrap(True)
        self.ended.setStyleSheet("background: #f23645; color: white; padding: 6px;")
        self.reconnect = QPushButton("Reconnect", page)
        self.reconnect.clicked.connect(self.reconnect_requested)
        ended_row = QHBoxLayout()
        ended_row.addWidget(self.ended, 1)
        ended_row.addWidget(self.reconnect)
        layout = QVBoxLayout(page)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addLayout(ended_row)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self._ticket(page))
        return page

    def _ticket(self, parent: QWidget) -> QWidget:
        ticket = QFrame(parent)
        self.buy = QPushButton("Buy", ticket)
        self.buy.setObjectName("buy")
        self.sell = QPushButton("Sell", ticket)
        self.sell.setObjectName("sell")
        sides = QButtonGroup(ticket)
        for button in (self.buy, self.sell):
            button.setCheckable(True)
            sides.addButton(button)
        self.buy.setChecked(True)
        self.symbol = QComboBox(ticket)
        self.kind = QComboBox(ticket)
        self.kind.addItems(["market", "limit"])
        self.quantity = QDoubleSpinBox(ticket)
        self.quantity.setDecimals(2)
        self.quantity.setRange(0.01, 100)
        self.quantity.setValue(0.1)
        self.quantity.setPrefix("qty ")
        self.price = QDoubleSpinBox(ticket)
        self.price.setDecimals(5)
        self.price.setRange(0, 1_000_000)
        self.price.setPrefix("limit ")
        self.kind.currentTextChanged.connect(lambda kind: self.price.setEnabled(kind == "limit"))
        self.price.setEnabled(False)
        self.place = QPushButton("Place order", ticket)
        self.place.clicked.connect(self._place)
        self.ticket_note = QLabel("", ticket)
        self.ticket_note.setWordWrap(True)
        layout = QGridLayout(ticket)
        layout.addWidget(self.buy, 0, 0)
        layout.addWidget(self.sell, 0, 1)
        layout.addWidget(self.symbol, 0, 2)
        layout.addWidget(self.kind, 0, 3)
        layout.addWidget(self.quantity, 1, 0, 1, 2)
        layout.addWidget(self.price, 1, 2)
        layout.addWidget(self.place, 1, 3)
        layout.addWidget(self.ticket_note, 2, 0, 1, 4)
        return ticket

    # What the page shows at each stage

    def show_brokers(self, selected: bool = False) -> None:
        self.stop()
        self.ticket_note.clear()  # a message of an earlier run says nothing of this one
        self.pages.setCurrentIndex(0)
        self.brokers.setCurrentRow(0 if selected else -1)

    def show_connect(self) -> None:
        self.pages.setCurrentIndex(1)

    def show_waiting(self, text: str) -> None:
        self.waiting.setText(text)
        self.pages.setCurrentIndex(2)

    def start(
        self,
        session: PanelSession,
        accounts: list[dict[str, Any]],
        instruments: list[dict[str, Any]],
    ) -> None:
        """Connected: show the accounts the token grants and poll the first one."""
        self.stop()
        self._session = session
        self._accounts = accounts
        self._instruments = instruments
        self.ended.hide()
        self.reconnect.hide()
        self.ticket_note.clear()
        self.place.setEnabled(True)
        self.logout_button.setEnabled(True)
        for label in self.summary.values():
            label.setProperty("stale", False)
            label.style().unpolish(label)
            label.style().polish(label)
        for table in (self.positions, self.orders, self.history):
            table.setEnabled(True)
        self.symbol.clear()
        self.symbol.addItems([str(i.get("name")) for i in instruments])
        self.account.blockSignals(True)
        self.account.clear()
        for account in accounts:
            kind = account.get("type", "")
            self.account.addItem(f"{account.get('name')} ({kind})", str(account.get("id")))
        self.account.blockSignals(False)
        self.pages.setCurrentIndex(3)
        self._account_chosen(0)

    def _account_chosen(self, index: int) -> None:
        if self._session is None or not 0 <= index < len(self._accounts):
            return
        if self._poll is not None:
            self.tasks.cancel(self._poll)
        for label in self.summary.values():
            label.setText("—")
        for table in (self.positions, self.orders, self.history):
            table.setRowCount(0)
        self._poll = self.tasks.spawn(self._session.poll(str(self._accounts[index].get("id"))))

    def stop(self) -> None:
        if self._poll is not None:
            self.tasks.cancel(self._poll)
            self._poll = None
        self._session = None

    def account_id(self) -> str | None:
        data = self.account.currentData()
        return str(data) if data is not None else None

    # The session's answers (on the GUI loop)

    def show_update(self, update: Update) -> None:
        account = self._accounts[self.account.currentIndex()] if self._accounts else {}
        sign = str(account.get("currencySign") or "")
        if update.endpoint == "state" and isinstance(update.data, dict):
            for key, label in self.summary.items():
                label.setText(_money(update.data.get(key), sign))
        elif update.endpoint == "positions" and isinstance(update.data, list):
            _fill(self.positions, [
                [str(p.get("id")), str(p.get("instrument")), str(p.get("side")), str(p.get("qty")),
                 str(p.get("avgPrice")), _money(p.get("unrealizedPl"), sign)]
                for p in update.data if isinstance(p, dict) and p.get("qty")
            ])  # fmt: skip
        elif update.endpoint in ("orders", "ordersHistory") and isinstance(update.data, list):
            table = self.orders if update.endpoint == "orders" else self.history
            _fill(table, [
                [str(o.get("id")), str(o.get("instrument")), str(o.get("side")),
                 str(o.get("type")), str(o.get("qty")),
                 str(o.get("limitPrice") or o.get("stopPrice") or o.get("avgPrice") or ""),
                 str(o.get("status"))]
                for o in update.data if isinstance(o, dict)
            ])  # fmt: skip

    def session_ended(self, reason: str) -> None:
        """The figures stay, greyed: they are the adapter's last answer before the 401."""
        self.ended.setText(
            f"Session ended: {reason.rstrip('.')}. TradingView shows the broker as logged out; "
            "the figures below are the last ones before it."
        )
        self.ended.show()
        self.reconnect.show()
        self.place.setEnabled(False)
        self.logout_button.setEnabled(False)
        for label in self.summary.values():
            label.setProperty("stale", True)
            label.style().unpolish(label)
            label.style().polish(label)
        for table in (self.positions, self.orders, self.history):
            table.setEnabled(False)

    def problem(self, text: str) -> None:
        self.ticket_note.setText(text)

    def _place(self) -> None:
        account = self.account_id()
        if account is None:
            return
        side = "buy" if self.buy.isChecked() else "sell"
        kind = self.kind.currentText()
        limit = self.price.value() if kind == "limit" else None
        self.order_requested.emit(account, side, kind, self.quantity.value(), limit)

    def instrument(self) -> str:
        return self.symbol.currentText()
