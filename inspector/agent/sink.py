"""Where the agent's events go.

A sink is anything with ``emit(event)``; the capture layer calls it from
waitress's worker threads, so it must be quick and thread-safe. The host plugs
in a socket transport or an in-process queue; tests use :class:`EventLog`.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Protocol

from ..model import EV_END, Exchange, ExchangeBuilder

Event = dict[str, Any]


class Sink(Protocol):
    def emit(self, event: Event) -> None: ...


class BatchSink:
    """Hands events to another thread in batches.

    ``emit`` only appends to a deque (no lock, no wake-up); the consumer calls
    :meth:`drain` on its own schedule, e.g. every 10 ms. A blocking queue would
    wake the consumer once per event: a thread switch per event, paid in the
    app's throughput.
    """

    def __init__(self) -> None:
        self._events: collections.deque[Event] = collections.deque()
        self.emit = self._events.append

    def drain(self) -> list[Event]:
        """Every event emitted so far, oldest first."""
        popleft, out = self._events.popleft, []
        try:
            while True:
                out.append(popleft())
        except IndexError:
            return out

    def __len__(self) -> int:
        return len(self._events)


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
