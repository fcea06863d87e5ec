"""Add or edit a remote profile: settings in the profiles file, the secret in the keyring.

The dialog only collects and checks; the application saves. "Test connection" tries what was
typed, before anything is saved, and says which part failed: reachability, TLS or the secret.
Its result is cleared as soon as a setting it depends on is edited, so it never describes
settings no longer in the fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.services.client import ConnectionReport
from console.services.profiles import (
    MAX_TIMEOUT,
    Profile,
    ProfileError,
    TlsMode,
    check_name,
    default_colour,
    normalise_base_url,
)
from console.services.tasks import TaskOwner
from console.slots import task_slot
from console.views.file_dialogs import open_dialog

TLS_LABELS: dict[TlsMode, str] = {
    "verify": "Verify certificates",
    "insecure": "Do not verify (self-signed, testing only)",
    "ca": "Verify with this CA bundle",
}

CA_SUFFIXES = (".pem", ".crt", ".cer")
CA_FILTERS = [
    f"PEM certificates ({' '.join('*' + suffix for suffix in CA_SUFFIXES)})",
    "All files (*)",
]
"""PEM first; bundles are also named .crt or .cer, and some have no extension at all."""

FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "base_url": "Base URL",
    "tls": "TLS",
    "ca_file": "CA bundle",
    "timeout": "Timeout",
    "colour": "Colour",
    "production": "Production",
}
"""The form's label for each `Profile` field: errors name what the operator sees, not the
profiles file's key."""


def describe(error: ProfileError) -> str:
    """The error with the field's label in front instead of its internal name."""
    if error.field is None:
        return str(error)
    return f"{FIELD_LABELS.get(error.field, error.field)}: {error.problem}"


@dataclass(frozen=True)
class ProfileDraft:
    """What the operator typed: the profile to save, and the secret if one was entered."""

    profile: Profile
    secret: str | None


