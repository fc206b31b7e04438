"""SIGINT and SIGTERM as a request to stop, never as an exception.

Python's default SIGINT handler raises KeyboardInterrupt wherever the main
thread happens to be: inside an import, a lock, a half-written file. The
command line installs :class:`StopSignals` first thing instead; a signal then
only counts itself and wakes whoever waits in :meth:`StopSignals.wait`, and
the main loop stops at a point of its choosing.

The handler writes one byte to a socket pair instead of setting a
``threading.Event``: ``Event.set`` takes a lock that the interrupted main
thread may be holding, which would deadlock.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self) -> None:
        self.count = 0  # signals received so far
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous: dict[int, Any] = {}

    @classmethod
    def install(cls) -> StopSignals:
        """A new instance handling SIGINT and SIGTERM (main thread only)."""
        stop = cls()
        for sig in SIGNALS:
            stop._previous[sig] = signal.signal(sig, stop._handle)
        return stop

    def restore(self) -> None:
        """Give the signals back to the handlers found at :meth:`install`."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    @property
    def requested(self) -> bool:
        return self.count > 0

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.wake()

    def wake(self) -> None:
        """Wake :meth:`wait` (any thread, or a signal handler)."""
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
            self._writer.send(b"\0")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a signal or :meth:`wake` (or ``timeout``); True if a stop
        was requested."""
        if not self.requested:
            with contextlib.suppress(InterruptedError):
                select.select([self._reader], [], [], timeout)
            with contextlib.suppress(OSError):
                self._reader.recv(4096)
        return self.requested

    def wait_for_stop(self, poll: float = 0.5) -> None:
        """Block until SIGINT or SIGTERM; ``poll`` bounds each wait so a platform that
        delivers the signal without waking select still gets it to us."""
        while not self.wait(poll):
            pass
