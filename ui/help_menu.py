"""The Help menu and its Keyboard Shortcuts window.

``build_help_menu(window)`` makes the menu with Keyboard Shortcuts first;
other entries (Filter Syntax, About) are appended to the menu it returns
(``window.help_menu``). The shortcuts window is built from the window's actual
QActions each time it opens, so it lists what the keys really do today.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .list_view import LIST_KEYS

if TYPE_CHECKING:
    from .main_window import MainWindow

HELP_KEY = "F1"  # and "?" in the list (see list_view.LIST_KEYS)


def action_text(action: QAction) -> str:
    """The action's words as a menu shows them: no accelerator marks, no "(F8)"."""
    text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    if text.endswith(")") and " (" in text:
        text = text.rsplit(" (", 1)[0]
    return text.rstrip("…")


def keys_text(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                     for k in action.shortcuts() if not k.isEmpty())


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """(area, what it does, keys) for every action of the window that has a key,
    then the list's own keys; each action once, in menu order where it has one."""
    seen: set[int] = set()
    rows: list[tuple[str, str, str]] = []
    menus = [a.menu() for a in window.menuBar().actions() if a.menu() is not None] \
        if hasattr(window, "menuBar") else []
    for menu in menus:
        for action in _menu_actions(menu):
            if id(action) not in seen and keys_text(action):
                seen.add(id(action))
                rows.append((menu.title().replace("&", ""), action_text(action),
                             keys_text(action)))
    table = getattr(window, "table", None)
    listed = {(what, keys) for _where, what, keys in rows}
    for action in window.findChildren(QAction):
        what, keys = action_text(action), keys_text(action)
        if id(action) in seen or not keys or not what or (what, keys) in listed:
            continue
        listed.add((what, keys))
        rows.append((_where(window, action, table), what, keys))
    rows.extend(("List", what, keys) for keys, what in LIST_KEYS)
    return rows


def _where(window: QWidget, action: QAction, table: QWidget | None) -> str:
    """Where an action's keys work, by the widget that holds it."""
    owner = action.parent()
    if owner is window:
        return "Window"
    if owner is table:
        return "List"
    dock = getattr(window, "step_dock", None)
    if isinstance(owner, QWidget) and dock is not None and dock.isAncestorOf(owner):
        return "Step panel"
    return "Panes"


def _menu_actions(menu: QMenu) -> list[QAction]:
    out = []
    for action in menu.actions():
        sub = action.menu()
        out.extend(_menu_actions(sub) if sub is not None else [action])
    return out


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut of the window, as a table."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcuts-dialog")
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "What it does", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 2:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        note = QLabel("Keys of the list work while it has the focus; Enter moves the focus "
                      "to the panes, a click on the list brings it back.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.table.setCurrentCell(-1, -1)
        self.resize(640, min(760, 140 + (self.fontMetrics().height() + 8) * len(rows)))

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3))  # type: ignore[misc]
                for r in range(self.table.rowCount())]


def show_shortcuts(window: MainWindow) -> ShortcutsDialog:
    dialog = ShortcutsDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.activateWindow()
    window.shortcuts_dialog = dialog
    return dialog


def build_help_menu(window: MainWindow) -> QMenu:
    """The Help menu; others append their entries (Filter Syntax, About) to it."""
    menu = window.menuBar().addMenu("&Help")
    shortcuts = QAction("&Keyboard Shortcuts", window)
    shortcuts.setShortcut(QKeySequence(HELP_KEY))
    shortcuts.setStatusTip("Every key of the window, from its actual menus and actions")
    shortcuts.triggered.connect(lambda: show_shortcuts(window))
    window.addAction(shortcuts)
    window.actions_by_name["shortcuts"] = shortcuts
    menu.addAction(shortcuts)
    # "?" in the list (only there: elsewhere it is a character the user types).
    window.table.help_requested.connect(shortcuts.trigger)
    return menu
