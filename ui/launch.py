"""The ``wsgi-inspector`` command: the engine's command line, with the window.

Kept free of Qt imports so ``--headless`` runs never load PySide6; the
window's module is imported only when it is about to open.

SIGINT and SIGTERM are taken over before anything else is imported: from
then on a Ctrl+C asks the command line to stop instead of raising
KeyboardInterrupt in the middle of whatever runs (``inspector.host.stopping``).
"""

from __future__ import annotations

import argparse
import sys

from inspector.host.stopping import StopSignals


def open_window(args: argparse.Namespace) -> int:
    from inspector.host import cli

    try:
        from .app import run
        from .qt_platform import problem
    except ImportError as exc:  # PySide6 missing or broken in this environment
        print(f"wsgi-inspector: the desktop window cannot start ({exc}); "
              "running headless.", file=sys.stderr)
        return cli.no_gui(args)
    reason = problem()  # before Qt would abort with its own text: what to install instead
    if reason is not None:
        raise cli.UsageError(reason)
    return run(args)


def main() -> int:
    stop = StopSignals.install()
    from inspector.host import cli  # after the handlers: it imports much of the engine

    return cli.main(gui=open_window, stop=stop)


if __name__ == "__main__":
    sys.exit(main())
