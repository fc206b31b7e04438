"""Small widgets the panes share: a copyable name/value table and a body viewer."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..exchange_model import human_size
from ..highlight import Highlighter
from ..theme import mono_font

HEX_LIMIT = 64 * 1024  # bytes shown in the hex view
TEXT_LIMIT = 2 * 1024 * 1024  # characters shown in the text view
JSON_NODES = 5000  # items shown in the JSON tree


class KeyValueTable(QTableWidget):
    """Name/value rows (headers, query parameters...), copyable with Ctrl+C."""

    def __init__(self, headers: Sequence[str] = ("Name", "Value"),
                 parent: QWidget | None = None) -> None:
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(list(headers))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        copy = QAction("Copy", self)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_selection)
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def set_rows(self, rows: Sequence[Sequence[str]], mono_from: int = 1) -> None:
        self.setRowCount(0)
        self.setRowCount(len(rows))
        font = mono_font()
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(str(value))
                if c >= mono_from:
                    item.setFont(font)
                item.setToolTip(str(value) if len(str(value)) > 40 else "")
                self.setItem(r, c, item)
        self.resizeColumnToContents(0)
        if self.columnWidth(0) > 260:
            self.setColumnWidth(0, 260)

    def rows(self) -> list[list[str]]:
        return [[self.item(r, c).text() for c in range(self.columnCount())]
                for r in range(self.rowCount())]

    def copy_selection(self) -> None:
        rows = sorted({i.row() for i in self.selectedIndexes()}) or range(self.rowCount())
        lines = [": ".join(self.item(r, c).text() for c in range(self.columnCount()))
                 for r in rows]
        QGuiApplication.clipboard().setText("\n".join(lines))


def is_probably_text(data: bytes) -> bool:
    if not data:
        return True
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a character cut at the sample's end
    return True


def hexdump(data: bytes, limit: int = HEX_LIMIT) -> str:
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        row = data[offset:offset + 16]
        hexes = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset:08x}  {hexes:<47}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes not shown")
    return "\n".join(lines)


def charset_of(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def decode_text(data: bytes, content_type: str = "") -> str:
    try:
        return data.decode(charset_of(content_type), errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


MODES = ("Text", "JSON tree", "HTML preview", "Image", "Hex")


def auto_mode(data: bytes, content_type: str) -> str:
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype.startswith("image/"):
        return "Image"
    if ctype.endswith("json") or ctype.endswith("+json"):
        try:
            json.loads(data)
        except ValueError:
            return "Text"
        return "JSON tree"
    if not is_probably_text(data):
        return "Hex"
    return "Text"


def language_of(content_type: str, data: bytes) -> str:
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype.endswith("json"):
        return "json"
    if "html" in ctype or "xml" in ctype:
        return "html"
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html")):
        return "html"
    return ""


class BodyView(QWidget):
    """A body, shown as text (highlighted), JSON tree, HTML preview, image or hex."""

    def __init__(self, parent: QWidget | None = None, modes: Sequence[str] = MODES) -> None:
        super().__init__(parent)
        self._data = b""
        self._content_type = ""
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.mode = QComboBox()
        self.mode.addItems(["Auto", *modes])
        self.mode.setToolTip("How to show the body (Auto picks from the Content-Type)")
        self.mode.currentTextChanged.connect(lambda _: self._render())
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.info, 1)
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

    def set_body(self, data: bytes, total: int, content_type: str, *,
                 note: str = "") -> None:
        self._data = data
        self._content_type = content_type
        if not total and not data:
            self.info.setText(note or "No body.")
        elif len(data) < total:
            self.info.setText(f"Captured {human_size(len(data))} of {human_size(total)} "
                              f"({len(data)} of {total} bytes).")
        else:
            self.info.setText(f"{human_size(total)} ({total} bytes), all captured.")
        self._render()

    @property
    def current_mode(self) -> str:
        chosen = self.mode.currentText()
        return auto_mode(self._data, self._content_type) if chosen == "Auto" else chosen

    def _render(self) -> None:
        mode = self.current_mode
        data = self._data
        if mode == "Text":
            language = language_of(self._content_type, data)
            text = decode_text(data[:TEXT_LIMIT], self._content_type)
            if language == "json":
                with contextlib.suppress(ValueError):
                    text = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
            self.highlighter.language = language
            self.text.setPlainText(text)
        elif mode == "JSON tree":
            self.tree.clear()
            try:
                value = json.loads(data)
            except ValueError as exc:
                QTreeWidgetItem(self.tree, ["(not valid JSON)", str(exc), ""])
            else:
                count = [0]
                _fill_json(self.tree.invisibleRootItem(), "(root)", value, count)
                if count[0] <= 200:
                    self.tree.expandAll()
                else:
                    self.tree.expandToDepth(1)
                for col in (0, 1):
                    self.tree.resizeColumnToContents(col)
                    self.tree.setColumnWidth(col, min(self.tree.columnWidth(col) + 12, 420))
        elif mode == "HTML preview":
            # Rich text only: no scripts, no network; images and styles are not fetched.
            self.preview.setHtml(decode_text(data[:TEXT_LIMIT], self._content_type))
        elif mode == "Image":
            pixmap = QPixmap()
            if data and pixmap.loadFromData(data):
                self.image.setPixmap(pixmap)
                self.image.setToolTip(f"{pixmap.width()} x {pixmap.height()} pixels")
                self.info.setText(f"{self.info.text()}  Image: {pixmap.width()} x "
                                  f"{pixmap.height()} pixels.")
            else:
                self.image.setPixmap(QPixmap())
                self.image.setText("Not an image Qt can show (or not fully captured).")
        else:
            self.hex.setPlainText(hexdump(data))
        self.stack.setCurrentWidget(self._pages[mode])


class _Preview(QTextBrowser):
    """Renders the HTML as rich text without fetching anything it refers to."""

    def loadResource(self, kind: int, url: Any) -> Any:
        return None


def _fill_json(parent: QTreeWidgetItem, key: str, value: Any, count: list[int]) -> None:
    count[0] += 1
    if count[0] > JSON_NODES:
        return
    if isinstance(value, dict):
        item = QTreeWidgetItem(parent, [key, f"{{{len(value)} keys}}", "object"])
        for k, v in value.items():
            _fill_json(item, str(k), v, count)
    elif isinstance(value, list):
        item = QTreeWidgetItem(parent, [key, f"[{len(value)} items]", "array"])
        for i, v in enumerate(value):
            _fill_json(item, f"[{i}]", v, count)
    else:
        kind = {bool: "boolean", int: "number", float: "number", str: "string",
                type(None): "null"}.get(type(value), type(value).__name__)
        item = QTreeWidgetItem(parent, [key, json.dumps(value, ensure_ascii=False), kind])
        item.setFont(1, mono_font())
