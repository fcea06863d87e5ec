"""The application icon in the freedesktop hicolor layout, rendered from resources/icons/app.svg.

The PNGs are made at build time with Qt's own SVG renderer (the one the console draws the
icon with), not kept in git: one source picture, no binaries to fall out of step with it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
SOURCE = Path(__file__).resolve().parents[2] / "resources" / "icons" / "app.svg"


def render(target: Path, app_id: str) -> list[Path]:
    """`target`/hicolor/NxN/apps/APP_ID.png for each size, and scalable/apps/APP_ID.svg."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    application = QGuiApplication.instance() or QGuiApplication(["render-icons"])
    assert application is not None  # alive until the end: QPainter needs it
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise RuntimeError(f"Qt cannot read {SOURCE}")
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = target / "hicolor" / f"{size}x{size}" / "apps" / f"{app_id}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path)):
            raise RuntimeError(f"cannot write {path}")
        written.append(path)
    scalable = target / "hicolor" / "scalable" / "apps" / f"{app_id}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, scalable)
    return [*written, scalable]
