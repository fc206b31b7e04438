"""Overview: the request line, the status, sizes, duration and the phase timeline."""

from __future__ import annotations

import time
from http import HTTPStatus

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from inspector.model import Exchange

from .. import theme
from ..edits import edits_html
from ..exchange_model import human_duration, human_size
from ..timeline import TimelineWidget


def status_meaning(code: int | None) -> str:
    if code is None:
        return ""
    try:
        status = HTTPStatus(code)
    except ValueError:
        return {1: "Informational", 2: "Success", 3: "Redirection", 4: "Client error",
                5: "Server error"}.get(code // 100, "")
    return status.description or status.phrase


def request_line(x: Exchange) -> str:
    target = x.path + (f"?{x.query}" if x.query else "")
    return f"{x.method} {target} {x.env('SERVER_PROTOCOL', 'HTTP/1.1')}".strip()


class OverviewPane(QWidget):
    FIELDS = ("Request", "Status", "Meaning", "Client", "Started", "Request body",
              "Response body", "Duration", "State", "Thread", "Calls", "Edits")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: dict[str, QLabel] = {}
        form_widget = QWidget()
        form = self.form = QFormLayout(form_widget)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for name in self.FIELDS:
            label = QLabel()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            if name in ("Request", "Status"):
                label.setFont(theme.mono_font())
            if name == "Edits":
                label.setTextFormat(Qt.TextFormat.RichText)
            self.labels[name] = label
            form.addRow(f"{name}:", label)
        self.timeline = TimelineWidget()
        heading = QLabel("<b>Phases</b> — where the time went, from the request being "
                         "received to the iterable being closed")
        heading.setWordWrap(True)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(form_widget)
        column.addWidget(heading)
        column.addWidget(self.timeline)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.show_exchange(None)

    def text(self, name: str) -> str:
        return self.labels[name].text()

    def show_exchange(self, x: Exchange | None) -> None:
        self.timeline.set_exchange(x)
        if x is None:
            for label in self.labels.values():
                label.setText("")
            self.form.setRowVisible(self.labels["Edits"], False)
            self.labels["Request"].setText("Select an exchange in the list.")
            return
        values = {
            "Request": request_line(x),
            "Status": status_line(x),
            "Meaning": status_meaning(x.status_code),
            "Client": x.client,
            "Started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(x.start))
            + f".{int(x.start % 1 * 1000):03d}",
            "Request body": _size_text(len(x.request_body), x.request_size),
            "Response body": _size_text(len(x.response_body), x.response_size)
            + (" (wsgi.file_wrapper)" if x.file_wrapper else "")
            + (f", in {len(x.chunks)} chunk{'s' * (len(x.chunks) != 1)}" if x.chunks else ""),
            "Duration": human_duration(x.duration) if x.duration is not None else "running…",
            "State": f"paused at {x.paused}" if x.paused else x.state,
            "Thread": x.thread,
            "Calls": f"start_response called {len(x.start_response)} time"
            + ("s" if len(x.start_response) != 1 else ""),
        }
        for name, value in values.items():
            self.labels[name].setText(value)
        self.labels["Edits"].setText(edits_html(x.edits, self.palette()))
        self.form.setRowVisible(self.labels["Edits"], bool(x.edits))
        colour = theme.status_color(x.status_code)
        self.labels["Status"].setStyleSheet(f"color: {colour.name()}" if colour else "")


def status_line(x: Exchange) -> str:
    if x.client_dropped:  # the app's process died while serving: the connection closed
        return f"{x.status} (then the connection dropped)" if x.status else \
            "no reply (connection dropped)"
    return x.status or ("(start_response not called yet)" if x.state == "active"
                        else "(start_response was never called)")


def _size_text(captured: int, total: int) -> str:
    if captured < total:
        return f"{human_size(total)} ({captured} of {total} bytes captured)"
    return f"{human_size(total)} ({total} bytes)"
