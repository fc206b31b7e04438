"""Render resources/icons/wsgi-inspector.svg to the PNG sizes the window and desktops use.

Run after changing the SVG: ``.venv/bin/python packaging/render_icons.py``. The PNGs
are kept in the repository, so neither the window nor the frozen app needs Qt's SVG
module at run time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - QImage painting needs one
    renderer = QSvgRenderer(str(ICONS / "wsgi-inspector.svg"))
    if not renderer.isValid():
        print("render_icons: the SVG cannot be read.", file=sys.stderr)
        return 1
    for size in SIZES:
        target = ICONS / f"wsgi-inspector-{size}.png"
        if not render(renderer, size).save(str(target), "PNG"):
            print(f"render_icons: cannot write {target}.", file=sys.stderr)
            return 1
    print(f"rendered {len(SIZES)} sizes into {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
