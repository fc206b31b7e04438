"""Entry point of the isolated app process: ``python -m inspector.agent.child``.

The host starts this with the project's own interpreter and hands it two
inherited fds: its end of a socket pair (commands in, wake-ups out) and the
shared memory of the event ring (docs/protocol.md). It loads the app, serves it
under capture and records events in the ring until told to stop. When the
socket pair closes (the host died, even by SIGKILL) it exits at once, so no
orphan keeps the port.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import signal
import socket
import struct
import sys
import threading
from typing import Any

from .. import ring, wire
from . import inside_hooks
from .errorpage import serve_load_error
from .loader import LoadError, load_app, project_files
from .runtime import Agent
from .server import ServeError

ENV_LINK = "WSGI_INSPECTOR_LINK"  # the inherited fd of our end of the control socket pair
ENV_RING = "WSGI_INSPECTOR_RING"  # the inherited fd of the event ring's shared memory
WAKE_INTERVAL = 0.01  # seconds between wake-ups: events reach the host within ~10 ms
WAKE = struct.Struct(">Q")  # a wake-up: the ring's published write offset


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="inspector.agent.child")
    parser.add_argument("spec")
    parser.add_argument("--app-dir", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--request-cap", type=int, default=1 << 20)
    parser.add_argument("--response-cap", type=int, default=1 << 20)
    parser.add_argument("--debug-logs", action="store_true")
    parser.add_argument("--arm", default=None,
                        help="an arm command (JSON) to apply before serving the first request")
    return parser.parse_args(argv)


class Uplink:
    """Puts messages in the shared ring; tells the host every ~10 ms that there are more.

    A request thread encodes its message and appends it to the ring at once, so
    it survives this process's death; the host reads the ring on wake-ups. A
    wake-up per event would cost a thread switch and a system call per event,
    which under load took more CPU than the capture itself: the writer thread
    sends one every ``WAKE_INTERVAL`` when the ring advanced, and
    :meth:`emit_now` one at once for a message someone waits on.
    """

    def __init__(self, sock: socket.socket, mapping: mmap.mmap) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self._woken = 0  # the last offset the host was told of
        self._local = threading.local()  # each emitting thread's wire.Encoder
        self.ring = ring.RingWriter(mapping, on_full=self._wake)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wsgi-inspector-uplink",
                                        daemon=True)
        self._thread.start()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """In a process the app forked (multiprocessing): record nothing, hold nothing.

        A second writer would corrupt the ring (its lock and offset are this
        process's), and its copy of the socket would keep the host from seeing
        this process end. Its events were lost before the ring too.
        """
        self.ring = _Nowhere()  # type: ignore[assignment]
        self._send_lock = threading.Lock()
        self.sock.close()

    def emit(self, message: dict[str, Any]) -> None:
        """Record ``message`` (any thread); the host hears of it within ~10 ms."""
        try:
            encoder = self._local.encoder
        except AttributeError:
            encoder = self._local.encoder = wire.Encoder()
        try:
            self.ring.append(encoder.encode(message))
        except ring.RingClosed:  # the host is gone and this process is about to end
            return

    def emit_now(self, message: dict[str, Any]) -> None:
        """Record ``message`` and wake the host at once (hello, ready, pong...)."""
        self.emit(message)
        self._wake()

    def _wake(self, _offset: int | None = None) -> None:
        """Tell the host how far the ring is published. Read under the send lock and
        sent only when it grew: wake-ups from two threads must never go backwards."""
        with self._send_lock:
            offset = self.ring.published
            if offset <= self._woken:
                return
            try:
                self.sock.sendall(WAKE.pack(offset))
            except OSError:  # the host is gone: stop waiting for it to make room
                self.ring.close()
                return
            self._woken = offset

    def _run(self) -> None:
        while True:
            closing = self._closing.wait(WAKE_INTERVAL)
            self._wake()
            if closing:
                return

    def lost(self) -> None:
        """The host closed the link: appends waiting for room give up."""
        self.ring.close()

    def close(self, timeout: float = 2.0) -> None:
        """Wake the host for what is left, then stop the writer."""
        self._closing.set()
        self._thread.join(timeout)


class _Nowhere:
    """The ring as a forked process sees it: appends go nowhere."""

    published = 0

    def append(self, payload: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def link_from_env() -> tuple[socket.socket, mmap.mmap]:
    """The control socket and the ring the host handed down; their fds kept from the app.

    The variables are removed and the socket made non-inheritable, so a process
    the app starts (``os.system``) holds neither: its end is the child's alone.
    """
    sock_fd = int(os.environ.pop(ENV_LINK))
    ring_fd = int(os.environ.pop(ENV_RING))
    try:
        mapping = ring.attach(ring_fd)
    finally:
        os.close(ring_fd)
    os.set_inheritable(sock_fd, False)
    sock = socket.socket(fileno=sock_fd)
    sock.settimeout(None)
    return sock, mapping


def demote_agent_path() -> None:
    """Move our PYTHONPATH entry behind the project's own: the agent and waitress
    are imported already, and the user's modules must win any name clash."""
    ours = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if ours in sys.path:
        sys.path.remove(ours)
        sys.path.append(ours)


def app_files(app_dir: str) -> list[str]:
    """The project's imported files, less the agent's own (when the app dir holds it)."""
    ours = os.path.dirname(os.path.realpath(__file__))
    engine = os.path.dirname(ours)
    own = {os.path.join(engine, name)
           for name in ("__init__.py", "filtering.py", "lint.py", "model.py", "ring.py",
                        "wire.py")}
    return [f for f in project_files(app_dir)
            if not f.startswith(ours + os.sep) and f not in own]


def main(argv: list[str] | None = None) -> int:
    """Load and serve the app; how it went is said over the link, never by an exit code
    (those are the app's: it may ``os._exit(3)`` itself)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Ctrl+C in the terminal reaches the whole process group; the host decides
    # when this process ends (it sends "stop" or closes the connection).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    demote_agent_path()
    try:
        sock, mapping = link_from_env()
    except (KeyError, ValueError, OSError, ring.RingError) as exc:
        print(f"wsgi-inspector: this process must be started by the inspector's host "
              f"({exc}).", file=sys.stderr)
        return 1
    uplink = Uplink(sock, mapping)
    uplink.emit_now({"type": "hello", "version": wire.VERSION, "pid": os.getpid(),
                     "python": sys.version.split()[0]})
    app_dir = os.path.abspath(args.app_dir or os.getcwd())
    inside_hooks.install()  # before the app imports sqlite3, jinja2...: see agent.inside
    try:
        app = load_app(args.spec, app_dir)
    except LoadError as exc:
        # The app's URL shows the error (a 500 page) until the host restarts us.
        serve_load_error(sock, uplink.emit_now,
                         {"type": "load_error", "message": str(exc),
                          "traceback": exc.user_traceback, "files": app_files(app_dir)},
                         spec=args.spec, host=args.host, port=args.port)
        uplink.close()
        return 0
    agent = Agent(app, uplink.emit, host=args.host, port=args.port, threads=args.threads,
                  request_cap=args.request_cap, response_cap=args.response_cap,
                  debug_logs=args.debug_logs)
    if args.arm:  # before serving: a request right after "ready" must meet the breakpoints
        agent.gate.handle(json.loads(args.arm))
    try:
        url = agent.start()
    except ServeError as exc:
        uplink.emit_now({"type": "serve_error", "message": str(exc)})
        uplink.close()
        return 0
    uplink.emit_now({"type": "ready", "url": url, "port": agent.server.effective_port,
                     "files": app_files(app_dir)})
    grace = serve_commands(sock, uplink, agent)
    agent.release()
    agent.server.stop(grace)
    agent.output.uninstall()
    uplink.close()
    return 0


STEPPING = frozenset({"arm", "step", "continue", "abort", "continue_all"})


def serve_commands(sock: socket.socket, uplink: Uplink, agent: Agent) -> float:
    """Answer the host's commands until "stop" or a closed connection.

    Returns how long in-flight requests may still take: a polite stop lets
    them finish; a vanished host gets a quick exit.
    """
    try:
        for messages in wire.read_frames(sock):
            for message in messages:
                if message.get("type") == "stop":
                    return float(message.get("grace", 2.0))
                if message.get("type") == "ping":
                    uplink.emit_now({"type": "pong", "seq": message.get("seq")})
                elif message.get("type") in STEPPING:
                    agent.gate.handle(message)
                elif message.get("type") in ("profile", "inside"):
                    agent.inside_command(message)
    except wire.ProtocolError:
        pass
    uplink.lost()
    return 0.1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Daemon threads of the user's app must not keep the process (and port) alive.
    os._exit(code)
