"""Small acknowledgements: a button that says "Copied" for a moment after it copied."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton

FLASH_MS = 1500


def copy_to_clipboard(text: str, button: QPushButton, done: str = "Copied ✓") -> None:
    """Put `text` on the clipboard and let `button` say so until FLASH_MS have passed."""
    QGuiApplication.clipboard().setText(text)
    flash(button, done)


def flash(button: QPushButton, text: str) -> None:
    original = button.property("restingText") or button.text()
    button.setProperty("restingText", original)
    button.setText(text)
    QTimer.singleShot(FLASH_MS, button, lambda: button.setText(str(original)))
