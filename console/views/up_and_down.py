"""A scroll area for content that may be taller than the window, never narrower than it needs.

The Demo page's client area and Trading Panel would make the window taller than a 720-pixel
projector; the Tokens page's request grows a row of broker-name chips at a time. Both scroll up
and down instead, and keep their content's least width at any type size (Present enlarges it).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class UpAndDown(QScrollArea):
    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)

    def minimumSizeHint(self) -> QSize:
        content = self.widget()
        needed = 0 if content is None else content.minimumSizeHint().width()
        scroll_bar = self.verticalScrollBar().sizeHint().width()
        return QSize(needed + scroll_bar, super().minimumSizeHint().height())
