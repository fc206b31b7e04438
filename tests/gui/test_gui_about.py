"""The window's icon and Help ▸ About: versions, the session folder, the license."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QApplication, QLabel

from inspector import __version__
from ui.about import AboutDialog
from ui.resources import ICON_SIZES


def test_window_has_the_icon_at_every_size(make_window: Any) -> None:
    window = make_window(start=False)
    icon = window.windowIcon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert sizes == set(ICON_SIZES)


def test_help_about_shows_versions_session_folder_and_license(make_window: Any,
                                                              qtbot: Any) -> None:
    window = make_window(start=False)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.about_action in help_menu.actions()
    window.about_action.trigger()
    dialog = window.findChild(AboutDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    shown = "\n".join(label.text() for label in dialog.findChildren(QLabel))
    folder = str(window.recording.path.parent)
    for needed in (__version__, platform.python_version(), qVersion(),
                   metadata.version("waitress"), folder, "MIT"):
        assert needed in shown, needed
    assert not dialog.windowIcon().isNull()
    dialog.copy()
    copied = QApplication.clipboard().text()
    assert f"Sessions: {folder}" in copied and f"WSGI Inspector {__version__}" in copied
    dialog.close()
