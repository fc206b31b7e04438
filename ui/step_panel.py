"""The Step panel: the data of a paused request's current phase, editable, and the
commands that move it on (Step F10, Continue F8, Continue all Shift+F8, Abort).

Each paused request gets its own :class:`PauseEditor`, kept while it waits at
the same phase, so switching between paused requests keeps what was typed.
Only what changed is sent: the environ keys whose value changed (``None``
for a removed key), the body if it changed; the status and the header list
if they changed; a chunk's new text, or ``drop``.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QBrush, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.model import Exchange

from . import desktop, theme
from .body_text import plural
from .panes.widgets import hexdump
from .resources import phase_text
from .stepping import pause_identity, phase_label

ORIGINAL_ROLE = Qt.ItemDataRole.UserRole + 10  # the value as paused, or None for a new row


def decode_utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class EditTable(QTableWidget):
    """Name/value rows to edit; Insert adds a row, Delete removes the selected ones.

    Rows loaded with ``fixed_names`` keep their name (an environ key is
    changed by value, removed, or added as a new row).
    """

    def __init__(self, headers: Sequence[str] = ("Name", "Value"), *, fixed_names: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.fixed_names = fixed_names
        self.setHorizontalHeaderLabels(list(headers))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTabKeyNavigation(True)
        self._mono = theme.mono_font()
        self._bold = QFont(self._mono)
        self._bold.setBold(True)
        for text, keys, slot in (("Add a row", [QKeySequence(Qt.Key.Key_Insert)], self.add_row),
                                 ("Remove the selected rows",
                                  [QKeySequence(QKeySequence.StandardKey.Delete)],
                                  self.remove_selected)):
            action = QAction(text, self)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.itemChanged.connect(self._mark)

    FIT_ROWS = 10  # the most rows the table asks room for; more scroll

    def sizeHint(self) -> QSize:
        """As tall as its rows (at most FIT_ROWS), so the dock that holds it is not
        mostly empty table; a row the user adds may scroll."""
        hint = super().sizeHint()
        rows = max(1, min(self.rowCount(), self.FIT_ROWS))
        height = self.horizontalHeader().sizeHint().height() \
            + rows * self.verticalHeader().defaultSectionSize() + 2 * self.frameWidth()
        return QSize(hint.width(), height)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(hint.width(), self.horizontalHeader().sizeHint().height()
                     + 2 * self.verticalHeader().defaultSectionSize() + 2 * self.frameWidth())

    def load(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.blockSignals(True)
        self.setRowCount(0)
        for name, value in pairs:
            self._append(name, value, original=True)
        self.blockSignals(False)
        self.resizeColumnToContents(0)
        self.setColumnWidth(0, min(max(self.columnWidth(0) + 16, 120), 280))

    def _append(self, name: str, value: str, *, original: bool) -> int:
        row = self.rowCount()
        self.insertRow(row)
        key = QTableWidgetItem(name)
        key.setFont(self._mono)
        key.setData(ORIGINAL_ROLE, name if original else None)
        if original and self.fixed_names:
            key.setFlags(key.flags() & ~Qt.ItemFlag.ItemIsEditable)
        val = QTableWidgetItem(value)
        val.setFont(self._mono)
        val.setData(ORIGINAL_ROLE, value if original else None)
        self.setItem(row, 0, key)
        self.setItem(row, 1, val)
        self._mark(val)
        return row

    def _mark(self, item: QTableWidgetItem) -> None:
        """A changed or new cell is bold and tinted, so the user sees what will be sent."""
        original = item.data(ORIGINAL_ROLE)
        changed = original is None or item.text() != original
        item.setFont(self._bold if changed else self._mono)
        item.setForeground(QBrush(theme.severity_color("warning", self.palette())) if changed
                           else QBrush())
        item.setToolTip(f"was: {original}" if changed and original is not None
                        else "new" if changed else "")

    def add_row(self, name: str = "", value: str = "") -> int:
        """Append an editable row and start editing its name."""
        row = self._append(name, value, original=False)
        self.setCurrentCell(row, 0)
        self.editItem(self.item(row, 0))
        return row

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.selectedIndexes()}
                      | ({self.currentRow()} if self.currentRow() >= 0 else set()),
                      reverse=True)
        for row in rows:
            self.removeRow(row)

    def commit_editor(self) -> None:
        """Keep what is being typed in a cell (F10 may come before Enter)."""
        if self.state() != QAbstractItemView.State.EditingState:
            return
        editor = QApplication.focusWidget()
        if editor is not None and self.isAncestorOf(editor):
            # Only commit: the delegate may have a close of this editor queued (Enter).
            self.commitData(editor)

    def pairs(self) -> list[tuple[str, str]]:
        out = []
        for row in range(self.rowCount()):
            name, value = self.item(row, 0), self.item(row, 1)
            if name is not None and name.text().strip():
                out.append((name.text().strip(), value.text() if value is not None else ""))
        return out

    def originals(self) -> list[str]:
        """The names of the loaded rows still present."""
        return [str(self.item(r, 0).data(ORIGINAL_ROLE)) for r in range(self.rowCount())
                if self.item(r, 0) is not None and self.item(r, 0).data(ORIGINAL_ROLE)
                is not None]


class FitText(QPlainTextEdit):
    """A text editor that asks for room for its lines (3 to 10), not a fixed 192 px."""

    def sizeHint(self) -> QSize:
        lines = max(3, min(10, self.document().blockCount() + 1))
        margins = self.contentsMargins()
        height = lines * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom() \
            + 2 * int(self.document().documentMargin())
        return QSize(super().sizeHint().width(), height)


def _table_buttons(table: EditTable, what: str) -> QHBoxLayout:
    add = QPushButton(f"Add {what}")
    add.setToolTip(f"Add {what} (Insert in the table)")
    add.clicked.connect(lambda: table.add_row())
    remove = QPushButton(f"Remove {what}")
    remove.setToolTip("Remove the selected rows (Delete in the table)")
    remove.clicked.connect(table.remove_selected)
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(add)
    row.addWidget(remove)
    row.addStretch(1)
    return row


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class PauseEditor(QWidget):
    """One paused request at one phase: its data, editable where the phase allows."""

    edited = Signal()  # something the user changed (or changed back)

    def __init__(self, x: Exchange, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert x.pause is not None
        self.row = x.id
        self.phase = x.paused
        self.pause: dict[str, Any] = x.pause
        self.identity = pause_identity(x)
        self.environ_size = len(x.environ)
        self.deadline = x.start + float(self.pause.get("t", 0.0)) \
            + float(self.pause.get("timeout", 0.0))
        self.environ: EditTable | None = None
        self.body: QPlainTextEdit | None = None
        self.status: QLineEdit | None = None
        self.headers: EditTable | None = None
        self.chunk: QPlainTextEdit | None = None
        self.drop: QCheckBox | None = None
        self._body_text: str | None = None
        self._chunk_text: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        build = {"received": self._build_received, "start_response": self._build_start_response,
                 "chunk": self._build_chunk}.get(self.phase, self._build_closed)
        build(layout)
        for table in (self.environ, self.headers):
            if table is not None:
                table.itemChanged.connect(self.edited)
                table.model().rowsRemoved.connect(self.edited)
        for text in (self.body, self.chunk):
            if text is not None:
                text.textChanged.connect(self.edited)
        if self.status is not None:
            self.status.textChanged.connect(self.edited)
        if self.drop is not None:
            self.drop.toggled.connect(self.edited)

    # -- pages ----------------------------------------------------------------------
    def _build_received(self, layout: QVBoxLayout) -> None:
        environ = {str(k): str(v) for k, v in (self.pause.get("environ") or {}).items()}
        self.environ = EditTable(("Key", "Value"), fixed_names=True)
        self.environ.setObjectName("environ-table")
        self.environ.load(sorted(environ.items()))
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        objects = max(0, self.environ_size - len(environ))
        others = f" (and {plural(objects, 'object')} such as wsgi.input)" if objects else ""
        column.addWidget(_caption(f"<b>environ</b> — the {len(environ)} text keys the app will "
                                  f"get{others}. Edit a value, add or remove a key."))
        column.addWidget(self.environ, 1)
        column.addLayout(_table_buttons(self.environ, "key"))

        data: bytes = self.pause.get("body") or b""
        complete = bool(self.pause.get("body_complete", True))
        text = decode_utf8(data)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        self.body = FitText()
        self.body.setObjectName("body-edit")
        self.body.setFont(theme.mono_font())
        if text is not None and complete:
            self._body_text = text
            self.body.setPlainText(text)
            self.body.setPlaceholderText("(no body — type one to send it; CONTENT_LENGTH "
                                         "follows)")
            note = (f"<b>Request body</b> (wsgi.input) — {plural(len(data), 'byte')}, "
                    "editable as text.")
        else:
            self.body.setPlainText(hexdump(data))
            self.body.setReadOnly(True)
            why = "only partly captured" if not complete else "not UTF-8 text"
            note = (f"<b>Request body</b> — {plural(len(data), 'byte')}, {why}: shown as hex, "
                    "read-only.")
        column.addWidget(_caption(note))
        column.addWidget(self.body, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        layout.addWidget(split, 1)

    def _build_start_response(self, layout: QVBoxLayout) -> None:
        self.status = QLineEdit(str(self.pause.get("status", "")))
        self.status.setObjectName("status-edit")
        self.status.setFont(theme.mono_font())
        self.status.setToolTip("A status line: three digits, a space and a reason, "
                               "like 404 Not Found")
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>status</b>"))
        top.addWidget(self.status, 1)
        layout.addLayout(top)
        self.headers = EditTable(("Header", "Value"))
        self.headers.setObjectName("headers-table")
        self.headers.load([(str(n), str(v)) for n, v in self.pause.get("headers") or []])
        layout.addWidget(_caption("<b>headers</b> — the (name, value) list, in order. Edit, "
                                  "add or remove; waitress adds Date, Server and framing "
                                  "headers itself."))
        layout.addWidget(self.headers, 1)
        layout.addLayout(_table_buttons(self.headers, "header"))

    def _build_chunk(self, layout: QVBoxLayout) -> None:
        data: bytes = self.pause.get("data") or b""
        index = self.pause.get("index", "?")
        text = decode_utf8(data)
        self.chunk = FitText()
        self.chunk.setObjectName("chunk-edit")
        self.chunk.setFont(theme.mono_font())
        if text is not None:
            self._chunk_text = text
            self.chunk.setPlainText(text)
            note = f"<b>Chunk {index}</b> — {plural(len(data), 'byte')} of UTF-8 text, editable."
        else:
            self.chunk.setPlainText(hexdump(data))
            self.chunk.setReadOnly(True)
            note = (f"<b>Chunk {index}</b> — {plural(len(data), 'byte')}, not UTF-8: shown as "
                    "hex, read-only (it can still be dropped).")
        self.drop = QCheckBox("Drop this chunk (the client never gets it)")
        self.drop.setObjectName("drop-chunk")
        self.drop.toggled.connect(lambda on: self.chunk.setEnabled(not on)
                                  if self.chunk is not None else None)
        layout.addWidget(_caption(note))
        layout.addWidget(self.chunk, 1)
        layout.addWidget(self.drop)

    def _build_closed(self, layout: QVBoxLayout) -> None:
        label = _caption("Every chunk has been sent. The server is about to call "
                         "<code>close()</code> on the iterable the app returned (if it has "
                         "one), then the exchange ends. Nothing to edit here: press F10 or "
                         "F8 to let it finish.")
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(label, 1)

    # -- what to send ---------------------------------------------------------------
    def commit(self) -> None:
        for table in (self.environ, self.headers):
            if table is not None:
                table.commit_editor()

    def payload(self) -> dict[str, Any]:
        """The edit for the step/continue command: only what changed."""
        self.commit()
        return self._edit()

    def summary(self) -> str:
        """What the next step will send changed, in a few words ("" for nothing)."""
        edit = self._edit()
        parts = []
        keys = list(edit.get("environ", {}))
        if keys:
            parts.append(", ".join(keys[:3]) + (f" and {len(keys) - 3} more"
                                                if len(keys) > 3 else ""))
        parts += [{"body": "the body", "status": "the status", "headers": "the headers",
                   "data": "the chunk's text", "drop": "drop the chunk"}[k]
                  for k in ("body", "status", "headers", "data", "drop") if k in edit]
        return ", ".join(parts)

    def _edit(self) -> dict[str, Any]:
        edit: dict[str, Any] = {}
        if self.environ is not None:
            before = {str(k): str(v) for k, v in (self.pause.get("environ") or {}).items()}
            after = dict(self.environ.pairs())
            changes: dict[str, str | None] = {k: v for k, v in after.items()
                                              if before.get(k) != v}
            changes.update({k: None for k in before if k not in after})
            if changes:
                edit["environ"] = changes
        if self.body is not None and self._body_text is not None \
                and self.body.toPlainText() != self._body_text:
            edit["body"] = self.body.toPlainText()
        if self.status is not None and self.status.text() != str(self.pause.get("status", "")):
            edit["status"] = self.status.text()
        if self.headers is not None:
            before_h = [(str(n), str(v)) for n, v in self.pause.get("headers") or []]
            after_h = self.headers.pairs()
            if after_h != before_h:
                edit["headers"] = [[n, v] for n, v in after_h]
        if self.drop is not None and self.drop.isChecked():
            edit["drop"] = True
        elif self.chunk is not None and self._chunk_text is not None \
                and self.chunk.toPlainText() != self._chunk_text:
            edit["data"] = self.chunk.toPlainText()
        return edit

    def remaining(self, now: float | None = None) -> float:
        return self.deadline - (time.time() if now is None else now)


class StepPanel(QWidget):
    """The dock's content: the editor of the selected paused request, Learn text, buttons."""

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editors: dict[int, PauseEditor] = {}
        self.current: PauseEditor | None = None
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.countdown = QLabel()
        self.countdown.setToolTip("A forgotten pause must not hold a server thread forever: "
                                  "after this the request continues by itself.")
        self.pending = QLabel()
        self.pending.setObjectName("pending-edits")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addSpacing(12)
        top.addWidget(self.pending, 1)
        top.addWidget(self.countdown)

        self.placeholder = _caption("")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)

        self.learn = QLabel()
        self.learn.setObjectName("learn")
        self.learn.setWordWrap(True)
        self.learn.setTextFormat(Qt.TextFormat.RichText)
        self.learn.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.learn.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.learn.setOpenExternalLinks(False)
        self.learn.linkActivated.connect(lambda url: desktop.open_url(QUrl(url)))
        self.learn.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.learn.setMinimumWidth(220)

        buttons = QGridLayout()
        buttons.setSpacing(4)
        self.buttons: dict[str, QToolButton] = {}
        for i, name in enumerate(("step", "continue", "continue_all")):
            button = QToolButton()
            button.setDefaultAction(actions[name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.buttons[name] = button
            buttons.addWidget(button, i // 2, i % 2)
        abort = QToolButton()
        abort.setText("Abort ▾")
        abort.setToolTip("Answer 502 Bad Gateway, or cut the connection")
        abort.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        abort.setStyleSheet("QToolButton::menu-indicator { image: none; }")  # the ▾ says it
        abort.addAction(actions["abort_502"])
        abort.addAction(actions["abort_drop"])
        abort.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.buttons["abort"] = abort
        buttons.addWidget(abort, 1, 1)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(6, 0, 0, 0)
        side_layout.addWidget(self.learn, 1)
        side_layout.addLayout(buttons)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.stack)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        self.split = split
        self.side = side
        self._top = top
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self.show_pause(None, paused=0)

    def fitted_height(self, width: int) -> int:
        """The height that shows all of the current page and the Learn text with its
        buttons, at this panel width: the dock's default, not a third of the window."""
        page = self.stack.currentWidget()
        page_h = page.sizeHint().height() if page is not None else 0
        side_w = self.split.sizes()[1] if self.split.sizes()[1] > 0 else width // 4
        margins = self.side.layout().contentsMargins()
        learn_w = max(self.learn.minimumWidth(), side_w - margins.left() - margins.right())
        side_h = self.learn.heightForWidth(learn_w) + self.side.layout().spacing() \
            + self.side.layout().itemAt(1).sizeHint().height()
        outer = self.layout().contentsMargins()
        return outer.top() + outer.bottom() + self._top.sizeHint().height() \
            + self.layout().spacing() + max(page_h, side_h)

    def show_pause(self, x: Exchange | None, *, paused: int, sent: bool = False) -> None:
        """Show the editor for ``x`` (a paused exchange) or a hint; ``paused`` counts all."""
        if x is None or x.pause is None or not x.paused:
            self.current = None
            self.stack.setCurrentWidget(self.placeholder)
            if paused:
                self.placeholder.setText(
                    f"{paused} request{'s are' if paused != 1 else ' is'} paused "
                    f"({theme.pause_glyph()} in the list). Select one to see its data here "
                    "and step it.")
            else:
                self.placeholder.setText(
                    "No request is paused. Press F9 (Step) to pause the next request, or set "
                    "breakpoints (Step ▸ Breakpoints…) to pause the ones that match.")
            self.title.setText("<b>Step</b>")
            self.pending.clear()
            self.countdown.clear()
            self.learn.setText(_learn_html("app_called"))
            self._timer.stop()
            return
        editor = self.editors.get(x.id)
        if editor is None or editor.identity != pause_identity(x):
            if editor is not None:
                self._drop(x.id)
            editor = PauseEditor(x)
            editor.edited.connect(self._show_pending)
            self.editors[x.id] = editor
            self.stack.addWidget(editor)
        self.current = editor
        self.stack.setCurrentWidget(editor)
        editor.setEnabled(not sent)
        target = x.path + (f"?{x.query}" if x.query else "")
        waiting = " — sent, waiting for the next phase…" if sent else ""
        self.title.setText(f"<b>{theme.pause_glyph()} #{x.id} {html.escape(x.method)} "
                           f"{html.escape(target)}</b> — paused at "
                           f"<b>{html.escape(phase_label(x))}</b>"
                           f"{html.escape(waiting)}"
                           + (f" &nbsp;·&nbsp; {paused - 1} other request"
                              f"{'s' if paused != 2 else ''} paused" if paused > 1 else ""))
        self.learn.setText(_learn_html(x.paused))
        self._show_pending()
        self._tick()
        self._timer.start()

    def _show_pending(self) -> None:
        editor = self.current
        what = editor.summary() if editor is not None else ""
        colour = theme.severity_color("warning", self.palette()).name()
        self.pending.setText(f'<span style="color:{colour}">✎ your edit: '
                             f"{html.escape(what)} — F10 sends it</span>" if what else "")

    def prune(self, alive: set[int]) -> None:
        """Forget the editors of rows that are not paused any more."""
        for row in [r for r in self.editors if r not in alive]:
            self._drop(row)

    def _drop(self, row: int) -> None:
        editor = self.editors.pop(row, None)
        if editor is None:
            return
        if self.current is editor:
            self.current = None
            self.stack.setCurrentWidget(self.placeholder)
        self.stack.removeWidget(editor)
        editor.deleteLater()

    def _tick(self) -> None:
        editor = self.current
        if editor is None:
            self.countdown.clear()
            return
        left = max(0, int(editor.remaining()))
        self.countdown.setText(f"continues on its own in {left // 60}:{left % 60:02d}")


def _learn_html(key: str) -> str:
    title, text, section, url = phase_text(key)
    if not text:
        return ""
    link = f'<br><a href="{html.escape(url)}">{html.escape(section)}</a>' if url else ""
    return f"<b>Learn — {html.escape(title)}.</b><br>{html.escape(text)}{link}"
