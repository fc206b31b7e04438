"""Help ▸ About: what is running (versions a bug report needs), where sessions go, the license.

The details are plain text first (``about_details``), so "Copy" gives the same
lines a person reads, ready to paste into a report.
"""

from __future__ import annotations

import html
import platform
from importlib import metadata
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from inspector import __version__

from .resources import app_icon

TAGLINE = "See how a Python web back end really works: every WSGI exchange, phase by phase."
LICENSE = "MIT License: free to use, change and share, with no warranty."
ICON_SIZE = 64
MIN_WIDTH = 480  # px: the tagline and a session path on few lines, not a narrow column


def package_version(name: str) -> str:
    """A distribution's version, or "unknown" where its metadata was not shipped."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def about_details(session: Path | None) -> list[tuple[str, str]]:
    """(label, value) rows: the versions that matter for a report, the session folder."""
    folder = str(session.parent) if session is not None else "no session recording"
    return [
        ("Version", __version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("waitress", package_version("waitress")),
        ("Sessions", folder),
        ("License", LICENSE),
    ]


def details_text(rows: list[tuple[str, str]]) -> str:
    return "\n".join([f"WSGI Inspector {__version__}", *(f"{k}: {v}" for k, v in rows)])


class AboutDialog(QDialog):
    def __init__(self, session: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About WSGI Inspector")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(MIN_WIDTH)
        self.rows = about_details(session)
        self.folder = session.parent if session is not None else None
        layout = QVBoxLayout(self)
        layout.addLayout(self._heading())
        layout.addLayout(self._form())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("&Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setToolTip("Copy these lines, e.g. for a bug report")
        copy.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _heading(self) -> QHBoxLayout:
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(ICON_SIZE, ICON_SIZE))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<h2 style='margin:0'>WSGI Inspector</h2><p>{TAGLINE}</p>")
        title.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addWidget(title, 1)
        return row

    def _form(self) -> QFormLayout:
        form = QFormLayout()
        for label, value in self.rows:
            field = QLabel(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setWordWrap(True)
            if label == "Sessions" and self.folder is not None:
                field.setText(f"<a href='{QUrl.fromLocalFile(str(self.folder)).toString()}'>"
                              f"{html.escape(value)}</a>")
                field.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
                field.setToolTip("Open the folder")
                field.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
            form.addRow(f"{label}:", field)
        return form

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(details_text(self.rows))


def show_about(parent: QWidget, session: Path | None) -> AboutDialog:
    """Open the About box (modeless: the window keeps recording behind it)."""
    dialog = AboutDialog(session, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
