"""The ``wsgi-inspector`` command line.

Without ``--headless`` it opens the desktop window (when the GUI is
installed); with it, it records to a session file and prints one access-log
line per exchange. Bad input ends with one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from . import clifilter
from .accesslog import access_line
from .appref import AppRef, record_app
from .process import Options, Status
from .runner import Runner
from .stopping import StopSignals
from .store import BUSY_INTERVAL, SessionError, Store, Summary, default_session_path
from .terminal import inert, inert_lines

DEFAULT_APP = "inspector.examples.hello:app"
DEFAULT_PORT = 8000
EXIT_USAGE = 2
EXIT_FAILED = 1  # the recording is safe, but an output could not be written
STOP_GRACE = 0.5  # s: how long requests in flight at Ctrl+C may take to finish


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
                        "the app, else this one; the desktop app: python3 on PATH)")
    p.add_argument("--in-process", action="store_true",
                   help="serve from this process: faster start, no isolation, no reload")
    p.add_argument("--no-reload", action="store_true",
                   help="do not restart the app when its source changes")
    p.add_argument("--session", default=None, help="session file to record to")
    p.add_argument("--headless", action="store_true",
                   help="no window: print one line per exchange; Ctrl+C stops")
    p.add_argument("--har", default=None,
                   help="write a HAR file of the session at the end (Authorization, cookies "
                        "and password or token fields are replaced by [redacted])")
    p.add_argument("--har-secrets", action="store_true",
                   help="keep Authorization, cookies and passwords in the HAR")
    p.add_argument("--open", default=None, metavar="FILE",
                   help="a saved session or HAR file (with --har: convert and exit)")
    p.add_argument("--export", default=None, metavar="FORMAT",
                   help="with --open: write the exchanges as FORMAT (har, curl, httpie, "
                        "python, fetch, raw, raw-request, raw-response, har-entry, pytest) "
                        "to --out or standard output, secrets left out")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="with --export: the file to write (default: standard output)")
    p.add_argument("--secrets", action="store_true",
                   help="with --export: keep Authorization, cookies and passwords")
    p.add_argument("--base-url", default=None, metavar="URL",
                   help="with --export: send the requests to URL (http://127.0.0.1:8123) "
                        "instead of the recorded host")
    p.add_argument("--debug-logs", action="store_true", help="record DEBUG log records too")
    p.add_argument("--break", dest="breaks", action="append", default=[], metavar="FILTER",
                   help="with --headless: pause matching requests at each WSGI phase and step "
                        "them with commands typed on stdin (s, c, a, p, ?); FILTER is "
                        "'method:POST path:/api/* header:X-Debug' (the filter syntax's "
                        "request-side terms; a bare word is found in the path, '*' every "
                        "request); repeatable")
    p.add_argument("--filter", default=None, metavar="EXPR", help=clifilter.HELP)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.port is not None and not 0 <= args.port <= 65535:
        p.error("--port must be between 0 and 65535")
    if args.open and args.app and not args.export:
        p.error("give either an APP to serve or --open FILE, not both")
    if args.export and not args.open:
        p.error("--export needs --open FILE, the saved session or HAR file to export")
    if args.export and args.har:
        p.error("give either --har OUT or --export FORMAT, not both (--export har --out OUT "
                "writes the HAR)")
    given = [o for o, v in (("--out", args.out), ("--secrets", args.secrets),
                            ("--base-url", args.base_url)) if v]
    if given and not args.export:
        p.error(f"{given[0]} goes with --export FORMAT")
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


def main(argv: Sequence[str] | None = None, gui: GuiRunner | None = None,
         stop: StopSignals | None = None) -> int:
    """Run the command line; ``gui`` opens the desktop window (the ``ui``
    package passes it in: the engine never imports the GUI). ``stop`` holds
    SIGINT and SIGTERM from the process's start (installed here if not given)."""
    if stop is None:
        stop = StopSignals.install()
    args = parse_args(argv)
    try:
        args.filter_parsed = clifilter.checked(args, UsageError)
        if args.export:
            stop.restore()  # as converting
            return export(args)
        if args.open and args.har:
            stop.restore()  # a conversion is stopped by KeyboardInterrupt, see below
            return convert(args.open, args.har, redact=not args.har_secrets,
                           only=args.filter_parsed)
        if args.headless:
            return headless(args, stop)
        if gui is None:
            return no_gui(args, stop)
        stop.restore()  # the window handles the signals its own way
        if stop.requested:  # Ctrl+C before the window could open
            return 0
        if args.breaks:
            print("wsgi-inspector: --break is for --headless; in the window, arm stepping "
                  "from the toolbar.", file=sys.stderr)
        return gui(args)
    except UsageError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:  # only while converting: the HAR file is left as it was
        print("wsgi-inspector: stopped; nothing was written.", file=sys.stderr)
        return 130


