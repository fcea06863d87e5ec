"""The status bar's long texts end in '…' where space runs short, instead of being cut."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from console.views.elided_label import ElidedLabel

LONG = "store: redis — Redis is full (maxmemory) and refuses writes: no token can be minted"


def test_a_narrow_label_draws_its_text_shortened_with_an_ellipsis_and_keeps_it_whole(
    qtbot: QtBot,
) -> None:
    label = ElidedLabel(LONG)
    qtbot.addWidget(label)
    label.setFixedWidth(200)
    shortened = label.fontMetrics().elidedText(LONG, Qt.TextElideMode.ElideRight, 200)
    assert shortened.endswith("…")
    expected = QLabel(shortened)
    qtbot.addWidget(expected)
    expected.setFixedWidth(200)
    assert label.grab().toImage() == expected.grab().toImage()
    assert label.text() == LONG
    assert label.minimumSizeHint().width() < 200 < label.sizeHint().width()
