"""Entry point of the isolated app process: ``python -m inspector.agent.child``.

The host starts this with the project's own interpreter. It connects back to
the host over loopback, proves itself with the per-run token, loads the app,
serves it under capture and streams events until told to stop. When the
control connection closes (the host died, even by SIGKILL) it exits at once,
so no orphan keeps the port.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import socket
import sys
import threading
from typing import Any

from .. import wire
from .loader import LoadError, load_app, project_files
from .runtime import Agent
from .server import ServeError

ENV_ADDRESS = "WSGI_INSPECTOR_HOST"  # "127.0.0.1:PORT" of the host's listener
ENV_TOKEN = "WSGI_INSPECTOR_TOKEN"  # in the environment, not argv: argv is public in ps
EXIT_LOAD_ERROR = 3
EXIT_SERVE_ERROR = 4
BATCH = 512  # messages per frame at most
FLUSH_INTERVAL = 0.01  # seconds between sends: events reach the host within ~10 ms


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
    """Sends messages to the host from one writer thread, in batches.

    The request threads only append to a deque; the writer wakes every
    ``FLUSH_INTERVAL`` and sends what piled up. Waking it per event (a
    blocking queue) cost a thread switch and a GIL hand-off per event, which
    under load took more CPU than the capture itself.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._pending: collections.deque[Any] = collections.deque()
        self.emit = self._pending.append
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wsgi-inspector-uplink",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            closing = self._closing.wait(FLUSH_INTERVAL)
            try:
                self._send_pending()
            except OSError:
                return  # the host is gone; the control reader ends the process
            if closing:
                return

    def _send_pending(self) -> None:
        popleft = self._pending.popleft
        while self._pending:
            batch = []
            try:
                while len(batch) < BATCH:
                    batch.append(popleft())
            except IndexError:
                pass
            wire.send(self.sock, batch)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued, then stop the writer."""
        self._closing.set()
        self._thread.join(timeout)


def connect() -> socket.socket:
    host, port = os.environ[ENV_ADDRESS].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


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
    own = {os.path.join(engine, name) for name in ("__init__.py", "lint.py", "model.py", "wire.py")}
    return [f for f in project_files(app_dir)
            if not f.startswith(ours + os.sep) and f not in own]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Ctrl+C in the terminal reaches the whole process group; the host decides
    # when this process ends (it sends "stop" or closes the connection).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    demote_agent_path()
    sock = connect()
    uplink = Uplink(sock)
    uplink.emit({"type": "hello", "token": os.environ.pop(ENV_TOKEN, ""),
                 "version": wire.VERSION, "pid": os.getpid(), "python": sys.version.split()[0]})
    app_dir = os.path.abspath(args.app_dir or os.getcwd())
    try:
        app = load_app(args.spec, app_dir)
    except LoadError as exc:
        uplink.emit({"type": "load_error", "message": str(exc),
                     "traceback": exc.user_traceback, "files": app_files(app_dir)})
        uplink.close()
        return EXIT_LOAD_ERROR
    agent = Agent(app, uplink.emit, host=args.host, port=args.port, threads=args.threads,
                  request_cap=args.request_cap, response_cap=args.response_cap,
                  debug_logs=args.debug_logs)
    if args.arm:  # before serving: a request right after "ready" must meet the breakpoints
        agent.gate.handle(json.loads(args.arm))
    try:
        url = agent.start()
    except ServeError as exc:
        uplink.emit({"type": "serve_error", "message": str(exc)})
        uplink.close()
        return EXIT_SERVE_ERROR
    uplink.emit({"type": "ready", "url": url, "port": agent.server.effective_port,
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
                    uplink.emit({"type": "pong", "seq": message.get("seq")})
                elif message.get("type") in STEPPING:
                    agent.gate.handle(message)
    except wire.ProtocolError:
        pass
    return 0.1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Daemon threads of the user's app must not keep the process (and port) alive.
    os._exit(code)
