"""The body viewer the Request and Response panes share.

A body is shown as text (highlighted, JSON pretty-printed unless switched
off), a JSON tree, an HTML preview, an image or hex. A compressed body
(``Content-Encoding: gzip``, ``deflate``, ``br`` with brotli installed) is
shown decoded; "Raw bytes" shows what went over the wire. Text is read in the
declared charset (any codec Python knows); hex is for binary bodies only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QStackedWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .body_text import (
    Decoded,
    charset_of,
    decode_text,
    hexdump,
    is_probably_text,
    known_codec,
    language_of,
    plural,
    pretty_json,
    undo_encoding,
)
from .exchange_model import human_size
from .highlight import Highlighter
from .theme import mono_font

TEXT_LIMIT = 2 * 1024 * 1024  # characters shown in the text view
JSON_NODES = 5000  # items shown in the JSON tree
MODES = ("Text", "JSON tree", "HTML preview", "Image", "Hex")


def auto_mode(data: bytes, content_type: str) -> str:
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype.startswith("image/"):
        return "Image"
    if ctype.endswith("json"):
        try:
            json.loads(data)
        except ValueError:
            return "Text"
        return "JSON tree"
    if not is_probably_text(data, content_type):
        return "Hex"
    return "Text"


class BodyView(QWidget):
    """A body, shown as text (highlighted), JSON tree, HTML preview, image or hex."""

    def __init__(self, parent: QWidget | None = None, modes: Sequence[str] = MODES) -> None:
        super().__init__(parent)
        self._raw = b""
        self._decoded = Decoded(b"", [])
        self._content_type = ""
        self._summary = ""
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setWordWrap(True)
        self.raw = QCheckBox("Raw bytes")
        self.raw.setToolTip("Show the body as it went over the wire, still compressed")
        self.raw.toggled.connect(lambda _: self._render())
        self.pretty = QCheckBox("Pretty")
        self.pretty.setChecked(True)
        self.pretty.setToolTip("Indent JSON (off: the text exactly as sent)")
        self.pretty.toggled.connect(lambda _: self._render())
        self.mode = QComboBox()
        self.mode.addItems(["Auto", *modes])
        self.mode.setToolTip("How to show the body (Auto picks from the Content-Type)")
        self.mode.currentTextChanged.connect(lambda _: self._render())
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.info, 1)
        top.addWidget(self.raw)
        top.addWidget(self.pretty)
        top.addWidget(QLabel("View:"))
        top.addWidget(self.mode)

        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(mono_font())
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = Highlighter(self.text.document())
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Key", "Value", "Type"])
        self.tree.setAlternatingRowColors(True)
        self.preview = _Preview()
        self.preview.setOpenLinks(False)
        self.preview.setOpenExternalLinks(False)
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image_area = QScrollArea()
        self.image_area.setWidget(self.image)
        self.image_area.setWidgetResizable(True)
        self.hex = QPlainTextEdit(readOnly=True)
        self.hex.setFont(mono_font())
        self.hex.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.stack = QStackedWidget()
        self._pages = {"Text": self.text, "JSON tree": self.tree, "HTML preview": self.preview,
                       "Image": self.image_area, "Hex": self.hex}
        for page in self._pages.values():
            self.stack.addWidget(page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)

    def set_body(self, data: bytes, total: int, content_type: str, *, note: str = "",
                 content_encoding: str = "") -> None:
        self._raw = data
        self._content_type = content_type
        self._decoded = undo_encoding(data, content_encoding)
        if not total and not data:
            self._summary = note or "No body."
        elif len(data) < total:
            self._summary = (f"Captured {human_size(len(data))} of {human_size(total)} "
                             f"({len(data)} of {plural(total, 'byte')}).")
        else:
            self._summary = f"{human_size(total)} ({plural(total, 'byte')}), all captured."
        self.raw.setVisible(bool(self._decoded.encodings))
        self._render()

    @property
    def data(self) -> bytes:
        """The bytes shown: decoded unless "Raw bytes" is on."""
        if self._decoded.encodings and not self.raw.isChecked():
            return self._decoded.data
        return self._raw

    @property
    def current_mode(self) -> str:
        chosen = self.mode.currentText()
        if chosen != "Auto":
            return chosen
        if self._decoded.encodings and self.raw.isChecked():
            return "Hex"  # compressed bytes are binary
        return auto_mode(self.data, self._content_type)

    def _info_text(self, mode: str) -> str:
        parts = [self._summary]
        decoded = self._decoded
        if decoded.encodings and not self.raw.isChecked():
            parts.append(f"Decoded from {' + '.join(decoded.encodings)}: "
                         f"{human_size(len(decoded.data))}.")
        if decoded.note:
            parts.append(decoded.note)
        charset = charset_of(self._content_type)
        if mode == "Text" and charset and not known_codec(charset):
            parts.append(f"Unknown charset {charset!r}: read as UTF-8.")
        return "  ".join(parts)

    def _render(self) -> None:
        mode = self.current_mode
        data = self.data
        self.pretty.setVisible(mode == "Text" and language_of(self._content_type) == "json")
        self.info.setText(self._info_text(mode))
        if mode == "Text":
            self._show_text(data)
        elif mode == "JSON tree":
            self._show_tree(data)
        elif mode == "HTML preview":
            # Rich text only: no scripts, no network; images and styles are not fetched.
            self.preview.setHtml(decode_text(data[:TEXT_LIMIT], self._content_type))
        elif mode == "Image":
            self._show_image(data)
        else:
            self.hex.setPlainText(hexdump(data))
        self.stack.setCurrentWidget(self._pages[mode])

    def _show_text(self, data: bytes) -> None:
        language = language_of(self._content_type, data)
        text = decode_text(data[:TEXT_LIMIT], self._content_type)
        if language == "json" and self.pretty.isChecked():
            text = pretty_json(text) or text
        self.highlighter.set_text(language, text)

    def _show_tree(self, data: bytes) -> None:
        self.tree.clear()
        try:
            value = json.loads(data)
        except ValueError as exc:
            QTreeWidgetItem(self.tree, ["(not valid JSON)", str(exc), ""])
            return
        count = [0]
        _fill_json(self.tree.invisibleRootItem(), "(root)", value, count)
        if count[0] <= 200:
            self.tree.expandAll()
        else:
            self.tree.expandToDepth(1)
        for col in (0, 1):
            self.tree.resizeColumnToContents(col)
            self.tree.setColumnWidth(col, min(self.tree.columnWidth(col) + 12, 420))

    def _show_image(self, data: bytes) -> None:
        pixmap = QPixmap()
        if data and pixmap.loadFromData(data):
            self.image.setPixmap(pixmap)
            self.image.setToolTip(f"{pixmap.width()} x {pixmap.height()} pixels")
            self.info.setText(f"{self.info.text()}  Image: {pixmap.width()} x "
                              f"{pixmap.height()} pixels.")
        else:
            self.image.setPixmap(QPixmap())
            self.image.setText("Not an image Qt can show (or not fully captured).")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # light <-> dark: colours for it
            self.highlighter.restyle()
        super().changeEvent(event)


class _Preview(QTextBrowser):
    """Renders the HTML as rich text without fetching anything it refers to."""

    def loadResource(self, kind: int, url: Any) -> Any:
        return None


def _fill_json(parent: QTreeWidgetItem, key: str, value: Any, count: list[int]) -> None:
    count[0] += 1
    if count[0] > JSON_NODES:
        return
    if isinstance(value, dict):
        item = QTreeWidgetItem(parent, [key, f"{{{plural(len(value), 'key')}}}", "object"])
        for k, v in value.items():
            _fill_json(item, str(k), v, count)
    elif isinstance(value, list):
        item = QTreeWidgetItem(parent, [key, f"[{plural(len(value), 'item')}]", "array"])
        for i, v in enumerate(value):
            _fill_json(item, f"[{i}]", v, count)
    else:
        kind = {bool: "boolean", int: "number", float: "number", str: "string",
                type(None): "null"}.get(type(value), type(value).__name__)
        item = QTreeWidgetItem(parent, [key, json.dumps(value, ensure_ascii=False), kind])
        item.setFont(1, mono_font())
