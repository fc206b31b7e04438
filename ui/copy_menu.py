"""Copy as ▸ (cURL, HTTPie, Python, fetch, raw HTTP, HAR entry, pytest), Copy Response
Body, Save Body As…, for the selected exchanges.

The texts are :func:`inspector.host.formats.render`'s, as the command line's
``--export`` writes them; secrets are left out unless "Keep Secrets" is on.
Raw HTTP is bytes: the clipboard gets them as they are
(``application/octet-stream``) and as text (UTF-8, undecodable bytes replaced).
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from inspector.host.export import ExportError
from inspector.host.formats import FORMATS, AppRef, render
from inspector.model import Exchange

# The formats the menu offers, in its order ("har", a whole file, is File ▸ Export HAR).
MENU_FORMATS = ("curl", "httpie", "python", "fetch", "raw-request", "raw-response", "raw",
                "har-entry", "pytest")
Exchanges = Callable[[], Sequence[Exchange]]


def warn(parent: QWidget, title: str, text: str) -> QMessageBox:
    """A warning that does not block the event loop (answers keep coming meanwhile)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                      parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def copy_as(name: str, exchanges: Sequence[Exchange], *, base_url: str | None = None,
            redact: bool = True, app: AppRef | None = None) -> str | bytes:
    """Put ``exchanges`` in format ``name`` on the clipboard; returns what was put.
    ExportError (one sentence) when the format cannot be made from them."""
    out = render(name, exchanges, base_url=base_url, redact=redact, app=app)
    if isinstance(out, bytes):
        data = QMimeData()
        data.setData("application/octet-stream", out)
        data.setText(out.decode("utf-8", "replace"))
        QGuiApplication.clipboard().setMimeData(data)
    else:
        QGuiApplication.clipboard().setText(out)
    return out


def body_text(x: Exchange) -> str | None:
    """The response body the client got, as text, or None when it is not text."""
    body = bytes(x.client_body)
    content_type = (x.header("Content-Type") or "").lower()
    charset = content_type.partition("charset=")[2].split(";")[0].strip().strip('"')
    try:
        return body.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return None


def suggested_name(x: Exchange) -> str:
    """A file name for the response body: the path's last part, with the type's suffix."""
    stem = x.path.rstrip("/").rsplit("/", 1)[-1] or "index"
    kind = (x.header("Content-Type") or "").split(";")[0].strip().lower()
    suffix = {"text/plain": ".txt", "application/json": ".json"}.get(kind) \
        or mimetypes.guess_extension(kind) or ".bin"
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80] or "body"
    return name if Path(name).suffix else name + suffix


class CopyActions:
    """The menu and the two body actions, acting on what ``exchanges()`` returns."""

    def __init__(self, parent: QWidget, exchanges: Exchanges, *,
                 base_url: Callable[[], str | None], app: Callable[[], AppRef | None],
                 start_dir: Callable[[], str], remember_dir: Callable[[str], None],
                 report: Callable[[str], None]) -> None:
        self._parent = parent
        self._exchanges = exchanges
        self._base_url = base_url
        self._app = app
        self._start_dir = start_dir
        self._remember_dir = remember_dir
        self._report = report  # a line for the status bar
        self.menu = QMenu("Copy &As", parent)
        self.menu.setToolTipsVisible(True)
        self.format_actions: dict[str, QAction] = {}
        for name in MENU_FORMATS:
            action = self.menu.addAction(FORMATS[name].label)
            action.triggered.connect(lambda _=False, n=name: self.copy(n))
            self.format_actions[name] = action
        self.menu.addSeparator()
        self.secrets = self.menu.addAction("Keep Secrets")
        self.secrets.setCheckable(True)
        self.secrets.setToolTip("Keep cookies, credentials, passwords and tokens as they were "
                                "(off: they become [redacted])")
        self.menu_action = self.menu.menuAction()
        self.menu_action.setStatusTip("Copy the selected exchanges as a command, a script, "
                                      "raw HTTP or a HAR entry")
        self.copy_body = QAction("Copy Response Body", parent)
        self.copy_body.setStatusTip("Copy the response body the client got, as text")
        self.copy_body.triggered.connect(self.copy_response_body)
        self.save_body = QAction("Save Body As…", parent)
        self.save_body.setStatusTip("Save the response body the client got to a file")
        self.save_body.triggered.connect(self.choose_save_body)

    def copy(self, name: str) -> str | bytes | None:
        exchanges = list(self._exchanges())
        try:
            out = copy_as(name, exchanges, base_url=self._base_url() or None,
                          redact=not self.secrets.isChecked(), app=self._app())
        except ExportError as exc:
            warn(self._parent, "Cannot copy", str(exc))
            return None
        n = len(exchanges)
        self._report(f"Copied {n} exchange{'s' * (n != 1)} as {FORMATS[name].label}")
        return out

    def _first(self) -> Exchange | None:
        exchanges = self._exchanges()
        return exchanges[0] if exchanges else None

    def copy_response_body(self) -> None:
        x = self._first()
        if x is None:
            return
        text = body_text(x)
        if text is None:
            self._report(f"The body of #{x.id} is not text: use Save Body As… instead")
            return
        QGuiApplication.clipboard().setText(text)
        self._report(f"Copied the response body of #{x.id} ({len(x.client_body):,} bytes)")

    def choose_save_body(self) -> None:
        x = self._first()
        if x is None:
            return
        start = os.path.join(self._start_dir(), suggested_name(x))
        path, _ = QFileDialog.getSaveFileName(self._parent, f"Save the Body of #{x.id}", start)
        if path:
            self.save(x, path)

    def save(self, x: Exchange, path: str) -> bool:
        try:
            Path(path).write_bytes(bytes(x.client_body))
        except OSError as exc:
            warn(self._parent, "Cannot save",
                                f"Cannot write {path}: {exc.strerror}.")
            return False
        self._remember_dir(path)
        self._report(f"Saved {len(x.client_body):,} bytes to {path}")
        return True
