"""The Verify page's detail pane: one check's expected and actual, its exchanges, its timing.

Everything shown was masked when it was recorded; "Copy as curl" copies the masked command,
so a pasted line never carries the secret or a token.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.verify.model import CheckResult, Exchange, Status
from console.verify.reports import CATEGORY_COLOURS, pretty_body
from console.views.feedback import copy_to_clipboard


def exchange_text(exchange: Exchange) -> str:
    """Request and answer as a person reads them in a terminal."""
    request = [f"{exchange.method} {exchange.url}"]
    request += [f"{name}: {value}" for name, value in exchange.request_headers.items()]
    if exchange.request_body:
        request += ["", pretty_body(exchange.request_body)]
    if exchange.error:
        answer = [f"No answer: {exchange.error}"]
    else:
        answer = [f"HTTP {exchange.status} ({exchange.duration_ms:.0f} ms)"]
        answer += [f"{name}: {value}" for name, value in exchange.response_headers.items()]
        if exchange.response_body:
            answer += ["", pretty_body(exchange.response_body)]
    return "\n".join(["── Request ──", *request, "", "── Answer ──", *answer])


class CheckDetail(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: CheckResult | None = None
        self.heading = QLabel("Select a check to see what was sent, what came back and why.", self)
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.verdict = QLabel("", self)
        self.verdict.setObjectName("checkVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.exchanges = QListWidget(self)
        self.exchanges.setObjectName("checkExchanges")
        self.exchanges.currentRowChanged.connect(self._exchange_chosen)
        self.exchange = QPlainTextEdit(self)
        self.exchange.setObjectName("exchangeText")
        self.exchange.setReadOnly(True)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        fixed.setStyleHint(QFont.StyleHint.Monospace)
        self.exchange.setFont(fixed)
        self.exchange.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.copy_curl = QPushButton("Copy as curl", self)
        self.copy_curl.setToolTip("The request as a curl command, with secrets and tokens masked")
        self.copy_curl.setEnabled(False)
        self.copy_curl.clicked.connect(self._copy_curl)
        self._chart: QWidget | None = None

        exchanges = QWidget(self)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Exchanges (secrets and tokens masked)", exchanges), 1)
        buttons.addWidget(self.copy_curl)
        exchanges_layout = QVBoxLayout(exchanges)
        exchanges_layout.setContentsMargins(0, 0, 0, 0)
        exchanges_layout.addLayout(buttons)
        exchanges_layout.addWidget(self.exchanges, 1)
        self.split = QSplitter(Qt.Orientation.Vertical, self)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(exchanges)
        self.split.addWidget(self.exchange)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.verdict)
        layout.addWidget(self.split, 1)

    def heightForWidth(self, width: int) -> int:
        """The least height at `width`, not the preferred one: the Verify page scrolls this
        pane only where the window is too low for that, not wherever the pane is below the
        height its texts would like."""
        layout = self.layout()
        return layout.totalMinimumHeightForWidth(width) if layout else super().heightForWidth(width)

    def clear(self) -> None:
        self.show_result(None)

    def show_result(self, result: CheckResult | None) -> None:
        self._result = result
        self.exchanges.clear()
        self.exchange.clear()
        self.copy_curl.setEnabled(False)
        if self._chart is not None:
            self._chart.hide()
        if result is None:
            self.heading.setText("Select a check to see what was sent, what came back and why.")
            self.verdict.setText("")
            return
        category = result.category
        colour = CATEGORY_COLOURS[category]
        self.heading.setText(
            f"<b>{html.escape(result.title)}</b><br><code>{html.escape(result.id)}</code> · "
            f"suite {html.escape(result.suite)} · {result.duration_ms:.0f} ms"
        )
        self.verdict.setText(
            f'<span style="color:{colour}; font-weight:bold">{category.upper()}</span><br>'
            f"<b>Expected:</b> {html.escape(result.expected)}<br>"
            f"<b>{'Reason' if result.status is Status.SKIPPED else 'Actual'}:</b> "
            f"{html.escape(result.actual)}"
        )
        for exchange in result.exchanges:
            answer = "no answer" if exchange.error else f"HTTP {exchange.status}"
            path = exchange.url.split("://", 1)[-1].partition("/")[2]
            item = QListWidgetItem(f"{exchange.method} /{path} → {answer}")
            self.exchanges.addItem(item)
        if not result.exchanges:
            self.exchange.setPlainText("No exchange was recorded for this check.")
        else:
            self.exchanges.setCurrentRow(0)
        if result.details.get("endpoints"):
            self._show_chart(result)

    def _show_chart(self, result: CheckResult) -> None:
        from console.views.latency_chart import LatencyChart

        if self._chart is None:
            self._chart = LatencyChart(self)
            self.split.insertWidget(0, self._chart)
            self.split.setStretchFactor(0, 3)
            total = sum(self.split.sizes())
            self.split.setSizes([total * 5 // 10, total * 2 // 10, total * 3 // 10])
        assert isinstance(self._chart, LatencyChart)
        self._chart.show_figures(result.details)
        self._chart.show()

    def _exchange_chosen(self, row: int) -> None:
        result = self._result
        if result is None or not 0 <= row < len(result.exchanges):
            self.copy_curl.setEnabled(False)
            return
        self.exchange.setPlainText(exchange_text(result.exchanges[row]))
        self.copy_curl.setEnabled(True)

    def _copy_curl(self) -> None:
        result, row = self._result, self.exchanges.currentRow()
        if result is not None and 0 <= row < len(result.exchanges):
            copy_to_clipboard(result.exchanges[row].curl(), self.copy_curl)
