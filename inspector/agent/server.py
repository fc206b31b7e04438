"""waitress in a background thread, with a fast and clean stop."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
import time
from typing import Any, Callable

from waitress.channel import HTTPChannel
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
                 threads: int = 4, channel_class: type[HTTPChannel] | None = None,
                 **waitress_options: Any) -> None:
        self.app = app
        self.channel_class = channel_class  # e.g. onwire's RecordingChannel
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
        # Worker threads start only once the port is bound, and a failed bind
        # closes what waitress had opened (its trigger pipe and socket): a
        # failed start leaks nothing.
        socket_map: dict[int, Any] = {}
        try:
            server = create_server(self.app, map=socket_map, host=self.host, port=self.port,
                                   threads=0, **self.options)
        except OSError as exc:
            close_all(socket_map, ignore_all=True)
            raise ServeError(_bind_error(self.host, self.port, exc)) from None
        server.adj.threads = self.threads
        if self.channel_class is not None:  # this instance only: waitress itself is untouched
            server.channel_class = self.channel_class
        server.task_dispatcher.queue_logger = QueueDepthLog(server.task_dispatcher.queue_logger)
        server.task_dispatcher.set_thread_count(self.threads)
        self._server = server
        self._thread = threading.Thread(target=self._server.run,
                                        name="wsgi-inspector-server", daemon=True)
        self._thread.start()
        return self.url

    def stop(self, grace: float = 2.0) -> None:
        """Stop accepting, let in-flight responses finish and go out, then close
        every channel.

        ``server.close()`` alone does not end ``run()`` while a keep-alive
        connection is open, and closing channels before the workers stop makes
        a worker write to a closed socket; hence this order.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        _quiet_late_wakeups(server)
        stopped_listening = threading.Event()

        def stop_listening() -> None:
            server.accepting = False
            dispatcher.close(server)  # the listener only: server.close() also shuts the trigger
            stopped_listening.set()

        server.trigger.pull_trigger(stop_listening)
        stopped_listening.wait(grace)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=grace)
        # What the workers wrote may still sit in a channel's buffer: the loop
        # thread sends it, then the loop ends; whatever is left after grace is cut.
        server.trigger.pull_trigger(lambda: _close_when_flushed(server._map))
        thread.join(grace)
        if thread.is_alive():
            # OSError: the loop closed the trigger just now, so it is ending anyway
            with contextlib.suppress(OSError):
                server.trigger.pull_trigger(lambda: close_all(server._map))
            thread.join(grace)


class QueueDepthLog:
    """Stands in for waitress's queue logger: at most one warning a second.

    Under load waitress warns "Task queue depth is N" for nearly every
    request, inside its task lock. One line a second tells the user as much,
    and skips building a log record per request on the app's own threads.
    """

    def __init__(self, logger: logging.Logger, every: float = 1.0) -> None:
        self._logger = logger
        self._every = every
        self._next = 0.0

    def warning(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now >= self._next:  # two threads may both pass: one line more, no harm
            self._next = now + self._every
            self._logger.warning(msg, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


def _quiet_late_wakeups(server: Any) -> None:
    """A worker that outlives the grace (a slow machine) wakes the loop when it
    finishes; by then the loop may have closed its trigger. Nothing is left to
    wake: that must not raise in the worker's thread."""
    trigger = server.trigger

    def pull_trigger() -> None:
        with contextlib.suppress(OSError):
            trigger.pull_trigger()

    server.pull_trigger = pull_trigger


def _close_when_flushed(socket_map: dict[int, Any]) -> None:
    """In the loop thread: close idle channels now, the others after their last byte.

    When the last channel has gone, everything left (the trigger) is closed, so
    the loop, and with it ``run()``, ends.
    """
    busy = set()
    for channel in list(socket_map.values()):
        if isinstance(channel, HTTPChannel):
            if channel.total_outbufs_len and channel.connected:
                busy.add(channel)
            else:
                channel.handle_close()
    if not busy:
        close_all(socket_map)
        return

    def on_close(channel: HTTPChannel, original: Callable[[], None]) -> Callable[[], None]:
        def handle_close() -> None:
            original()
            busy.discard(channel)
            if not busy:
                close_all(socket_map)
        return handle_close

    for channel in busy:
        channel.handle_close = on_close(channel, channel.handle_close)  # type: ignore[method-assign]
        channel.close_when_flushed = True  # waitress closes it once flushed


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
