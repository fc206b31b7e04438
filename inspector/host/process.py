"""The isolated app process: start, supervise, restart, stop.

The app runs in a child process started with the project's own interpreter.
It inherits two things only the host shares with it: one end of a socket pair
(commands in, wake-ups out) and a shared-memory ring its events go into
(docs/protocol.md). Nothing listens, so no other process can get in between.
If the child dies, the host reads what the ring still holds, then ends the
exchanges it had in flight with an error saying how, and starts a new child;
a crash loop stops after a few tries.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import logging
import os
import pickletools
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress

import inspector

from .. import ring, wire
from ..agent.child import ENV_LINK, ENV_RING, WAKE
from .interpreter import bundled_agent, default_python, trusted_folder

log = logging.getLogger(__name__)

Message = dict[str, Any]
CRASH_LIMIT = 3  # deaths within CRASH_WINDOW seconds before we stop restarting
CRASH_WINDOW = 10.0
CONNECT_TIMEOUT = 30.0  # the app's import can be slow (Django, big projects)
POSIX = os.name == "posix"  # the child inherits its link with pass_fds
RING_CAPACITY = 8 << 20  # pages are committed as they are first written
SYNC_TIMEOUT = 5.0  # how long an "arm" waits for the child to confirm it (a ping round trip)


@dataclass
class Status:
    """What the app process is doing, for the GUI's banner or the terminal."""

    state: str  # "starting", "serving", "load_error", "serve_error", "died", "crashed", "stopped"
    message: str = ""
    traceback: str | None = None
    url: str = ""
    files: list[str] = field(default_factory=list)


@dataclass
class Options:
    spec: str
    app_dir: str
    python: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    threads: int = 4
    request_cap: int = 1 << 20
    response_cap: int = 1 << 20
    debug_logs: bool = False


def find_python(app_dir: str, explicit: str | None = None) -> str | None:
    """--python, else a .venv/venv in the app dir or its parents, else ours (frozen:
    python3 on PATH; None if there is none)."""
    if explicit:
        return explicit
    here = Path(app_dir).resolve()
    for folder in (here, *here.parents):
        for name in (".venv", "venv"):
            for exe in ("bin/python", "Scripts/python.exe"):
                candidate = folder / name / exe
                if candidate.exists() and trusted_folder(folder / name):
                    return str(candidate)
    return default_python()


