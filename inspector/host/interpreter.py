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

import shutil
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
    return shutil.which("python3") or shutil.which("python")


def bundled_agent() -> str | None:
    """Frozen: the folder holding ``inspector/`` and ``waitress/`` as source files."""
    if not FROZEN:
        return None
    base = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return str(base / AGENT_SOURCE)
