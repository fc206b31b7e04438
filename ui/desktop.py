"""Handing URLs and files to the desktop (browser, editor); one place tests can replace.

A traceback's ``file:line`` opens in the user's editor at that line: ``$VISUAL``,
else ``$EDITOR``, started with that editor's way of naming a line (``+LINE FILE``
for most; ``-g FILE:LINE`` for VS Code and its kin, ``FILE:LINE`` for Sublime
Text and Zed, ``--line LINE FILE`` for the JetBrains IDEs). An editor that needs a
terminal (vi, nano, ...) cannot show from a window, and without either variable
there is no way to name a line: then the desktop opens the file with its default
application, at its top.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

# Editors that run inside a terminal: started from a window they would have none.
TERMINAL_EDITORS = frozenset({"vi", "vim", "nvim", "nano", "pico", "micro", "ed", "ex",
                              "joe", "jed", "hx", "helix", "kak", "mg", "ne", "emacs -nw"})
_COLON_LINE = frozenset({"subl", "sublime_text", "zed", "zeditor"})
_GOTO = frozenset({"code", "code-insiders", "codium", "vscodium", "cursor", "windsurf"})
_JETBRAINS = frozenset({"pycharm", "pycharm.sh", "charm", "idea", "idea.sh", "pycharm64.exe"})


def open_url(url: QUrl) -> bool:
    """Open ``url`` with the user's default application for it."""
    return QDesktopServices.openUrl(url)


def editor_command(editor: str, path: str, line: int) -> list[str] | None:
    """The command that opens ``path`` at ``line`` in ``editor`` (a $VISUAL/$EDITOR
    value, arguments allowed), or None when it is a terminal editor or unusable."""
    try:
        words = shlex.split(editor)
    except ValueError:
        return None
    if not words:
        return None
    name = os.path.basename(words[0])
    if name in TERMINAL_EDITORS or " ".join([name, *words[1:]]) in TERMINAL_EDITORS:
        return None
    if line <= 0:
        return [*words, path]
    if name in _GOTO:
        return [*words, "-g", f"{path}:{line}"]
    if name in _COLON_LINE:
        return [*words, f"{path}:{line}"]
    if name in _JETBRAINS:
        return [*words, "--line", str(line), path]
    return [*words, f"+{line}", path]


def open_file_at(path: str, line: int) -> bool:
    """Open ``path`` at ``line`` in the user's editor, else with the desktop's default."""
    for variable in ("VISUAL", "EDITOR"):
        command = editor_command(os.environ.get(variable, ""), path, line)
        if command is None:
            continue
        try:
            # Its own session: the editor outlives us and never gets our terminal's signals.
            editor = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        except OSError:
            continue
        # Reaped when it ends (most editors hand the file to a running window and exit).
        threading.Thread(target=editor.wait, name="editor-wait", daemon=True).start()
        return True
    return open_url(QUrl.fromLocalFile(path))
