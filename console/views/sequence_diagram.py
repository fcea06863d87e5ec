"""The live sequence diagram of the four actors, drawn with QGraphicsView.

One row per arrow, added as the exchange happens: requests solid, answers dashed, steps that
are not HTTP (a redirect, work inside one actor) dotted and grey. Clicking an arrow shows its
exchange. The diagram is laid out for the width of the view at the type size of the page
(larger in Present mode), not scaled to it, so labels stay as readable as the narration:
each label is measured and wrapped to the room between its lifelines (a word too long for
that room overhangs it rather than be cut in two) and its row grows to hold it, so nothing is
drawn outside the diagram. A long run scrolls vertically and follows the newest row. Handouts
(PNG, SVG) are laid out anew at a fixed width and the normal size.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
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

ACTOR_COLOURS = {
    Actor.TRADINGVIEW: "#2962ff",
    Actor.CLIENT_AREA: "#00897b",
    Actor.ADAPTER: "#6a1b9a",
    Actor.BACKEND: "#ef6c00",
}
ERROR_COLOUR = "#c62828"
BACKGROUND = "#ffffff"
NORMAL_POINTS = 9.0
"""The least size of the labels; the page's own font where it is larger."""
PRESENTING_PIXELS = 18
"""Present mode's labels, beside its 20 px narration."""
MIN_COLUMN_EMS = 5
"""A view narrower than four columns of this many line heights (at the normal size) is drawn
scaled down instead: labels wrapped into slivers would be harder to read than smaller ones.
Present mode's labels still come out larger than the normal ones, at any width."""
HANDOUT_WIDTH = 960
GAP = 8
"""Between a label and the lifeline it must not cross."""
LOOP = 26
"""How far a step inside one actor loops out from its lifeline."""
ROW = 34
"""The least height of a row."""
TOP = 8
"""Above the actors' boxes."""


