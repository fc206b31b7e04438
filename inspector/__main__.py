"""``python -m inspector``: the ``wsgi-inspector`` command, window included.

The engine never imports the window's package (tests/test_layers.py): the
distribution names its window under the ``wsgi_inspector.gui`` entry point,
and this finds it there. Without it (the engine alone, or Qt that cannot be
imported) the command runs headless and says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

from inspector.host.stopping import StopSignals

GUI_GROUP = "wsgi_inspector.gui"


def find_window() -> Callable[[Any], int] | None:
    """The window's runner the installed distribution declares, or None."""
    found = metadata.entry_points()
    points = (found.select(group=GUI_GROUP) if hasattr(found, "select")
              else found.get(GUI_GROUP, []))  # Python 3.9: a dict of groups
    for point in points:
        try:
            return point.load()
        except ImportError:  # PySide6 missing or broken: headless, as the command says
            return None
    return None


def main() -> int:
    stop = StopSignals.install()  # first, as ui.launch does: Ctrl+C ends cleanly from here on
    from inspector.host import cli

    return cli.main(gui=find_window(), stop=stop)


if __name__ == "__main__":
    sys.exit(main())
