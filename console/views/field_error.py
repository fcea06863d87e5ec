"""A field's error line that never moves the form: as high with no error as with one.

On the Tokens page an error appeared under its field and pushed every field below it down
while the operator typed. Here the row keeps room for LINES lines whether or not an error
shows, and a longer message ends in '…' with the whole of it in the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import (
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

ERROR_COLOUR = "#c62828"


class FieldError(QLabel):
    """A field's error under it, never taller than LINES lines at its font.

    A message longer than that at the current width ends in '…' there, and the tooltip holds
    it whole (`text()` stays whole too), so no message makes its row taller.
    """

    LINES = 2

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("fieldError")
        self.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.setTextFormat(Qt.TextFormat.PlainText)  # messages quote what was typed
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.hide()

    def minimumSizeHint(self) -> QSize:
        """As high as LINES lines whatever the message; narrow, so no message widens the form."""
        margins = self.contentsMargins()
        height = self.LINES * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom()
        return QSize(self.fontMetrics().horizontalAdvance("…" * 4), height)

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Wrapped as a word-wrapped QLabel would be, but LINES lines at most, the last one
        elided: a QLabel cut to a fixed height just loses its lower lines without a sign."""
        area = self.contentsRect()
        text = self.text()
        layout = QTextLayout(text, self.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        lines: list[QTextLine] = []
        top = 0.0
        layout.beginLayout()
        while len(lines) < self.LINES:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(area.width())
            line.setPosition(QPointF(0, top))
            top += line.height()
            lines.append(line)
        layout.endLayout()
        if not lines:
            return
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        origin = QPointF(area.topLeft())
        last = lines[-1]
        utf16 = text.encode("utf-16-le")
        shown = 2 * (last.textStart() + last.textLength())  # QTextLayout counts UTF-16 units
        if shown >= len(utf16):
            for line in lines:
                line.draw(painter, origin)
            return
        for line in lines[:-1]:
            line.draw(painter, origin)
        rest = utf16[2 * last.textStart() :].decode("utf-16-le")
        elided = self.fontMetrics().elidedText(rest, Qt.TextElideMode.ElideRight, area.width())
        painter.drawText(origin + QPointF(0, last.y() + last.ascent()), elided)


class ErrorRoom(QWidget):
    """A FieldError's row, as high while it is hidden as when it shows, so the fields below
    never move as errors come and go (QFormLayout leaves out a row whose field is hidden,
    whatever its size policy says)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.error = FieldError(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def minimumSizeHint(self) -> QSize:
        return self.error.minimumSizeHint()

    def sizeHint(self) -> QSize:
        return self.error.sizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.error.setGeometry(self.rect())
