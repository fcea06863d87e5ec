"""Confirmation without a nested event loop: `QMessageBox.open()` and an awaited future.

`exec()` inside an async slot re-enters asyncio (qasync #59, #174); `open()` does not.
"""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QMessageBox, QWidget


async def confirm(parent: QWidget, title: str, text: str, accept_label: str) -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent
    )
    accept = box.addButton(accept_label, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    decided: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def finished() -> None:
        if not decided.done():
            decided.set_result(box.clickedButton() is accept)

    box.finished.connect(finished)
    box.setObjectName("confirmation")
    box.open()
    try:
        return await decided
    finally:
        box.deleteLater()
