"""The ``wsgi-inspector`` command line.

Without ``--headless`` it opens the desktop window (when the GUI is
installed); with it, it records to a session file and prints one access-log
line per exchange. Bad input ends with one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from .accesslog import access_line
from .process import Options, Status
from .runner import Runner
from .store import BUSY_INTERVAL, SessionError, Store, Summary

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
    p.add_argument("--break", dest="breaks", action="append", default=[], metavar="FILTER",
                   help="with --headless: pause matching requests at each WSGI phase and step "
                        "them with commands typed on stdin (s, c, a, p, ?); FILTER is "
                        "'method:POST path:/api/* header:X-Debug' (any part; a bare word is a "
                        "path prefix or glob, '*' every request); repeatable")
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


def collect_young_less_often() -> None:
    """Run the young-generation garbage collection every 20,000 allocations,
    not every 700 (the headless host only: the app's process and the window's
    keep Python's defaults).

    The host allocates a few dozen objects per recorded exchange and makes
    few reference cycles; at the default it collected ~150 times a second
    under load, about 6 us of CPU per exchange that the app's process, on
    the same cores, then went without.
    """
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, 20_000), gen1, gen2)


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
        if args.breaks:
            print("wsgi-inspector: --break is for --headless; in the window, arm stepping "
                  "from the toolbar.", file=sys.stderr)
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
            exchanges = list(store.exchanges())
            for note in store.notes:  # rows left out: one line each, the rest goes on
                print(f"wsgi-inspector: {path}: {note}", file=sys.stderr)
            return exchanges
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


def open_store(path: str | None, busy_interval: float | None = None) -> Store:
    try:
        return Store(path, busy_interval=busy_interval)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"Cannot create the session file {path}: {exc.strerror}; choose "
                         "another place with --session.") from None


def start_runner(args: argparse.Namespace, store: Store, out: TextIO,
                 stepper: Stepper | None = None) -> Runner:
    """Start serving; exit-code-2 errors for a broken app or a taken port.

    With a ``stepper``, its breakpoints are armed before the first request and
    every event reaches it as well as the store.
    """
    reporter = Reporter(out)
    on_event = store.put if stepper is None else tee(store.put, stepper.event)

    def make(port: int) -> Runner:
        runner = Runner(options_from(args, port), on_event, reporter.status,
                        in_process=args.in_process, reload=not args.no_reload)
        if stepper is not None:
            stepper.send = runner.command
            runner.command(stepper.arm)  # kept and armed in the app before it serves
        return runner

    runner = make(DEFAULT_PORT if args.port is None else args.port)
    status = runner.start()
    if status.state == "serve_error" and args.port is None:
        runner.stop()
        print(f"Port {DEFAULT_PORT} is in use; serving on a free port instead.", file=out)
        runner = make(0)
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
    collect_young_less_often()
    store = open_store(args.session, busy_interval=BUSY_INTERVAL)
    printer = AccessLog(out)
    store.on_add(printer.summaries)
    store.on_update(printer.summaries)
    stepper = Stepper(out, args.breaks) if args.breaks else None
    try:
        runner = start_runner(args, store, out, stepper)
    except StartError as exc:
        store.close()
        return fail(str(exc), exc.status.traceback)
    print(f"Recording {args.app or DEFAULT_APP} to {store.path} (Ctrl+C to stop)", file=out,
          flush=True)
    if stepper is not None:
        stepper.start(sys.stdin)
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
            if s.state not in ("active", "paused") and s.id not in self._printed:
                self._printed.add(s.id)
                lines.append(access_line(s))
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()


# -- stepping from the terminal ------------------------------------------------------

Message = dict[str, Any]

STEP_HELP = """\
Stepping commands, one per line; each goes to the oldest paused request, or to #ID:
  s [ID]       step: go on to the next phase and pause there
  c [ID]       continue: run this request to its end without pausing
  c all, C     continue every paused request
  a [ID]       abort: answer 502 (the connection is cut if bytes already went out)
  a drop [ID]  abort by cutting the connection
  p [ID]       print the paused phase's data again
  ?            this help"""

PROMPT = "s step, c continue, a abort, p print, ? help"

PHASE_NOTES = {
    "received": "the environ is built; the app has not been called yet",
    "start_response": "the app called start_response(); waitress has not seen it yet",
    "chunk": "the app produced a body chunk; it has not gone to waitress yet",
    "closed": "the body went to waitress; close() is next",
}

VERBS = {"s": "step", "step": "step", "c": "continue", "continue": "continue",
         "a": "abort", "abort": "abort", "p": "print", "print": "print"}


def tee(*targets: Callable[[Message], None]) -> Callable[[Message], None]:
    def emit(event: Message) -> None:
        for target in targets:
            target(event)
    return emit


class Stepper:
    """``--break``: shows each paused request on ``out`` and sends the commands
    typed on stdin. Events arrive from background threads."""

    def __init__(self, out: TextIO, breakpoints: list[str]) -> None:
        self.out = out
        self.arm: Message = {"type": "arm", "breakpoints": list(breakpoints)}
        self.send: Callable[[Message], bool] = lambda message: False  # the runner's command
        self._lock = threading.RLock()
        self._paused: dict[tuple[int, int], Message] = {}  # (generation, id) -> paused event
        self._seen: dict[tuple[int, int], list[Any]] = {}  # stepping ones: [status, bytes]
        self._closed = False  # stdin ended: whatever pauses goes on at once

    def start(self, stdin: TextIO) -> threading.Thread:
        """Read commands from ``stdin`` in a daemon thread (it may block forever)."""
        shown = ", ".join(self.arm["breakpoints"])
        self._print(f"Breakpoints: {shown}. A matching request pauses at each WSGI phase; "
                    "type ? for the commands.")
        thread = threading.Thread(target=self.read, args=(_lines(stdin),), daemon=True,
                                  name="wsgi-inspector-stdin")
        thread.start()
        return thread

    def read(self, lines: Iterator[str]) -> None:
        for line in lines:
            self.command(line)
        self.input_closed()

    # -- events (any thread) -----------------------------------------------------------
    def event(self, event: Message) -> None:
        if event.get("type") in ("paused", "resumed", "phase", "chunk", "end"):
            with self._lock:
                unanswerable = self._note(event)
            if unanswerable:  # stdin has ended: nobody can answer this pause
                self.send({"type": "continue", "id": event["id"]})

    def _note(self, event: Message) -> bool:
        kind, key = event["type"], (event.get("gen", 0), event["id"])
        if kind == "paused":
            self._seen.setdefault(key, ["", 0])
            if self._closed:
                return True
            self._paused[key] = event
            self._show(key, event)
        elif kind == "resumed":
            if self._paused.pop(key, None) is not None and event.get("how") != "step":
                self._print(f"#{event['id']} went on from {event['phase']} "
                            f"({_how(event.get('how', ''))}).")
        elif key in self._seen:  # what the closed phase shows: status and bytes sent
            if kind == "phase" and event.get("name") == "start_response":
                self._seen[key][0] = event.get("status", "")
            elif kind == "chunk":
                self._seen[key][1] += event.get("size", 0)
            elif kind == "end":
                del self._seen[key]
        return False

    # -- commands (the stdin thread) -------------------------------------------------------
    # Sent outside the lock: an isolated app's "arm" waits for the link thread, which may
    # be delivering an event to us meanwhile.
    def command(self, line: str) -> None:
        message = self._message(line)
        if message is not None and not self.send(message):
            self._print("The app is not running; nothing was sent.")

    def _message(self, line: str) -> Message | None:
        words = line.split()
        if not words:
            return None
        verb, rest = words[0], words[1:]
        with self._lock:
            if verb == "C" or (verb in ("c", "continue") and rest == ["all"]):
                self._print(f"Continuing every paused request ({len(self._paused)}).")
                self._paused.clear()
                return {"type": "continue_all"}
            if verb in ("?", "h", "help"):
                self._print(STEP_HELP)
                return None
            action = VERBS.get(verb)
            if action is None:
                self._print(f"Unknown command {line.strip()!r}; type ? for help.")
                return None
            target = [w.lstrip("#") for w in rest if w != "drop"]
            key = self._pick(target[0] if target else None)
            if key is None:
                return None
            event = self._paused[key]
            if action == "print":
                self._show(key, event)
                return None
            message: Message = {"type": action, "id": event["id"]}
            if action == "abort":
                message["mode"] = "drop" if "drop" in rest else "502"
            del self._paused[key]  # answered: a second "s" must not go to it again
            return message

    def input_closed(self) -> None:
        """End of stdin: nobody can answer any more, so nothing may wait."""
        with self._lock:
            self._closed = True
            self._paused.clear()
            self._print("Input closed: every paused request continues, and breakpoints are "
                        "off; still serving.")
        self.send({"type": "arm", "breakpoints": []})
        self.send({"type": "continue_all"})

    def _pick(self, given: str | None) -> tuple[int, int] | None:
        if not self._paused:
            self._print("Nothing is paused.")
            return None
        if given is None:
            key = min(self._paused)
            if len(self._paused) > 1:
                self._print(f"{len(self._paused)} requests are paused; this goes to the "
                            f"oldest, #{key[1]} (add an id to choose another).")
            return key
        found = [k for k in self._paused if str(k[1]) == given]
        if not found:
            ids = ", ".join(f"#{k[1]}" for k in sorted(self._paused))
            self._print(f"#{given} is not paused; paused: {ids}.")
            return None
        return max(found)

    # -- output --------------------------------------------------------------------------
    def _show(self, key: tuple[int, int], event: Message) -> None:
        phase = event["phase"]
        title = f"chunk {event.get('index', '?')}" if phase == "chunk" else phase
        lines = [f"--- #{event['id']} paused at {title}: {PHASE_NOTES.get(phase, '')}"]
        lines += ["    " + line for line in _phase_data(event, self._seen.get(key))]
        others = len(self._paused) - 1
        if others and key == min(self._paused):
            lines.append(f"    ({others} more paused; commands go to this one, the oldest)")
        elif others:
            lines.append(f"    ({others} more paused; commands go to the oldest, "
                         f"#{min(self._paused)[1]}, unless you add an id)")
        lines.append(f"[#{event['id']} {title}] {PROMPT} >")
        self._print("\n".join(lines))

    def _print(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()


def _phase_data(event: Message, seen: list[Any] | None) -> list[str]:
    phase = event["phase"]
    if phase == "received":
        env = event.get("environ", {})
        target = env.get("SCRIPT_NAME", "") + env.get("PATH_INFO", "")
        if env.get("QUERY_STRING"):
            target += "?" + env["QUERY_STRING"]
        lines = [f"{env.get('REQUEST_METHOD', '?')} {target} {env.get('SERVER_PROTOCOL', '')}"]
        for key, value in env.items():
            if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = key[5:] if key.startswith("HTTP_") else key
                lines.append(f"{name.replace('_', '-').title()}: {value}")
        body = event.get("body", b"")
        if body:
            more = "" if event.get("body_complete", True) else " (more not shown)"
            lines.append(f"body, {len(body)} bytes{more}: {_preview(body)}")
        return lines
    if phase == "start_response":
        return [event.get("status", "")] + [f"{n}: {v}" for n, v in event.get("headers", [])]
    if phase == "chunk":
        data = event.get("data", b"")
        return [f"{len(data)} bytes: {_preview(data)}"]
    if phase == "closed" and seen:
        return [f"{seen[0] or 'no status'}; {seen[1]} bytes of body sent"]
    return []


def _preview(data: bytes, limit: int = 200) -> str:
    """Text as a quoted string, anything else as hex; cut at ``limit``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        shown = data[: limit // 3].hex(" ")
        return f"{shown} ..." if len(data) > limit // 3 else shown
    return repr(text[:limit]) + (" ..." if len(text) > limit else "")


def _how(how: str) -> str:
    return {"timeout": "paused too long, so it went on by itself",
            "released": "released: the app stopped or reloaded",
            "continue_all": "continue all"}.get(how, how)


def _lines(stream: TextIO) -> Iterator[str]:
    """Lines from the stream's file descriptor, unbuffered: a daemon thread blocked
    in a buffered read could hold the stream's lock at interpreter exit."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        yield from stream  # not a real file (a test's StringIO)
        return
    pending = b""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):  # wake now and then: Python runs handlers in the main thread
        pass


if __name__ == "__main__":
    sys.exit(main())
