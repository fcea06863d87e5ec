"""The Tokens page: compose a /generate/token request, check it inline, send it, read the answer.

Validation runs the adapter's own rules (`adapter_core.token_request`) before anything is
sent, so a field error shows under the field and no request leaves. The curl preview masks
the bearer secret unless the operator reveals it.
"""

from __future__ import annotations

import json
import shlex
import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
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
from console.context import ConsoleContext
from console.services.client import AdapterUnavailable
from console.services.profiles import Profile
from console.services.redaction import redact_text
from console.slots import async_slot
from console.views.confirm import confirm
from console.views.masked import MaskedValue
from console.views.tag_editor import TagEditor

FIELDS = ("userId", "brokerNames", "ctidTraderAccountIds", "isVerified")


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setObjectName("fieldError")
    label.setStyleSheet("color: #c62828;")
    label.setWordWrap(True)
    label.hide()
    return label


def _check_broker(value: str) -> str | None:
    if len(value) > MAX_BROKER_NAME_LENGTH:
        return f"A broker name has at most {MAX_BROKER_NAME_LENGTH} characters."
    return None


def _check_account(value: str) -> str | None:
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_INT64:
        return f"{value!r} is not an account id (a positive whole number)."
    return None


def _countdown(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} d {hours:02d}:{minutes:02d}:{secs:02d} left"


def _summary(body: dict[str, Any]) -> str:
    """One readable line per recent request: user, brokers, accounts, verification."""
    accounts = body.get("ctidTraderAccountIds")
    return "   ·   ".join(
        (
            f"user {body.get('userId')}",
            ", ".join(map(str, body.get("brokerNames", []))),
            "all accounts" if not accounts else ", ".join(map(str, accounts)),
            "verified" if body.get("isVerified") else "not verified",
        )
    )


