"""Tags wrap onto more rows: however many broker names, the window is no wider."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from tests.support.console_driver import build, run

NAMES = [f"BROKER-NUMBER-{index:02}" for index in range(17)]


def test_many_broker_names_wrap_instead_of_widening_the_window(
    qtbot: QtBot, qloop: qasync.QEventLoop, console_home: Path
) -> None:
    controller = build(console_home)
    window = controller.window
    qtbot.addWidget(window)
    window.show()
    window.show_page("tokens")
    editor = controller.tokens.brokers
    least_width = window.minimumSizeHint().width()
    width_before = window.width()
    one_row = editor.height()
    editor.set_tags(NAMES)
    qtbot.waitUntil(lambda: editor.height() > one_row)
    assert window.minimumSizeHint().width() <= least_width
    assert window.width() == width_before
    # more rows, every chip inside the editor (the form scrolls where the window is low)
    shown = [chip for chip in editor.findChildren(QToolButton) if chip.isVisible()]
    assert len(shown) == len(NAMES)
    for chip in shown:
        assert editor.rect().contains(chip.geometry())
    editor.set_tags([])
    qtbot.waitUntil(lambda: editor.height() == one_row)  # the layout settles in a turn or two
    run(qtbot, controller.shutdown())