@functools.cache
def agent_path() -> str:
    """A directory holding only our package and waitress, for the child's PYTHONPATH.

    The child must import the agent without seeing the GUI's site-packages
    (the project's own interpreter has its own). One per host process, removed
    when it exits. The frozen build ships them as source files of its own.
    """
    bundled = bundled_agent()
    if bundled is not None:
        return bundled
    root = Path(tempfile.mkdtemp(prefix="wsgi-inspector-agent-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for package in (inspector, waitress):
        source = Path(package.__file__).parent
        try:
            (root / source.name).symlink_to(source, target_is_directory=True)
        except OSError:  # no symlinks (some Windows setups): copy
            shutil.copytree(source, root / source.name,
                            ignore=shutil.ignore_patterns("__pycache__"))
    return str(root)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with code {code}"


def ended_how(code: int) -> str:
    """``describe_exit`` as a predicate: "was killed by SIGSEGV", "exited with code 7"."""
    return f"was {describe_exit(code)}" if code < 0 else describe_exit(code)


class LinkError(Exception):
    """What the child put in the ring cannot be from our agent; one sentence."""


@dataclass
class _Child:
    """One generation's process and link, as its supervising thread sees them."""

    generation: int
    proc: subprocess.Popen[bytes]
    sock: socket.socket
    reader: ring.RingReader
    arm: Message | None  # the arm the child was started with
    greeted: bool = False  # its hello arrived
    outcome: str = ""  # "ready", "load_error" or "serve_error": what the agent said


# What the child says about the link itself; everything else is an exchange's event.
_LINK_MESSAGES = frozenset({"hello", "ready", "load_error", "serve_error", "pong"})


class AppProcess:
    """Runs the app in a supervised child; calls ``on_event`` and ``on_status``
    from background threads (the GUI hops to its own thread)."""

    reloads_code = True

    def __init__(self, options: Options, on_event: Callable[[Message], None],
                 on_status: Callable[[Status], None]) -> None:
        self.options = options
        self.on_event = on_event
        self.on_status = on_status
        self.generation = 0
        self.status = Status("stopped")
        self._python = find_python(options.app_dir, options.python) or "python3"
        self._pythonpath = agent_path()
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._arm: Message | None = None
        self._pings = itertools.count(1)
        self._pong = 0  # the highest ping seq the child has answered
        self._pong_changed = threading.Condition()
        self._link: threading.Thread | None = None
        self._in_flight: dict[int, float] = {}  # id -> wall-clock start
        self._deaths: list[float] = []
        self._stopping = False
        self._ready = threading.Event()
        self._port = 0

    # -- control -------------------------------------------------------------------
    def start(self, timeout: float = CONNECT_TIMEOUT) -> Status:
        """Start the child and wait until it serves or fails to load."""
        if not POSIX:  # the link is inherited with pass_fds
            self._set_status(Status("crashed", "The app's own process needs a POSIX system "
                                    "(Linux, macOS); here, start with --in-process."))
            return self.status
        self._stopping = False
        self._spawn()
        self._ready.wait(timeout)
        return self.status

    def restart(self, timeout: float = CONNECT_TIMEOUT) -> Status:
        """Kill and respawn (reload). Always correct, unlike importlib.reload."""
        self.stop()
        self._deaths.clear()
        return self.start(timeout)

    def stop(self, grace: float = 2.0) -> None:
        with self._lock:
            self._stopping = True
            proc, sock, link = self._proc, self._sock, self._link
        if proc is not None:
            if sock is not None and self.status.state == "serving":
                self._send(sock, {"type": "stop", "grace": grace})
            else:  # not serving yet, so nothing in flight (and "stop" would be read
                proc.terminate()  # only after the app's import)
            try:
                proc.wait(grace + 3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # The supervising thread must be done before a restart clears _stopping,
        # or it would take this exit for a crash and start another child.
        if link is not None and link is not threading.current_thread():
            link.join(CONNECT_TIMEOUT)
        if self.status.state != "stopped":
            self._set_status(Status("stopped"))

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def command(self, message: Message) -> bool:
        """Send a stepping command (docs/protocol.md); False if no child is connected.

        The last ``arm`` is kept and given to every new child before it serves,
        so breakpoints survive reloads and crashes. An ``arm`` returns once the
        child has it in force (a ping round trip after it), as in-process: a
        request sent right after meets the new breakpoints.
        """
        arm = message.get("type") == "arm"
        if arm:
            self._arm = message
        with self._lock:
            sock, link = self._sock, self._link
        if sock is None or not self._send(sock, message):
            return False
        if arm and link is not threading.current_thread():  # the link thread reads the pong
            self._sync(sock)
        return True

    def _sync(self, sock: socket.socket, timeout: float = SYNC_TIMEOUT) -> bool:
        """Wait until the child has handled every command sent before this call."""
        seq = next(self._pings)
        if not self._send(sock, {"type": "ping", "seq": seq}):
            return False
        with self._pong_changed:  # a closed socket (the child ended) ends the wait too
            return self._pong_changed.wait_for(
                lambda: self._pong >= seq or sock.fileno() == -1, timeout)

    def _send(self, sock: socket.socket, message: Message) -> bool:
        with self._send_lock:  # frames from two threads must not interleave
            try:
                wire.send(sock, [message])
            except OSError:
                return False
        return True

    # -- the child's life ------------------------------------------------------------
    def _spawn(self, respawn: bool = False) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (self._pythonpath, os.environ.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        with self._lock:
            if respawn and self._stopping:  # stop() came while the last child died
                self._ready.set()
                return
            self.generation += 1
            self._ready.clear()
            self._in_flight.clear()
            arm = self._arm  # given on the command line: armed before the first request
            child = self._start_child(env, arm)
            self._proc = child.proc
            self._link = link = threading.Thread(
                target=self._supervise, args=(child,), name="wsgi-inspector-link",
                daemon=True)
        self._set_status(Status("starting", url=self.status.url))
        link.start()

    def _start_child(self, env: dict[str, str], arm: Message | None) -> _Child:
        """Popen with our end of a socket pair and the ring inherited, nothing listening."""
        ours, theirs = socket.socketpair()
        ring_fd, mapping = ring.create(RING_CAPACITY)
        try:
            env[ENV_LINK], env[ENV_RING] = str(theirs.fileno()), str(ring_fd)
            proc = subprocess.Popen(
                [self._python, "-m", "inspector.agent.child", self.options.spec,
                 *self._child_args(arm)],
                cwd=self.options.app_dir, env=env, stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(), ring_fd))
        except BaseException:
            ours.close()
            mapping.close()
            raise
        finally:  # only the child holds its end now: EOF on ours means it is gone
            theirs.close()
            os.close(ring_fd)
        return _Child(self.generation, proc, ours, ring.RingReader(mapping), arm)

    def _child_args(self, arm: Message | None = None) -> list[str]:
        o = self.options
        port = o.port or self._port  # keep the URL across restarts
        args = ["--app-dir", o.app_dir, "--host", o.host, "--port", str(port),
                "--threads", str(o.threads), "--request-cap", str(o.request_cap),
                "--response-cap", str(o.response_cap)]
        if arm is not None:
            args += ["--arm", json.dumps(arm)]
        return [*args, "--debug-logs"] if o.debug_logs else args

    def _supervise(self, child: _Child) -> None:
        """Read the link until the child is gone, read what the ring still holds, then
        decide: a stop, an outcome the agent reported, or a crash."""
        error = self._follow(child)
        if error:  # not our agent's doing: end that process
            child.proc.kill()
        code = child.proc.wait()
        cut = None
        if not error:  # everything it recorded before it died, the killing request too
            # (a crash that scribbled over the ring ends the reading there; the process
            # is gone either way, so it is handled as the crash it was)
            self._drain(child, child.reader.published)
            cut = _cut_record(child.reader)
        child.reader.close()
        child.sock.close()
        with self._pong_changed:
            self._pong_changed.notify_all()
        self._child_ended(child, code, error, cut)

    def _follow(self, child: _Child) -> str:
        """Drain the ring on each wake-up until EOF; a sentence if the link broke."""
        pending = b""
        while True:
            try:
                data = child.sock.recv(1 << 12)
            except OSError:
                return ""
            if not data:
                return ""
            pending += data
            whole = len(pending) - len(pending) % WAKE.size
            if not whole:
                continue
            (offset,) = WAKE.unpack_from(pending, whole - WAKE.size)  # the latest counts
            pending = pending[whole:]
            error = self._drain(child, offset)
            if error:
                return error

    def _drain(self, child: _Child, upto: int) -> str:
        """Hand on every record up to ``upto``; a sentence if one is not ours to read."""
        try:
            blob, spans = child.reader.read_to(upto)
            for message, (start, end) in zip(wire.loads_each(blob, spans), spans):
                if type(message) is not dict:
                    raise LinkError("a record is not a message")
                self._handle(message, child, blob[start:end])
        except (ring.RingError, wire.ProtocolError, LinkError) as exc:
            return f"The app's process sent what this host cannot read ({exc}); it was stopped."
        return ""

    def _handle(self, message: Message, child: _Child, raw: bytes) -> None:
        kind = message.get("type")
        xid = message.get("id")
        if type(kind) is not str or not (xid is None or type(xid) is int):
            raise LinkError("a record's type or exchange id is not one the agent writes")
        if not child.greeted:
            self._greet(message, child)
        elif kind not in _LINK_MESSAGES:  # an exchange's event: nearly every message
            self._track(message)
            # With its record's bytes: the session stores those as they came.
            event = wire.Record(message)
            event.raw = raw
            event["gen"] = child.generation
            self.on_event(event)
        elif kind in ("ready", "load_error", "serve_error"):
            child.outcome = kind
            self._outcome(message, kind)
        elif kind == "pong":
            with self._pong_changed:
                self._pong = max(self._pong, _int(message.get("seq")))
                self._pong_changed.notify_all()

    def _greet(self, hello: Message, child: _Child) -> None:
        """The first record is the agent's hello; once it is in, commands may go."""
        if hello.get("type") != "hello":
            raise LinkError("its first record is not a hello")
        if hello.get("version") != wire.VERSION:
            raise LinkError(f"it speaks protocol version {hello.get('version')!r} and this "
                            f"host version {wire.VERSION}; run both from one installation")
        child.greeted = True
        with self._lock:
            if child.generation == self.generation:
                self._sock = child.sock
        if self._arm is not child.arm:  # armed again while the child was starting
            self._send(child.sock, self._arm)  # type: ignore[arg-type]

    def _outcome(self, message: Message, kind: str) -> None:
        try:
            if kind == "ready":
                self._deaths.clear()
                self._port = int(message["port"])
                status = Status("serving", url=str(message["url"]), files=message["files"])
            elif kind == "load_error":  # its URL serves the error page, when it has one
                self._port = int(message.get("port") or self._port)
                status = Status("load_error", str(message["message"]), message.get("traceback"),
                                url=str(message.get("url", "")),
                                files=message.get("files", []))
            else:
                status = Status("serve_error", str(message["message"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise LinkError(f"its {kind} message is malformed ({exc!r})") from None
        self._set_status(status)
        self._ready.set()

    def _track(self, event: Message) -> None:
        kind = event.get("type")
        if kind == "begin":  # its wall-clock start: the begin may be read only after a death
            start = event.get("start")
            self._in_flight[event.get("id")] = (  # type: ignore[index]
                start if type(start) is float else time.time())
        elif kind == "end":
            self._in_flight.pop(event.get("id"), None)  # type: ignore[arg-type]

    def _child_ended(self, child: _Child, code: int, error: str, cut: Cut | None = None
                     ) -> None:
        with self._lock:
            if child.generation != self.generation:
                return
            self._proc = self._sock = None
            stopping = self._stopping
        if cut is not None:
            self._note_cut(child.generation, cut)
        if error or stopping or child.outcome in ("load_error", "serve_error"):
            self._fail_in_flight(child.generation,
                                 "was stopped" if stopping else ended_how(code), cut)
            if error:
                self._set_status(Status("crashed", error))
            self._ready.set()
            return
        # Any other exit, code 0 included, was not the agent's doing: a crash.
        how = ended_how(code)
        self._fail_in_flight(child.generation, how, cut)
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < CRASH_WINDOW] + [now]
        if len(self._deaths) >= CRASH_LIMIT:
            self._set_status(Status("crashed", f"The app's process died {len(self._deaths)} "
                                    f"times in a row (last: {describe_exit(code)}); fix the "
                                    "app and reload."))
            self._ready.set()
            return
        self._set_status(Status("died", f"The app's process {how}; restarting it.",
                                url=self.status.url))
        self._spawn(respawn=True)

    def _note_cut(self, generation: int, cut: Cut) -> None:
        """Log a record the process did not finish; one of no exchange in flight goes
        to the process's output (an exchange's goes into its error, see below)."""
        log.warning("the app's process ended while writing a record (%s)", cut.describe())
        if cut.xid in self._in_flight:
            return
        self.on_event({"type": "output", "id": None, "gen": generation, "t": 0.0,
                       "stream": "stderr", "level": "", "logger": "",
                       "text": f"wsgi-inspector: the app's process ended while recording "
                               f"{cut.describe()}; that record is lost."})

    def _fail_in_flight(self, generation: int, how: str, cut: Cut | None = None) -> None:
        """End the exchanges the dead process had begun: their clients got no reply
        from it (the connection closed with the process). The one whose record it
        was writing when it died says so: part of what it did is not recorded."""
        for xid, began in list(self._in_flight.items()):
            t = max(0.0, time.time() - began)
            message = f"The app's process {how} while serving this request."
            if cut is not None and cut.xid == xid:
                message += (f" It was recording {cut.describe()} then; that record is lost, "
                            "so this exchange lacks what it held.")
            self.on_event({"type": "error", "id": xid, "gen": generation, "t": t,
                           "phase": "error", "exc_type": "ProcessDied", "message": message,
                           "traceback": message})
            self.on_event({"type": "end", "id": xid, "gen": generation, "t": t,
                           "closed": False, "size": 0, "dropped": True})
        self._in_flight.clear()

    def _set_status(self, status: Status) -> None:
        self.status = status
        self.on_status(status)


@dataclass
class Cut:
    """A record the app's process did not finish writing: its pieces in the ring
    stop short. What its first bytes tell of it, and how much of it arrived."""

    kind: str | None  # its message type ("chunk", "end"...), if its first bytes say
    xid: int | None  # its exchange's id, likewise
    size: int  # bytes that arrived

    def describe(self) -> str:
        what = f"a {self.kind} event" if self.kind else "an event"
        return f"{what}, of which {self.size / 1e6:.1f} MB had arrived"


def _cut_record(reader: ring.RingReader) -> Cut | None:
    """The record the reader holds pieces of and will never see whole, if any."""
    if not reader.partial:
        return None
    kind, xid = _type_and_id(reader.partial_head())
    return Cut(kind, xid, reader.partial_size)


def _type_and_id(head: bytes) -> tuple[str | None, int | None]:
    """The ``type`` and ``id`` of a message from the first bytes of its record (the
    agent writes both first), read as opcodes only; (None, None) where they are not."""
    fields: dict[Any, Any] = {}
    key: Any = _NO_KEY
    try:
        for opcode, arg, _ in pickletools.genops(head):
            if opcode.name in _STRUCTURE:
                continue
            if opcode.name in ("BINGET", "LONG_BINGET"):
                value = wire.VOCABULARY[arg] if arg < len(wire.VOCABULARY) else None
            elif opcode.name in _SCALARS:
                value = arg
            else:
                break
            if key is _NO_KEY:
                key = value
                continue
            fields[key], key = value, _NO_KEY
            if "type" in fields and "id" in fields:
                break
    except Exception:  # cut off inside an opcode, or not a pickle: what arrived is input
        pass
    kind, xid = fields.get("type"), fields.get("id")
    return (kind if type(kind) is str else None), (xid if type(xid) is int else None)


_NO_KEY = object()
_STRUCTURE = frozenset({"PROTO", "FRAME", "EMPTY_DICT", "MARK", "MEMOIZE"})
_SCALARS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BININT1", "BININT2", "BININT",
                      "LONG1"})


def _int(value: Any) -> int:
    return value if type(value) is int else 0
