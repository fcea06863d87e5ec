"""File dialogs that start in the operator's Documents folder with a name proposed.

Left alone, Qt's dialog starts in the directory the console was launched from (a source
checkout, `/`, or wherever a desktop entry runs it) with an empty name.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget


def documents_dir() -> str:
    """Documents where the desktop has one, else the home directory."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return found if found and Path(found).is_dir() else str(Path.home())


def save_dialog(parent: QWidget, title: str, file_name: str) -> QFileDialog:
    dialog = QFileDialog(parent, title)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDirectory(documents_dir())
    dialog.selectFile(file_name)
    return dialog


def open_dialog(parent: QWidget, title: str) -> QFileDialog:
    dialog = QFileDialog(parent, title)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setDirectory(documents_dir())
    return dialog
