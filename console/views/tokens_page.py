"""The Tokens page: compose a /generate/token request, check it inline, send it, read the answer.

Validation runs the adapter's own rules (`adapter_core.token_request`) before anything is
sent, so a field error shows under the field and no request leaves. Each field keeps the room
for its error whether or not there is one, so the form never jumps while the operator types.
The JSON preview shows broker names as their characters; the curl preview masks the bearer
secret unless the operator reveals it, and carries the very bytes the console sends.
"""

from __future__ import annotations

import json
import shlex
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from adapter_core.token_request import TokenRequest, TokenRequestError, validate_token_request
from adapter_core.tokens.claims import MAX_BROKER_NAME_LENGTH, MAX_INT64
from console.services.formatting import accounts_text, countdown, local_time, short_id
from console.services.operations import AdapterOps, Expiry, MintResult
from console.services.tasks import TaskOwner
from console.services.workspace import Workspace
from console.slots import task_slot
from console.views.confirm import confirm
from console.views.feedback import copy_to_clipboard
from console.views.field_error import ERROR_COLOUR, ErrorRoom
from console.views.masked import MaskedValue
from console.views.tag_editor import TagEditor
from console.views.up_and_down import UpAndDown

FIELDS = ("userId", "brokerNames", "ctidTraderAccountIds", "isVerified")
ROW_FIELDS = ("userId", "brokerNames", "ctidTraderAccountIds")
"""The fields with a row of their own in the form, each with its error under it."""


def _error_label(parent: QWidget) -> QLabel:
    """An error that may grow as long as it needs: only below the fields, where it moves none."""
    label = QLabel(parent)
    label.setObjectName("fieldError")
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    label.setWordWrap(True)
    label.hide()
    return label


def _set_error(label: QLabel, message: str) -> None:
    """Show `message` (or nothing); the tooltip holds it whole where the label cuts it short."""
    label.setText(message)
    label.setToolTip(message)
    label.setVisible(bool(message))


def _readable_json(document: object, indent: int | None = None) -> str:
    """JSON for a person: "Брокер", not "\\u0411\\u0440…", yet it parses to what is sent.

    Characters that cannot be seen, or pass for a plain space (controls, format characters such
    as bidi overrides, unassigned ones, no-break and other spaces), stay escaped: shown bare,
    two different names would look alike.
    """
    text = json.dumps(document, ensure_ascii=False, indent=indent)
    return "".join(
        json.dumps(char)[1:-1]
        if char not in " \n" and unicodedata.category(char)[0] in "CZ"
        else char
        for char in text
    )


def _check_broker(value: str) -> str | None:
    if len(value) > MAX_BROKER_NAME_LENGTH:
        return f"A broker name has at most {MAX_BROKER_NAME_LENGTH} characters."
    return None


def _account_number(tag: str) -> int | None:
    """The id a typed tag stands for; None if it is not a whole number or has more digits
    than any id (int() refuses over 4300 digits, leading zeros included; MAX_INT64 has 19)."""
    digits = tag.lstrip("0") or "0"
    if not (tag.isascii() and tag.isdigit()) or len(digits) > len(str(MAX_INT64)):
        return None
    return int(digits)


def _check_account(value: str) -> str | None:
    """The adapter's rule for an id, 1 to MAX_INT64, saying which half of it was missed."""
    if not (value.isascii() and value.isdigit()) or not value.strip("0"):
        return f"{value!r} is not an account id (a positive whole number)."
    number = _account_number(value)
    if number is None or number > MAX_INT64:
        return f"Too large for an account id: the largest is {MAX_INT64}."
    return None


def _summary(body: dict[str, Any]) -> str:
    """One readable line per recent request: user, brokers, accounts, verification."""
    accounts = body.get("ctidTraderAccountIds")
    return "   ·   ".join(
        (
            f"user {body.get('userId')}",
            ", ".join(map(str, body.get("brokerNames", []))),
            accounts_text(accounts or None),
            "verified" if body.get("isVerified") else "not verified",
        )
    )


