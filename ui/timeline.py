"""The phase timeline of one exchange, painted with QPainter.

received → app_called → start_response → chunks → closed (or error), drawn
on one time axis with a labelled marker per phase and a tick per chunk.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.model import Exchange

from . import theme
from .body_text import plural

LABELS = {"received": "received", "app_called": "app called",
          "start_response": "start_response", "chunk": "first chunk", "closed": "closed",
          "error": "error"}
SEGMENTS = (  # (from phase, to phase, what the time is spent on)
    ("received", "app_called", "#9ca3af"),
    ("app_called", "start_response", "#3b82f6"),
    ("start_response", "closed", "#22a06b"),
)


def fmt_ms(t: float) -> str:
    ms = t * 1000
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{t:.2f} s"


class TimelineWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.exchange: Exchange | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.sizeHint().height())

    def sizeHint(self) -> QSize:
        line = QFontMetrics(self.font()).height()
        return QSize(420, 32 + line * (len(LABELS) + 2))  # + the pause note's line

    def set_exchange(self, exchange: Exchange | None) -> None:
        self.exchange = exchange
        self.setToolTip(self.describe())
        self.update()

    def markers(self) -> list[tuple[str, float]]:
        """(label, t) for every phase, in time order; chunks after the first are ticks."""
        x = self.exchange
        if x is None:
            return []
        seen: set[str] = set()
        out = []
        for phase in x.phases:
            if phase.name in seen or phase.name not in LABELS:
                continue
            seen.add(phase.name)
            out.append((LABELS[phase.name], phase.t))
        if len(x.chunks) > 1:
            out.append((f"{plural(len(x.chunks), 'chunk')}, last", x.chunks[-1].t))
        return sorted(out, key=lambda m: m[1])

    def describe(self) -> str:
        text = "  →  ".join(f"{label} {fmt_ms(t)}" for label, t in self.markers())
        note = self.pause_note()
        return f"{text}\n{note}" if note else text

    def pause_note(self) -> str:
        """The phases' times are the clock's: time the request waited on you while
        stepping is in them, and said apart here (it is not the app's)."""
        x = self.exchange
        if x is None or x.paused_time <= 0:
            return ""
        app = f"; the app and server took {fmt_ms(x.app_duration)}" \
            if x.app_duration is not None and x.duration is not None else ""
        paused = fmt_ms(x.paused_time)
        return f"{theme.pause_glyph()} {paused} of this was paused by you while stepping{app}."

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        fm = QFontMetrics(self.font())
        markers = self.markers()
        margin = 12
        bar = QRectF(margin, 8, max(10, self.width() - 2 * margin), 12)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color(QPalette.ColorRole.Mid))
        painter.drawRoundedRect(bar, 4, 4)
        if not markers:
            painter.setPen(text_colour)
            painter.drawText(QPointF(margin, bar.bottom() + fm.height() + 4),
                             "No exchange selected.")
            return
        x = self.exchange
        assert x is not None
        end = max([x.duration or 0.0] + [t for _, t in markers]) or 1e-6

        def pos(t: float) -> float:
            return bar.left() + bar.width() * max(0.0, min(1.0, t / end))

        times = {p.name: p.t for p in reversed(x.phases)}
        if "closed" not in times and x.duration is not None:
            times["closed"] = x.duration
        for start_name, end_name, colour in SEGMENTS:
            if start_name in times and end_name in times:
                left, right = pos(times[start_name]), pos(times[end_name])
                painter.setBrush(QColor(colour))
                painter.drawRoundedRect(QRectF(left, bar.top(), max(2.0, right - left),
                                               bar.height()), 3, 3)
        # chunk ticks
        painter.setPen(QPen(text_colour, 1))
        for chunk in x.chunks[:500]:
            cx = pos(chunk.t)
            painter.drawLine(QPointF(cx, bar.top() - 3), QPointF(cx, bar.bottom() + 3))
        # markers and labels, each label on the first row where it does not overlap;
        # leader lines first, then the labels on a background so no line crosses a text
        rows: list[float] = []  # right edge of the last label on each row
        line = fm.height()
        placed = []
        for label, t in markers:
            mx = pos(t)
            text = f"{label} {fmt_ms(t)}"
            width = fm.horizontalAdvance(text)
            left = min(max(mx - 4, margin), self.width() - margin - width)
            row = next((i for i, right in enumerate(rows) if left > right + 10), len(rows))
            if row == len(rows):
                rows.append(0.0)
            rows[row] = left + width
            baseline = bar.bottom() + 8 + line * (row + 1) - fm.descent()
            placed.append((label, mx, text, left, width, baseline))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        for _label, mx, _text, _left, _width, baseline in placed:
            painter.drawLine(QPointF(mx, bar.bottom() + 2),
                             QPointF(mx, baseline - fm.ascent() + 1))
        background = palette.color(QPalette.ColorRole.Window)
        for label, mx, text, left, width, baseline in placed:
            colour = theme.severity_color("error") if label == "error" else text_colour
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(mx, bar.center().y()), 4.5, 4.5)
            painter.setBrush(background)
            painter.drawRect(QRectF(left - 2, baseline - fm.ascent(), width + 4, fm.height()))
            painter.setPen(colour)
            painter.drawText(QPointF(left, baseline), text)
        note = self.pause_note()
        if note:
            bottom = max(b for *_rest, b in placed) + line
            painter.setPen(theme.severity_color("warning"))
            painter.drawText(QPointF(margin, bottom), note)
