"""The flow view: the path of one request through the WSGI call, as connected nodes.

The request goes down the left column, from the browser through waitress and
``environ`` into ``app(environ, start_response)``; the answer comes back up
the right column, from ``start_response(status, headers)`` through the body
chunks and ``close()`` to the browser. Each node says what passed there, each
arrow how long it took. A paused request's node is highlighted, edited nodes
carry a tag, and clicking a node shows that phase's data (and the diff of
your edits) below the diagram.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Property, QPointF, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from inspector.host.terminal import inert
from inspector.inside import summary_line
from inspector.model import Exchange

from . import desktop, theme
from .body_text import plural
from .edits import edits_html
from .exchange_model import human_size
from .panes.request import request_headers
from .panes.widgets import hexdump, is_probably_text
from .resources import phase_text
from .timeline import fmt_ms

TITLE = "A WSGI app is just a function: app(environ, start_response) → iterable of bytes"
SUBTITLE = "The request goes down into the app, the answer comes back up. Click a step."
ORDER = ("browser", "server", "environ", "app", "start_response", "body", "close", "back")
PLACES = {  # key -> (column, row)
    "browser": (0, 0), "server": (0, 1), "environ": (0, 2), "app": (0, 3),
    "start_response": (1, 3), "body": (1, 2), "close": (1, 1), "back": (1, 0),
}
PAUSED_NODE = {"received": "environ", "start_response": "start_response", "chunk": "body",
               "closed": "close"}
EDITED_NODE = {"received": "environ", "start_response": "start_response", "chunk": "body"}
ERROR_NODE = {"app_called": "app", "start_response": "start_response", "chunk": "body",
              "closed": "close"}
LEARN_KEY = {"browser": "browser", "server": "server", "environ": "received",
             "app": "app_called", "start_response": "start_response", "body": "chunk",
             "close": "closed", "back": "back"}
CODE_TITLES = frozenset({"environ", "app", "start_response", "body", "close"})
PREVIEW = 2048  # bytes of a chunk shown in the detail
TIMES, DASH = "\u00d7", "\u2013"  # multiplication sign, en dash


@dataclass
class FlowNode:
    key: str
    title: str
    label: str  # what passed here
    t: float | None = None  # when it was reached (seconds since the exchange began)
    t_out: float | None = None  # when it was left, if later (the last chunk)
    state: str = "pending"  # done, current (paused here), pending, error
    edited: bool = False
    edge: str = ""  # the arrow into this node, when not a time: "HTTP", "parsed"


def flow_nodes(x: Exchange | None) -> list[FlowNode]:
    """The eight nodes of an exchange's path, in the order the request passes them."""
    if x is None:
        return []
    pause = x.pause if x.paused else None
    reached = {p.name: p.t for p in reversed(x.phases)}  # first time of each phase
    ended = x.state != "active" and not x.paused
    target = x.path + (f"?{x.query}" if x.query else "")
    headers = sum(1 for k in x.environ if k.startswith("HTTP_"))
    body = f" · {human_size(x.request_size)} body" if x.request_size else ""
    nodes = [
        FlowNode("browser", "Browser", f"{x.method} {target}".strip(), 0.0, state="done"),
        FlowNode("server", "waitress", f"HTTP parsed · {headers} header"
                 f"{'s' * (headers != 1)}{body}", 0.0, state="done", edge="HTTP request"),
        FlowNode("environ", "environ", f"{plural(len(x.environ), 'key')}, a dict", 0.0,
                 state="done", edge="builds"),
    ]
    app_t = reached.get("app_called")
    not_called = "not called: waitress answered on its own" if x.server_only \
        else "not called yet"
    inside = summary_line(x)  # the ORM's queries, the templates, the calls out
    nodes.append(FlowNode("app", "app(environ, start_response)",
                          (f"called · {inside}" if inside else "called") if app_t is not None
                          else not_called, app_t,
                          state="done" if app_t is not None else "pending"))

    if x.paused == "start_response" and pause is not None:
        count = len(pause.get("headers") or [])
        sr = FlowNode("start_response", "start_response(status, headers)",
                      f"{pause.get('status', '')} · {count} header{'s' * (count != 1)}",
                      pause.get("t"))
    elif x.start_response:
        call = x.start_response[-1]
        count = len(call.headers)
        calls = f" · called {len(x.start_response)}{TIMES}" if len(x.start_response) > 1 else ""
        sr = FlowNode("start_response", "start_response(status, headers)",
                      f"{call.status} · {count} header{'s' * (count != 1)}{calls}",
                      x.start_response[0].t, state="done")
    else:
        sr = FlowNode("start_response", "start_response(status, headers)",
                      "never called" if ended else "not called yet")
    nodes.append(sr)

    chunks = x.chunks
    sizes = [c.size for c in chunks]
    if x.paused == "chunk" and pause is not None:
        index = int(pause.get("index") or len(chunks) + 1)
        data = pause.get("data") or b""
        sent = f" · {len(chunks)} sent" if chunks else ""
        body_node = FlowNode("body", f"chunk {index}", f"{len(data)} B waiting{sent}",
                             chunks[0].t if chunks else pause.get("t"), pause.get("t"))
    elif x.file_wrapper:
        body_node = FlowNode("body", "wsgi.file_wrapper",
                             f"{human_size(x.sent_size)} sent by the server",
                             reached.get("file_wrapper"), state="done")
    elif len(chunks) == 1:
        body_node = FlowNode("body", "chunk 1", f"{sizes[0]} B", chunks[0].t, state="done")
    elif chunks:
        spread = f"{min(sizes)}{DASH}{max(sizes)} B each" if min(sizes) != max(sizes) \
            else f"{sizes[0]} B each"
        body_node = FlowNode("body", f"chunks {TIMES}{len(chunks)}",
                             f"{human_size(sum(sizes))} · {spread}", chunks[0].t, chunks[-1].t,
                             state="done")
    else:
        none = "no chunk: the process died" if x.client_dropped else "no chunk: an empty body"
        body_node = FlowNode("body", "body chunks", none if ended else "none yet")
        if ended:
            body_node.state = "done"
    nodes.append(body_node)

    closed_t = reached.get("closed")
    if closed_t is not None:
        close = FlowNode("close", "close()", "called by the server", closed_t, state="done")
    else:
        close = FlowNode("close", "close()", "never called" if ended else "not yet")
    nodes.append(close)

    if ended:
        back = FlowNode("back", "Browser", _client_got(x), x.duration, state="done")
    else:
        back = FlowNode("back", "Browser", "waiting for the answer…")
    nodes.append(back)

    by_key = {n.key: n for n in nodes}
    if x.server_only:
        _server_answered(x, by_key)
    if x.paused in PAUSED_NODE:
        by_key[PAUSED_NODE[x.paused]].state = "current"
    for edit in x.edits:
        key = EDITED_NODE.get(edit.phase)
        if key:
            by_key[key].edited = True
    if x.error is not None:
        node = by_key[ERROR_NODE.get(x.error.phase, "app")]
        node.state = "error"
        node.label = error_label(x)
    return nodes


