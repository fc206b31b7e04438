"""Output: the print() and logging lines of this one exchange, coloured by level."""

from __future__ import annotations

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
from ..timeline import fmt_ms

COLUMNS = ("Time", "Stream", "Level", "Logger", "Text")


class OutputPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = QLabel("Lines this request printed or logged (stdout, stderr, "
                           "wsgi.errors, logging), in order.")
        self.hint.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for col, width in enumerate((80, 80, 70, 110)):
            self.tree.setColumnWidth(col, width)
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
            item = QTreeWidgetItem([fmt_ms(line.t), line.stream, line.level, line.logger,
                                    line.text.rstrip("\n")])
            item.setFont(4, mono)
            colour = theme.level_color(line.stream, line.level)
            if colour is not None:
                for col in (2, 4):
                    item.setForeground(col, colour)
            self.tree.addTopLevelItem(item)

    def lines(self) -> list[str]:
        return [self.tree.topLevelItem(i).text(4) for i in range(self.tree.topLevelItemCount())]
