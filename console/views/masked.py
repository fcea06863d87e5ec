"""A secret or token shown masked, with Reveal and Copy: the operator decides when it shows."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from console.services.redaction import mask
from console.views.feedback import copy_to_clipboard


class MaskedValue(QWidget):
    copied = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = ""
        self._revealed = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.text = QLineEdit(self)
        self.text.setReadOnly(True)
        self.reveal_button = QPushButton("Reveal", self)
        self.reveal_button.setCheckable(True)
        self.reveal_button.toggled.connect(self._set_revealed)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.clicked.connect(self.copy)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.reveal_button)
        layout.addWidget(self.copy_button)
        self.set_value("")

    def value(self) -> str:
        return self._value

    def set_value(self, value: str) -> None:
        self._value = value
        self.reveal_button.setChecked(False)
        self.reveal_button.setEnabled(bool(value))
        self.copy_button.setEnabled(bool(value))
        self._show()

    def copy(self) -> None:
        """Copy the real value: the operator asked for it explicitly."""
        if self._value:
            copy_to_clipboard(self._value, self.copy_button)
            self.copied.emit()

    def _set_revealed(self, revealed: bool) -> None:
        self._revealed = revealed
        self.reveal_button.setText("Hide" if revealed else "Reveal")
        self._show()

    def _show(self) -> None:
        shown = self._value if self._revealed else mask(self._value) if self._value else ""
        self.text.setText(shown)