def _server_answered(x: Exchange, by_key: dict[str, FlowNode]) -> None:
    """waitress refused the request and answered itself: the app side never ran."""
    by_key["browser"].label = inert(x.request_line) or "(malformed request)"
    by_key["server"].label = "refused the request: answered on its own"
    for key, label in (("environ", "none: the app was not called"),
                       ("body", "none from the app")):
        by_key[key].label, by_key[key].state, by_key[key].t = label, "pending", None


def _client_got(x: Exchange) -> str:
    """What the browser got, as the wire had it: a died process sent no reply."""
    if x.client_dropped and not x.status:
        return "no reply: the connection dropped"
    status = x.status or ("500 (from the server)" if x.error else "no status")
    got = f"{status} · {human_size(x.client_size)} received"
    return f"{got}, then the connection dropped" if x.client_dropped else got


def error_label(x: Exchange) -> str:
    """The error node's short label: a handled exception was raised and caught by the
    app (it answered anyway); a died process raised nothing."""
    e = x.error
    assert e is not None
    if e.handled or e.phase == "handled":
        return f"caught and logged {e.type}"
    if x.client_dropped:
        return "process died"
    return f"raised {e.type}"


def _error_sentence(x: Exchange) -> str:
    e = x.error
    assert e is not None
    what = f"<b>{html.escape(e.type)}: {html.escape(e.message)}</b>"
    if e.handled or e.phase == "handled":
        return (f"The app raised {what}, caught it and logged the traceback, then answered "
                f"<b>{html.escape(x.status or 'nothing')}</b>")
    if x.client_dropped:
        return f"{html.escape(e.message)} The client got no reply"
    return f"The app raised {what}"


