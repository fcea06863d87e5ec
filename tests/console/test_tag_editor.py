"""Tags wrap onto more rows: however many broker names, the window is no wider."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QToolButton
from pytestqt.qtbot import QtBot

from console.views.tag_editor import TagEditor
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


def _popup(editor: TagEditor) -> QAbstractItemView:
    completer = editor.input.completer()
    assert completer is not None
    popup = completer.popup()
    assert popup is not None
    return popup


def _editor_with_suggestions(qtbot: QtBot) -> TagEditor:
    """An editor offering "Pepperstone" in its open popup after "pep" was typed."""
    editor = TagEditor("broker name", lambda _value: None)
    qtbot.addWidget(editor)
    editor.set_suggestions(["ICMarkets", "Pepperstone"])
    editor.show()
    editor.activateWindow()
    qtbot.waitActive(editor)
    editor.input.setFocus()  # the input hooks up its completer only while it has focus
    qtbot.waitUntil(editor.input.hasFocus)
    QTest.keyClicks(editor.input, "pep")
    qtbot.waitUntil(_popup(editor).isVisible)
    return editor


def test_a_suggestion_taken_with_down_and_enter_leaves_the_input_empty(
    qtbot: QtBot, qloop: qasync.QEventLoop
) -> None:
    editor = _editor_with_suggestions(qtbot)
    QTest.keyClick(_popup(editor), Qt.Key.Key_Down)
    QTest.keyClick(_popup(editor), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.tags() == ["Pepperstone"])
    qtbot.wait(50)  # the input's own handling of the choice has run too
    assert editor.input.text() == ""


def test_a_suggestion_clicked_in_the_popup_leaves_the_input_empty(
    qtbot: QtBot, qloop: qasync.QEventLoop
) -> None:
    editor = _editor_with_suggestions(qtbot)
    popup = _popup(editor)
    where = popup.visualRect(popup.model().index(0, 0)).center()
    QTest.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.waitUntil(lambda: editor.tags() == ["Pepperstone"])
    qtbot.wait(50)  # the input's own handling of the choice has run too
    assert editor.input.text() == ""
