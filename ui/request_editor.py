"""Edit and resend, New Request: a request editor (method, target, headers, body).

Opened from a row it holds that request as it came; unless its body is
touched, the body is sent back byte for byte (a binary one cannot be edited
here and always is). Opened empty it composes a new request, with the paths
already seen offered as completions. The body is raw text, JSON (checked
before sending), form fields, or multipart fields and files; the
Content-Type follows the kind chosen, and the Content-Length is computed from
the bytes when the request is sent.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from itertools import count
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.host.compose import (
    FORM_TYPE,
    JSON_TYPE,
    ComposeError,
    Part,
    body_kind,
    form_body,
    form_fields,
    json_body,
    multipart_body,
    multipart_type,
    new_boundary,
)
from inspector.host.compose import set_header as with_header
from inspector.host.resend import OutgoingRequest, ResendError, check

from . import theme

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# (kind, label shown); the editor page of each is at the same index of the stack
KINDS = (("none", "No body"), ("text", "Text"), ("json", "JSON"), ("form", "Form fields"),
         ("multipart", "Multipart (fields and files)"), ("binary", "Binary (sent unchanged)"))
CONTENT_TYPES = {"json": JSON_TYPE, "form": FORM_TYPE}
MAX_COMPLETIONS = 2000


class PairTable(QTableWidget):
    """Name/value rows (headers, form fields) with the rows' texts as a list."""

    def __init__(self, columns: tuple[str, ...] = ("Name", "Value")) -> None:
        super().__init__(0, len(columns))
        self.setHorizontalHeaderLabels(list(columns))
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, 200)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)

    def add_row(self, *texts: str) -> int:
        row = self.rowCount()
        self.insertRow(row)
        for col in range(self.columnCount()):
            self.setItem(row, col, QTableWidgetItem(texts[col] if col < len(texts) else ""))
        return row

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        self.setRowCount(0)
        for row in rows:
            self.add_row(*row)

    def text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item is not None else ""

    def pairs(self) -> list[tuple[str, str]]:
        """The rows whose name is not empty, in order."""
        return [(self.text(r, 0).strip(), self.text(r, 1)) for r in range(self.rowCount())
                if self.text(r, 0).strip()]

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.selectedIndexes()}, reverse=True):
            self.removeRow(row)


def _buttons(*pairs: tuple[str, Callable[[], None]]) -> QHBoxLayout:
    row = QHBoxLayout()
    for text, slot in pairs:
        button = QPushButton(text)
        button.clicked.connect(slot)
        row.addWidget(button)
    row.addStretch(1)
    return row