def fail(message: str, user_traceback: str | None = None, code: int = EXIT_USAGE) -> int:
    if user_traceback:
        print(inert_lines(user_traceback.rstrip("\n")), file=sys.stderr)
    print(f"wsgi-inspector: {inert_lines(message)}", file=sys.stderr)
    return code


def no_gui(args: argparse.Namespace, stop: StopSignals | None = None) -> int:
    """Without the desktop window (not installed): record headless instead."""
    if args.open:
        raise UsageError("--open needs the desktop window; to export, add --har OUT.")
    print("wsgi-inspector: the desktop window is not available here; running headless "
          "(Ctrl+C stops).", file=sys.stderr)
    return headless(args, stop or StopSignals.install())


# -- checking outputs before the work -----------------------------------------------------

def check_output(path: str, option: str) -> None:
    """UsageError unless a file can be created at ``path``: checked before the app
    starts, so a long recording never ends in a file that cannot be written."""
    target = os.path.abspath(path)
    if os.path.isdir(target):
        raise UsageError(f"{target} is a folder; give {option} a file path inside it, "
                         f"such as {os.path.join(target, 'out' + _suffix(option))}.")
    check_folder(os.path.dirname(target), f"choose another path for {option}")


def check_folder(folder: str, remedy: str) -> None:
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise UsageError(f"The folder {folder} {what}; create it or {remedy}.")
    try:  # a real file: permissions, read-only mounts and ACLs all answer
        with tempfile.TemporaryFile(dir=folder, prefix=".wsgi-inspector-"):
            pass
    except OSError as exc:
        raise UsageError(f"Cannot write in the folder {folder} ({exc.strerror}); "
                         f"{remedy}.") from None


def _suffix(option: str) -> str:
    return {"--har": ".har", "--out": ".txt"}.get(option, ".wsgi-session")


# -- converting saved files ---------------------------------------------------------

def convert(source: str, har: str, redact: bool = True,
            only: clifilter.Filter | None = None) -> int:
    """A session or HAR file to a HAR file, one exchange at a time."""
    from .export import HarError, is_json_file, iter_har, write_har

    check_output(har, "--har")
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"{source} does not exist; give the path of a session or HAR file.")
    try:
        if is_json_file(path):
            count = write_har(har, clifilter.matching(iter_har(path), only), redact=redact)
        else:
            with Store.open(path) as store:
                count = write_har(har, clifilter.store_exchanges(store, only), redact=redact)
                for note in store.notes:  # rows left out: one line each, the rest goes on
                    print(f"wsgi-inspector: {path}: {note}", file=sys.stderr)
    except (HarError, SessionError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"Cannot write the HAR file {os.path.abspath(har)} "
                         f"({exc.strerror}); choose another path for --har.") from None
    print(f"Wrote {count} exchange{'s' * (count != 1)} to {har}.", file=sys.stderr)
    return 0


def export(args: argparse.Namespace) -> int:
    """``--open FILE --export FORMAT``: see :mod:`inspector.host.exportcmd`."""
    from .exportcmd import ExportError, Request, run

    if args.out:
        check_output(args.out, "--out")
    app = AppRef(args.app, os.path.abspath(args.app_dir or os.getcwd())) if args.app else None
    request = Request(args.open, args.export, args.out, args.filter or "",
                      redact=not (args.secrets or args.har_secrets), base_url=args.base_url,
                      app=app)
    try:
        count = run(request, lambda note: print(f"wsgi-inspector: {inert(note)}",
                                                file=sys.stderr))
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    if args.out:
        print(f"Wrote {count} exchange{'s' * (count != 1)} to {args.out}.", file=sys.stderr)
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
    target = Path(path) if path is not None else default_session_path()
    try:
        return Store(target, busy_interval=busy_interval)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        if path is None:  # the default place: name the folder, the file is ours
            raise UsageError(f"Cannot create the session folder {target.parent} "
                             f"({exc.strerror}); make it writable or choose a file with "
                             "--session.") from None
        raise UsageError(f"Cannot create the session file {os.path.abspath(target)} "
                         f"({exc.strerror}); choose another place with --session.") from None


def start_runner(args: argparse.Namespace, store: Store, out: TextIO,
                 stepper: Stepper | None = None,
                 stop: StopSignals | None = None) -> Runner | None:
    """Start serving; exit-code-2 errors for a broken app or a taken port;
    None if ``stop`` was requested meanwhile (nothing is left running then).

    With a ``stepper``, its breakpoints are armed before the first request and
    every event reaches it as well as the store.
    """
    stop = stop or StopSignals()
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
    status = start_unless_stopped(runner, stop, threaded=not args.in_process)
    if status is not None and status.state == "serve_error" and args.port is None:
        runner.stop()
        print(f"Port {DEFAULT_PORT} is in use; serving on a free port instead.", file=out)
        runner = make(0)
        status = start_unless_stopped(runner, stop, threaded=not args.in_process)
    if status is None:
        return None
    if status.state != "serving":
        runner.stop()
        raise StartError(status)
    print(f"Serving at {status.url}", file=out, flush=True)
    if runner.note:
        print(f"wsgi-inspector: {runner.note}.", file=sys.stderr)
    reporter.started = True
    return runner


