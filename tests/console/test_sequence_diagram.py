"""The Demo page's sequence diagram on its own: every label drawn whole, between its lifelines
and inside what the view and the handouts show; Present mode's larger type."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFontInfo, QImage
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsSimpleTextItem
from pytestqt.qtbot import QtBot

from console.demo.flow import Arrow, ArrowKind
from console.demo.stages import ACTORS, Actor
from console.views.sequence_diagram import ArrowItem, SequenceDiagram

TV, AREA, ADAPTER, BACKEND = ACTORS
STEP, REQUEST, ANSWER = ArrowKind.STEP, ArrowKind.REQUEST, ArrowKind.ANSWER
RUN = [
    Arrow(1, TV, TV, "sign in", STEP),
    Arrow(5, TV, TV, "pop-up: connect an account", STEP),
    Arrow(6, TV, AREA, "redirect to the client area", STEP),
    Arrow(8, AREA, AREA, "Dana Novak, USD demo", STEP),
    Arrow(10, AREA, BACKEND, "POST /demo/accounts/137800356/link", REQUEST),
    Arrow(11, BACKEND, BACKEND, "create and link (demo CRM)", STEP),
    Arrow(12, BACKEND, AREA, "200 linked", ANSWER, status=200),
    Arrow(13, AREA, ADAPTER, "POST /generate/token", REQUEST),
    Arrow(14, ADAPTER, AREA, "401 token", ANSWER, status=401),
    Arrow(15, AREA, TV, "redirect with the token", STEP),
    Arrow(17, TV, ADAPTER, "GET /accounts/137800356/state", REQUEST),
    Arrow(18, ADAPTER, BACKEND, "trader, accounts, positions (simulated)", STEP),
    Arrow(19, BACKEND, ADAPTER, "results (simulated)", STEP),
    Arrow(21, TV, TV, "show Demo account 137800356: balance 10000", STEP),
]
"""A run's kinds of arrow, with its longest labels (the 11th was cut off at the right edge)."""


def shown_diagram(qtbot: QtBot, width: int) -> SequenceDiagram:
    diagram = SequenceDiagram()
    qtbot.addWidget(diagram)
    diagram.resize(width, 500)
    diagram.show()
    qtbot.waitExposed(diagram)
    return diagram


def label_of(item: ArrowItem) -> QGraphicsSimpleTextItem:
    """The one text drawn with an arrow, however deep among its children."""
    found: list[QGraphicsSimpleTextItem] = []
    children = list(item.childItems())
    while children:
        child = children.pop()
        if isinstance(child, QGraphicsSimpleTextItem):
            found.append(child)
        children += child.childItems()
    assert len(found) == 1, [text.text() for text in found]
    return found[0]


def lifelines(diagram: SequenceDiagram) -> dict[Actor, float]:
    xs = sorted(
        item.line().x1() for item in diagram.scene().items() if isinstance(item, QGraphicsLineItem)
    )
    assert len(xs) == len(ACTORS)
    return dict(zip(ACTORS, xs, strict=True))


def on_screen_pixels(diagram: SequenceDiagram) -> float:
    """How tall the labels' type is where the view shows it."""
    label = label_of(diagram.arrow_items()[0])
    return QFontInfo(label.font()).pixelSize() * diagram.transform().m11()


@pytest.mark.parametrize("presenting", [False, True])
@pytest.mark.parametrize("width", [340, 560, 900])
def test_every_label_is_drawn_whole_and_in_its_place(
    qtbot: QtBot, width: int, presenting: bool
) -> None:
    """Inside the diagram and the view, never cut short, never over another label; across a
    lifeline only for a word too long to fit between them (on a line of its own)."""
    diagram = shown_diagram(qtbot, width)
    diagram.set_presenting(presenting)
    for arrow in RUN:
        diagram.add(arrow)
    lines = lifelines(diagram)
    shown = diagram.viewport().rect()
    items = diagram.arrow_items()
    assert sorted(item.arrow.label for item in items) == sorted(arrow.label for arrow in RUN)
    cut, crossing = [], []
    boxes = []
    for item in items:
        arrow, label = item.arrow, label_of(item)
        assert "".join(label.text().split()) == "".join(arrow.label.split()), label.text()
        box = label.sceneBoundingRect()
        boxes.append(box)
        on_screen = diagram.mapFromScene(box).boundingRect()
        inside_view = (
            shown.left() - 1 <= on_screen.left() and on_screen.right() <= shown.right() + 1
        )
        if not diagram.sceneRect().contains(box) or not inside_view:
            cut.append(arrow.label)
        if arrow.source is arrow.target:  # a step inside one actor
            crosses = any(box.left() < x < box.right() for x in lines.values())
        else:
            low, high = sorted((lines[arrow.source], lines[arrow.target]))
            crosses = box.left() < low or box.right() > high
        if crosses and all(" " in line for line in label.text().split("\n")):
            crossing.append(arrow.label)
    assert cut == []
    assert crossing == []
    overlapping = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.intersects(b)]
    assert overlapping == []


def test_the_png_handout_holds_every_label_whole_and_leaves_the_view_as_it_was(
    qtbot: QtBot, tmp_path: Path
) -> None:
    diagram = shown_diagram(qtbot, 560)
    for arrow in RUN:
        diagram.add(arrow)

    def placed() -> list[tuple[str, float, float]]:
        return [
            (item.arrow.label, label_of(item).scenePos().x(), label_of(item).scenePos().y())
            for item in diagram.arrow_items()
        ]

    before = placed()
    path = tmp_path / "flow.png"
    assert diagram.save_png(path)
    assert placed() == before
    image = QImage(str(path))
    assert not image.isNull()
    white = QColor("#ffffff").rgb()
    width, height = image.width(), image.height()
    edges = [(x, y) for x in (0, 1, width - 2, width - 1) for y in range(height)]
    edges += [(x, y) for x in range(width) for y in (height - 2, height - 1)]
    touching = [(x, y) for x, y in edges if image.pixel(x, y) != white]
    assert touching == [], f"{len(touching)} pixels drawn at the edge, such as {touching[:3]}"


@pytest.mark.parametrize("width", [400, 700])
def test_present_mode_enlarges_the_labels_on_screen(qtbot: QtBot, width: int) -> None:
    diagram = shown_diagram(qtbot, width)
    for arrow in RUN:
        diagram.add(arrow)
    normal = on_screen_pixels(diagram)
    assert normal >= QFontInfo(diagram.font()).pixelSize()  # never shrunk to fit
    diagram.set_presenting(True)
    assert on_screen_pixels(diagram) >= 1.4 * normal
    diagram.set_presenting(False)
    assert on_screen_pixels(diagram) == normal


def test_the_view_follows_the_newest_row_through_resizes_and_present_mode(qtbot: QtBot) -> None:
    diagram = shown_diagram(qtbot, 560)
    for arrow in RUN * 3:
        diagram.add(arrow)
    bar = diagram.verticalScrollBar()
    assert 0 < bar.value() == bar.maximum()
    diagram.set_presenting(True)
    assert bar.value() == bar.maximum()
    diagram.resize(560, 300)  # Present mode's larger narration takes height from the diagram
    assert bar.value() == bar.maximum()
    bar.setValue(0)  # scrolled back to read the start: it stays there
    diagram.set_presenting(False)
    assert bar.value() == 0
