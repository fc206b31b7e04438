"""``wsgi-inspector`` with a window: the QApplication, the main window, clean quitting.

Quitting — the window's close button, Ctrl+Q, SIGINT or SIGTERM — always goes
through the window's close, which stops the app's process and closes the
session file. Python runs signal handlers only when it gets control, so a
heartbeat timer gives it control a few times a second; the handler then
posts the close to the Qt event loop.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from inspector.host.cli import DEFAULT_APP, UsageError, open_store
from inspector.host.process import Status
from inspector.host.store import SessionError, Store

from . import theme
from .app_controller import Launch
from .main_window import MainWindow
from .resources import APP_ID, app_icon
from .settings import APPLICATION, ORGANIZATION

HEARTBEAT_MS = 200


def launch_from(args: argparse.Namespace) -> Launch:
    return Launch(spec=args.app or DEFAULT_APP, app_dir=args.app_dir or "",
                  python=args.python, host=args.host, port=args.port, threads=args.threads,
                  in_process=args.in_process, reload=not args.no_reload,
                  debug_logs=args.debug_logs)


def is_har(path: str) -> bool:
    from inspector.host.export import is_json_file  # a BOM or blanks may come first

    return is_json_file(path)


def install_signal_handlers(on_signal: Callable[[], None]) -> Callable[[], None]:
    """SIGINT and SIGTERM post ``on_signal`` to the Qt loop; returns a restorer."""
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        QTimer.singleShot(0, on_signal)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return restore


def announce_serving(window: MainWindow) -> None:
    """"Serving at URL" on stdout whenever the app serves at a new address, as the
    headless command says it: a terminal shows where to point the browser."""
    said = [""]

    def said_where(status: Status) -> None:
        if status.state == "serving" and status.url != said[0] and sys.stdout is not None:
            said[0] = status.url
            with contextlib.suppress(OSError):  # a closed terminal is no reason to stop
                print(f"Serving at {status.url}", flush=True)

    window.controller.status_changed.connect(said_where)


def run(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("WSGI Inspector")
    app.setDesktopFileName(APP_ID)  # Wayland docks match the window to the .desktop file
    app.setWindowIcon(app_icon())  # every window and dialog
    theme.apply_scheme(app)
    launch = launch_from(args)
    saved = None
    if args.open and not is_har(args.open):
        try:
            saved = Store.open(args.open)  # read-only: shown, never changed
        except SessionError as exc:
            raise UsageError(str(exc)) from None
    # The window records into a session of its own, whatever it shows.
    window = MainWindow(open_store(args.session), launch, autostart=not args.open)
    if saved is not None:
        window.show_saved(saved)
    elif args.open:
        try:
            window.open_file(args.open)
        except (ValueError, OSError) as exc:
            window.shutdown()
            raise UsageError(f"{args.open} cannot be imported as HAR: {exc}") from None
    announce_serving(window)
    if getattr(args, "filter", None):  # --filter: the list opens filtered
        window.set_filter(args.filter)
    window.show()

    heartbeat = QTimer()
    heartbeat.start(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: None)
    restore = install_signal_handlers(window.close)
    try:
        code = app.exec()
    finally:
        restore()
        heartbeat.stop()
        window.shutdown()
    return code

