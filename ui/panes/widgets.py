"""Small widgets the panes share: a copyable name/value table, a hex dump (the body
viewer is :mod:`ui.body_view`, re-exported here)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ..body_text import HEX_LIMIT, hexdump, is_probably_text
from ..body_view import BodyView
from ..theme import mono_font

__all__ = ["HEX_LIMIT", "BodyView", "KeyValueTable", "hexdump", "is_probably_text"]


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
