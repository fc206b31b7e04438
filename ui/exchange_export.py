"""Copy as curl and Save raw for the selected exchange: secrets left out by default,
kept only by the actions that say so (the same choice as the HAR export)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from inspector.host.export import curl, raw
from inspector.model import Exchange

# (name, text, with secrets, what it does)
ACTIONS = (
    ("copy_curl", "Copy as curl", False,
     "Copy a curl command that sends this request again, with cookies, credentials, "
     "passwords and tokens replaced by [redacted]"),
    ("copy_curl_secrets", "Copy as curl with Secrets", True,
     "Copy a curl command that sends this request again as it was, secrets included"),
    ("save_raw", "Save Raw…", False,
     "Save the request and response as HTTP/1.1 text, with secrets replaced by [redacted]"),
    ("save_raw_secrets", "Save Raw with Secrets…", True,
     "Save the request and response as HTTP/1.1 text as they were, secrets included"),
)


def copy_curl(x: Exchange, include_secrets: bool = False) -> str:
    """Put the curl command on the clipboard; returns it."""
    command = curl(x, redact=not include_secrets)
    QGuiApplication.clipboard().setText(command)
    return command


def save_raw(x: Exchange, path: str, include_secrets: bool = False) -> None:
    Path(path).write_bytes(raw(x, redact=not include_secrets))


def make_actions(parent: QWidget, current: Callable[[], Exchange | None],
                 start_dir: Callable[[], str]) -> dict[str, QAction]:
    """The four actions, acting on ``current()`` (nothing when no exchange is shown)."""
    actions = {}
    for name, text, secrets, tip in ACTIONS:
        action = QAction(text, parent)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if name.startswith("copy"):
            action.triggered.connect(lambda _=False, s=secrets: _copy(current, s))
        else:
            action.triggered.connect(
                lambda _=False, s=secrets: _choose_raw(parent, current, start_dir, s))
        actions[name] = action
    return actions


def _copy(current: Callable[[], Exchange | None], secrets: bool) -> None:
    x = current()
    if x is not None:
        copy_curl(x, secrets)


def _choose_raw(parent: QWidget, current: Callable[[], Exchange | None],
                start_dir: Callable[[], str], secrets: bool) -> None:
    x = current()
    if x is None:
        return
    title = "Save Raw with Secrets" if secrets else "Save Raw"
    path, _ = QFileDialog.getSaveFileName(parent, title,
                                          str(Path(start_dir()) / f"exchange-{x.id}.txt"),
                                          "Text files (*.txt)")
    if path:
        try:
            save_raw(x, path, secrets)
        except OSError as exc:
            QMessageBox.warning(parent, "Cannot save", f"Cannot write {path}: {exc.strerror}.")