def edge_text(prev: FlowNode, node: FlowNode) -> str:
    """The arrow's label: what happened, or the time it took."""
    if node.edge:
        return node.edge
    if node.state == "pending" or node.t is None:
        return ""
    start = prev.t_out if prev.t_out is not None else prev.t
    if start is None:
        return ""
    return "+" + fmt_ms(max(0.0, node.t - start))


class FlowView(QWidget):
    """The diagram; ``current_node`` is the paused node's key ("" when not paused)."""

    node_clicked = Signal(str)

    MARGIN = 12
    GAP_V = 34
    MIN_COL = 214
    MAX_COL = 300
    MIN_SCALE = 0.5  # smaller than this, the diagram scrolls rather than shrinks

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.exchange: Exchange | None = None
        self.nodes: list[FlowNode] = []
        self._selected = ""
        self._rects: dict[str, QRectF] = {}
        self._font_key = ""
        self._font_cache: tuple[QFont, QFont, QFont, QFont] = (QFont(), QFont(), QFont(), QFont())
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)

    # -- data ------------------------------------------------------------------------
    def set_exchange(self, x: Exchange | None) -> None:
        same = self.exchange is not None and x is not None and self.exchange.id == x.id
        self.exchange = x
        self.nodes = flow_nodes(x)
        # Another exchange, or the pause moved on: select the paused node (if any).
        if not same or self._selected not in ORDER or self.current_node:
            self._selected = self.current_node
        self.setToolTip(self.describe())
        self.updateGeometry()
        self.update()

    def get_current_node(self) -> str:
        return next((n.key for n in self.nodes if n.state == "current"), "")

    current_node = Property(str, get_current_node)

    @property
    def selected_node(self) -> str:
        return self._selected

    def select_node(self, key: str) -> None:
        if key in ORDER and key != self._selected:
            self._selected = key
            self.update()
        self.node_clicked.emit(key)

    def node(self, key: str) -> FlowNode | None:
        return next((n for n in self.nodes if n.key == key), None)

    def node_labels(self) -> list[tuple[str, str]]:
        """``(title, label)`` of every node, in path order."""
        return [(n.title, n.label) for n in self.nodes]

    def describe(self) -> str:
        return "  →  ".join(f"{n.title}: {n.label}" for n in self.nodes)

    # -- geometry ----------------------------------------------------------------------
    def _fonts(self) -> tuple[QFont, QFont, QFont, QFont]:
        """Title, code, label and small fonts, made once per widget font."""
        base = self.font()
        key = base.key()
        if self._font_key != key:
            title = QFont(base)
            title.setBold(True)
            code = QFont(theme.mono_font())
            code.setPointSizeF(base.pointSizeF())
            code.setBold(True)
            small = QFont(base)
            small.setPointSizeF(max(7.0, base.pointSizeF() * 0.86))
            self._font_cache = (title, code, base, small)
            self._font_key = key
        return self._font_cache

    def _node_height(self) -> int:
        title, code, base, _small = self._fonts()
        line = max(QFontMetrics(title).height(), QFontMetrics(code).height())
        return line + QFontMetrics(base).height() + 16

    def _gap_h(self) -> int:
        small = self._fonts()[3]
        return max(92, QFontMetrics(small).horizontalAdvance("+999.9 ms") + 28)

    def _header_height(self, width: int) -> int:
        title, _code, _base, small = self._fonts()
        rect = QRectF(0, 0, max(100, width - 2 * self.MARGIN), 1000)
        fm = QFontMetrics(title)
        title_h = fm.boundingRect(rect.toRect(), int(Qt.TextFlag.TextWordWrap), TITLE).height()
        sub = QFontMetrics(small)
        sub_h = sub.boundingRect(rect.toRect(), int(Qt.TextFlag.TextWordWrap), SUBTITLE).height()
        return self.MARGIN + title_h + 4 + sub_h + 10 + sub.height() + 6

    def _min_width(self) -> int:
        return 2 * self.MIN_COL + self._gap_h() + 2 * self.MARGIN

    def sizeHint(self) -> QSize:
        width = max(self._min_width(), 2 * self.MAX_COL + self._gap_h() + 2 * self.MARGIN)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        """Half the natural size: below its natural size the diagram scales down."""
        width = self._min_width()
        return QSize(int(width * self.MIN_SCALE),
                     int(self.heightForWidth(width) * self.MIN_SCALE))

    def hasHeightForWidth(self) -> bool:
        return False  # it fits any height by scaling (heightForWidth: its natural height)

    def scale(self) -> float:
        """How much the diagram is shrunk to fit the widget (1: its natural size)."""
        width = max(self.width(), self._min_width())
        fit = min(self.width() / width, self.height() / max(1, self.heightForWidth(width)))
        return max(self.MIN_SCALE, min(1.0, fit))

    def _layout_width(self) -> float:
        return max(self.width() / self.scale(), self._min_width())

    def heightForWidth(self, width: int) -> int:
        return self._header_height(width) + 4 * self._node_height() + 3 * self.GAP_V \
            + self.MARGIN + 8

    def layout_nodes(self) -> dict[str, QRectF]:
        """Where each node is on the widget (the diagram scaled to fit)."""
        scale = self.scale()
        return {key: QRectF(r.x() * scale, r.y() * scale, r.width() * scale,
                            r.height() * scale) for key, r in self._diagram_rects().items()}

    def _diagram_rects(self) -> dict[str, QRectF]:
        """Where each node is drawn, in the diagram's own (unscaled) coordinates."""
        width = self._layout_width()
        gap = self._gap_h()
        col = max(self.MIN_COL, min(self.MAX_COL, (width - 2 * self.MARGIN - gap) // 2))
        left = max(self.MARGIN, (width - 2 * col - gap) / 2)
        top = self._header_height(width) + 8
        height = self._node_height()
        rects = {}
        for key, (column, row) in PLACES.items():
            x = left + column * (col + gap)
            y = top + row * (height + self.GAP_V)
            rects[key] = QRectF(x, y, col, height)
        return rects

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        title_font, code_font, base_font, small_font = self._fonts()
        scale = self.scale()
        painter.scale(scale, scale)
        width = self._layout_width()

        # The lesson, as the title.
        painter.setPen(text)
        painter.setFont(title_font)
        area = QRectF(self.MARGIN, self.MARGIN, width - 2 * self.MARGIN, 1000)
        flags = int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft
                    | Qt.AlignmentFlag.AlignTop)
        used = painter.boundingRect(area, flags, TITLE)
        painter.drawText(area, flags, TITLE)
        painter.setFont(small_font)
        painter.setPen(muted)
        sub_area = QRectF(area.left(), used.bottom() + 4, area.width(), 1000)
        painter.drawText(sub_area, flags, SUBTITLE)

        self._rects = rects = self._diagram_rects()
        if not self.nodes:
            painter.setFont(base_font)
            painter.drawText(QPointF(self.MARGIN, rects["browser"].top() + 16),
                             "Select an exchange to see its path through the WSGI call.")
            return

        # Column captions.
        painter.setFont(small_font)
        painter.setPen(muted)
        small_h = QFontMetrics(small_font).height()
        for key, caption in (("browser", "the request ↓"), ("back", "↑ the response")):
            rect = rects[key]
            painter.drawText(QRectF(rect.left(), rect.top() - small_h - 12, rect.width(),
                                    small_h), int(Qt.AlignmentFlag.AlignLeft), caption)

        # Arrows first, nodes over them.
        by_key = {n.key: n for n in self.nodes}
        for prev_key, key in zip(ORDER, ORDER[1:]):
            self._paint_arrow(painter, rects[prev_key], rects[key], by_key[prev_key],
                              by_key[key], small_font)
        for node in self.nodes:
            self._paint_node(painter, rects[node.key], node, title_font, code_font,
                             base_font, small_font)

    def _paint_arrow(self, painter: QPainter, a: QRectF, b: QRectF, prev: FlowNode,
                     node: FlowNode, font: QFont) -> None:
        palette = self.palette()
        pending = node.state == "pending"
        colour = QColor(palette.color(QPalette.ColorRole.WindowText))
        colour.setAlphaF(0.35 if pending else 0.75)
        pen = QPen(colour, 1.4)
        if pending:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        if abs(a.center().y() - b.center().y()) < 1:  # the bottom row: app → start_response
            start = QPointF(a.right(), a.center().y())
            end = QPointF(b.left(), b.center().y())
        elif b.top() > a.top():  # down the left column
            start = QPointF(a.center().x(), a.bottom())
            end = QPointF(b.center().x(), b.top())
        else:  # up the right column
            start = QPointF(a.center().x(), a.top())
            end = QPointF(b.center().x(), b.bottom())
        painter.drawLine(start, end)
        self._arrow_head(painter, start, end, colour)
        label = edge_text(prev, node)
        if not label:
            return
        painter.setFont(font)
        fm = QFontMetrics(font)
        text_colour = palette.color(QPalette.ColorRole.PlaceholderText if pending
                                    else QPalette.ColorRole.WindowText)
        painter.setPen(text_colour)
        w = fm.horizontalAdvance(label)
        if start.y() == end.y():
            point = QPointF((start.x() + end.x() - w) / 2, start.y() - 6)
        else:
            point = QPointF(start.x() - w - 8, (start.y() + end.y()) / 2 + fm.ascent() / 2 - 1)
        painter.drawText(point, label)

    @staticmethod
    def _arrow_head(painter: QPainter, start: QPointF, end: QPointF, colour: QColor) -> None:
        dx, dy = end.x() - start.x(), end.y() - start.y()
        length = max(1e-6, (dx * dx + dy * dy) ** 0.5)
        ux, uy = dx / length, dy / length
        size, half = 7.0, 7.0 * 0.55
        back = QPointF(end.x() - ux * size, end.y() - uy * size)
        left = QPointF(back.x() - uy * half, back.y() + ux * half)
        right = QPointF(back.x() + uy * half, back.y() - ux * half)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawPolygon(QPolygonF([end, left, right]))
        painter.restore()

    def _paint_node(self, painter: QPainter, rect: QRectF, node: FlowNode, title_font: QFont,
                    code_font: QFont, base_font: QFont, small_font: QFont) -> None:
        palette = self.palette()
        role = QPalette.ColorRole
        fill = palette.color(role.Base)
        border = QColor(palette.color(role.WindowText))
        border.setAlphaF(0.45)
        title_colour = palette.color(role.Text)
        label_colour = QColor(palette.color(role.Text))
        pen_style = Qt.PenStyle.SolidLine
        if node.state == "current":
            fill = palette.color(role.Highlight)
            border = palette.color(role.Highlight).darker(140) if not theme.is_dark(palette) \
                else palette.color(role.Highlight).lighter(150)
            title_colour = label_colour = palette.color(role.HighlightedText)
        elif node.state == "pending":
            fill = palette.color(role.Window)
            title_colour = label_colour = palette.color(role.PlaceholderText)
            border.setAlphaF(0.35)
            pen_style = Qt.PenStyle.DashLine
        elif node.state == "error":
            border = theme.severity_color("error", palette)
        if node.key == self._selected:
            outline = QColor(palette.color(role.Highlight))
            if node.state == "current":
                outline = palette.color(role.WindowText)
            painter.setPen(QPen(outline, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-4, -4, 4, 4), 9, 9)
        pen = QPen(border, 2 if node.state in ("current", "error") else 1.2)
        pen.setStyle(pen_style)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 6, 6)

        pad = 10
        font = code_font if node.key in CODE_TITLES else title_font
        fm = QFontMetrics(font)
        inner = rect.width() - 2 * pad
        painter.setFont(font)
        painter.setPen(title_colour)
        painter.drawText(QPointF(rect.left() + pad, rect.top() + 7 + fm.ascent()),
                         fm.elidedText(node.title, Qt.TextElideMode.ElideRight, int(inner)))
        bfm = QFontMetrics(base_font)
        painter.setFont(base_font)
        if node.state == "error":
            label_colour = theme.severity_color("error", palette)
        elif node.state == "done":
            label_colour.setAlphaF(0.8)
        painter.setPen(label_colour)
        painter.drawText(QPointF(rect.left() + pad, rect.top() + 9 + fm.height() + bfm.ascent()),
                         bfm.elidedText(node.label, Qt.TextElideMode.ElideRight, int(inner)))

        # Tags straddling the top edge, from the right: paused, edited, error.
        tags = []
        if node.state == "current":
            tags.append((f"{theme.pause_glyph()} paused", palette.color(role.Highlight),
                         palette.color(role.HighlightedText)))
        if node.edited:
            colour = theme.severity_color("warning", palette)
            tags.append(("✎ edited", colour, _readable_on(colour)))
        if node.state == "error":
            colour = theme.severity_color("error", palette)
            tags.append(("✖ error", colour, _readable_on(colour)))
        sfm = QFontMetrics(small_font)
        right = rect.right() - 8
        painter.setFont(small_font)
        for text, background, foreground in tags:
            w = sfm.horizontalAdvance(text) + 12
            h = sfm.height() + 2
            tag = QRectF(right - w, rect.top() - h / 2, w, h)
            path = QPainterPath()
            path.addRoundedRect(tag, h / 2, h / 2)
            painter.setPen(QPen(palette.color(role.Window), 1.5))
            painter.setBrush(background)
            painter.drawPath(path)
            painter.setPen(foreground)
            painter.drawText(tag, int(Qt.AlignmentFlag.AlignCenter), text)
            right = tag.left() - 4

    # -- interaction -------------------------------------------------------------------
    def node_at(self, point: QPointF) -> str:
        """The node under ``point`` (widget coordinates)."""
        for key, rect in self.layout_nodes().items():
            if rect.adjusted(-4, -4, 4, 4).contains(point):
                return key
        return ""

    def mousePressEvent(self, event: QMouseEvent) -> None:
        key = self.node_at(event.position())
        if key and self.nodes:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.select_node(key)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        over = bool(self.nodes) and bool(self.node_at(event.position()))
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Up/Left and Down/Right walk the path; Home/End jump to its ends."""
        if not self.nodes:
            return super().keyPressEvent(event)
        index = ORDER.index(self._selected) if self._selected in ORDER else -1
        key = event.key()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Right):
            index = min(len(ORDER) - 1, index + 1)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Left):
            index = max(0, index - 1)
        elif key == Qt.Key.Key_Home:
            index = 0
        elif key == Qt.Key.Key_End:
            index = len(ORDER) - 1
        else:
            return super().keyPressEvent(event)
        self.select_node(ORDER[index])
        return None


def _readable_on(colour: QColor) -> QColor:
    return QColor("#1b1b1b") if colour.lightness() > 140 else QColor("#ffffff")


# -- the detail under the diagram ----------------------------------------------------

def _table(rows: list[tuple[str, str]], mono: bool = True) -> str:
    if not rows:
        return "<p><i>(none)</i></p>"
    cells = []
    for name, value in rows:
        v = html.escape(value)
        cells.append(f"<tr><td><b>{html.escape(name)}</b></td>"
                     f"<td>{f'<code>{v}</code>' if mono else v}</td></tr>")
    return f'<table cellspacing="0" cellpadding="2">{"".join(cells)}</table>'


def _data_html(data: bytes, total: int | None = None) -> str:
    if not data:
        return "<p><i>(empty)</i></p>"
    more = ""
    if total is not None and total > len(data):
        more = f"<p><i>{len(data)} of {plural(total, 'byte')} captured.</i></p>"
    shown = data[:PREVIEW]
    if len(data) > PREVIEW:
        more += f"<p><i>First {PREVIEW} of {plural(len(data), 'byte')} shown.</i></p>"
    if is_probably_text(shown):
        body = html.escape(shown.decode("utf-8", errors="replace"))
    else:
        body = html.escape(hexdump(shown))
    return f"<pre>{body}</pre>{more}"


def chunk_pieces(x: Exchange) -> list[bytes | None]:
    """Each chunk's captured bytes (None where the capture cap cut it)."""
    out: list[bytes | None] = []
    offset = 0
    for chunk in x.chunks:
        end = offset + chunk.size
        out.append(x.response_body[offset:end] if end <= len(x.response_body) else None)
        offset = end
    return out