def wrap(text: str, metrics: QFontMetricsF, width: float, widest: float) -> str:
    """`text` in lines no wider than `width`, broken between words, and a word wider than that
    between its path segments or camel-case humps ("Trading|View"). A part still wider has a
    line of its own, broken between characters only where it is wider than `widest`, all the
    room there is."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        for index, piece in enumerate(_pieces(word, metrics, width, widest)):
            candidate = f"{line}{piece}" if index or not line else f"{line} {piece}"
            if not line or metrics.horizontalAdvance(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = piece
    lines.append(line)
    return "\n".join(lines)


def _pieces(word: str, metrics: QFontMetricsF, width: float, widest: float) -> list[str]:
    """A word too wide for `width` in its segments; one too wide for `widest` in parts."""
    if metrics.horizontalAdvance(word) <= width:
        return [word]
    pieces: list[str] = []
    for segment in (part for part in re.split(r"(?=/)|(?<=[a-z])(?=[A-Z])", word) if part):
        if metrics.horizontalAdvance(segment) <= widest:
            pieces.append(segment)
            continue
        chunk = ""
        for character in segment:
            if chunk and metrics.horizontalAdvance(chunk + character) > widest:
                pieces.append(chunk)
                chunk = ""
            chunk += character
        pieces.append(chunk)
    return pieces


class ArrowItem(QGraphicsPathItem):
    """One arrow; it remembers the `Arrow` it draws so a click can show the exchange."""

    def __init__(self, arrow: Arrow, path: QPainterPath, pen: QPen) -> None:
        super().__init__(path)
        self.arrow = arrow
        self.setPen(pen)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Stage {arrow.stage}: {arrow.label}")

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
        self.setBackgroundBrush(QBrush(QColor(BACKGROUND)))
        self.arrows: list[Arrow] = []
        self._presenting = False
        self._selected: ArrowItem | None = None
        self._lifelines: list[QGraphicsItem] = []
        self._font = QFont()
        self._bold = QFont()
        self._width = 0.0
        self._left = 0.0
        self._column = 0.0
        self._header = 0.0
        self._bottom = 0.0
        # Always on: a bar that came and went with the rows would change the view's width,
        # which lays the diagram out anew, which can bring the bar back, without end. Never
        # a horizontal one: the diagram is laid out (or scaled) to the view's width.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._build(self._fitting_width(), presenting=False)

    # Size and layout

    def set_presenting(self, presenting: bool) -> None:
        """Larger type for a room: the labels grow with the narration, laid out anew."""
        self._presenting = presenting
        self._fit(again=True)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A view following the newest row still does when it grows or shrinks (Present
        mode's larger narration takes height from it)."""
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum()
        super().resizeEvent(event)
        self._fit()
        if following:
            bar.setValue(bar.maximum())

    def _fonts(self, *, presenting: bool) -> tuple[QFont, QFont]:
        font = QFont(self.font())
        if presenting:
            font.setPixelSize(PRESENTING_PIXELS)
        else:
            font.setPointSizeF(max(NORMAL_POINTS, font.pointSizeF()))
        bold = QFont(font)
        bold.setBold(True)
        return font, bold

    def _least_width(self) -> float:
        font, _ = self._fonts(presenting=False)
        metrics = QFontMetricsF(font)
        return self._margin(metrics) + len(ACTORS) * MIN_COLUMN_EMS * metrics.height() + GAP

    @staticmethod
    def _margin(metrics: QFontMetricsF) -> float:
        """The left margin, where each row's stage number is written."""
        return GAP + metrics.horizontalAdvance("21") + GAP

    def _fitting_width(self) -> float:
        return max(self._least_width(), float(self.viewport().width()))

    def _fit(self, *, again: bool = False) -> None:
        """Lay out for the view's width (anew only when it changed) and scale down only a view
        narrower than the least width. A view following the newest row still does after a new
        layout; one scrolled back stays as far down the run."""
        width = self._fitting_width()
        if not again and abs(width - self._width) <= 0.5:
            self._scale()
            return
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum()
        share = bar.value() / bar.maximum() if bar.maximum() else 0.0
        self._build(width, presenting=self._presenting)
        self._scale()
        bar.setValue(bar.maximum() if following else round(share * bar.maximum()))

    def _scale(self) -> None:
        scale = min(1.0, self.viewport().width() / (self.scene().sceneRect().width() or 1.0))
        if abs(scale - self.transform().m11()) > 0.001:
            self.setTransform(QTransform.fromScale(scale, scale))

    def _build(self, width: float, *, presenting: bool) -> None:
        """Draw everything anew at this width and type size, keeping the selected arrow."""
        selected = self._selected.arrow if self._selected is not None else None
        self._font, self._bold = self._fonts(presenting=presenting)
        metrics = QFontMetricsF(self._font)
        self._width = width
        self._left = self._margin(metrics)
        self._column = (width - self._left - GAP) / len(ACTORS)
        self.scene().clear()
        self._selected = None
        self._lifelines = []
        self._draw_actors()
        for arrow in self.arrows:
            item = self._draw_row(arrow)
            if arrow is selected:
                self.select(item)
        self._draw_lifelines()

    def _x(self, actor: Actor) -> float:
        return self._left + self._column / 2 + ACTORS.index(actor) * self._column

    def _draw_actors(self) -> None:
        metrics = QFontMetricsF(self._bold)
        inner = self._column - 6
        names = [
            QGraphicsSimpleTextItem(wrap(str(actor), metrics, inner - 6, inner - 6))
            for actor in ACTORS
        ]
        height = max([ROW - 2.0, *(name.boundingRect().height() + 10 for name in names)])
        for actor, name in zip(ACTORS, names, strict=True):
            x = self._x(actor)
            box = QGraphicsRectItem(QRectF(x - inner / 2, TOP, inner, height))
            box.setBrush(QBrush(QColor(ACTOR_COLOURS[actor])))
            box.setPen(QPen(Qt.PenStyle.NoPen))
            self.scene().addItem(box)
            name.setFont(self._bold)
            name.setBrush(QBrush(QColor("#ffffff")))
            bounds = name.boundingRect()
            name.setPos(x - bounds.width() / 2, TOP + (height - bounds.height()) / 2)
            self.scene().addItem(name)
        self._header = TOP + height
        self._bottom = self._header + 6

    def _draw_lifelines(self) -> None:
        for item in self._lifelines:
            self.scene().removeItem(item)
        self._lifelines = []
        pen = QPen(QColor("#b0b0b0"), 1, Qt.PenStyle.DashLine)
        height = self._bottom + ROW / 2
        for actor in ACTORS:
            x = self._x(actor)
            line = self.scene().addLine(x, self._header, x, height, pen)
            line.setZValue(-1)
            self._lifelines.append(line)
        drawn = QRectF(0, 0, self._width, height + GAP)
        self.scene().setSceneRect(drawn.united(self.scene().itemsBoundingRect()))

    def _label_room(self, arrow: Arrow) -> tuple[float, float, bool]:
        """Where a label may go (left, right) and whether it is set against the right: between
        the arrow's lifelines; for a step inside one actor, up to the next lifeline, or for the
        last actor back to the one before it (right of it there is only the margin)."""
        x1, x2 = self._x(arrow.source), self._x(arrow.target)
        if x1 != x2:
            return min(x1, x2) + GAP, max(x1, x2) - GAP, False
        if arrow.source is ACTORS[-1]:
            return x1 - self._column + GAP, x1 - 10, True
        return x1 + 10, x1 + self._column - GAP, False

    def _draw_row(self, arrow: Arrow) -> ArrowItem:
        metrics = QFontMetricsF(self._font)
        left, right, flush_right = self._label_room(arrow)
        first, last = self._left, self._width - GAP  # what a label overhanging its room may use
        label = QGraphicsSimpleTextItem(wrap(arrow.label, metrics, right - left, last - first))
        label.setFont(self._font)
        colour = ERROR_COLOUR if (arrow.status or 0) >= 400 else "#212121"
        label.setBrush(QBrush(QColor(colour if arrow.kind is not ArrowKind.STEP else "#616161")))
        size = label.boundingRect()
        under = 8.0 if arrow.source is arrow.target else 5.0  # a loop's top runs above its line
        top = self._bottom
        y = top + 4 + size.height() + under
        item = ArrowItem(arrow, self._path(arrow, y), self._pen(arrow))
        self.scene().addItem(item)
        # A white backing, so a lifeline the label crosses does not run through its letters.
        backing = QGraphicsRectItem(QRectF(-2, 0, size.width() + 4, size.height()), item)
        backing.setBrush(QBrush(QColor(BACKGROUND)))
        backing.setPen(QPen(Qt.PenStyle.NoPen))
        x = right - size.width() if flush_right else left
        x = max(first, min(x, last - size.width()))
        backing.setPos(x, y - under - size.height())
        label.setParentItem(backing)  # a child, so a click on the label selects the arrow
        stage = QGraphicsSimpleTextItem(str(arrow.stage))
        stage.setFont(self._font)
        stage.setBrush(QBrush(QColor("#757575")))
        number = stage.boundingRect()
        stage.setPos(self._left - GAP - number.width(), y - number.height() / 2)
        self.scene().addItem(stage)
        self._bottom = max(top + ROW, y + 12)
        return item

    def clear(self) -> None:
        self.arrows = []
        self._selected = None
        self._build(self._width or self._fitting_width(), presenting=self._presenting)

    def add(self, arrow: Arrow) -> None:
        top = self._bottom
        self.arrows.append(arrow)
        self._draw_row(arrow)
        self._draw_lifelines()
        self._fit()
        self.ensureVisible(QRectF(0, top, 10, self._bottom - top))

    def _pen(self, arrow: Arrow) -> QPen:
        if arrow.kind is ArrowKind.STEP:
            return QPen(QColor("#9e9e9e"), 1.4, Qt.PenStyle.DotLine)
        colour = ERROR_COLOUR if (arrow.status or 0) >= 400 else ACTOR_COLOURS[arrow.source]
        style = Qt.PenStyle.DashLine if arrow.kind is ArrowKind.ANSWER else Qt.PenStyle.SolidLine
        return QPen(QColor(colour), 1.8, style)

    def _path(self, arrow: Arrow, y: float) -> QPainterPath:
        x1, x2 = self._x(arrow.source), self._x(arrow.target)
        path = QPainterPath()
        if x1 == x2:  # work inside one actor: a small loop back to itself
            path.moveTo(x1, y - 6)
            path.lineTo(x1 + LOOP, y - 6)
            path.lineTo(x1 + LOOP, y + 6)
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

    @contextlib.contextmanager
    def _handout(self) -> Iterator[QRectF]:
        """The scene laid out for paper (a fixed width, the normal size) while it is rendered,
        then as the view shows it again, scrolled where it was."""
        scrolled = self.verticalScrollBar().value()
        self._build(HANDOUT_WIDTH, presenting=False)
        try:
            yield self.scene().sceneRect()
        finally:
            self._fit(again=True)
            self.verticalScrollBar().setValue(scrolled)

    def save_png(self, path: Path) -> bool:
        with self._handout() as rect:
            image = QImage((rect.size() * 2).toSize(), QImage.Format.Format_ARGB32)
            image.fill(QColor(BACKGROUND))
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.scene().render(painter, QRectF(image.rect()), rect)
            painter.end()
        return image.save(str(path))

    def save_svg(self, path: Path) -> bool:
        with self._handout() as rect:
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