def start_unless_stopped(runner: Runner, stop: StopSignals, threaded: bool) -> Status | None:
    """``runner.start()``, or None (with the runner stopped) if a stop is requested first.

    The isolated app starts in a thread so a Ctrl+C during a slow import ends
    it at once; an in-process app is imported in the main thread, where an
    app may install signal handlers of its own, so a stop waits for it.
    """
    outcome = _start_in_thread(runner, stop) if threaded else runner.start()
    if stop.requested:
        runner.stop(grace=0)  # nothing was answered yet: nothing to wait for
        return None
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _start_in_thread(runner: Runner, stop: StopSignals) -> Status | BaseException:
    """Start the runner in a thread; return when it has started or a stop is requested
    (then stop it, which also ends the start)."""
    result: list[Status | BaseException] = []

    def start() -> None:
        try:
            result.append(runner.start())
        except BaseException as exc:  # raised again in the main thread
            result.append(exc)
        finally:
            stop.wake()

    thread = threading.Thread(target=start, name="wsgi-inspector-start", daemon=True)
    thread.start()
    while not result and not stop.wait(0.5):
        pass
    if not result:  # stopped while starting (a slow import, say): end the start now
        runner.stop(grace=0)
    thread.join()
    return result[0]


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
        self._died = False  # since the last start: a start after a death is a restart

    def status(self, status: Status) -> None:
        died = self._died
        if status.state in ("died", "serving"):
            self._died = status.state == "died"
        if not self.started:
            return
        if status.state == "load_error":
            if status.traceback:
                print(inert_lines(status.traceback.rstrip("\n")), file=sys.stderr)
            print(f"wsgi-inspector: {inert_lines(status.message)} (waiting for a change to "
                  "the source)", file=sys.stderr)
        elif status.state in ("died", "crashed"):
            print(f"wsgi-inspector: {inert_lines(status.message)}", file=sys.stderr)
        elif status.state == "serving":
            again = "Restarted" if died else "Reloaded"
            print(f"{again}; serving at {status.url}", file=self.out, flush=True)


def headless(args: argparse.Namespace, stop: StopSignals) -> int:
    """Record until SIGINT or SIGTERM, whenever it comes: every answered exchange
    ends up in the session and the HAR, and the exit code is 0."""
    out = sys.stdout
    if args.har:
        check_output(args.har, "--har")
    if args.session:
        check_output(args.session, "--session")
    collect_young_less_often()
    store = open_store(args.session, busy_interval=BUSY_INTERVAL)
    printer = AccessLog(out)
    shown = clifilter.filtered_summaries(store, clifilter.of(args), printer.summaries)
    store.on_add(shown)
    store.on_update(shown)
    stepper = Stepper(out, args.breaks) if args.breaks else None
    # Before serving: a write to the session now does not meet the first requests' batch.
    record_app(store, AppRef(args.app or DEFAULT_APP,
                             os.path.abspath(args.app_dir or os.getcwd())))
    try:
        runner = start_runner(args, store, out, stepper, stop)
    except StartError as exc:
        store.close()
        return fail(str(exc), exc.status.traceback)
    if runner is not None:
        print(f"Recording {args.app or DEFAULT_APP} to {store.path} (Ctrl+C to stop)",
              file=out, flush=True)
        if stepper is not None:
            stepper.start(sys.stdin)
        stop.wait_for_stop()
        runner.stop(grace=STOP_GRACE)
    return finish(args, store, out)


def finish(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """Commit the session, write the HAR, close; signals from now on change nothing."""
    store.flush()
    code = 0
    if args.har:
        from .export import write_har

        try:
            count = write_har(args.har, clifilter.store_exchanges(store, clifilter.of(args)),
                              redact=not args.har_secrets)
        except OSError as exc:
            code = fail(f"Cannot write the HAR file {os.path.abspath(args.har)} "
                        f"({exc.strerror}); the session is saved in {store.path}.",
                        code=EXIT_FAILED)
        else:
            print(f"Wrote {count} exchange{'s' * (count != 1)} to {args.har}.", file=out)
    store.close()
    return code


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
            self.out.write("\n".join(lines) + "\n")  # each one inert: see access_line
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
            self.out.write(inert_lines(text) + "\n")
            self.out.flush()


def _phase_data(event: Message, seen: list[Any] | None) -> list[str]:
    """The paused phase's data, one inert line per item (a value's own line
    breaks included: they come from the request or the app)."""
    return [inert(line) for line in _phase_lines(event, seen)]


def _phase_lines(event: Message, seen: list[Any] | None) -> list[str]:
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


if __name__ == "__main__":
    sys.exit(main())
