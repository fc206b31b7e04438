"""Response: what the client got (or, switched, what the app returned): the
status and what it means, the headers, and the body in a fitting viewer."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.difference import added_headers, wire_difference
from inspector.model import Exchange

from .. import theme
from ..body_text import COOKIE_COLUMNS, set_cookie_rows
from .overview import status_meaning
from .widgets import BodyView, KeyValueTable

CLIENT, APP = "client", "app"


class ResponsePane(QWidget):
    open_exchange = Signal(int)  # the user followed a redirect's link to its next exchange

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._exchange: Exchange | None = None
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = theme.mono_font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.status.setFont(font)
        self.side = QButtonGroup(self)
        self.client_button = self._side_button("What the client got", CLIENT,
                                               "The response as it went out on the wire, "
                                               "with the headers the server added")
        self.app_button = self._side_button("What the app returned", APP,
                                            "start_response's status and headers and the "
                                            "body the app handed to the server")
        self.client_button.setChecked(True)
        self.side.buttonToggled.connect(lambda _button, on: on and self._render())
        self.difference = QLabel()
        self.difference.setObjectName("wire-difference")
        self.difference.setWordWrap(True)
        self.difference.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meaning = QLabel()
        self.meaning.setWordWrap(True)
        self.meaning.setTextFormat(Qt.TextFormat.PlainText)  # holds a request line as received
        # A redirect: a link to the exchange that followed it (found by the window).
        self.follower: Callable[[Exchange, str], tuple[int, str] | None] = lambda x, loc: None
        self.location = QLabel()
        self.location.setObjectName("location-link")
        self.location.setTextFormat(Qt.TextFormat.RichText)
        self.location.setOpenExternalLinks(False)
        self.location.linkActivated.connect(lambda href: self.open_exchange.emit(int(href[1:])))
        self.location.hide()
        self.headers = KeyValueTable()
        self.cookies = KeyValueTable(COOKIE_COLUMNS)
        self.head_tabs = QTabWidget()
        self.head_tabs.setDocumentMode(True)
        self.head_tabs.addTab(self.headers, "Headers")
        self.head_tabs.addTab(self.cookies, "Set-Cookie")
        self.body = BodyView()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.head_tabs)
        split.addWidget(self.body)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([140, 560])
        split.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.status, 1)
        top.addWidget(self.client_button)
        top.addWidget(self.app_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.difference)
        layout.addWidget(self.meaning)
        layout.addWidget(self.location)
        layout.addWidget(split, 1)

    def _side_button(self, text: str, side: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setCheckable(True)
        button.setObjectName(f"side-{side}")
        button.setToolTip(tip)
        button.setProperty("side", side)
        self.side.addButton(button)
        return button

    @property
    def showing(self) -> str:
        """CLIENT or APP: which side the pane shows."""
        button = self.side.checkedButton()
        return str(button.property("side")) if button is not None else CLIENT

    def show_side(self, side: str) -> None:
        (self.app_button if side == APP else self.client_button).setChecked(True)

    def show_exchange(self, x: Exchange | None) -> None:
        self._exchange = x
        self._render()

    def _render(self) -> None:
        x = self._exchange
        recorded = x is not None and x.wire_recorded
        for button in (self.client_button, self.app_button):
            button.setVisible(recorded)
            font = button.font()
            font.setBold(button.isChecked())  # the pressed look alone is faint in dark themes
            button.setFont(font)
        if x is None:
            self.status.setText("")
            self.meaning.setText("")
            self.difference.setText("")
            self._show_headers([])
            self.location.hide()
            self.body.set_body(b"", 0, "")
            return
        self._show_difference(x)
        if recorded and self.showing == CLIENT:
            self._show_client(x)
        else:
            self._show_app(x)

    def _show_difference(self, x: Exchange) -> None:
        text = wire_difference(x)
        if not text and x.wire_recorded and not x.server_only:
            added = added_headers(x)
            text = ("The same status and body; the server added " + ", ".join(added)
                    if added else "")
            colour = None
        else:
            colour = theme.severity_color("warning", self.palette())
        self.difference.setText(f"≠ {text}" if colour is not None and text else text)
        self.difference.setStyleSheet(f"color: {colour.name()}" if colour is not None else "")
        self.difference.setVisible(bool(text))

    def _show_status(self, status: str, code: int | None) -> None:
        self.status.setText(status)
        colour = theme.status_color(code)
        self.status.setStyleSheet(f"color: {colour.name()}" if colour else "")

    def _show_client(self, x: Exchange) -> None:
        if x.status:
            self._show_status(f"{x.wire_version} {x.status}".strip(), x.status_code)
            self.meaning.setText(status_meaning(x.status_code))
        else:
            self._show_status("(nothing went out)", None)
            self.meaning.setText("No response head reached the client.")
        self._show_headers(x.headers)
        self._show_location(x, x.header("Location") or "")
        note = "No response body." if x.client_reads_body else (
            "HEAD: a client reads no body." if x.method == "HEAD"
            else f"A {x.status[:3]} response has no body.")
        self.body.set_body(x.client_body, x.client_size, x.header("Content-Type") or "",
                           note=note, content_encoding=x.header("Content-Encoding") or "")

    def _show_app(self, x: Exchange) -> None:
        status = x.app_status
        code = int(status[:3]) if status[:3].isdigit() else None
        if x.server_only:
            self._show_status("(the app was not called)", None)
            line = f" “{x.request_line}”" if x.request_line else ""
            self.meaning.setText(f"waitress could not accept the request{line} and "
                                 "answered on its own.")
        elif status:
            self._show_status(status, code)
            self.meaning.setText(status_meaning(code))
        elif x.state == "active":
            self._show_status("(waiting for start_response)", None)
            self.meaning.setText("The app has not called start_response yet.")
        else:
            self._show_status("(no status)", None)
            self.meaning.setText("The app never called start_response; the server "
                                 "answered on its own (usually 500).")
        self._show_headers(x.app_headers)
        self._show_location(x, _header(x.app_headers, "location"))
        note = "wsgi.file_wrapper: the file went out directly" if x.file_wrapper else ""
        content_type = _header(x.app_headers, "content-type")
        self.body.set_body(x.response_body, x.response_size, content_type,
                           note=note or "No response body.",
                           content_encoding=_header(x.app_headers, "content-encoding"))

    def _show_location(self, x: Exchange, location: str) -> None:
        """A redirect's Location, linked to the exchange the client sent next for it."""
        code = x.status_code or 0
        found = self.follower(x, location) if location and 300 <= code < 400 else None
        if found is None:
            self.location.setVisible(bool(location) and 300 <= code < 400)
            self.location.setText(f"→ Location {html.escape(location)}: no later exchange "
                                  "asked for it (yet).")
            return
        xid, text = found
        self.location.setText(f"→ The client followed it: <a href='#{xid}'>#{xid} "
                              f"{html.escape(text)}</a>")
        self.location.show()

    def _show_headers(self, headers: Sequence[tuple[Any, Any]]) -> None:
        pairs = [(str(k), str(v)) for k, v in headers]
        self.headers.set_rows(pairs)
        cookies = set_cookie_rows(pairs)
        self.cookies.set_rows(cookies)
        self.head_tabs.setTabText(0, f"Headers ({len(pairs)})" if pairs else "Headers")
        self.head_tabs.setTabText(1, f"Set-Cookie ({len(cookies)})" if cookies
                                  else "Set-Cookie")


def _header(headers: Sequence[tuple[Any, Any]], name: str) -> str:
    return next((str(v) for k, v in headers if str(k).lower() == name), "")
