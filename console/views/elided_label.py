"""A one-line label that ends in '…' where its space runs short, instead of being cut mid-word.

For the status bar, where an adapter's own sentence (a store problem, say) can be longer than
the window is wide: `text()` stays whole (the tooltip should carry it too), only the drawing
is shortened, and the label may shrink to almost nothing rather than widen the window.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel

_SHORTEST = "…"


class ElidedLabel(QLabel):
    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(_SHORTEST * 4), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        area = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, area.width()
        )
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            area,
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            shown,
            QPalette.ColorRole.WindowText,
        )