class RequestEditor(QDialog):
    """``request()`` is what to send once the dialog is accepted (Send)."""

    def __init__(self, request: OutgoingRequest | None = None, *, paths: Iterable[str] = (),
                 host: str = "", start_dir: Callable[[], str] = str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._origin = request.origin if request is not None else None
        self._original = request.body if request is not None else b""
        self._length = request.length if request is not None else False
        self._touched = False  # the body as it came goes out unless it was edited
        self._boundary = new_boundary()
        self._start_dir = start_dir
        self._files: dict[int, bytes] = {}  # a file part's key (its name item's) -> bytes
        self._keys = count(1)
        self._binary = body_kind("", self._original) == "binary"  # kept as it came
        self.setWindowTitle(f"Edit and Resend #{self._origin}" if self._origin is not None
                            else "New Request")
        self.resize(760, 560)
        self._build(paths)
        if request is not None:
            self._load(request)
        else:
            self.headers.set_rows([("Host", host)] if host else [])
            self._set_kind("none")
        self._update()
        self.target.setFocus()  # the path is what one changes first

    # -- building ---------------------------------------------------------------------
    def _build(self, paths: Iterable[str]) -> None:
        self.method = QComboBox()
        self.method.setEditable(True)
        self.method.addItems(METHODS)
        self.method.currentTextChanged.connect(self._update)
        self.target = QLineEdit("/")
        self.target.setFont(theme.mono_font())
        self.target.setPlaceholderText("/path?query=value")
        self.target.textChanged.connect(self._update)
        completer = QCompleter(sorted(set(paths))[:MAX_COMPLETIONS], self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.target.setCompleter(completer)
        line = QHBoxLayout()
        line.addWidget(self.method)
        line.addWidget(self.target, 1)

        self.headers = PairTable()
        self.headers.itemChanged.connect(self._update)
        headers_page = QWidget()
        headers_layout = QVBoxLayout(headers_page)
        headers_layout.addWidget(self.headers)
        headers_layout.addLayout(_buttons(("Add header", lambda: self.headers.add_row()),
                                          ("Remove", self.headers.remove_selected)))

        self.tabs = QTabWidget()
        self.tabs.addTab(headers_page, "Headers")
        self.tabs.addTab(self._build_body(), "Body")

        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {theme.severity_color('error').name()}")
        self.length_label = QLabel()
        self.length_label.setEnabled(False)
        self.box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.send_button = self.box.addButton("Send", QDialogButtonBox.ButtonRole.AcceptRole)
        self.send_button.setDefault(True)
        self.box.accepted.connect(self._send)
        self.box.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.length_label, 1)
        bottom.addWidget(self.box)

        layout = QVBoxLayout(self)
        layout.addLayout(line)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problem)
        layout.addLayout(bottom)
        self.kind.currentIndexChanged.connect(self._kind_changed)

    def _build_body(self) -> QWidget:
        self.kind = QComboBox()
        for _kind, label in KINDS:
            self.kind.addItem(label)
        self.stack = QStackedWidget()
        none = QLabel("This request has no body.")
        none.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QPlainTextEdit()
        self.json = QPlainTextEdit()
        self.json.setPlaceholderText('{"title": "Fluent Python"}')
        for edit in (self.text, self.json):
            edit.setFont(theme.mono_font())
            edit.textChanged.connect(self._body_edited)
        self.form = PairTable()
        self.form.itemChanged.connect(self._body_edited)
        form_page = QWidget()
        form_layout = QVBoxLayout(form_page)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(self.form)
        form_layout.addLayout(_buttons(("Add field", self._add_form_row),
                                       ("Remove", self._remove_form_rows)))
        self.stack.addWidget(none)
        self.stack.addWidget(self.text)
        self.stack.addWidget(self.json)
        self.stack.addWidget(form_page)
        self.stack.addWidget(self._build_multipart())
        self.binary = QLabel()
        self.binary.setWordWrap(True)
        self.binary.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.stack.addWidget(self.binary)
        kind_row = QHBoxLayout()
        kind_row.addWidget(QLabel("Body:"))
        kind_row.addWidget(self.kind)
        kind_row.addStretch(1)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(kind_row)
        layout.addWidget(self.stack, 1)
        return page

    def _build_multipart(self) -> QWidget:
        self.parts = PairTable(("Name", "Value or file", "Content-Type"))
        self.parts.setColumnWidth(1, 300)
        self.parts.itemChanged.connect(self._body_edited)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.parts)
        layout.addLayout(_buttons(("Add field", self._add_text_part),
                                  ("Add file…", self._choose_file_part),
                                  ("Remove", self._remove_parts)))
        return page

    # -- loading a request ------------------------------------------------------------
    def _load(self, request: OutgoingRequest) -> None:
        self.method.setCurrentText(request.method)
        self.target.setText(request.target)
        self.headers.set_rows(request.headers)
        content_type = next((v for n, v in request.headers if n.lower() == "content-type"), "")
        kind = body_kind(content_type, request.body)
        if kind in ("text", "json"):
            (self.text if kind == "text" else self.json).setPlainText(
                request.body.decode("utf-8"))
        elif kind == "form":
            self.form.set_rows(form_fields(request.body) or [])
        elif kind == "binary":
            self.binary.setText(f"A binary body of {len(request.body):,} bytes. It is sent "
                                "exactly as it was; choose another kind to replace it.")
        self._set_kind(kind, keep_type=True)
        self._touched = False

    # -- the body ---------------------------------------------------------------------
    def current_kind(self) -> str:
        return KINDS[self.kind.currentIndex()][0]

    def _set_kind(self, kind: str, keep_type: bool = False) -> None:
        self._keep_type = keep_type
        self.kind.setCurrentIndex([k for k, _ in KINDS].index(kind))
        self._kind_changed()
        self._keep_type = False

    def _kind_changed(self) -> None:
        kind = self.current_kind()
        self.stack.setCurrentIndex(self.kind.currentIndex())
        self.kind.model().item(len(KINDS) - 1).setEnabled(self._binary)
        if getattr(self, "_keep_type", False):
            return
        self._carry_text(kind)
        self._touched = kind != "binary"
        if kind in CONTENT_TYPES:
            self._set_header("Content-Type", CONTENT_TYPES[kind])
        elif kind == "multipart":
            self._set_header("Content-Type", multipart_type(self._boundary))
        elif kind == "none":
            self._set_header("Content-Type", None)
        self._update()

    def _carry_text(self, kind: str) -> None:
        """Text typed as Text goes on as JSON and back: changing the kind keeps it."""
        pair = {"json": (self.text, self.json), "text": (self.json, self.text)}.get(kind)
        if pair is not None and not pair[1].toPlainText():
            pair[1].setPlainText(pair[0].toPlainText())

    def _set_header(self, name: str, value: str | None) -> None:
        self.headers.set_rows(with_header(self.headers.pairs(), name, value))

    def _body_edited(self) -> None:
        self._touched = True
        self._update()

    def _add_form_row(self) -> None:
        self.form.add_row()
        self._body_edited()

    def _remove_form_rows(self) -> None:
        self.form.remove_selected()
        self._body_edited()

    def _add_text_part(self) -> None:
        self.parts.add_row()
        self._body_edited()

    def _choose_file_part(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a File to the Form", self._start_dir())
        if path:
            self.add_file_part("file", path)

    def add_file_part(self, name: str, path: str, content_type: str = "") -> None:
        """A file part: ``path``'s bytes, read now, sent under its file name."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            self.problem.setText(f"Cannot read {path}: {exc.strerror}.")
            return
        kind = content_type or mimetypes.guess_type(path)[0] or "application/octet-stream"
        row = self.parts.add_row(name, f"{Path(path).name}  (file, {len(data):,} bytes)", kind)
        key = next(self._keys)
        self.parts.item(row, 0).setData(Qt.ItemDataRole.UserRole, key)
        self._files[key] = data
        item = self.parts.item(row, 1)
        item.setData(Qt.ItemDataRole.UserRole, Path(path).name)  # the file name sent
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        item.setToolTip(f"{path} ({len(data):,} bytes)")
        self._body_edited()

    def _remove_parts(self) -> None:
        self.parts.remove_selected()
        self._body_edited()

    def _multipart_parts(self) -> list[Part]:
        parts = []
        for row in range(self.parts.rowCount()):
            name = self.parts.text(row, 0).strip()
            if not name:
                continue
            data = self._files.get(self.parts.item(row, 0).data(Qt.ItemDataRole.UserRole))
            if data is None:
                parts.append(Part(name, self.parts.text(row, 1).encode("utf-8")))
            else:
                filename = self.parts.item(row, 1).data(Qt.ItemDataRole.UserRole)
                parts.append(Part(name, data, filename, self.parts.text(row, 2).strip()))
        return parts

    def body(self) -> bytes:
        """The body to send; ComposeError when what was typed does not make one."""
        kind = self.current_kind()
        if not self._touched or kind == "binary":
            return self._original if kind != "none" else b""
        if kind == "text":
            return self.text.toPlainText().encode("utf-8")
        if kind == "json":
            return json_body(self.json.toPlainText())
        if kind == "form":
            return form_body(self.form.pairs())
        if kind == "multipart":
            parts = self._multipart_parts()
            while True:
                try:
                    return multipart_body(parts, self._boundary)
                except ComposeError:  # a file holds the boundary: take another
                    self._boundary = new_boundary()
                    self._set_header("Content-Type", multipart_type(self._boundary))
        return b""

    # -- the request ------------------------------------------------------------------
    def request(self) -> OutgoingRequest:
        """What the fields say; ComposeError when they do not make a request."""
        method = self.method.currentText().strip().upper()
        target = self.target.text().strip()
        if not target.startswith("/") and target != "*":
            raise ComposeError("The path must start with /, for example /api/items?page=2.")
        request = OutgoingRequest(method, target, self.headers.pairs(), self.body(),
                                  length=self._length, origin=self._origin)
        try:
            check(request)
        except ResendError as exc:
            raise ComposeError(str(exc)) from None
        return request

    def _update(self) -> None:
        try:
            request = self.request()
        except ComposeError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            self.send_button.setEnabled(False)
            self.length_label.setText("")
            return
        self.problem.hide()
        self.send_button.setEnabled(True)
        length = dict((n.lower(), v) for n, v in request.wire_headers()).get("content-length")
        self.length_label.setText(f"Content-Length: {length} (set when sent)" if length
                                  else "No Content-Length")

    def _send(self) -> None:
        try:
            self.request()
        except ComposeError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.accept()
