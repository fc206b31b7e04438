"""The ``wsgi-inspector`` command line.

Without ``--headless`` it opens the desktop window (when the GUI is
installed); with it, it records to a session file and prints one access-log
line per exchange. Bad input ends with one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .. import __version__
from .accesslog import access_line
from .process import Options, Status
from .runner import Runner
from .store import SessionError, Store, Summary

DEFAULT_APP = "inspector.examples.hello:app"
DEFAULT_PORT = 8000
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: one sentence, exit code 2."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="wsgi-inspector",
        description="Serve a WSGI app with waitress and show every exchange.")
    p.add_argument("app", nargs="?", default=None,
                   help="module:callable or path/to/file.py[:callable] "
                        f"(default: the lesson's hello app, {DEFAULT_APP})")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default {DEFAULT_PORT}, or a free one if it is taken; "
                        "0 always picks a free one)")
    p.add_argument("--threads", type=int, default=4, help="waitress worker threads (4)")
    p.add_argument("--app-dir", default=None,
                   help="directory put first on sys.path (default: current directory)")
    p.add_argument("--python", default=None,
                   help="interpreter to run the app with (default: a .venv/venv next to "
                        "the app, else this one)")
    p.add_argument("--in-process", action="store_true",
                   help="serve from this process: faster start, no isolation, no reload")
    p.add_argument("--no-reload", action="store_true",
                   help="do not restart the app when its source changes")
    p.add_argument("--session", default=None, help="session file to record to")
    p.add_argument("--headless", action="store_true",
                   help="no window: print one line per exchange; Ctrl+C stops")
    p.add_argument("--har", default=None, help="write a HAR file of the session at the end")
    p.add_argument("--open", default=None, metavar="FILE",
                   help="a saved session or HAR file (with --har: convert and exit)")
    p.add_argument("--debug-logs", action="store_true", help="record DEBUG log records too")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.port is not None and not 0 <= args.port <= 65535:
        p.error("--port must be between 0 and 65535")
    if args.open and args.app:
        p.error("give either an APP to serve or --open FILE, not both")
    return args


GuiRunner = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None, gui: GuiRunner | None = None) -> int:
    """Run the command line; ``gui`` opens the desktop window (the ``ui``
    package passes it in: the engine never imports the GUI)."""
    args = parse_args(argv)
    try:
        if args.open and args.har:
            return convert(args.open, args.har)
        if args.headless:
            return headless(args)
        if gui is None:
            return no_gui(args)
        return gui(args)
    except UsageError as exc:
        return fail(str(exc))


def fail(message: str, user_traceback: str | None = None) -> int:
    if user_traceback:
        print(user_traceback.rstrip("\n"), file=sys.stderr)
    print(f"wsgi-inspector: {message}", file=sys.stderr)
    return EXIT_USAGE


def no_gui(args: argparse.Namespace) -> int:
    """Without the desktop window (not installed): record headless instead."""
    if args.open:
        raise UsageError("--open needs the desktop window; to export, add --har OUT.")
    print("wsgi-inspector: the desktop window is not available here; running headless "
          "(Ctrl+C stops).", file=sys.stderr)
    return headless(args)


# -- converting saved files ---------------------------------------------------------

def load_exchanges(path: str) -> list:
    """Exchanges of a session file or a HAR file."""
    from .export import from_har

    source = Path(path)
    if not source.is_file():
        raise UsageError(f"{path} does not exist; give the path of a session or HAR file.")
    if source.read_bytes()[:1] in (b"{", b"[", b" ", b"\n"):
        try:
            return from_har(json.loads(source.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path} is not a valid HAR file ({exc}); export it again from "
                             "its tool.") from None
    try:
        with Store.open(source) as store:
            return list(store.exchanges())
    except SessionError as exc:
        raise UsageError(str(exc)) from None


def convert(source: str, har: str) -> int:
    from .export import write_har

    exchanges = load_exchanges(source)
    write_har(har, exchanges)
    print(f"Wrote {len(exchanges)} exchanges to {har}.", file=sys.stderr)
    return 0


# -- headless ------------------------------------------------------------------------

def options_from(args: argparse.Namespace, port: int) -> Options:
    app_dir = os.path.abspath(args.app_dir or os.getcwd())
    if not os.path.isdir(app_dir):
        raise UsageError(f"The app directory {app_dir} does not exist; pass an existing "
                         "directory to --app-dir.")
    return Options(spec=args.app or DEFAULT_APP, app_dir=app_dir, python=args.python,
                   host=args.host, port=port, threads=args.threads,
                   debug_logs=args.debug_logs)


def open_store(path: str | None) -> Store:
    try:
        return Store(path)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"Cannot create the session file {path}: {exc.strerror}; choose "
                         "another place with --session.") from None


def start_runner(args: argparse.Namespace, store: Store, out: TextIO) -> Runner:
    """Start serving; exit-code-2 errors for a broken app or a taken port."""
    reporter = Reporter(out)
    port = DEFAULT_PORT if args.port is None else args.port
    runner = Runner(options_from(args, port), store.put, reporter.status,
                    in_process=args.in_process, reload=not args.no_reload)
    status = runner.start()
    if status.state == "serve_error" and args.port is None:
        runner.stop()
        print(f"Port {DEFAULT_PORT} is in use; serving on a free port instead.", file=out)
        runner = Runner(options_from(args, 0), store.put, reporter.status,
                        in_process=args.in_process, reload=not args.no_reload)
        status = runner.start()
    if status.state != "serving":
        runner.stop()
        raise StartError(status)
    print(f"Serving at {status.url}", file=out, flush=True)
    reporter.started = True
    return runner


class StartError(Exception):
    def __init__(self, status: Status) -> None:
        super().__init__(status.message or f"the app did not start ({status.state})")
        self.status = status


class Reporter:
    """Status changes after the start (reloads, crashes) as terminal lines;
    a failed start is reported once, by the caller, with exit code 2."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = False

    def status(self, status: Status) -> None:
        if not self.started:
            return
        if status.state == "load_error":
            if status.traceback:
                print(status.traceback.rstrip("\n"), file=sys.stderr)
            print(f"wsgi-inspector: {status.message} (waiting for a change to the source)",
                  file=sys.stderr)
        elif status.state in ("died", "crashed"):
            print(f"wsgi-inspector: {status.message}", file=sys.stderr)
        elif status.state == "serving":
            print(f"Reloaded; serving at {status.url}", file=self.out, flush=True)


def headless(args: argparse.Namespace) -> int:
    out = sys.stdout
    store = open_store(args.session)
    printer = AccessLog(out)
    store.on_add(printer.summaries)
    store.on_update(printer.summaries)
    try:
        runner = start_runner(args, store, out)
    except StartError as exc:
        store.close()
        return fail(str(exc), exc.status.traceback)
    print(f"Recording {args.app or DEFAULT_APP} to {store.path} (Ctrl+C to stop)", file=out,
          flush=True)
    wait_for_signal()
    runner.stop()
    store.flush()
    if args.har:
        from .export import write_har

        write_har(args.har, list(store.exchanges()))
        print(f"Wrote {len(store)} exchanges to {args.har}.", file=out)
    store.close()
    return 0


class AccessLog:
    """Prints each exchange once, when it has ended."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._printed: set[int] = set()

    def summaries(self, summaries: list[Summary]) -> None:
        lines = []
        for s in summaries:
            if s.state != "active" and s.id not in self._printed:
                self._printed.add(s.id)
                lines.append(access_line(s))
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):  # wake now and then: Python runs handlers in the main thread
        pass


if __name__ == "__main__":
    sys.exit(main())
