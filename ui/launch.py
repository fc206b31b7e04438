"""The ``wsgi-inspector`` command: the engine's command line, with the window.

Kept free of Qt imports so ``--headless`` runs never load PySide6; the
window's module is imported only when it is about to open.
"""

from __future__ import annotations

import argparse
import sys

from inspector.host import cli


def open_window(args: argparse.Namespace) -> int:
    try:
        from .app import run
    except ImportError as exc:  # PySide6 missing or broken in this environment
        print(f"wsgi-inspector: the desktop window cannot start ({exc}); "
              "running headless.", file=sys.stderr)
        return cli.no_gui(args)
    return run(args)


def main() -> int:
    return cli.main(gui=open_window)


if __name__ == "__main__":
    sys.exit(main())
