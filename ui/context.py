"""Which app, which interpreter and which session file: said in the title and the
status bar, so a window can be told apart from another and trusted."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from inspector.host.process import find_python

from .app_controller import Launch


def interpreter(launch: Launch) -> str:
    """The Python that runs the app: ours in-process, else --python or the found venv."""
    if launch.in_process:
        return sys.executable
    return find_python(launch.options(0).app_dir, launch.python)


def short_interpreter(launch: Launch) -> str:
    """A few words for the title: "in-process", ".venv", or the interpreter's path."""
    if launch.in_process:
        return "in-process"
    path = Path(interpreter(launch))
    if path.parent.name in ("bin", "Scripts") and (path.parent.parent / "pyvenv.cfg").exists():
        venv = path.parent.parent
        app_dir = Path(launch.options(0).app_dir)
        try:
            return str(venv.relative_to(app_dir))
        except ValueError:
            return tilde(str(venv))
    return tilde(str(path))


def tilde(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home != "/" and path.startswith(home + os.sep) else path


def status_context(launch: Launch | None, session: Path) -> str:
    """For the status bar: the app, its interpreter and the session file."""
    parts = []
    if launch is not None:
        runs = "in the inspector's own process" if launch.in_process else \
            f"with {tilde(interpreter(launch))}"
        parts.append(f"{launch.spec} {runs}")
    parts.append(f"session {tilde(str(session))}")
    return " · ".join(parts)
