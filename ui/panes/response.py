"""Response: the status and what it means, the headers, and the body in a fitting viewer."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from inspector.model import Exchange

from .. import theme
from .overview import status_meaning
from .widgets import BodyView, KeyValueTable


class ResponsePane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = theme.mono_font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.status.setFont(font)
        self.meaning = QLabel()
        self.meaning.setWordWrap(True)
        self.headers = KeyValueTable()
        self.body = BodyView()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.headers)
        split.addWidget(self.body)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([140, 560])
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.meaning)
        layout.addWidget(split, 1)

    def show_exchange(self, x: Exchange | None) -> None:
        if x is None:
            self.status.setText("")
            self.meaning.setText("")
            self.headers.set_rows([])
            self.body.set_body(b"", 0, "")
            return
        if x.status:
            self.status.setText(x.status)
            self.meaning.setText(status_meaning(x.status_code))
        elif x.state == "active":
            self.status.setText("(waiting for start_response)")
            self.meaning.setText("The app has not called start_response yet.")
        else:
            self.status.setText("(no status)")
            self.meaning.setText("The app never called start_response; the server "
                                 "answered on its own (usually 500).")
        colour = theme.status_color(x.status_code)
        self.status.setStyleSheet(f"color: {colour.name()}" if colour else "")
        self.headers.set_rows([(str(k), str(v)) for k, v in x.headers])
        note = "wsgi.file_wrapper: the file went out directly" if x.file_wrapper else ""
        self.body.set_body(x.response_body, x.response_size, x.header("Content-Type") or "",
                           note=note or "No response body.")
