"""Overview: the request line, the status, sizes, duration and the phase timeline."""

from __future__ import annotations

import time
from http import HTTPStatus

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from inspector.host.terminal import inert
from inspector.model import PH_RECEIVED, ST_ABORTED, Exchange

from .. import theme
from ..body_text import plural
from ..edits import edits_html
from ..exchange_model import human_duration, human_size
from ..timeline import TimelineWidget

CLASSES = {1: "informational", 2: "success", 3: "redirection", 4: "client error",
           5: "server error"}


def status_meaning(code: int | None) -> str:
    if code is None:
        return ""
    try:
        status = HTTPStatus(code)
    except ValueError:
        return {1: "Informational", 2: "Success", 3: "Redirection", 4: "Client error",
                5: "Server error"}.get(code // 100, "")
    return f"{status.phrase} ({CLASSES.get(code // 100, 'status')})"  # RFC 9110's phrase


def request_line(x: Exchange) -> str:
    if x.server_only and (x.request_line or not x.method):  # as waitress received it
        return inert(x.request_line) if x.request_line else "(malformed request)"
    target = x.path + (f"?{x.query}" if x.query else "")
    return f"{x.method} {target} {x.env('SERVER_PROTOCOL', 'HTTP/1.1')}".strip()


class OverviewPane(QWidget):
    FIELDS = ("Request", "Status", "Meaning", "Resent from", "Client", "Started",
              "Request body", "Response body", "Duration", "State", "Thread", "Calls", "Edits")
    LINKS = ("Edits", "Resent from")  # rich text made here; every other field is plain
    origin_clicked = Signal(int)  # the "resent from #N" link: row N

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
            # Paths and headers come from the network: never read as markup.
            label.setTextFormat(Qt.TextFormat.RichText if name in self.LINKS
                                else Qt.TextFormat.PlainText)
            self.labels[name] = label
            form.addRow(f"{name}:", label)
        origin = self.labels["Resent from"]
        origin.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                       | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        origin.linkActivated.connect(lambda href: self.origin_clicked.emit(int(href[1:])))
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
        self.labels["Request"].setFont(theme.mono_font())
        if x is None:
            for label in self.labels.values():
                label.setText("")
            self.form.setRowVisible(self.labels["Edits"], False)
            self.form.setRowVisible(self.labels["Resent from"], False)
            self.labels["Request"].setText("Select an exchange in the list.")
            return
        values = {
            "Request": request_line(x),
            "Status": status_line(x),
            "Meaning": meaning_text(x),
            "Client": x.client,
            "Started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(x.start))
            + f".{int(x.start % 1 * 1000):03d}",
            "Request body": _size_text(len(x.request_body), x.request_size),
            "Response body": response_body_text(x),
            "Duration": duration_text(x),
            "State": state_text(x),
            "Thread": x.thread,
            "Calls": calls_text(x),
        }
        for name, value in values.items():
            self.labels[name].setText(value)
        self.labels["Edits"].setText(edits_html(x.edits, self.palette()))
        self.form.setRowVisible(self.labels["Edits"], bool(x.edits))
        origin = x.resent_from
        self.labels["Resent from"].setText(
            f'<a href="#{origin}">#{origin}</a> (sent again from that exchange; click to '
            "select it)" if origin is not None else "")
        self.form.setRowVisible(self.labels["Resent from"], origin is not None)
        colour = theme.status_color(x.status_code)
        self.labels["Status"].setStyleSheet(f"color: {colour.name()}" if colour else "")


    def show_note(self, text: str) -> None:
        """Nothing to show but why (an exchange that cannot be read, say)."""
        self.show_exchange(None)
        self.labels["Request"].setFont(self.font())  # a sentence, not a request line
        self.labels["Request"].setText(text)


def state_text(x: Exchange) -> str:
    if x.paused:
        return f"paused at {x.paused}"
    if x.server_only:
        return "answered by waitress; the app was not called"
    if x.state == ST_ABORTED or x.aborted:
        return f"aborted by you at {x.aborted}" + (
            " (the app was never called)" if x.aborted == PH_RECEIVED else "")
    return x.state


def meaning_text(x: Exchange) -> str:
    meaning = status_meaning(x.status_code)
    if x.aborted and x.status_code == 502:
        return "WSGI Inspector's answer, not the app's: you aborted the request"
    if x.aborted and meaning:
        return f"{meaning} (the app's status; you then aborted and the connection was cut)"
    return meaning


def duration_text(x: Exchange) -> str:
    """The app's time; time spent paused while stepping is shown apart."""
    if x.duration is None:
        return "running…"
    if not x.paused_time:
        return human_duration(x.duration)
    return f"{human_duration(x.app_duration)} in the app, {human_duration(x.paused_time)} paused"


def calls_text(x: Exchange) -> str:
    n = len(x.start_response)
    if x.aborted == PH_RECEIVED:
        return "start_response called by WSGI Inspector, in the app's place"
    text = f"start_response called {n} time{'s' * (n != 1)}"
    if x.aborted and x.status_code == 502:
        text += " (the last call's status is WSGI Inspector's 502)"
    return text


def status_line(x: Exchange) -> str:
    if x.client_dropped:  # the app's process died while serving: the connection closed
        return f"{x.status} (then the connection dropped)" if x.status else \
            "no reply (connection dropped)"
    if x.client_disconnected and x.wire_size is not None:
        return f"{x.status} (the client hung up after {x.wire_size:,} body bytes)"
    return x.status or ("(start_response not called yet)" if x.state == "active"
                        else "(start_response was never called)")


def response_body_text(x: Exchange) -> str:
    if x.server_only:
        return f"none from the app (waitress sent {human_size(x.client_size)})"
    return (_size_text(len(x.response_body), x.response_size)
            + (" (wsgi.file_wrapper)" if x.file_wrapper else "")
            + (f", in {len(x.chunks)} chunk{'s' * (len(x.chunks) != 1)}" if x.chunks else ""))


def _size_text(captured: int, total: int) -> str:
    if captured < total:
        return f"{human_size(total)} ({captured} of {plural(total, 'byte')} captured)"
    return f"{human_size(total)} ({plural(total, 'byte')})"
