"""The isolated app process: start, supervise, restart, stop.

The app runs in a child process started with the project's own interpreter.
The host listens on loopback, the child connects back and proves itself with a
random per-run token; events stream in, commands go out (docs/protocol.md).
If the child dies, the exchanges it had in flight end with an error saying how,
and a new child is started; a crash loop stops after a few tries.
"""

from __future__ import annotations

import atexit
import functools
import hmac
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress

import inspector

from .. import wire
from ..agent.child import ENV_ADDRESS, ENV_TOKEN, EXIT_LOAD_ERROR, EXIT_SERVE_ERROR

Message = dict[str, Any]
CRASH_LIMIT = 3  # deaths within CRASH_WINDOW seconds before we stop restarting
CRASH_WINDOW = 10.0
CONNECT_TIMEOUT = 30.0  # the app's import can be slow (Django, big projects)
ACCEPT_POLL = 0.1  # how often the wait for the child's connection checks it is alive
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


def find_python(app_dir: str, explicit: str | None = None) -> str:
    """--python, else a .venv/venv in the app dir or its parents, else ours."""
    if explicit:
        return explicit
    here = Path(app_dir).resolve()
    for folder in (here, *here.parents):
        for name in (".venv", "venv"):
            for exe in ("bin/python", "Scripts/python.exe"):
                candidate = folder / name / exe
                if candidate.exists():
                    return str(candidate)
    return sys.executable


