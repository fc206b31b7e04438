"""Where the agent's events go.

A sink is anything with ``emit(event)``; the capture layer calls it from
waitress's worker threads, so it must be quick and thread-safe. The host plugs
in a socket transport or an in-process queue; tests use :class:`EventLog`.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Protocol

from ..model import EV_END, Exchange, ExchangeBuilder

Event = dict[str, Any]


class Sink(Protocol):
    def emit(self, event: Event) -> None: ...


class QueueSink:
    """Hands events to another thread through a SimpleQueue (no lock contention)."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.emit = self.queue.put


class EventLog:
    """Keeps every event and the exchanges they build; lets a test wait for them."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.builder = ExchangeBuilder()
        self._changed = threading.Condition()

    def emit(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self.builder.apply(event)
            self._changed.notify_all()

    @property
    def exchanges(self) -> list[Exchange]:
        with self._changed:
            return sorted(self.builder.exchanges.values(), key=lambda x: x.id)

    @property
    def process_output(self) -> list[Any]:
        with self._changed:
            return list(self.builder.process_output)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(condition, timeout):
                raise TimeoutError(f"condition not met within {timeout} s")

    def wait_ended(self, count: int = 1, timeout: float = 10.0) -> list[Exchange]:
        """Wait until ``count`` exchanges have ended; return all exchanges by id."""
        self.wait_for(lambda: sum(e["type"] == EV_END for e in self.events) >= count, timeout)
        return self.exchanges
