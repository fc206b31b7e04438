"""Handing URLs and files to the desktop (browser, editor); one place tests can replace."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def open_url(url: QUrl) -> bool:
    """Open ``url`` with the user's default application for it."""
    return QDesktopServices.openUrl(url)