class ProfileDialog(QDialog):
    def __init__(
        self,
        existing: Profile | None,
        stored_secret: str | None,
        test_connection: Callable[[Profile, str | None], Awaitable[ConnectionReport]],
        parent: QWidget,
        *,
        others: Iterable[Profile] = (),
    ) -> None:
        """`others` are the profiles that exist already: a new one starts in a colour
        none of them uses."""
        super().__init__(parent)
        self.tasks = TaskOwner("the profile dialog")
        self._existing = existing
        self._stored_secret = stored_secret
        self._test_connection = test_connection
        has_secret = bool(stored_secret)
        self.draft: ProfileDraft | None = None
        self.setWindowTitle("Edit profile" if existing else "New profile")
        self.setMinimumWidth(520)
        form = QFormLayout()
        self.name = QLineEdit(existing.name if existing else "", self)
        self.url = QLineEdit(existing.base_url if existing else "", self)
        self.url.setPlaceholderText("https://adapter.example-broker.com:8443")
        self.tls = QComboBox(self)
        for mode, label in TLS_LABELS.items():
            self.tls.addItem(label, mode)
        self.tls.setCurrentIndex(self.tls.findData(existing.tls if existing else "verify"))
        self.ca_file = QLineEdit(existing.ca_file or "" if existing else "", self)
        self.browse_ca = QPushButton("Browse…", self)
        self.browse_ca.clicked.connect(self._browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.browse_ca)
        self.timeout = QDoubleSpinBox(self)
        self.timeout.setRange(1, MAX_TIMEOUT)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(existing.timeout if existing else 10)
        self._others = tuple(others)
        self._colour_picked = existing is not None
        self._colour = existing.colour if existing else default_colour(self._others)
        self.colour = QPushButton(self)
        self.colour.clicked.connect(self._pick_colour)
        self._show_colour()
        self.production = QCheckBox("Production: confirm before every send and logout", self)
        self.production.setChecked(bool(existing and existing.production))
        self.production.toggled.connect(self._production_toggled)
        self.secret = QLineEdit(self)
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText(
            "stored in the OS keyring; leave empty to keep it" if has_secret else "bearer secret"
        )
        form.addRow(FIELD_LABELS["name"], self.name)
        form.addRow(FIELD_LABELS["base_url"], self.url)
        form.addRow(FIELD_LABELS["tls"], self.tls)
        form.addRow(FIELD_LABELS["ca_file"], ca_row)
        form.addRow(FIELD_LABELS["timeout"], self.timeout)
        form.addRow(FIELD_LABELS["colour"], self.colour)
        form.addRow("", self.production)
        form.addRow("Bearer secret", self.secret)
        self.error = QLabel("", self)
        self.error.setObjectName("profileError")
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        self.test_result = QLabel("", self)
        self.test_result.setWordWrap(True)
        # Edits to what a test depends on, counted so a result for older settings is dropped.
        self._settings_edits = 0
        self.test_button = QPushButton("Test connection", self)
        self.test_button.clicked.connect(self._test)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        layout.addLayout(test_row)
        layout.addWidget(buttons)
        self.tls.currentIndexChanged.connect(self._tls_changed)
        self._tls_changed()
        for edited in (
            self.url.textChanged,
            self.tls.currentIndexChanged,
            self.ca_file.textChanged,
            self.timeout.valueChanged,
            self.secret.textChanged,
        ):
            edited.connect(self._test_settings_changed)

    def _test_settings_changed(self) -> None:
        """A test result describes the settings it was run with: once they change, it goes."""
        self._settings_edits += 1
        self.test_result.setText("")
        self.test_result.setStyleSheet("")

    def _tls_changed(self) -> None:
        """The CA bundle, typed or browsed for, only counts with "Verify with this CA bundle"."""
        uses_ca = self.tls.currentData() == "ca"
        self.ca_file.setEnabled(uses_ca)
        self.browse_ca.setEnabled(uses_ca)

    def _browse_ca(self) -> None:
        """Start at the bundle already chosen, to pick its neighbour; else in Documents."""
        dialog = open_dialog(self, "CA bundle (PEM)")
        dialog.setNameFilters(CA_FILTERS)
        current = Path(self.ca_file.text().strip())
        if current.is_absolute() and current.parent.is_dir():
            dialog.setDirectory(str(current.parent))
            if current.is_file():
                if current.suffix.lower() not in CA_SUFFIXES:
                    dialog.selectNameFilter(CA_FILTERS[-1])  # else the PEM filter hides it
                dialog.selectFile(str(current))
        dialog.fileSelected.connect(self.ca_file.setText)
        dialog.open()

    def _pick_colour(self) -> None:
        dialog = QColorDialog(QColor(self._colour), self)
        dialog.colorSelected.connect(self._colour_chosen)
        dialog.open()

    def _colour_chosen(self, colour: QColor) -> None:
        self._colour = colour.name()
        self._colour_picked = True
        self._show_colour()

    def _production_toggled(self, production: bool) -> None:
        """Until the operator picks a colour, a new profile's default follows the box:
        production red, or the next free palette colour."""
        if not self._colour_picked:
            self._colour = default_colour(self._others, production=production)
            self._show_colour()

    def _show_colour(self) -> None:
        text = "white" if QColor(self._colour).lightness() < 140 else "black"
        self.colour.setText(self._colour)
        self.colour.setStyleSheet(f"background: {self._colour}; color: {text};")

    def build(self) -> ProfileDraft:
        """The typed profile, or ProfileError naming the field at fault."""
        tls: TlsMode = self.tls.currentData()
        ca_file = (self.ca_file.text().strip() or None) if tls == "ca" else None
        name = self.name.text().strip()
        check_name(name)  # first: errors come in the form's order, Name above Base URL
        base_url = normalise_base_url(self.url.text())
        timeout = float(self.timeout.value())
        production = self.production.isChecked()
        if self._existing is None:
            profile = Profile.create(
                name,
                base_url,
                tls=tls,
                ca_file=ca_file,
                timeout=timeout,
                colour=self._colour,
                production=production,
            )
        else:
            profile = Profile(
                id=self._existing.id,
                name=name,
                base_url=base_url,
                tls=tls,
                ca_file=ca_file,
                timeout=timeout,
                colour=self._colour,
                production=production,
            )
        return ProfileDraft(profile, self.secret.text() or None)

    def _save(self) -> None:
        try:
            self.draft = self.build()
        except ProfileError as exc:
            self.error.setText(describe(exc))
            return
        self.accept()

    @task_slot
    async def _test(self) -> None:
        try:
            draft = self.build()
        except ProfileError as exc:
            self.error.setText(describe(exc))
            return
        self.error.setText("")
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Testing…")
        settings = self._settings_edits
        try:
            report = await self._test_connection(draft.profile, draft.secret or self._stored_secret)
        finally:
            self.test_button.setEnabled(True)
        if settings != self._settings_edits:
            return
        colour = "#2e7d32" if report.secret_accepted else "#c62828"
        self.test_result.setStyleSheet(f"color: {colour};")
        self.test_result.setText(report.message)
