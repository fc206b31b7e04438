"""Which Python runs the user's app, and where that process imports our agent from,
in a normal installation and in the frozen desktop build.

Installed with pip, the inspector's own interpreter is a Python, and its
``inspector`` and ``waitress`` packages are files the app's process can import.
In the frozen build (PyInstaller) neither holds: the executable is not a Python
and the packages live in its archive. So the build ships both as plain source
files in ``agent-src/`` beside its libraries (packaging/wsgi-inspector.spec),
and an app with no ``.venv`` and no ``--python`` runs under ``python3`` from
PATH; with none there, the app is served in the inspector's own process.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

FROZEN = bool(getattr(sys, "frozen", False))
AGENT_SOURCE = "agent-src"  # the bundle's folder of plain source files
NO_PYTHON = ("no Python interpreter was found for the app (no .venv beside it, no --python, "
             "no python3 on PATH), so it is served in this process: no isolation, no reload")


def default_python() -> str | None:
    """The interpreter for an app without a .venv or --python: ours; frozen, python3
    (or python) on PATH; None when there is none."""
    if not FROZEN:
        return sys.executable
    return on_path("python3") or on_path("python")


def on_path(name: str) -> str | None:
    """The program ``name`` in a folder of PATH; unlike shutil.which, never in the
    current folder (an empty or relative PATH entry, or Windows' habit of looking
    there first): a project folder's ``python3`` is not this machine's Python."""
    suffixes = [""]
    if os.name == "nt":
        suffixes += os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").lower().split(";")
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not os.path.isabs(folder):
            continue
        for suffix in suffixes:
            candidate = os.path.join(folder, name + suffix)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def trusted_folder(path: Path) -> bool:
    """True unless ``path`` belongs to another user or anyone may write to it: a
    ``.venv`` someone else put in a shared folder above the app (``/tmp/.venv`` for
    ``/tmp/myproject``) is never run."""
    if os.name != "posix":
        return True
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid in (os.getuid(), 0) and not info.st_mode & stat.S_IWOTH


def bundled_agent() -> str | None:
    """Frozen: the folder holding ``inspector/`` and ``waitress/`` as source files."""
    if not FROZEN:
        return None
    base = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return str(base / AGENT_SOURCE)