class TokensPage(QWidget):
    minted = Signal()

    def __init__(self, context: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._expires_at: float | None = None
        self._reveal_secret = False
        self._secret_preview = ""
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
        self.user_id.textChanged.connect(self.refresh_previews)
        self.user_id.editingFinished.connect(self._suggest_accounts)
        self.brokers = TagEditor("broker name, Enter to add", _check_broker, form_box)
        self.accounts = TagEditor("account id, Enter to add (none = all)", _check_account, form_box)
        self.is_verified = QCheckBox("The user passed KYC (isVerified)", form_box)
        self.is_verified.toggled.connect(self.refresh_previews)
        self.errors = {name: _error_label(form_box) for name in (*FIELDS, "body")}
        for editor, name in (
            (self.brokers, "brokerNames"),
            (self.accounts, "ctidTraderAccountIds"),
        ):
            editor.changed.connect(self.refresh_previews)
            editor.rejected.connect(lambda text, name=name: self._show_error(name, text))
        form.addRow("userId", self.user_id)
        form.addRow("", self.errors["userId"])
        form.addRow("brokerNames", self.brokers)
        form.addRow("", self.errors["brokerNames"])
        form.addRow("ctidTraderAccountIds", self.accounts)
        form.addRow("", self.errors["ctidTraderAccountIds"])
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
        self.body_preview = self._preview_tab("JSON body", self._copy_body)
        self.curl_preview = self._preview_tab("curl", self._copy_curl)
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
        result.addRow("Status", self.status)
        result.addRow("Token", self.token)
        result.addRow("Expires", self.expiry)
        result.addRow("Claims", self.claims)
        result.addRow("Raw", self.raw)

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.previews, 1)
        right_layout.addWidget(result_box, 1)

        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.addWidget(splitter)

    def _preview_tab(self, title: str, copy: Any) -> QPlainTextEdit:
        tab = QWidget(self.previews)
        layout = QVBoxLayout(tab)
        text = QPlainTextEdit(tab)
        text.setReadOnly(True)
        text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        button = QPushButton(f"Copy {title}", tab)
        button.clicked.connect(copy)
        layout.addWidget(text, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        layout.addLayout(row)
        self.previews.addTab(tab, title)
        return text

    # The request

    def document(self) -> dict[str, Any]:
        """The body as typed, before validation (userId stays text if it is not a number)."""
        text = self.user_id.text().strip()
        user_id: Any = int(text) if text.isascii() and text.isdigit() and len(text) < 30 else text
        document: dict[str, Any] = {"userId": user_id, "brokerNames": self.brokers.tags()}
        accounts = self.accounts.tags()
        if accounts:
            document["ctidTraderAccountIds"] = [int(value) for value in accounts]
        document["isVerified"] = self.is_verified.isChecked()
        return document

    def validate(self) -> TokenRequest | None:
        """Show every problem under its field; the request when there is none."""
        for label in self.errors.values():
            label.hide()
        pending_ok = self.brokers.commit_pending() and self.accounts.commit_pending()
        if not self.user_id.text().strip():
            self._show_error("userId", "userId is required: the user's cTID.")
            return None
        try:
            request = validate_token_request(self.document())
        except TokenRequestError as exc:
            for problem in exc.problems:
                self._show_error(
                    problem.field if problem.field in self.errors else "body", problem.message
                )
            return None
        return request if pending_ok else None

    def _show_error(self, field: str, message: str) -> None:
        label = self.errors.get(field, self.errors["body"])
        label.setText(message)
        label.show()

    def refresh_previews(self) -> None:
        document = self.document()
        body = json.dumps(document, indent=2)
        self.body_preview.setPlainText(body)
        profile = self._context.active_profile()
        secret = self._secret_preview if self._reveal_secret else "<broker secret>"
        url = f"{profile.base_url or self._context.embedded_url() or 'http://HOST:PORT'}/generate/token"
        command = (
            f"curl -X POST {shlex.quote(url)} \\\n"
            f"  -H {shlex.quote('Authorization: Bearer ' + secret)} \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(json.dumps(document))}"
        )
        self.curl_preview.setPlainText(command)

    @async_slot(bool)
    async def _toggle_secret(self, revealed: bool) -> None:
        self._reveal_secret = revealed
        self._secret_preview = ""
        if revealed:
            profile = self._context.active_profile()
            self._secret_preview = await self._context.secret(profile) or "<no secret stored>"
        self.refresh_previews()

    def _copy_body(self) -> None:
        QGuiApplication.clipboard().setText(self.body_preview.toPlainText())

    def _copy_curl(self) -> None:
        QGuiApplication.clipboard().setText(self.curl_preview.toPlainText())

    def clear(self) -> None:
        self.user_id.clear()
        self.brokers.set_tags([])
        self.accounts.set_tags([])
        self.is_verified.setChecked(False)
        for label in self.errors.values():
            label.hide()
        self.refresh_previews()

    def load(self, body: dict[str, Any]) -> None:
        self.user_id.setText(str(body.get("userId", "")))
        self.brokers.set_tags([str(name) for name in body.get("brokerNames", [])])
        self.accounts.set_tags([str(i) for i in body.get("ctidTraderAccountIds") or []])
        self.is_verified.setChecked(bool(body.get("isVerified", False)))
        self.refresh_previews()

    @async_slot()
    async def _suggest_accounts(self) -> None:
        """Offer the user's linked accounts and their brokers, where the adapter tells them."""
        text = self.user_id.text().strip()
        profile = self._context.active_profile()
        if not (text.isascii() and text.isdigit()) or len(text) > 19:
            return
        if "demo-crm" not in await self._context.capabilities(profile):
            return
        secret = await self._context.secret(profile)
        if not secret:
            return
        try:
            answer = await self._context.client(profile).user_accounts(secret, int(text))
        except AdapterUnavailable:
            return
        if not answer.ok or not isinstance(answer.data, list):
            return
        accounts = [a for a in answer.data if isinstance(a, dict)]
        self.accounts.set_suggestions([str(a["ctidTraderAccountId"]) for a in accounts])
        self.brokers.set_suggestions(sorted({str(a["brokerName"]) for a in accounts}))

    def _reload_recent(self, item: QListWidgetItem) -> None:
        body = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(body, dict):
            self.load(body)

    def show_recent(self) -> None:
        self.recent.clear()
        bodies = self._context.recent_requests(self._context.active_profile())
        for body in bodies:
            item = QListWidgetItem(_summary(body), self.recent)
            item.setToolTip(json.dumps(body))
            item.setData(Qt.ItemDataRole.UserRole, body)
        if not bodies:
            hint = QListWidgetItem("Requests you send to this profile appear here.", self.recent)
            hint.setFlags(Qt.ItemFlag.NoItemFlags)

    # Sending

    @async_slot()
    async def send(self) -> None:
        if not self.send_button.isEnabled():
            return
        request = self.validate()
        if request is None:
            return
        profile = self._context.active_profile()
        if profile.production and not await confirm(
            self,
            "Send to a production adapter?",
            f"This mints a real token on {profile.name} ({profile.base_url}) for user "
            f"{request.user_id}.",
            "Send",
        ):
            return
        self.send_button.setEnabled(False)
        self.progress.show()
        self.status.setText(f"Sending to {profile.name}…")
        try:
            await self._send(profile, request)
        finally:
            self.send_button.setEnabled(True)
            self.progress.hide()

    async def _send(self, profile: Profile, request: TokenRequest) -> None:
        secret = await self._context.secret(profile)
        if not secret:
            self._fail(
                f"No bearer secret is stored for {profile.name}. Edit the profile to add it."
            )
            return
        client = self._context.client(profile)
        try:
            answer = await client.generate_token(secret, request)
        except AdapterUnavailable as exc:
            self._fail(str(exc))
            return
        self.raw.setPlainText(redact_text(answer.raw, self._context.known_secrets()))
        if not answer.ok:
            self._fail(f"HTTP {answer.status}: {answer.errmsg}")
            self._show_error("body", answer.errmsg or "")
            return
        token = str(answer.data)
        self._context.note_secret(token)
        self.raw.setPlainText(redact_text(answer.raw, self._context.known_secrets()))
        self.token.set_value(token)
        minted_at = time.time()
        expires_at = minted_at + self._context.token_lifetime()
        self.status.setText(f"HTTP {answer.status}, token minted in {answer.duration_ms:.0f} ms.")
        self.status.setStyleSheet("")
        self.claims.setText("")
        await self._introspect(profile, secret, token)
        expires_at = self._expires_at or expires_at
        self._set_expiry(expires_at)
        problem = await self._context.remember_minted(profile, request, token, expires_at)
        if problem:
            self.status.setText(f"{self.status.text()} It was not remembered: {problem}")
        self.show_recent()
        self.minted.emit()

    async def _introspect(self, profile: Profile, secret: str, token: str) -> None:
        self._expires_at = None
        if "admin" not in await self._context.capabilities(profile):
            self.claims.setText("This adapter offers no introspection.")
            return
        try:
            answer = await self._context.client(profile).introspect(secret, token)
        except AdapterUnavailable as exc:
            self.claims.setText(str(exc))
            return
        if not answer.ok or not isinstance(answer.data, dict):
            self.claims.setText(answer.errmsg or "Introspection failed.")
            return
        row = answer.data.get("token", {})
        self._expires_at = float(row.get("expiresAt", 0)) or None
        accounts = row.get("ctidTraderAccountIds")
        self.claims.setText(
            f"token id {row.get('tokenId', '?')[:12]}…, state {row.get('state')}, "
            f"user {row.get('userId')}, brokers {', '.join(row.get('brokerNames', []))}, "
            f"accounts {'all' if accounts is None else ', '.join(map(str, accounts))}, "
            f"verified {'yes' if row.get('isVerified') else 'no'}"
        )

    def _set_expiry(self, expires_at: float) -> None:
        self._expires_at = expires_at
        local = datetime.fromtimestamp(expires_at).astimezone()
        self._expiry_text = local.strftime("%Y-%m-%d %H:%M:%S %Z")
        self._tick()
        self._countdown_timer.start()

    def _tick(self) -> None:
        if self._expires_at is None:
            return
        self.expiry.setText(f"{self._expiry_text} ({_countdown(self._expires_at - time.time())})")

    def _fail(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #c62828;")
        self.token.set_value("")
        self.expiry.setText("")
        self._countdown_timer.stop()
