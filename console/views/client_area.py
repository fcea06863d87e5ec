"""The broker's client area in the demo (stages 7 to 15): the form that fits the case.

Case A registers a new trader and opens an account, case B opens an account for a registered
trader, case C ticks existing accounts to link. What is typed here becomes the demo CRM calls
and the /generate/token body of the flow.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.demo.flow import ClientAreaForm
from console.demo.stages import Case

CURRENCIES = ("USD", "EUR", "GBP")


class ClientArea(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Broker's client area (BESTBROKER)", parent)
        self.setObjectName("clientArea")
        self.intro = QLabel("The trader arrives here from TradingView at stage 6.", self)
        self.intro.setWordWrap(True)
        self.name = QLineEdit("Dana Novak", self)
        self.currency = QComboBox(self)
        self.currency.addItems(CURRENCIES)
        self.deposit = QSpinBox(self)
        self.deposit.setRange(100, 1_000_000)
        self.deposit.setSingleStep(1000)
        self.deposit.setValue(10_000)
        self.live = QComboBox(self)
        self.live.addItems(["Demo account", "Live account"])
        self.verified = QCheckBox("Identity verified (isVerified)", self)
        self.verified.setChecked(True)
        account = QWidget(self)
        form = QFormLayout(account)
        form.setContentsMargins(0, 0, 0, 0)
        self.name_row = QLabel("Name", account)
        form.addRow(self.name_row, self.name)
        form.addRow("Currency", self.currency)
        form.addRow("Deposit", self.deposit)
        form.addRow("Type", self.live)
        form.addRow("", self.verified)
        self.link_box = QWidget(self)
        self.link_layout = QVBoxLayout(self.link_box)
        self.link_layout.setContentsMargins(0, 0, 0, 0)
        self.link_checks: list[tuple[QCheckBox, int]] = []
        self.pages = QStackedWidget(self)
        self.pages.addWidget(account)
        self.pages.addWidget(self.link_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.pages)
        layout.addStretch(1)
        self.show_case(Case.A)

    def show_case(self, case: Case) -> None:
        self._case = case
        self.pages.setCurrentIndex(1 if case is Case.C else 0)
        self.name.setEnabled(case is Case.A)
        texts = {
            Case.A: "Case A: registration, then a new cTrader account.",
            Case.B: "Case B: a registered trader opens a cTrader account.",
            Case.C: "Case C: tick the accounts to link to TradingView (they appear at stage 7).",
        }
        self.intro.setText(texts[case])
        self.show_accounts([])

    def show_accounts(self, accounts: list[dict[str, Any]]) -> None:
        """Case C: the trader's accounts, ticked by default where they are with BESTBROKER."""
        for box, _ in self.link_checks:
            box.deleteLater()
        self.link_checks = []
        for account in accounts:
            account_id = int(account["ctidTraderAccountId"])
            kind = "live" if account.get("isLive") else "demo"
            box = QCheckBox(
                f"{account_id} · {account.get('brokerName')} · {kind} · "
                f"{account.get('depositCurrency')}",
                self.link_box,
            )
            box.setChecked(account.get("brokerName") == "BESTBROKER")
            box.setEnabled(account.get("brokerName") == "BESTBROKER")
            self.link_layout.addWidget(box)
            self.link_checks.append((box, account_id))

    def form(self) -> ClientAreaForm:
        linked = tuple(i for box, i in self.link_checks if box.isChecked() and box.isEnabled())
        return ClientAreaForm(
            name=self.name.text().strip() or "Dana Novak",
            currency=self.currency.currentText(),
            balance=self.deposit.value(),
            is_live=self.live.currentIndex() == 1,
            is_verified=self.verified.isChecked(),
            link=linked,
        )

    def lock(self, locked: bool) -> None:
        """After stage 8 the trader has submitted the form: it no longer changes."""
        self.pages.setEnabled(not locked)
        self.verified.setEnabled(not locked)
