"""Output: the print() and logging lines of this one exchange, coloured by level.

A record of several lines (a log record with its traceback) is one row showing its
first line; it expands to the rest. Ctrl+C, or "Copy" in the context menu, copies
the selected records whole.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.model import Exchange

from .. import theme
from ..body_text import plural
from ..timeline import fmt_ms

COLUMNS = ("Time", "Stream", "Level", "Logger", "Text")
TEXT = 4
FULL_TEXT = Qt.ItemDataRole.UserRole  # a row's whole record, for copying
FIT_LIMIT = 2000  # records up to which the text column is sized to its longest line


class OutputPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = QLabel("Lines this request printed or logged (stdout, stderr, which "
                           "waitress passes as wsgi.errors, logging), in order. A record "
                           "with ▸ has more lines: expand it; Ctrl+C copies.")
        self.hint.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for col, width in enumerate((90, 80, 70, 110)):
            self.tree.setColumnWidth(col, width)
        # Long lines (a traceback's file paths) scroll sideways instead of being cut.
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.header().setStretchLastSection(False)
        self.tree.itemExpanded.connect(self._fit_text)
        copy = QAction("Copy", self.tree)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_selection)
        self.tree.addAction(copy)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.tree, 1)

    def show_exchange(self, x: Exchange | None) -> None:
        self.tree.clear()
        if x is None:
            return
        mono = theme.mono_font()
        for line in x.output:
            text = line.text.rstrip("\n")
            first, *rest = text.split("\n")
            shown = f"{first}   (+{plural(len(rest), 'line')})" if rest else first
            item = QTreeWidgetItem([fmt_ms(line.t), line.stream, line.level, line.logger, shown])
            item.setData(TEXT, FULL_TEXT, text)
            item.setFont(TEXT, mono)
            item.setToolTip(TEXT, "Expand to read the whole record" if rest else "")
            colour = theme.level_color(line.stream, line.level)
            for part in rest:
                child = QTreeWidgetItem(["", "", "", "", part])
                child.setData(TEXT, FULL_TEXT, part)
                child.setFont(TEXT, mono)
                if colour is not None:
                    child.setForeground(TEXT, colour)
                item.addChild(child)
            if colour is not None:
                for col in (2, TEXT):
                    item.setForeground(col, colour)
            self.tree.addTopLevelItem(item)
        self._fit_text()

    def _fit_text(self) -> None:
        """The text column as wide as its longest shown line (an expanded record's too)."""
        if self.tree.topLevelItemCount() <= FIT_LIMIT:
            self.tree.resizeColumnToContents(TEXT)
        else:  # measuring every line would stall the window; take what shows
            self.tree.setColumnWidth(TEXT, max(self.tree.viewport().width() - 350, 400))

    def lines(self) -> list[str]:
        """Each record's whole text, in order."""
        tree = self.tree
        return [tree.topLevelItem(i).data(TEXT, FULL_TEXT)
                for i in range(tree.topLevelItemCount())]

    def selected_text(self) -> str:
        """The selected records, whole; a line of a record only when the record
        itself is not selected too."""
        tree = self.tree
        texts = []
        for i in range(tree.topLevelItemCount()):
            item = tree.topLevelItem(i)
            if item.isSelected():
                texts.append(item.data(TEXT, FULL_TEXT))
                continue
            texts += [item.child(j).data(TEXT, FULL_TEXT) for j in range(item.childCount())
                      if item.child(j).isSelected()]
        return "\n".join(texts)

    def copy_selection(self) -> None:
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)
