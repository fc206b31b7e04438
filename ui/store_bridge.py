"""The store's observers, re-emitted on the GUI thread, coalesced.

The store calls its observers from its writer thread, once per committed
batch. This bridge never touches Qt objects there: it only merges the news
into a lock-protected pending state and, when that state was empty, emits a
queued wake-up. On the GUI thread a single-shot timer (about 30 Hz) then
flushes what is pending as at most ONE signal per kind, in the order
cleared → removed → added → updated. Thousands of exchanges per second thus
cost the GUI a few dozen model updates per second.

One flush carries at most ``max_rows`` added and ``max_rows`` updated rows;
the rest stays pending, in order, for the next tick. A backlog (a burst, or a
GUI busy elsewhere) is then worked off in steady small steps, each a short
pause of the event loop, rather than in one update of thousands of rows that
freezes the window for as long.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from inspector.host.store import Store, Summary

FLUSH_MS = 33  # ~30 Hz
MAX_ROWS = 400  # added (and, separately, updated) rows per flush: up to ~12,000 rows/s at 30 Hz


class StoreBridge(QObject):
    cleared = Signal()
    removed = Signal(list)  # [Summary]
    added = Signal(list)  # [Summary], in store order
    updated = Signal(list)  # [Summary]
    flushed = Signal()  # after each flush, whatever it carried

    _wake = Signal()

    def __init__(self, store: Store | None = None, parent: QObject | None = None,
                 interval_ms: int = FLUSH_MS, max_rows: int = MAX_ROWS) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._reset_pending()
        self._unsubscribe: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        self.store: Store | None = None
        if store is not None:
            self.attach(store)

    # -- subscription ---------------------------------------------------------------
    def attach(self, store: Store) -> None:
        self.detach()
        self.store = store
        self._unsubscribe = [store.on_add(self._on_add), store.on_update(self._on_update),
                             store.on_remove(self._on_remove), store.on_clear(self._on_clear)]

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            with contextlib.suppress(ValueError):
                unsubscribe()
        self._unsubscribe = []
        self.store = None
        with self._lock:
            self._reset_pending()

    # -- the writer thread's side (no Qt but the queued wake-up) ------------------
    def _reset_pending(self) -> None:
        self._cleared = False
        self._added: dict[int, Summary] = {}
        self._updated: dict[int, Summary] = {}
        self._removed: dict[int, Summary] = {}
        self._dirty = False

    def _note(self, change: Callable[[], Any]) -> None:
        with self._lock:
            change()
            wake = not self._dirty
            self._dirty = True
        if wake:
            self._wake.emit()

    def _on_add(self, summaries: list[Summary]) -> None:
        def change() -> None:
            for s in summaries:
                self._added[s.id] = s
        self._note(change)

    def _on_update(self, summaries: list[Summary]) -> None:
        def change() -> None:
            for s in summaries:
                if s.id in self._added:
                    self._added[s.id] = s
                else:
                    self._updated[s.id] = s
        self._note(change)

    def _on_remove(self, summaries: list[Summary]) -> None:
        def change() -> None:
            for s in summaries:
                self._updated.pop(s.id, None)
                if self._added.pop(s.id, None) is None:
                    self._removed[s.id] = s
        self._note(change)

    def _on_clear(self) -> None:
        def change() -> None:
            self._reset_pending()
            self._cleared = True
        self._note(change)

    # -- the GUI thread's side --------------------------------------------------------
    @Slot()
    def _on_wake(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def flush(self) -> None:
        """Emit what is pending now, up to ``max_rows`` added and updated rows; the timer
        takes the rest at its next tick (also callable directly, e.g. before a test check)."""
        with self._lock:
            cleared, removed = self._cleared, list(self._removed.values())
            added = _take(self._added, self.max_rows)
            updated = _take(self._updated, self.max_rows)
            self._cleared = False
            self._removed = {}
            more = bool(self._added or self._updated)
            self._dirty = more  # while True, news need no wake-up: the timer is coming
        if more:
            self._timer.start()  # the rest at the next tick
        else:
            self._timer.stop()  # called directly: nothing is left for the timer to do
        if cleared:
            self.cleared.emit()
        if removed:
            self.removed.emit(removed)
        if added:
            self.added.emit(added)
        if updated:
            self.updated.emit(updated)
        self.flushed.emit()


def _take(pending: dict[int, Summary], limit: int) -> list[Summary]:
    """Remove and return the first ``limit`` entries (oldest first) of ``pending``."""
    if len(pending) <= limit:
        taken = list(pending.values())
        pending.clear()
        return taken
    ids = list(itertools.islice(pending, limit))
    return [pending.pop(xid) for xid in ids]
