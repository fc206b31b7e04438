"""Route print(), stderr and logging to the exchange that produced them.

The capture layer sets :data:`current` (a ContextVar, so it follows the
request's own context rather than a thread id) for the time the app works on a
request. Writes are buffered per line; whatever is written outside any request
goes to the *process lane* (events whose ``id`` is None). With ``tee`` on, the
original streams still get every byte, so nothing the user expects in their
terminal is lost.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import time
from typing import Any, Callable, TextIO

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

    def flush(self) -> None:
        """Emit what is left without a newline (at the end of the exchange)."""
        buffers, self._buffers = self._buffers, None
        for stream, rest in (buffers or {}).items():
            if rest:
                self.line(stream, rest)


current: contextvars.ContextVar[Lane | None] = contextvars.ContextVar(
    "wsgi_inspector_lane", default=None)


class RoutedStream:
    """Stands in for sys.stdout / sys.stderr; writes land on the current lane."""

    def __init__(self, original: TextIO, name: str, process: Lane, tee: bool) -> None:
        self._original = original
        self._name = name
        self._process = process
        self._tee = tee
        self._lock = threading.Lock()  # the process lane is shared by threads

    def write(self, text: str) -> int:
        if self._tee:
            self._original.write(text)
        if isinstance(text, str) and text and not _from_propagating_log_record():
            lane = current.get()
            if lane is None:
                with self._lock:
                    self._process.write(self._name, text)
            else:
                lane.write(self._name, text)
        return len(text)

    def passthrough(self, text: str) -> int:
        """Write to the original stream only (when tee is on); record nothing."""
        if self._tee:
            self._original.write(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._tee:
            self._original.flush()

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
        stdout = RoutedStream(sys.stdout, "stdout", self.process, self._tee)
        stderr = RoutedStream(sys.stderr, "stderr", self.process, self._tee)
        last_resort = sys.stderr if self._tee and not root.handlers else None
        handler = RoutingHandler(self.process, stderr._lock, last_resort=last_resort)
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