def learn_html(key: str) -> str:
    title, text, section, url = phase_text(LEARN_KEY.get(key, key))
    if not text:
        return ""
    link = f' — <a href="{html.escape(url)}">{html.escape(section)}</a>' if url else ""
    return (f'<p style="margin-top:10px"><b>{html.escape(title)}.</b> {html.escape(text)}'
            f"{link}</p>")


def node_detail_html(x: Exchange | None, key: str, palette: QPalette | None = None) -> str:
    """What passed at one node of the path, as HTML for the detail area."""
    if x is None:
        return ""
    node = next((n for n in flow_nodes(x) if n.key == key), None)
    if node is None:
        return "<p>Click a step of the diagram to see what passed there.</p>"
    pause = x.pause if x.paused and PAUSED_NODE.get(x.paused) == key else None
    heading = f"<h3>{html.escape(node.title)} — {html.escape(node.label)}</h3>"
    if pause is not None:
        heading += (f"<p><b>{theme.pause_glyph()} Paused here.</b> Edit it in the Step "
                    "panel below; F10 steps on, F8 runs the request to the end.</p>")
    parts = [heading]
    edits = [e for e in x.edits if EDITED_NODE.get(e.phase) == key]
    if key == "browser":
        target = x.path + (f"?{x.query}" if x.query else "")
        parts.append(f"<p><code>{html.escape(x.method)} {html.escape(target)} "
                     f"{html.escape(x.env('SERVER_PROTOCOL', 'HTTP/1.1'))}</code> "
                     f"from {html.escape(x.client)}</p>")
        parts.append(_table(request_headers(x)))
        if x.request_size:
            parts.append(f"<p>Body: {plural(x.request_size, 'byte')}.</p>")
    elif key == "server":
        parts.append(f"<p>Parsed the request line and {plural(len(request_headers(x)), 'header')}, "
                     f"buffered a {x.request_size}-byte body, and gave the request to "
                     f"worker thread <code>{html.escape(x.thread)}</code>.</p>")
    elif key == "environ":
        rows = [(k, v[0]) for k, v in sorted(x.environ.items())]
        parts.append(edits_html(edits, palette))
        before = " before your edits (above)" if edits else ""
        parts.append(f"<p>{plural(len(rows), 'key')} as waitress built them{before}; the "
                     "Environ tab says what each one means.</p>")
        parts.append(_table(rows))
    elif key == "app":
        if x.error is not None and ERROR_NODE.get(x.error.phase, "app") == "app":
            parts.append(f"<p>{_error_sentence(x)}; see Findings &amp; errors.</p>")
        elif node.t is not None:
            parts.append(f"<p><code>result = app(environ, start_response)</code> was called "
                         f"{fmt_ms(node.t)} after the request was received.</p>")
        else:
            parts.append("<p>Not called yet.</p>")
        parts.append(inside_html(x))
    elif key == "start_response":
        parts.append(edits_html(edits, palette))
        if pause is not None:
            parts.append(f"<p>The app passed <code>{html.escape(str(pause.get('status')))}"
                         "</code> and these headers (not sent yet):</p>")
            parts.append(_table([(str(n), str(v)) for n, v in pause.get("headers") or []]))
        for i, call in enumerate(x.start_response, 1):
            extra = f" (call {i}, with exc_info)" if call.exc_info else \
                f" (call {i})" if len(x.start_response) > 1 else ""
            parts.append(f"<p><code>{html.escape(str(call.status))}</code>{extra} at "
                         f"{fmt_ms(call.t)}</p>")
            parts.append(_table([(str(n), str(v)) for n, v in call.headers]))
    elif key == "body":
        parts.append(edits_html(edits, palette))
        if pause is not None:
            data = pause.get("data") or b""
            parts.append(f"<p><b>Chunk {pause.get('index')}</b>, {plural(len(data), 'byte')}, "
                         "waiting to be sent:</p>")
            parts.append(_data_html(data))
        pieces = chunk_pieces(x)
        for i, (chunk, piece) in enumerate(zip(x.chunks, pieces), 1):
            parts.append(f"<p><b>Chunk {i}</b>: {plural(chunk.size, 'byte')} at {fmt_ms(chunk.t)}"
                         f"{' via write()' if chunk.via == 'write' else ''}</p>")
            parts.append(_data_html(piece) if piece is not None
                         else "<p><i>(beyond the capture limit)</i></p>")
            if i >= 50:
                parts.append(f"<p><i>… {len(x.chunks) - 50} more chunks.</i></p>")
                break
    elif key == "close":
        parts.append(f"<p>{html.escape(node.label.capitalize())}"
                     f"{f' at {fmt_ms(node.t)}' if node.t is not None else ''}.</p>")
    elif key == "back":
        if node.state == "done":
            parts.append(f"<p><code>{html.escape(x.status or '(no status)')}</code>, "
                         f"{x.response_size} body bytes, "
                         f"{fmt_ms(x.duration or 0.0)} after the request arrived.</p>")
        else:
            parts.append("<p>The client is still waiting.</p>")
    if pause is None:  # when paused, the Step panel right below has the same Learn text
        parts.append(learn_html(key))
    return "".join(parts)


