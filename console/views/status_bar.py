"""A status bar whose passing messages end in '…' instead of running up to the right-hand texts.

Qt draws a message up to 2 px short of the first permanent widget and cuts it there, mid-word,
so a long message ("The profile was not saved: …") read as if it ran into "Embedded: running".
Here it stops a gap short and ends in an ellipsis, and the whole message is the bar's tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QStatusBar, QWidget

MARGIN = 6
"""Where Qt starts a message."""
GAP = 16
"""Between a message's end and the first right-hand text."""


class ElidingStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.messageChanged.connect(self.setToolTip)

    def message_area(self) -> QRect:
        """Left of the right-hand texts (left to right layouts, as the console's). While a
        message shows, Qt hides the other widgets: the ones still visible are the permanent
        ones (and the size grip, right of them)."""
        children = self.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
        right = min((child.x() for child in children if child.isVisible()), default=self.width())
        return QRect(MARGIN, 0, max(0, right - GAP - MARGIN), self.height())

    def shown_message(self) -> str:
        """The current message as drawn: whole where it fits, else cut short with '…'."""
        return self.fontMetrics().elidedText(
            self.currentMessage(), Qt.TextElideMode.ElideRight, self.message_area().width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.currentMessage():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        flags = Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(self.message_area(), int(flags), self.shown_message())
