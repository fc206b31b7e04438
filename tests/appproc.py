"""Helpers for tests that run a real app process: an event/status recorder,
a test app written into a folder, an HTTP client and a gate the app waits at."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from inspector.host.process import Status
from inspector.model import Exchange, ExchangeBuilder

TIMEOUT = 30.0  # generous: a 2-core machine under load can be slow to start Python

T = TypeVar("T")

WEB = '''\
"""A small WSGI app for the tests: routes that print, log, echo and crash."""
import logging
import os
import socket
import sys

log = logging.getLogger("web")
MESSAGE = {message!r}
GATE = {gate!r}


def wait_at_gate():
    """Block until the test lets this request go on."""
    with socket.create_connection(("127.0.0.1", GATE), timeout=30) as sock:
        sock.recv(1)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    content_type = "application/octet-stream"
    if path == "/bytes":
        body = bytes(range(256))
    elif path == "/echo":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))[::-1]
    elif path == "/prefix":
        body = sys.prefix.encode()
    elif path == "/token":
        body = os.environ.get("WSGI_INSPECTOR_TOKEN", "absent").encode()
    elif path == "/ours":  # what of the host's variables the app can see
        body = " ".join(k for k in os.environ if k.startswith("WSGI_INSPECTOR")).encode()
    elif path.startswith("/die/"):  # die at once, the begin event just emitted
        how = path[len("/die/"):]
        print("dying by", how)
        if how == "segv":
            import ctypes
            ctypes.string_at(0)
        os._exit(int(how))
    elif path in ("/segv", "/exit", "/gate"):
        print("waiting at the gate")
        wait_at_gate()
        if path == "/segv":
            import ctypes
            ctypes.string_at(0)
        elif path == "/exit":
            os._exit(7)
        body = MESSAGE.encode()
    else:
        print("serving", path)
        log.warning("logged %s", path)
        body = MESSAGE.encode()
        content_type = "text/plain; charset=utf-8"
    start_response("200 OK", [("Content-Type", content_type),
                              ("Content-Length", str(len(body))),
                              ("X-Pid", str(os.getpid()))])
    return [body]
'''


def write_app(folder: Path, *, message: str = "hello v1", gate: int = 0,
              name: str = "web") -> Path:
    """Write the test app as ``folder/name.py``; return its path."""
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(WEB).format(message=message, gate=gate))
    return path


class Recorder:
    """Collects an app's events (per generation) and statuses; waits for them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.statuses: list[Status] = []
        self.builders: dict[int, ExchangeBuilder] = {}
        self._changed = threading.Condition()

    # -- callbacks (background threads) ---------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        with self._changed:
            self.events.append(event)
            self.builders.setdefault(event["gen"], ExchangeBuilder()).apply(event)
            self._changed.notify_all()

    def on_status(self, status: Status) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    # -- queries ---------------------------------------------------------------
    def mark(self) -> int:
        """Where the status list stands now: pass as ``after`` to wait for later ones."""
        with self._changed:
            return len(self.statuses)

    def states(self) -> list[str]:
        with self._changed:
            return [s.state for s in self.statuses]

    def find(self, gen: int, path: str) -> Exchange | None:
        """The latest exchange of generation ``gen`` for ``path``."""
        with self._changed:
            builder = self.builders.get(gen)
            found = [x for x in builder.exchanges.values() if x.path == path] if builder else []
            return found[-1] if found else None

    # -- waiting ---------------------------------------------------------------
    def wait(self, probe: Callable[[], T | None], what: str, timeout: float = TIMEOUT) -> T:
        """Wait until ``probe()`` returns something other than None (or False); return it."""
        result: list[T] = []

        def ready() -> bool:
            value = probe()
            if value is None or value is False:
                return False
            result.append(value)
            return True

        with self._changed:
            if not self._changed.wait_for(ready, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; "
                                     f"statuses so far: {[s.state for s in self.statuses]}")
        return result[-1]

    def wait_status(self, state: str, after: int = 0) -> tuple[int, Status]:
        """The first status in ``state`` at index ``after`` or later, and its index."""
        def probe() -> tuple[int, Status] | None:
            for index in range(after, len(self.statuses)):
                if self.statuses[index].state == state:
                    return index, self.statuses[index]
            return None
        return self.wait(probe, f"status {state!r}")

    def wait_exchange(self, gen: int, path: str) -> Exchange:
        """The exchange for ``path`` in generation ``gen``, once it has ended."""
        def probe() -> Exchange | None:
            x = self.find(gen, path)
            return x if x is not None and x.duration is not None else None
        return self.wait(probe, f"the end of {path} (generation {gen})")

    def wait_output(self, gen: int, path: str, text: str) -> Exchange:
        """The exchange for ``path`` once the host has its output line ``text``."""
        def probe() -> Exchange | None:
            x = self.find(gen, path)
            return x if x is not None and any(o.text == text for o in x.output) else None
        return self.wait(probe, f"output {text!r} of {path} (generation {gen})")


class Gate:
    """A loopback listener that a test app's request connects to and waits on."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port: int = self.listener.getsockname()[1]

    def accept(self) -> socket.socket:
        """The next waiting request's connection; send a byte on it to let it go."""
        conn, _ = self.listener.accept()
        conn.settimeout(TIMEOUT)
        return conn

    def close(self) -> None:
        self.listener.close()


def fetch(url: str, path: str = "/", *, method: str = "GET", body: bytes | None = None
          ) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request on its own connection: (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                state = stat.read().rpartition(")")[2].split()[0]
            return state not in ("Z", "X")
        except OSError:  # no /proc here
            os.kill(pid, 0)
            return True
    return False


def poll_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """For what no callback reports (another process's exit): check every 50 ms."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        tick.wait(0.05)


def set_mtime(path: Path, ns: int) -> None:
    """Give ``path`` an explicit modification time (and access time)."""
    os.utime(path, ns=(ns, ns))