@functools.cache
def agent_path() -> str:
    """A directory holding only our package and waitress, for the child's PYTHONPATH.

    The child must import the agent without seeing the GUI's site-packages
    (the project's own interpreter has its own). One per host process, removed
    when it exits.
    """
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
        self._python = find_python(options.app_dir, options.python)
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
        self._in_flight: dict[int, float] = {}
        self._deaths: list[float] = []
        self._stopping = False
        self._ready = threading.Event()
        self._port = 0

    # -- control -------------------------------------------------------------------
    def start(self, timeout: float = CONNECT_TIMEOUT) -> Status:
        """Start the child and wait until it serves or fails to load."""
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
        token = secrets.token_hex(16)
        listener = socket.create_server(("127.0.0.1", 0))
        env = dict(os.environ)
        env[ENV_ADDRESS] = f"127.0.0.1:{listener.getsockname()[1]}"
        env[ENV_TOKEN] = token
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (self._pythonpath, os.environ.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        with self._lock:
            if respawn and self._stopping:  # stop() came while the last child died
                listener.close()
                self._ready.set()
                return
            self.generation += 1
            self._ready.clear()
            self._in_flight.clear()
            arm = self._arm  # given on the command line: armed before the first request
            self._proc = subprocess.Popen(
                [self._python, "-m", "inspector.agent.child", self.options.spec,
                 *self._child_args(arm)],
                cwd=self.options.app_dir, env=env, stdin=subprocess.DEVNULL)
            generation, proc = self.generation, self._proc
            self._link = link = threading.Thread(
                target=self._serve_connection, args=(listener, token, generation, proc, arm),
                name="wsgi-inspector-link", daemon=True)
        self._set_status(Status("starting", url=self.status.url))
        link.start()

    def _child_args(self, arm: Message | None = None) -> list[str]:
        o = self.options
        port = o.port or self._port  # keep the URL across restarts
        args = ["--app-dir", o.app_dir, "--host", o.host, "--port", str(port),
                "--threads", str(o.threads), "--request-cap", str(o.request_cap),
                "--response-cap", str(o.response_cap)]
        if arm is not None:
            args += ["--arm", json.dumps(arm)]
        return [*args, "--debug-logs"] if o.debug_logs else args

    def _serve_connection(self, listener: socket.socket, token: str, generation: int,
                          proc: subprocess.Popen[bytes], arm: Message | None = None) -> None:
        try:
            link = self._accept(listener, token, generation, proc)
        finally:
            listener.close()
        if link is not None:
            sock, frames = link
            with self._lock:
                self._sock = sock
            if self._arm is not arm:  # armed again while the child was starting
                self._send(sock, self._arm)  # type: ignore[arg-type]
            self._read(frames, generation)
            sock.close()
            with self._pong_changed:
                self._pong_changed.notify_all()
        code = proc.wait()
        self._child_ended(generation, code)

    def _accept(self, listener: socket.socket, token: str, generation: int,
                proc: subprocess.Popen[bytes]) -> tuple[socket.socket,
                                                        Iterator[list[Message]]] | None:
        """The first connection that says hello with our token, and its frames.

        None when the child exits first (e.g. ``os._exit`` while importing the
        app, before its hello went out) or never connects.
        """
        deadline = time.monotonic() + CONNECT_TIMEOUT
        listener.settimeout(ACCEPT_POLL)
        while time.monotonic() < deadline:
            try:
                sock, _ = listener.accept()
            except socket.timeout:
                if proc.poll() is not None:
                    return None
                continue
            except OSError:
                return None
            sock.settimeout(CONNECT_TIMEOUT)
            frames = wire.read_frames(sock)
            try:
                first = next(frames, [])
            except wire.ProtocolError:
                first = []
            hello = first[0] if first else {}
            if (hello.get("type") == "hello" and hello.get("version") == wire.VERSION
                    and hmac.compare_digest(str(hello.get("token", "")), token)):
                sock.settimeout(None)
                # What came with the hello (often "ready") is handled once the
                # link is set up, so a caller woken by it can already send commands.
                return sock, itertools.chain([first[1:]], frames)
            sock.close()  # someone else on loopback: not our child
        return None

    def _read(self, frames: Iterator[list[Message]], generation: int) -> None:
        try:
            for messages in frames:
                for message in messages:
                    self._handle(message, generation)
        except wire.ProtocolError:
            pass

    def _handle(self, message: Message, generation: int) -> None:
        kind = message.get("type")
        if kind not in _LINK_MESSAGES:  # an exchange's event: nearly every message
            self._track(message)
            message["gen"] = generation
            self.on_event(message)
        elif kind == "ready":
            self._deaths.clear()
            self._port = message["port"]
            self._set_status(Status("serving", url=message["url"], files=message["files"]))
            self._ready.set()
        elif kind == "load_error":
            self._set_status(Status("load_error", message["message"], message.get("traceback"),
                                    files=message.get("files", [])))
            self._ready.set()
        elif kind == "serve_error":
            self._set_status(Status("serve_error", message["message"]))
            self._ready.set()
        elif kind == "pong":
            with self._pong_changed:
                self._pong = max(self._pong, int(message.get("seq") or 0))
                self._pong_changed.notify_all()

    def _track(self, event: Message) -> None:
        if event["type"] == "begin":
            self._in_flight[event["id"]] = time.perf_counter()
        elif event["type"] == "end":
            self._in_flight.pop(event["id"], None)

    def _child_ended(self, generation: int, code: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self._proc = self._sock = None
            stopping = self._stopping
        if stopping or code in (EXIT_LOAD_ERROR, EXIT_SERVE_ERROR):
            self._ready.set()
            return
        how = describe_exit(code)
        self._fail_in_flight(generation, how)
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < CRASH_WINDOW] + [now]
        if len(self._deaths) >= CRASH_LIMIT:
            self._set_status(Status("crashed", f"The app's process died {len(self._deaths)} "
                                    f"times in a row (last: {how}); fix the app and reload."))
            self._ready.set()
            return
        self._set_status(Status("died", f"The app's process {how}; restarting it.",
                                url=self.status.url))
        self._spawn(respawn=True)

    def _fail_in_flight(self, generation: int, how: str) -> None:
        for xid, began in list(self._in_flight.items()):
            t = time.perf_counter() - began
            message = f"The app's process {how} while serving this request."
            self.on_event({"type": "error", "id": xid, "gen": generation, "t": t,
                           "phase": "error", "exc_type": "ProcessDied", "message": message,
                           "traceback": message})
            self.on_event({"type": "end", "id": xid, "gen": generation, "t": t,
                           "closed": False, "size": 0})
        self._in_flight.clear()

    def _set_status(self, status: Status) -> None:
        self.status = status
        self.on_status(status)

