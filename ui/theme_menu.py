"""View ▸ Theme: System, Light or Dark, remembered for every window."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QApplication, QMenu

from . import theme

THEME_KEY = "view/theme"
THEMES = (("system", "&System"), ("light", "&Light"), ("dark", "&Dark"))
SCHEMES = {"system": None, "light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}


def saved_theme(settings: QSettings) -> str:
    value = str(settings.value(THEME_KEY, "system"))
    return value if value in SCHEMES else "system"


def apply_theme(name: str) -> None:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        theme.apply_scheme(app, SCHEMES.get(name))


def build_theme_menu(parent: QMenu, settings: QSettings) -> dict[str, QAction]:
    """The Theme submenu under ``parent``; applies the saved theme unless it is the
    system's (already applied at start). Returns the actions by theme name."""
    menu = parent.addMenu("&Theme")
    group = QActionGroup(menu)
    group.setExclusive(True)
    current = saved_theme(settings)
    actions = {}
    for name, text in THEMES:
        action = menu.addAction(text)
        action.setCheckable(True)
        action.setChecked(name == current)
        group.addAction(action)
        action.triggered.connect(lambda _=False, n=name: choose_theme(settings, n))
        actions[name] = action
    if current != "system":
        apply_theme(current)
    return actions


def choose_theme(settings: QSettings, name: str) -> None:
    settings.setValue(THEME_KEY, name)
    apply_theme(name)
