"""A flame graph of one profiled request, drawn with QPainter.

The whole request is the top bar; each function is a bar under the one that
called it, as wide as its share of the time, callees left to right by time
spent. The user's own code is in the accent colour, libraries and the standard
library in grey. Hover for the numbers; click a bar of the user's code to open
its file at the function's line.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from inspector.inside import ProfileNode

from . import theme
from .timeline import fmt_ms

ROW = 20  # pixels per level


class FlameGraph(QWidget):
    frame_clicked = Signal(str, int)  # file, line of a bar of the user's code

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root: ProfileNode | None = None
        self._bars: list[tuple[QRectF, ProfileNode]] = []
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_profile(self, root: ProfileNode | None) -> None:
        self.root = root
        self.updateGeometry()
        self.update()

    def depth(self) -> int:
        def deepest(node: ProfileNode) -> int:
            return 1 + max((deepest(c) for c in node.children), default=0)
        return deepest(self.root) if self.root is not None else 0

    def sizeHint(self) -> QSize:
        return QSize(600, max(self.depth(), 1) * ROW + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, max(self.depth(), 1) * ROW + 4)

    # -- drawing ----------------------------------------------------------------------------
    def paintEvent(self, _event: QPaintEvent) -> None:
        self._bars = []
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if self.root is None or self.root.total <= 0:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "No profile: App ▸ Profile the next request, then send one.")
            return
        self._draw(painter, self.root, 0.0, float(self.width()), 0)

    def _draw(self, painter: QPainter, node: ProfileNode, x: float, width: float,
              level: int) -> None:
        if width < 1:
            return
        rect = QRectF(x, level * ROW, width, ROW - 1)
        self._bars.append((rect, node))
        painter.fillRect(rect, self._colour(node, level))
        painter.setPen(QPen(self.palette().base().color()))
        painter.drawLine(QPointF(rect.right(), rect.top()), QPointF(rect.right(), rect.bottom()))
        if width > 30:
            painter.setPen(self._text_colour(node, level))
            label = QFontMetrics(painter.font()).elidedText(
                node.name, Qt.TextElideMode.ElideRight, int(width) - 6)
            painter.drawText(rect.adjusted(3, 0, -3, 0),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
        scale = width / node.total if node.total > 0 else 0.0
        offset = x
        for child in node.children:
            share = child.total * scale
            self._draw(painter, child, offset, share, level + 1)
            offset += share

    def _colour(self, node: ProfileNode, level: int) -> QColor:
        if level == 0:
            return self.palette().mid().color()
        if node.user:
            colour = QColor(theme.accent_color())
            colour.setAlpha(150 + 40 * (level % 3))
            return colour
        grey = 150 + 25 * (level % 3)
        return QColor(grey - 60, grey - 60, grey - 50) if theme.is_dark() else \
            QColor(grey + 40, grey + 40, grey + 45)

    def _text_colour(self, node: ProfileNode, level: int) -> QColor:
        if node.user and level:
            return QColor("#ffffff") if not theme.is_dark() else QColor("#0b1220")
        return self.palette().text().color()

    # -- the mouse ---------------------------------------------------------------------------
    def bar_at(self, x: float, y: float) -> ProfileNode | None:
        for rect, node in self._bars:
            if rect.contains(x, y):
                return node
        return None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        node = self.bar_at(event.position().x(), event.position().y())
        if node is None or self.root is None:
            QToolTip.hideText()
            return
        share = node.total / self.root.total * 100 if self.root.total else 0.0
        where = f"\n{node.file}:{node.line}" if node.file else ""
        QToolTip.showText(event.globalPosition().toPoint(),
                          f"{node.name}{where}\n{fmt_ms(node.total)} ({share:.1f}%), own "
                          f"{fmt_ms(node.own)}, {node.calls} call{'s' if node.calls != 1 else ''}"
                          + ("\nyour code: click to open" if node.user else ""), self)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        node = self.bar_at(event.position().x(), event.position().y())
        if node is not None and node.user and node.file:
            self.frame_clicked.emit(node.file, node.line)