def inside_html(x: Exchange) -> str:
    """Inside the call, in the order it happened: the SQL the ORM ran, the templates
    that filled the page, the HTTP calls out (the Inside tab has them whole)."""
    steps = sorted([(q.t, "SQL", 0, " ".join(q.sql.split())) for q in x.queries]
                   + [(r.t, "template", r.depth, r.name) for r in x.templates]
                   + [(o.t, "HTTP", 0, f"{o.method} {o.url} → {o.status}") for o in x.outbound])
    if not steps:
        return ""
    rows = "".join(f"<tr><td>{fmt_ms(t)}</td><td><b>{kind}</b></td>"
                   f"<td>{'&nbsp;' * 4 * depth}<code>{html.escape(text[:140])}</code></td></tr>"
                   for t, kind, depth, text in steps[:40])
    more = f"<p><i>… and {len(steps) - 40} more.</i></p>" if len(steps) > 40 else ""
    return (f"<p>Inside the call: {html.escape(summary_line(x))}, in order (templates "
            "indented under the one that includes or extends them; the Inside tab has the "
            f"details).</p><table cellspacing='4'>{rows}</table>{more}")


class FlowPane(QWidget):
    """The Flow tab: the diagram over the selected node's detail."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = FlowView()
        self.view.node_clicked.connect(self._show_detail)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.view)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.detail.anchorClicked.connect(lambda url: desktop.open_url(QUrl(url)))
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.scroll)
        self.split.addWidget(self.detail)
        self.split.setChildrenCollapsible(False)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split)
        self.exchange: Exchange | None = None
        self._auto_fit = True  # until the user moves the splitter
        self.split.splitterMoved.connect(self._user_moved)

    def _user_moved(self, _pos: int, _index: int) -> None:
        self._auto_fit = False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    READABLE_SCALE = 0.7  # the diagram shrinks this far to give its detail room

    def _fit(self) -> None:
        """The whole diagram in view; when the detail needs more than the rest, the
        diagram shrinks (to READABLE_SCALE) so the detail shows without scrolling."""
        total = self.split.height()
        if not self._auto_fit or total <= 0:
            return
        width = self.scroll.viewport().width() or self.width()
        want = self.view.heightForWidth(max(width, self.view._min_width())) + 4
        floor = max(self.view.minimumSizeHint().height(), int(want * self.READABLE_SCALE))
        top = max(floor, min(want, total - max(100, self._detail_height())))
        self.split.blockSignals(True)
        self.split.setSizes([top, max(1, total - top)])
        self.split.blockSignals(False)

    def _detail_height(self) -> int:
        """The detail's whole text at the pane's width, with the frame around it (the
        detail is as wide as the splitter; its own size may not be laid out yet)."""
        frame = 2 * self.detail.frameWidth()
        document = self.detail.document().clone(self)
        document.setTextWidth(max(100, self.split.width() - frame))
        height = int(document.size().height()) + frame + 4
        document.deleteLater()
        return height

    def show_exchange(self, x: Exchange | None) -> None:
        self.exchange = x
        self.view.set_exchange(x)
        self._show_detail(self.view.selected_node)

    def _show_detail(self, key: str) -> None:
        if self.exchange is None:
            self.detail.setHtml("")
        elif not key:
            self.detail.setHtml("<p>Click a step of the diagram to see what passed there."
                                "</p>" + learn_html("app"))
        else:
            self.detail.setHtml(node_detail_html(self.exchange, key, self.palette()))
        self._fit()
