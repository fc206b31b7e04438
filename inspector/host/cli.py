"""The ``wsgi-inspector`` command line.

Until the isolated app process and the GUI land, this serves the app
in-process and prints one access-log line per exchange.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from .. import __version__
from ..agent.loader import LoadError, load_app
from ..agent.runtime import Agent
from ..agent.server import ServeError
from ..agent.sink import QueueSink
from ..model import EV_END, ExchangeBuilder
from .accesslog import access_line

DEFAULT_APP = "inspector.examples.hello:app"
DEFAULT_PORT = 8000
EXIT_USAGE = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="wsgi-inspector",
        description="Serve a WSGI app with waitress and show every exchange.")
    parser.add_argument("app", nargs="?", default=DEFAULT_APP,
                        help="module:callable or path/to/file.py[:callable] "
                             f"(default: the lesson's hello app, {DEFAULT_APP})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port (default {DEFAULT_PORT}, or a free one if taken; "
                             "0 always picks a free one)")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    parser.add_argument("--app-dir", default=None,
                        help="directory put first on sys.path (default: current directory)")
    parser.add_argument("--debug-logs", action="store_true",
                        help="record DEBUG log records too")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = sys.stdout  # before the agent routes stdout: our own lines must not be recorded
    try:
        app = load_app(args.app, args.app_dir)
    except LoadError as exc:
        return fail(str(exc), exc.user_traceback)
    sink = QueueSink()
    try:
        agent = start_agent(app, sink, args, out)
    except ServeError as exc:
        return fail(str(exc))
    print(f"Serving {args.app} at {agent.url} (Ctrl+C to stop)", file=out, flush=True)
    printer = threading.Thread(target=print_exchanges, args=(sink, out), daemon=True)
    printer.start()
    wait_for_signal()
    agent.stop()
    sink.emit({"type": "quit"})
    printer.join(5)
    return 0


def start_agent(app: object, sink: QueueSink, args: argparse.Namespace, out: TextIO) -> Agent:
    port = DEFAULT_PORT if args.port is None else args.port
    options = dict(host=args.host, threads=args.threads, debug_logs=args.debug_logs)
    agent = Agent(app, sink.emit, port=port, **options)  # type: ignore[arg-type]
    try:
        agent.start()
    except ServeError:
        if args.port is not None:
            raise
        print(f"Port {DEFAULT_PORT} is in use; serving on a free port instead.", file=out)
        agent = Agent(app, sink.emit, port=0, **options)  # type: ignore[arg-type]
        agent.start()
    return agent


def print_exchanges(sink: QueueSink, out: TextIO) -> None:
    builder = ExchangeBuilder()
    while True:
        event = sink.queue.get()
        if event["type"] == "quit":
            return
        exchange = builder.apply(event)
        if event["type"] == EV_END and exchange is not None:
            print(access_line(exchange), file=out, flush=True)
            del builder.exchanges[exchange.id]


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):  # wake up now and then: signals run in the main thread
        pass


def fail(message: str, user_traceback: str | None = None) -> int:
    if user_traceback:
        print(user_traceback.rstrip("\n"), file=sys.stderr)
    print(f"wsgi-inspector: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
