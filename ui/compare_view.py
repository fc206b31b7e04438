"""Compare: two exchanges side by side, section by section, differences highlighted.

The rows come from :func:`inspector.compare.compare`; this window only shows
them: a tree of sections (request, response and timing, headers, environ,
bodies), each row the name and the two values, the left value on a red
ground and the right on a green one where they differ, as diff tools do.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.compare import Section, compare
from inspector.host.terminal import inert, inert_lines
from inspector.model import Exchange

from . import theme

# (light, dark) grounds of a value that differs: the left one, the right one
LEFT_GROUND = ("#fbe1e0", "#5a2a28")
RIGHT_GROUND = ("#dff3dc", "#234a28")
ABSENT = "(none)"
MAX_VALUE = 2000  # characters of one value shown (the whole value is in its tooltip)


def describe(x: Exchange) -> str:
    """``#12 POST /api/books → 201 Created``: a column's title."""
    target = x.path + (f"?{x.query}" if x.query else "")
    return inert(f"#{x.id} {x.method} {target} → {x.status or 'no reply'}")


class CompareView(QDialog):
    def __init__(self, left: Exchange, right: Exchange, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Compare #{left.id} and #{right.id}")
        self.resize(1100, 720)
        self.sections: list[Section] = compare(left, right)
        total = sum(s.differences for s in self.sections)
        summary = QLabel(f"<b>{total} difference{'s' * (total != 1)}</b> between "
                         f"<b>#{left.id}</b> (left) and <b>#{right.id}</b> (right)"
                         if total else f"#{left.id} and #{right.id} do not differ")
        self.only = QCheckBox("Only differences")
        self.only.setChecked(bool(total))
        self.only.toggled.connect(self._fill)
        top = QHBoxLayout()
        top.addWidget(summary, 1)
        top.addWidget(self.only)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["", describe(left), describe(right)])
        self.tree.setAlternatingRowColors(False)
        self.tree.setUniformRowHeights(False)
        self.tree.setWordWrap(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.tree.setColumnWidth(0, 220)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(box)
        self._fill()

    def _fill(self) -> None:
        self.tree.clear()
        only = self.only.isChecked()
        dark = theme.is_dark(self.palette())
        grounds = [QBrush(QColor(pair[dark])) for pair in (LEFT_GROUND, RIGHT_GROUND)]
        mono = theme.mono_font()
        quiet = self.palette().placeholderText()
        bold = QFont(self.font())
        bold.setBold(True)
        for section in self.sections:
            item = QTreeWidgetItem(self.tree, [self._title(section), "", ""])
            item.setFirstColumnSpanned(True)
            item.setFont(0, bold)
            for row in section.rows:
                if only and row.same:
                    continue
                child = QTreeWidgetItem(item, [inert(row.key), _shown(row.left),
                                               _shown(row.right)])
                for col, text in ((1, row.left), (2, row.right)):
                    if not row.same:
                        child.setBackground(col, grounds[col - 1])
                    if text is None:  # absent on this side: said so, in a quieter colour
                        child.setForeground(col, quiet)
                        continue
                    child.setFont(col, mono)
                    # Rich text, escaped: a value from the network is never markup.
                    child.setToolTip(col, "<pre>" + html.escape(inert_lines(text[:20000]))
                                     + "</pre>")
                if not row.same:
                    child.setFont(0, bold)
            item.setExpanded(bool(section.differences) or not only)

    @staticmethod
    def _title(section: Section) -> str:
        n = section.differences
        count = f"{n} difference{'s' * (n != 1)}" if n else "same"
        if not section.rows:
            count = section.note or "nothing"
            return f"{section.title} — {count}"
        return f"{section.title} — {count}" + (f" ({section.note})" if section.note else "")

    def different_keys(self, title: str) -> list[str]:
        """The keys that differ in the section ``title`` (for tests and scripts)."""
        section = next(s for s in self.sections if s.title == title)
        return [r.key for r in section.rows if not r.same]


def _shown(text: str | None) -> str:
    if text is None:
        return ABSENT
    text = inert_lines(text)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"

