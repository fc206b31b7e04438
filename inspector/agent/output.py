"""Route print(), stderr and logging to the exchange that produced them.

The capture layer sets :data:`current` (a ContextVar, so it follows the
request's own context rather than a thread id) for the time the app works on a
request. Writes are buffered per line; whatever is written outside any request
goes to the *process lane* (events whose ``id`` is None). With ``tee`` on, the
original streams still get every byte, so nothing the user expects in their
terminal is lost.

The app must not tell: waitress hands it ``sys.stderr`` as ``wsgi.errors``, so
the stand-in for a text stream is an instance of the original's own class over
the original's own buffer (see :func:`routed_stream`); only the methods that
write are ours, set on that instance.
"""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading
import time
from typing import Any, Callable, TextIO

from .. import lint

Emit = Callable[[dict[str, Any]], None]


class Lane:
    """Where lines go: one exchange, or the process lane (xid None)."""

    __slots__ = ("_buffers", "emit", "t0", "xid")

    def __init__(self, emit: Emit, xid: int | None, t0: float) -> None:
        self.emit = emit
        self.xid = xid
        self.t0 = t0
        self._buffers: dict[str, str] | None = None  # made on the first partial line

    def write(self, stream: str, text: str) -> None:
        buffers = self._buffers
        if buffers is None:
            buffers = self._buffers = {}
        pending = buffers.get(stream, "") + text
        if "\n" not in pending:
            buffers[stream] = pending
            return
        *lines, rest = pending.split("\n")
        buffers[stream] = rest
        for line in lines:
            self.line(stream, line)

    def line(self, stream: str, text: str, level: str = "", logger: str = "") -> None:
        self.emit({"type": "output", "id": self.xid, "t": time.perf_counter() - self.t0,
                   "stream": stream, "text": text, "level": level, "logger": logger})

    def logged_error(self, record: logging.LogRecord) -> None:
        """A log record with exc_info: an exception the app caught and logged.
        Only an exchange's lane makes it the exchange's error (see capture.Flight)."""

    def flush(self) -> None:
        """Emit what is left without a newline (at the end of the exchange)."""
        buffers, self._buffers = self._buffers, None
        for stream, rest in (buffers or {}).items():
            if rest:
                self.line(stream, rest)


current: contextvars.ContextVar[Lane | None] = contextvars.ContextVar(
    "wsgi_inspector_lane", default=None)


class Router:
    """Where writes to one routed stream go: the current lane, and (with tee) the
    original stream, so the terminal still shows everything."""

    def __init__(self, original: TextIO, name: str, process: Lane, tee: bool,
                 lock: threading.Lock) -> None:
        self._original = original
        self._name = name
        self._process = process
        self._tee = tee
        self._lock = lock  # the process lane is shared by threads

    def write(self, text: str) -> int:
        if type(text) is not str:
            return self._refuse(text)
        if text and not _from_propagating_log_record():
            lane = current.get()
            if lane is None:
                with self._lock:
                    self._process.write(self._name, text)
            else:
                lane.write(self._name, text)
        if self._tee:
            return self._original.write(text)
        return len(text)

    def _refuse(self, data: Any) -> int:
        """A write of something other than text: under waitress, wsgi.errors is
        sys.stderr, so on stderr it is the errors-type finding. The original
        stream then answers it as it would without us (a text stream raises)."""
        lane = current.get()
        if self._name == "stderr" and lane is not None and getattr(lane, "lint", False):
            lane.findings(lint.check_errors_write(data))  # type: ignore[attr-defined]
        if self._tee:
            return self._original.write(data)
        raise TypeError(f"write() argument must be str, not {type(data).__name__}")

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._tee:
            self._original.flush()

    def close(self) -> None:
        """Closing the stand-in must not close the stream it shares its buffer with."""


def routed_stream(original: Any, name: str, process: Lane, tee: bool,
                  lock: threading.Lock) -> Any:
    """What replaces ``sys.<name>``: to the app, the same kind of object as ``original``.

    waitress passes ``sys.stderr`` as ``wsgi.errors``, so this is what the app
    gets there. When the original is an ``io.TextIOWrapper`` (or a subclass), the
    stand-in is an instance of that very class over the original's own buffer:
    ``type()``, ``repr()``, ``isinstance``, ``fileno()``, ``encoding``,
    ``errors``, ``buffer`` and ``isatty()`` are what they would be without us.
    Only its write/writelines/flush/close are the router's, set on the instance.
    Anything else gets a :class:`RoutedStream`.
    """
    if original is None:
        return None
    router = Router(original, name, process, tee, lock)
    shell = _text_shell(original)
    if shell is None:
        return RoutedStream(router)
    try:
        for method in ("write", "writelines", "flush", "close"):
            setattr(shell, method, getattr(router, method))
    except AttributeError:  # a subclass with __slots__: no instance attributes
        return RoutedStream(router)
    return shell


def _text_shell(original: Any) -> io.TextIOWrapper | None:
    """A new instance of ``type(original)`` over the same buffer, or None."""
    if not isinstance(original, io.TextIOWrapper):
        return None
    cls = type(original)
    try:
        shell = io.TextIOWrapper.__new__(cls)
        io.TextIOWrapper.__init__(shell, original.buffer, encoding=original.encoding,
                                  errors=original.errors,
                                  line_buffering=original.line_buffering, write_through=True)
        # What is set on the instance (sys.stderr's mode, a subclass's own state).
        vars(shell).update(vars(original))
    except Exception:  # a detached or closed stream, an odd subclass
        return None
    return shell