class TokensPage(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = TaskOwner("the Tokens page")
        self._ops = workspace.active
        self._expiry: Expiry | None = None
        self._reveal_secret = False
        self._secret_preview = ""
        self._touched: set[str] = set()
        self._rejected: dict[str, str] = {}
        """Fields the operator changed since the page was cleared: their problems show live."""
        self._build()
        self._countdown_timer = QTimer(self)
        self._countdown_timer.setInterval(1000)
        self._countdown_timer.timeout.connect(self._tick)
        self.refresh_previews()

    # Layout

    def _build(self) -> None:
        form_box = QGroupBox("Request", self)
        form = QFormLayout(form_box)
        self.user_id = QLineEdit(form_box)
        self.user_id.setPlaceholderText("cTID user id, e.g. 14601")
        self.user_id.textChanged.connect(lambda: self._edited("userId"))
        self.user_id.editingFinished.connect(self._suggest_accounts)
        self.brokers = TagEditor("broker name, Enter to add", _check_broker, form_box)
        self.accounts = TagEditor("account id, Enter to add (none = all)", _check_account, form_box)
        self.is_verified = QCheckBox("The user passed KYC (isVerified)", form_box)
        self.is_verified.toggled.connect(lambda: self._edited("isVerified"))
        rooms = {name: ErrorRoom(form_box) for name in ROW_FIELDS}
        self.errors: dict[str, QLabel] = {name: room.error for name, room in rooms.items()}
        self.errors |= {name: _error_label(form_box) for name in ("isVerified", "body")}
        for editor, name in (
            (self.brokers, "brokerNames"),
            (self.accounts, "ctidTraderAccountIds"),
        ):
            editor.changed.connect(lambda name=name: self._edited(name))
            editor.rejected.connect(lambda text, name=name: self._rejected_value(name, text))
        form.addRow("userId", self.user_id)
        form.addRow("", rooms["userId"])
        form.addRow("brokerNames", self.brokers)
        form.addRow("", rooms["brokerNames"])
        form.addRow("ctidTraderAccountIds", self.accounts)
        form.addRow("", rooms["ctidTraderAccountIds"])
        form.addRow("", self.is_verified)
        self.send_button = QPushButton("Send", form_box)
        self.send_button.setToolTip("Send the request (Ctrl+Enter)")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        clear = QPushButton("Clear", form_box)
        clear.clicked.connect(self.clear)
        self.progress = QProgressBar(form_box)
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(clear)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow("", self.errors["body"])
        for shortcut in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(shortcut), self).activated.connect(self.send)

        recent_box = QGroupBox("Recent requests (click to reload)", self)
        recent_layout = QVBoxLayout(recent_box)
        self.recent = QListWidget(recent_box)
        self.recent.itemActivated.connect(self._reload_recent)
        self.recent.itemClicked.connect(self._reload_recent)
        recent_layout.addWidget(self.recent)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(form_box)
        left_layout.addWidget(recent_box, 1)

        self.previews = QTabWidget(self)
        self.body_preview, self.copy_body = self._preview_tab("JSON body")
        self.curl_preview, self.copy_curl = self._preview_tab("curl")
        self.copy_body.clicked.connect(
            lambda: copy_to_clipboard(self.body_preview.toPlainText(), self.copy_body)
        )
        self.copy_curl.clicked.connect(
            lambda: copy_to_clipboard(self.curl_preview.toPlainText(), self.copy_curl)
        )
        self.reveal_secret = QCheckBox("Show the bearer secret", self)
        self.reveal_secret.toggled.connect(self._toggle_secret)
        curl_tab = self.previews.widget(1)
        assert curl_tab is not None
        layout = curl_tab.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, self.reveal_secret)

        result_box = QGroupBox("Answer", self)
        result = QFormLayout(result_box)
        self.status = QLabel("Nothing sent yet.", result_box)
        self.status.setObjectName("answerStatus")
        self.status.setWordWrap(True)
        self.token = MaskedValue(result_box)
        self.token.copy_button.setToolTip("Copy the token (Ctrl+Shift+C)")
        QShortcut(QKeySequence("Ctrl+Shift+C"), self).activated.connect(self.token.copy)
        self.expiry = QLabel("", result_box)
        self.claims = QLabel("", result_box)
        self.claims.setWordWrap(True)
        self.claims.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.raw = QPlainTextEdit(result_box)
        self.raw.setReadOnly(True)
        self.raw.setMaximumHeight(90)
        self.open_panel_button = QPushButton("Open Trading Panel preview", result_box)
        self.open_panel_button.setToolTip(
            "What TradingView would show the trader with this token, from the adapter"
        )
        self.open_panel_button.setEnabled(False)
        self.open_panel_button.clicked.connect(self._open_panel)
        self.open_panel: Callable[[AdapterOps, str], None] | None = None
        """Set by the controller: opens the Trading Panel preview for a token."""
        result.addRow("Status", self.status)
        result.addRow("Token", self.token)
        result.addRow("", self.open_panel_button)
        result.addRow("Expires", self.expiry)
        result.addRow("Claims", self.claims)
        result.addRow("Raw", self.raw)

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.previews, 1)
        right_layout.addWidget(result_box)

        splitter = QSplitter(self)
        splitter.addWidget(UpAndDown(left))
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.addWidget(splitter)

    def _preview_tab(self, title: str) -> tuple[QPlainTextEdit, QPushButton]:
        tab = QWidget(self.previews)
        layout = QVBoxLayout(tab)
        text = QPlainTextEdit(tab)
        text.setReadOnly(True)
        text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        button = QPushButton(f"Copy {title}", tab)
        layout.addWidget(text, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        layout.addLayout(row)
        self.previews.addTab(tab, title)
        return text, button

    # The request

    def document(self) -> dict[str, Any]:
        """The body as typed, before validation (userId stays text if it is not a number)."""
        text = self.user_id.text().strip()
        user_id: Any = int(text) if text.isascii() and text.isdigit() and len(text) < 30 else text
        document: dict[str, Any] = {"userId": user_id, "brokerNames": self.brokers.tags()}
        accounts = self.accounts.tags()
        if accounts:
            document["ctidTraderAccountIds"] = [_account_number(value) for value in accounts]
        document["isVerified"] = self.is_verified.isChecked()
        return document

    def _problems(self) -> tuple[TokenRequest | None, dict[str, str]]:
        """The request, or each field's first problem under the adapter's own rules."""
        if not self.user_id.text().strip():
            return None, {"userId": "userId is required: the user's cTID."}
        try:
            return validate_token_request(self.document()), {}
        except TokenRequestError as exc:
            problems: dict[str, str] = {}
            for problem in exc.problems:
                field = problem.field if problem.field in self.errors else "body"
                problems.setdefault(field, problem.message)
            return None, problems

    def _rejected_value(self, field: str, message: str) -> None:
        """A tag editor refused what was typed: the message stays until that field changes."""
        self._rejected[field] = message
        self._show_error(field, message)

    def _show_problems(self, problems: dict[str, str], fields: set[str]) -> None:
        """Show the problems of `fields`; every other field's label is cleared."""
        problems = {**problems, **self._rejected}
        for name, label in self.errors.items():
            message = problems.get(name) if name in fields else None
            _set_error(label, message or "")

    def validate(self) -> TokenRequest | None:
        """Show every problem under its field; the request when there is none."""
        committed = [editor.commit_pending() for editor in (self.brokers, self.accounts)]
        pending_ok = all(committed)
        request, problems = self._problems()
        self._touched |= set(FIELDS)
        self._show_problems(problems, set(self.errors))
        return request if pending_ok else None

    def _show_error(self, field: str, message: str) -> None:
        _set_error(self.errors.get(field, self.errors["body"]), message)

    def _edited(self, field: str) -> None:
        """A field changed: check it at once, so a fixed problem disappears as it is fixed."""
        self._touched.add(field)
        self._rejected.pop(field, None)
        _, problems = self._problems()
        self._show_problems(problems, self._touched)
        self.refresh_previews()

    def refresh_previews(self) -> None:
        """The JSON preview is for reading; curl's -d is byte for byte what `mint` sends."""
        document = self.document()
        self.body_preview.setPlainText(_readable_json(document, indent=2))
        profile = self._ops.profile
        secret = self._secret_preview if self._reveal_secret else "<broker secret>"
        url = f"{profile.base_url or 'http://HOST:PORT'}/generate/token"
        command = (
            f"curl -X POST {shlex.quote(url)} \\\n"
            f"  -H {shlex.quote('Authorization: Bearer ' + secret)} \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(json.dumps(document))}"
        )
        self.curl_preview.setPlainText(command)

    @task_slot
    async def _toggle_secret(self, revealed: bool) -> None:
        self._reveal_secret = revealed
        self._secret_preview = ""
        if revealed:
            self._secret_preview = await self._ops.secret() or "<no secret stored>"
        self.refresh_previews()

    def clear(self) -> None:
        self.user_id.clear()
        self.brokers.set_tags([])
        self.accounts.set_tags([])
        self.is_verified.setChecked(False)
        self._touched.clear()
        self._rejected.clear()
        self._show_problems({}, set())
        self.refresh_previews()

    def load(self, body: dict[str, Any]) -> None:
        self.user_id.setText(str(body.get("userId", "")))
        self.brokers.set_tags([str(name) for name in body.get("brokerNames", [])])
        self.accounts.set_tags([str(i) for i in body.get("ctidTraderAccountIds") or []])
        self.is_verified.setChecked(bool(body.get("isVerified", False)))
        self.refresh_previews()

    @task_slot
    async def _suggest_accounts(self) -> None:
        """Offer the user's linked accounts and their brokers, where the adapter tells them."""
        text = self.user_id.text().strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 19:
            return
        ops = self._ops
        suggestions = await ops.suggestions(int(text))
        if suggestions is not None and ops is self._ops:
            self.accounts.set_suggestions(suggestions.accounts)
            self.brokers.set_suggestions(suggestions.brokers)

    def _reload_recent(self, item: QListWidgetItem) -> None:
        body = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(body, dict):
            self.load(body)

    # The profile

    def show_ops(self, ops: AdapterOps) -> None:
        """Another profile (or its settings) is active: nothing of the last one stays."""
        self._ops = ops
        self.reveal_secret.setChecked(False)
        self._secret_preview = ""
        self.accounts.set_suggestions([])
        self.brokers.set_suggestions([])
        self._show_answer(None)
        self.status.setText(f"No answer shown: send a request to {ops.profile.name}.")
        self.clear()  # the request composed for the last profile, and its problems
        self.recent.clear()
        self.tasks.spawn(self._show_recent(ops))

    async def _show_recent(self, ops: AdapterOps) -> None:
        bodies = await ops.recent_requests()
        if ops is not self._ops:
            return
        self.recent.clear()
        for body in bodies:
            item = QListWidgetItem(_summary(body), self.recent)
            item.setToolTip(_readable_json(body))
            item.setData(Qt.ItemDataRole.UserRole, body)
        if not bodies:
            hint = QListWidgetItem("Requests you send to this profile appear here.", self.recent)
            hint.setFlags(Qt.ItemFlag.NoItemFlags)

    # Sending

    @task_slot
    async def send(self) -> None:
        if not self.send_button.isEnabled():
            return
        request = self.validate()
        if request is None:
            return
        ops = self._ops
        profile = ops.profile
        # Without a secret nothing is sent: `mint` says why, with no question first.
        if (
            profile.production
            and await ops.secret()
            and not await confirm(
                self,
                "Send to a production adapter?",
                f"This mints a real token on {profile.name} ({profile.base_url}) for user "
                f"{request.user_id}.",
                "Send",
            )
        ):
            return
        self.send_button.setEnabled(False)
        self.progress.show()
        self._show_answer(None)
        self.status.setText(f"Sending to {profile.name}…")
        try:
            result = await ops.mint(request)
        finally:
            self.send_button.setEnabled(True)
            self.progress.hide()
        if ops is not self._ops:
            return
        self._show_answer(result)
        if not result.ok and result.status is not None:
            self._show_error("body", result.message)
        if result.ok:
            self.tasks.spawn(self._show_recent(ops))

    def _show_answer(self, result: MintResult | None) -> None:
        """The answer of the last send, or nothing at all: never an older one beside a newer."""
        self._countdown_timer.stop()
        self._expiry = None
        self.expiry.setText("")
        self.claims.setText("")
        self.raw.setPlainText("")
        self.token.set_value("")
        self.open_panel_button.setEnabled(False)
        self.status.setStyleSheet("")
        if result is None:
            return
        self.raw.setPlainText(result.raw)
        message = result.message
        if result.remember_problem:
            message += f" It was not remembered: {result.remember_problem}"
        self.status.setText(message)
        if not result.ok:
            self.status.setStyleSheet("color: #c62828;")
            return
        self.token.set_value(result.token or "")
        self.open_panel_button.setEnabled(bool(result.token))
        self.claims.setText(_claims_text(result) or result.claims_note)
        self._expiry = result.expiry
        self._tick()
        self._countdown_timer.start()

    def _open_panel(self) -> None:
        token = self.token.value()
        if token and self.open_panel is not None:
            self.open_panel(self._ops, token)

    def _tick(self) -> None:
        expiry = self._expiry
        if expiry is None:
            return
        if expiry.told:
            left = countdown(expiry.at - time.time())
            self.expiry.setText(f"{local_time(expiry.at)} ({left})")
        else:
            self.expiry.setText(
                f"not told by this adapter; assumed {local_time(expiry.at)}, the usual "
                "30 days (an assumption)"
            )


def _claims_text(result: MintResult) -> str:
    row = result.claims
    if row is None:
        return ""
    state = row.state.value if row.state is not None else "unknown"
    accounts = row.ctid_trader_account_ids
    return "  ·  ".join(
        (
            f"token id {short_id(row.token_id)}",
            f"state {state}",
            f"user {row.user_id}",
            f"brokers {', '.join(row.broker_names)}",
            accounts_text(accounts) if accounts is None else f"accounts {accounts_text(accounts)}",
            "verified" if row.is_verified else "not verified",
        )
    )
