"""waitress in a background thread, with a fast and clean stop."""

from __future__ import annotations

import errno
import socket
import threading
from typing import Any, Callable

from waitress.server import create_server
from waitress.wasyncore import close_all, dispatcher


class ServeError(Exception):
    """The server could not start; str() is one sentence saying what to do."""


class BackgroundServer:
    """Serves one WSGI app with waitress from a daemon thread.

    Bind a literal IP: with port 0, a host name could resolve to several
    sockets with different ports. ``url`` is the address actually bound.
    """

    def __init__(self, app: Callable, *, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 4, **waitress_options: Any) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.threads = threads
        self.options = waitress_options
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not running")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self._server.effective_port}/"

    @property
    def effective_port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> str:
        try:
            self._server = create_server(self.app, host=self.host, port=self.port,
                                         threads=self.threads, **self.options)
        except OSError as exc:
            raise ServeError(_bind_error(self.host, self.port, exc)) from None
        self._thread = threading.Thread(target=self._server.run,
                                        name="wsgi-inspector-server", daemon=True)
        self._thread.start()
        return self.url

    def stop(self, grace: float = 2.0) -> None:
        """Stop accepting, let in-flight responses finish, then close every channel.

        ``server.close()`` alone does not end ``run()`` while a keep-alive
        connection is open, and closing channels before the workers stop makes
        a worker write to a closed socket; hence this order.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        stopped_listening = threading.Event()

        def stop_listening() -> None:
            server.accepting = False
            dispatcher.close(server)  # the listener only: server.close() also shuts the trigger
            stopped_listening.set()

        server.trigger.pull_trigger(stop_listening)
        stopped_listening.wait(grace)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=grace)
        server.trigger.pull_trigger(lambda: close_all(server._map))
        thread.join(grace)


def _bind_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"Port {port} on {host} is already in use; stop the program using it, "
                "or choose another with --port (0 picks a free one).")
    if exc.errno == errno.EACCES:
        return (f"Not allowed to listen on port {port} of {host}; ports below 1024 need "
                "privileges, so choose a higher one with --port.")
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return (f"Cannot listen on {host!r}: it is not an address of this machine; "
                "use --host 127.0.0.1.")
    return f"Cannot listen on {host}:{port}: {exc.strerror or exc}."
