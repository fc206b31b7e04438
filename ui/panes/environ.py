"""Environ: every key the app received, grouped, typed, explained, searchable, copyable."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.model import Exchange

from ..resources import environ_explanation
from ..theme import mono_font

CGI_KEYS = frozenset({
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE",
    "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
    "GATEWAY_INTERFACE", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "REMOTE_USER",
    "AUTH_TYPE", "REQUEST_URI", "RAW_URI", "PATH_TRANSLATED",
})
GROUPS = ("CGI / request", "HTTP headers (HTTP_*)", "WSGI (wsgi.*)", "Server-specific")
COLUMNS = ("Key", "Value", "Type", "Meaning")


def group_of(key: str) -> str:
    if key.startswith("HTTP_"):
        return GROUPS[1]
    if key.startswith("wsgi."):
        return GROUPS[2]
    if key in CGI_KEYS:
        return GROUPS[0]
    return GROUPS[3]


class EnvironPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search keys, values and explanations…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_search)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 220)
        self.tree.setColumnWidth(1, 260)
        self.tree.setColumnWidth(2, 80)
        self.tree.currentItemChanged.connect(self._explain)
        self.explanation = QLabel("Select a key to see what it means.")
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setMargin(4)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for text, handler, shortcut in (
                ("Copy value", self.copy_values, QKeySequence.StandardKey.Copy),
                ("Copy as KEY = value", self.copy_pairs, None),
                ("Copy the whole environ", self.copy_all, None)):
            action = QAction(text, self.tree)
            if shortcut is not None:
                action.setShortcut(shortcut)
                action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(handler)
            self.tree.addAction(action)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.explanation)
        self._environ: dict[str, tuple[str, str]] = {}

    def show_exchange(self, x: Exchange | None) -> None:
        environ = dict(x.environ) if x is not None else {}
        if environ == self._environ and self.tree.topLevelItemCount():
            return
        self._environ = environ
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for name in GROUPS:
            item = QTreeWidgetItem([name])
            item.setFirstColumnSpanned(False)
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            groups[name] = item
        mono = mono_font()
        for key in sorted(environ):
            value, kind = environ[key]
            meaning = environ_explanation(key)
            item = QTreeWidgetItem(groups[group_of(key)], [key, value, kind, meaning])
            item.setFont(0, mono)
            item.setFont(1, mono)
            for col in range(len(COLUMNS)):
                item.setToolTip(col, f"{key}: {meaning}")
        for name in GROUPS:
            group = groups[name]
            if group.childCount():
                n = group.childCount()
                group.setText(1, f"{n} key{'s' if n != 1 else ''}")
                self.tree.addTopLevelItem(group)
                group.setExpanded(True)
        self._apply_search(self.search.text())

    def _explain(self, item: QTreeWidgetItem | None, _previous: object = None) -> None:
        if item is None or item.parent() is None:
            self.explanation.setText("Select a key to see what it means.")
            return
        self.explanation.setText(f"<b>{html.escape(item.text(0))}</b> "
                                 f"<i>({html.escape(item.text(2))})</i>: "
                                 f"{html.escape(item.text(3))}")

    def items(self) -> dict[str, QTreeWidgetItem]:
        """Key → item, for every key shown."""
        out = {}
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                child = group.child(j)
                out[child.text(0)] = child
        return out

    def _apply_search(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            visible = 0
            for j in range(group.childCount()):
                child = group.child(j)
                hit = not needle or any(needle in child.text(c).lower()
                                        for c in range(len(COLUMNS)))
                child.setHidden(not hit)
                visible += hit
            group.setHidden(visible == 0)

    def _selected(self) -> list[QTreeWidgetItem]:
        return [i for i in self.tree.selectedItems() if i.parent() is not None]

    def copy_values(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(i.text(1) for i in self._selected()))

    def copy_pairs(self) -> None:
        QGuiApplication.clipboard().setText(
            "\n".join(f"{i.text(0)} = {i.text(1)}" for i in self._selected()))

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(
            "\n".join(f"{k} = {v[0]}" for k, v in sorted(self._environ.items())))
