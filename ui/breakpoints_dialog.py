"""Breakpoints…: a list of request filters like a debugger's, each one on or off."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .stepping import HELP, BreakpointEntry, breakpoint_meaning
from .theme import severity_color

EXAMPLES = ("Examples: method:POST  ·  path:/api/*  ·  /admin  ·  header:Authorization  ·  "
            "header:X-Debug=1  ·  -path:/static")


class BreakpointsDialog(QDialog):
    def __init__(self, entries: list[BreakpointEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Breakpoints")
        self.resize(560, 380)
        help_label = QLabel(HELP)
        help_label.setWordWrap(True)
        examples = QLabel(EXAMPLES)
        examples.setEnabled(False)  # a quieter colour, from the palette
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.itemChanged.connect(self._describe)
        remove_action = QAction("Remove", self.list)
        remove_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove_action.triggered.connect(self.remove_selected)
        self.list.addAction(remove_action)
        for entry in entries:
            self._add_item(entry)

        self.edit = QLineEdit()
        self.edit.setPlaceholderText("method:POST path:/api/*")
        self.edit.textChanged.connect(self._preview)
        self.edit.returnPressed.connect(self.add_from_edit)
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setEnabled(False)
        add = QPushButton("Add")
        add.clicked.connect(self.add_from_edit)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_selected)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addWidget(add)
        row.addWidget(remove)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        # Enter in the line edit adds a filter; it must not also close the dialog.
        for button in box.buttons():
            if isinstance(button, QPushButton):
                button.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(help_label)
        layout.addWidget(examples)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        layout.addWidget(self.preview)
        layout.addWidget(box)
        self._preview("")

    def _add_item(self, entry: BreakpointEntry) -> QListWidgetItem:
        item = QListWidgetItem(entry.text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable)
        item.setCheckState(Qt.CheckState.Checked if entry.enabled else Qt.CheckState.Unchecked)
        self.list.addItem(item)
        self._describe(item)
        return item

    def _describe(self, item: QListWidgetItem) -> None:
        text = item.text().strip()
        meaning, valid = breakpoint_meaning(text) if text else ("", True)
        tip = (f"Pauses: {meaning}" if valid else f"Pauses nothing: {meaning}") if text else ""
        if item.toolTip() != tip:
            item.setToolTip(tip)
        # One that cannot be read stays in the list, to be fixed, in red and unarmed.
        color = None if valid else severity_color("error", self.palette())
        if item.data(Qt.ItemDataRole.ForegroundRole) != color:
            item.setData(Qt.ItemDataRole.ForegroundRole, color)

    def _preview(self, text: str) -> None:
        text = text.strip()
        if not text:
            self.preview.setText("Type a filter and press Enter to add it.")
            self.preview.setEnabled(False)
            self.preview.setStyleSheet("")
            return
        meaning, valid = breakpoint_meaning(text)
        self.preview.setText(f"Pauses: {meaning}" if valid else f"⚠ {meaning}")
        self.preview.setEnabled(not valid)  # an error in full colour, the error's
        color = "" if valid else severity_color("error", self.palette()).name()
        self.preview.setStyleSheet(f"color: {color};" if color else "")

    def add_from_edit(self) -> None:
        text = self.edit.text().strip()
        if text and breakpoint_meaning(text)[1]:
            self.list.setCurrentItem(self._add_item(BreakpointEntry(text)))
            self.edit.clear()

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))

    def entries(self) -> list[BreakpointEntry]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.text().strip():
                out.append(BreakpointEntry(item.text().strip(),
                                           item.checkState() == Qt.CheckState.Checked))
        return out