class RoutedStream:
    """Stands in for a sys.stdout / sys.stderr that is not a text stream over a
    buffer (an io.StringIO a test harness put there, say)."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._original = router._original
        self.write = router.write
        self.writelines = router.writelines
        self.flush = router.flush
        self.close = router.close

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, buffer...
        return getattr(self._original, name)

    def __repr__(self) -> str:  # what the app would see without us: the stream itself
        return repr(self._original)


_STREAM_HANDLER_EMIT = logging.StreamHandler.emit.__code__


def _from_propagating_log_record() -> bool:
    """True when a logging StreamHandler is writing a record our handler also gets.

    Without this, a Flask or Django log line would show up twice on an
    exchange: once as stderr text and once as a log record.
    """
    frame = sys._getframe(2)
    if frame.f_code is not _STREAM_HANDLER_EMIT:
        return False
    record = frame.f_locals.get("record")
    logger: logging.Logger | None = logging.getLogger(record.name) if record else None
    while logger is not None:
        if any(isinstance(h, RoutingHandler) for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent  # type: ignore[assignment]
    return False


def _other_handler(name: str) -> bool:
    """Would a handler other than ours print this logger's records?"""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        if any(not isinstance(h, RoutingHandler) for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent  # type: ignore[assignment]
    return False


class RoutingHandler(logging.Handler):
    """Sends log records to the current exchange or the process lane.

    waitress's own loggers go to the process lane at most ``burst`` lines a
    second: under load it logs "Task queue depth" once per queued request.
    """

    def __init__(self, process: Lane, lock: threading.Lock, *, burst: int = 20,
                 last_resort: TextIO | None = None) -> None:
        super().__init__(logging.NOTSET)
        self._process = process
        self._lock = lock
        self._burst = burst
        self._window = 0
        self._sent_in_window = 0
        self._dropped = 0
        # When the user has no root handler, Python prints WARNING+ to stderr
        # ("last resort"); our handler replaces that, so we keep doing it.
        self._last_resort = last_resort

    def emit(self, record: logging.LogRecord) -> None:
        lane = current.get()
        if lane is None and record.name.startswith("waitress"):
            with self._lock:  # decided before any formatting: under load this is hot
                if not self._admit():
                    return
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a broken %-format in the user's call; show it raw
            text = f"{record.msg!r} % {record.args!r}"
        if (self._last_resort is not None and record.levelno >= logging.WARNING
                and not _other_handler(record.name)):
            self._last_resort.write(text + "\n")
        if lane is not None:
            lane.line("log", text, record.levelname, record.name)
            if record.exc_info and record.exc_info[0] is not None:
                lane.logged_error(record)
            return
        with self._lock:
            self._process.line("log", text, record.levelname, record.name)

    def _admit(self) -> bool:
        second = int(time.monotonic())
        if second != self._window:
            self._report_dropped()
            self._window, self._sent_in_window = second, 0
        if self._sent_in_window >= self._burst:
            self._dropped += 1
            return False
        self._sent_in_window += 1
        return True

    def _report_dropped(self) -> None:
        if self._dropped:
            self._process.line("log", f"({self._dropped} more waitress lines dropped)",
                               "INFO", "waitress")
            self._dropped = 0

    def flush(self) -> None:
        """Report what the current second dropped: no later line may come to do it."""
        with self._lock:
            self._report_dropped()


class OutputRouting:
    """Installs and removes the stream and logging hooks, process-wide."""

    def __init__(self, emit: Emit, *, tee: bool = True, debug: bool = False) -> None:
        self.process = Lane(emit, None, time.perf_counter())
        self._tee = tee
        self._level = logging.DEBUG if debug else logging.INFO
        self._saved: dict[str, Any] | None = None

    def install(self) -> None:
        if self._saved is not None:
            return
        root = logging.getLogger()
        lock = threading.Lock()  # the process lane is shared by threads and streams
        # A missing stream (None, as under pythonw) stays missing: there is nothing to show.
        stdout = routed_stream(sys.stdout, "stdout", self.process, self._tee, lock)
        stderr = routed_stream(sys.stderr, "stderr", self.process, self._tee, lock)
        last_resort = sys.stderr if self._tee and not root.handlers else None
        handler = RoutingHandler(self.process, lock, last_resort=last_resort)
        # DEBUG records only when asked for, even from a logger set to DEBUG.
        handler.setLevel(self._level)
        # Lowering the root level lets INFO records reach us; existing root
        # handlers keep the old threshold so the user's own output is unchanged.
        handler_levels = {h: h.level for h in root.handlers}
        for h in root.handlers:
            if h.level == logging.NOTSET:
                h.setLevel(root.level)
        self._saved = {"stdout": sys.stdout, "stderr": sys.stderr, "root_level": root.level,
                       "handler": handler, "handler_levels": handler_levels}
        sys.stdout, sys.stderr = stdout, stderr  # type: ignore[assignment]
        root.addHandler(handler)
        root.setLevel(min(root.level, self._level) if root.level else self._level)

    def uninstall(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        root = logging.getLogger()
        root.removeHandler(saved["handler"])
        saved["handler"].flush()
        root.setLevel(saved["root_level"])
        for h, level in saved["handler_levels"].items():
            h.setLevel(level)
        sys.stdout, sys.stderr = saved["stdout"], saved["stderr"]
        self.process.flush()
