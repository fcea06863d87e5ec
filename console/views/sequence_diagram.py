"""The live sequence diagram of the four actors, drawn with QGraphicsView.

One row per arrow, added as the exchange happens: requests solid, answers dashed, steps that
are not HTTP (a redirect, work inside one actor) dotted and grey. Clicking an arrow shows its
exchange. Rows keep a fixed height, so 30 or 300 arrows stay readable: the view scrolls and
follows the newest. The scene renders to PNG and SVG for handouts.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QResizeEvent,
    QTransform,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from console.demo.flow import Arrow, ArrowKind
from console.demo.stages import ACTORS, Actor

COLUMN = 175
LEFT = 40
HEADER = 54
ROW = 34
ACTOR_COLOURS = {
    Actor.TRADINGVIEW: "#2962ff",
    Actor.CLIENT_AREA: "#00897b",
    Actor.ADAPTER: "#6a1b9a",
    Actor.BACKEND: "#ef6c00",
}
ERROR_COLOUR = "#c62828"
PRESENTING_SCALE = 1.5
MIN_SCALE = 0.5


def _x(actor: Actor) -> float:
    return LEFT + COLUMN / 2 + ACTORS.index(actor) * COLUMN


class ArrowItem(QGraphicsPathItem):
    """One arrow; it remembers the `Arrow` it draws so a click can show the exchange."""

    def __init__(self, arrow: Arrow, y: float, path: QPainterPath, pen: QPen) -> None:
        super().__init__(path)
        self.arrow = arrow
        self.setPen(pen)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Stage {arrow.stage}: {arrow.label}")
        self._y = y

    def shape(self) -> QPainterPath:
        hit = QPainterPath()
        bounds = self.path().boundingRect()
        hit.addRect(bounds.adjusted(-4, -12, 4, 6))
        return hit


class SequenceDiagram(QGraphicsView):
    arrow_clicked = Signal(object)
    """An arrow was clicked (the `Arrow`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sequenceDiagram")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundBrush(QBrush(QColor("#ffffff")))
        self.arrows: list[Arrow] = []
        self._font = QFont(self.font())
        self._font.setPointSizeF(max(9.0, self._font.pointSizeF()))
        self._selected: ArrowItem | None = None
        self._lifelines: list[QGraphicsItem] = []
        self._largest = 1.0
        # Always on: a bar that came and went with the scale would resize the view, which
        # refits the scale, which brings the bar back, without end.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.clear()

    def set_presenting(self, presenting: bool) -> None:
        """Larger type for a room: the scene is drawn at a bigger scale where it fits."""
        self._largest = PRESENTING_SCALE if presenting else 1.0
        self._fit()

    def _fit(self) -> None:
        """As wide as the view (never above the largest scale, never below MIN_SCALE), so all
        four lifelines stay in sight; long runs scroll vertically only."""
        width = self.scene().sceneRect().width() or 1.0
        scale = max(MIN_SCALE, min(self._largest, (self.viewport().width() - 4) / width))
        if abs(scale - self.transform().m11()) > 0.01:  # a settled scale never loops
            self.setTransform(QTransform.fromScale(scale, scale))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def clear(self) -> None:
        self.scene().clear()
        self.arrows = []
        self._selected = None
        self._lifelines = []
        for actor in ACTORS:
            x = _x(actor)
            box = QGraphicsRectItem(QRectF(x - COLUMN / 2 + 12, 8, COLUMN - 24, 32))
            box.setBrush(QBrush(QColor(ACTOR_COLOURS[actor])))
            box.setPen(QPen(Qt.PenStyle.NoPen))
            self.scene().addItem(box)
            name = QGraphicsSimpleTextItem(str(actor))
            bold = QFont(self._font)
            bold.setBold(True)
            name.setFont(bold)
            name.setBrush(QBrush(QColor("#ffffff")))
            width = name.boundingRect().width()
            name.setPos(x - width / 2, 24 - name.boundingRect().height() / 2)
            self.scene().addItem(name)
        self._draw_lifelines()

    def _height(self) -> float:
        return HEADER + ROW * (len(self.arrows) + 1)

    def _draw_lifelines(self) -> None:
        for item in self._lifelines:
            self.scene().removeItem(item)
        self._lifelines = []
        pen = QPen(QColor("#b0b0b0"), 1, Qt.PenStyle.DashLine)
        for actor in ACTORS:
            x = _x(actor)
            line = self.scene().addLine(x, 40, x, self._height(), pen)
            line.setZValue(-1)
            self._lifelines.append(line)
        self.scene().setSceneRect(QRectF(0, 0, LEFT + COLUMN * len(ACTORS) + 10, self._height()))

    def add(self, arrow: Arrow) -> None:
        y = HEADER + ROW * len(self.arrows) + ROW * 0.6
        self.arrows.append(arrow)
        stage = QGraphicsSimpleTextItem(f"{arrow.stage:2}")
        stage.setFont(self._font)
        stage.setBrush(QBrush(QColor("#757575")))
        stage.setPos(6, y - 10)
        self.scene().addItem(stage)
        item = ArrowItem(arrow, y, self._path(arrow, y), self._pen(arrow))
        self.scene().addItem(item)
        label = QGraphicsSimpleTextItem(arrow.label, item)
        label.setFont(self._font)
        colour = ERROR_COLOUR if (arrow.status or 0) >= 400 else "#212121"
        label.setBrush(QBrush(QColor(colour if arrow.kind is not ArrowKind.STEP else "#616161")))
        x1, x2 = _x(arrow.source), _x(arrow.target)
        left = min(x1, x2) + 8 if x1 != x2 else x1 + 10
        label.setPos(left, y - label.boundingRect().height() - 1)
        self._draw_lifelines()
        self.ensureVisible(QRectF(0, y - ROW, 10, ROW * 2))

    def _pen(self, arrow: Arrow) -> QPen:
        if arrow.kind is ArrowKind.STEP:
            return QPen(QColor("#9e9e9e"), 1.4, Qt.PenStyle.DotLine)
        colour = ERROR_COLOUR if (arrow.status or 0) >= 400 else ACTOR_COLOURS[arrow.source]
        style = Qt.PenStyle.DashLine if arrow.kind is ArrowKind.ANSWER else Qt.PenStyle.SolidLine
        return QPen(QColor(colour), 1.8, style)

    def _path(self, arrow: Arrow, y: float) -> QPainterPath:
        x1, x2 = _x(arrow.source), _x(arrow.target)
        path = QPainterPath()
        if x1 == x2:  # work inside one actor: a small loop back to itself
            path.moveTo(x1, y - 6)
            path.lineTo(x1 + 26, y - 6)
            path.lineTo(x1 + 26, y + 6)
            path.lineTo(x1 + 4, y + 6)
            head = QPolygonF(
                [QPointF(x1 + 2, y + 6), QPointF(x1 + 9, y + 2), QPointF(x1 + 9, y + 10)]
            )
        else:
            path.moveTo(x1, y)
            path.lineTo(x2, y)
            direction = 1 if x2 > x1 else -1
            head = QPolygonF(
                [
                    QPointF(x2, y),
                    QPointF(x2 - 9 * direction, y - 4.5),
                    QPointF(x2 - 9 * direction, y + 4.5),
                ]
            )
        path.addPolygon(head)
        path.closeSubpath()
        return path

    def mousePressEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        while item is not None and not isinstance(item, ArrowItem):
            item = item.parentItem()
        if isinstance(item, ArrowItem):
            self.select(item)
            self.arrow_clicked.emit(item.arrow)
        super().mousePressEvent(event)

    def select(self, item: ArrowItem) -> None:
        if self._selected is not None:
            pen = self._selected.pen()
            pen.setWidthF(1.8 if self._selected.arrow.kind is not ArrowKind.STEP else 1.4)
            self._selected.setPen(pen)
        pen = item.pen()
        pen.setWidthF(3.2)
        item.setPen(pen)
        self._selected = item

    def arrow_items(self) -> list[ArrowItem]:
        return [item for item in self.scene().items() if isinstance(item, ArrowItem)]

    # Handouts

    def save_png(self, path: Path) -> bool:
        rect = self.scene().sceneRect()
        image = QImage((rect.size() * 2).toSize(), QImage.Format.Format_ARGB32)
        image.fill(QColor("#ffffff"))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        return image.save(str(path))

    def save_svg(self, path: Path) -> bool:
        rect = self.scene().sceneRect()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(QSize(int(rect.width()), int(rect.height())))
        generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        generator.setTitle("TradingView integration flow")
        painter = QPainter()
        if not painter.begin(generator):
            return False
        self.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        painter.end()
        return path.is_file()
