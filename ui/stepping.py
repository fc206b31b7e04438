"""Step mode for the window: which requests are paused, and the commands that move them.

The agent pauses a request at each phase of the WSGI call and emits a
``paused`` event; it waits for ``step``, ``continue`` or ``abort`` with the
*agent's* id of the exchange. The store numbers exchanges its own way (row
ids), so the :class:`~ui.app_controller.Recorder` adds the agent's id to every
``paused`` event it records (``"agent_id"``) and tells this controller that
something moved. The controller then reads the paused exchanges back from the
store (after a flush, so what it reads includes that event) and emits
:attr:`StepController.changed` with the rows whose pause appeared, moved on
or ended.

Breakpoints (filters in the list's language, request-side terms only:
"method:POST path:/api/* header:Authorization", see inspector.filtering) are
kept in QSettings; arming sends every enabled one that reads, plus "the next
request" while the Step toggle is on.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal, Slot

from inspector.filtering import FilterError, parse_breakpoint
from inspector.host.process import Status
from inspector.host.store import Store
from inspector.model import Exchange

from .app_controller import AppController

GROUP = "Stepping"
BREAKPOINTS_KEY = "breakpoints"
HELP = ("Pause the requests that match, in the list's filter syntax (Help ▸ Filter syntax): "
        "method:POST path:/api/* header:Authorization. Every term must match; a bare word "
        "is found anywhere in the path; a breakpoint decides before the app runs, so it uses "
        "the path, method: and request headers only.")
STEP_EVENTS = frozenset({"paused", "resumed"})


@dataclass
class BreakpointEntry:
    text: str
    enabled: bool = True

    @property
    def meaning(self) -> str:
        """What it pauses, in words; or why it cannot be a breakpoint."""
        return breakpoint_meaning(self.text)[0]

    @property
    def valid(self) -> bool:
        return breakpoint_meaning(self.text)[1]


def breakpoint_meaning(text: str) -> tuple[str, bool]:
    """("method POST, path matching /api/*", True) or (the sentence why not, False)."""
    try:
        return parse_breakpoint(text).describe(), True
    except FilterError as exc:
        return str(exc), False


def load_breakpoints(settings: QSettings) -> list[BreakpointEntry]:
    raw = settings.value(f"{GROUP}/{BREAKPOINTS_KEY}", "", str)
    try:
        items = json.loads(raw) if raw else []
        return [BreakpointEntry(str(i["text"]), bool(i.get("enabled", True)))
                for i in items if str(i.get("text", "")).strip()]
    except (ValueError, TypeError, KeyError):
        return []


def save_breakpoints(settings: QSettings, entries: list[BreakpointEntry]) -> None:
    settings.setValue(f"{GROUP}/{BREAKPOINTS_KEY}",
                      json.dumps([{"text": e.text, "enabled": e.enabled} for e in entries]))


def pause_identity(x: Exchange) -> tuple[Any, ...]:
    pause = x.pause or {}
    return (x.paused, pause.get("t"), pause.get("index"))


def phase_label(x: Exchange) -> str:
    """``start_response``, ``chunk 2``...: where a request waits."""
    if x.paused == "chunk" and x.pause:
        return f"chunk {x.pause.get('index', '')}".strip()
    return x.paused


class StepController(QObject):
    changed = Signal(list)  # [row id] whose pause appeared, moved on or ended
    next_used = Signal()  # the request armed by the Step toggle has begun
    armed = Signal()  # breakpoints or the Step toggle changed

    _from_thread = Signal(str, object)

    def __init__(self, store: Callable[[], Store], app: AppController, settings: QSettings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app
        self.settings = settings
        self.pauses: dict[int, Exchange] = {}  # row id -> the exchange as paused
        self.sent: set[int] = set()  # answered; waiting for the next pause or the end
        self.breakpoints = load_breakpoints(settings)
        self.step_next = False
        self._lock = threading.Lock()
        self._awaiting_begin = False
        self._closed = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._from_thread.connect(self._on_event, Qt.ConnectionType.QueuedConnection)

    # -- events (any thread: only a queued signal) ------------------------------------
    def on_event(self, kind: str, event: dict[str, Any]) -> None:
        """Called by the Recorder for paused/resumed, unrecorded pauses and begins."""
        if kind == "begin":
            with self._lock:
                if not self._awaiting_begin:
                    return
                self._awaiting_begin = False
        self._from_thread.emit(kind, event)

    @Slot(str, object)
    def _on_event(self, kind: str, event: dict[str, Any]) -> None:
        if self._closed:
            return
        if kind == "begin":
            self.step_next = False
            self.next_used.emit()
            self.armed.emit()
        elif kind == "unrecorded":
            # Recording is paused: the request has no row to step it from; let it go.
            self._command({"type": "continue", "id": event["id"]}, event.get("gen", 0))
        else:
            self._refresh_timer.start()

    def wants_begin(self) -> bool:
        return self._awaiting_begin

    # -- reading the pauses back ----------------------------------------------------------
    def refresh(self) -> None:
        """Read the paused exchanges from the store; emit ``changed`` for what moved."""
        if self._closed:
            return
        store = self._store()
        store.flush(timeout=1.0)  # normally a few ms; a later event reads again
        found: dict[int, Exchange] = {}
        for s in store.summaries():
            if s.state != "paused":
                continue
            try:
                x = store.get(s.id)
            except KeyError:
                continue
            if x.pause is not None and x.paused:
                found[s.id] = x
        old = self.pauses
        moved = [row for row in found if row not in old
                 or pause_identity(old[row]) != pause_identity(found[row])]
        gone = [row for row in old if row not in found]
        self.pauses = found
        self.sent -= set(moved) | set(gone)
        if moved or gone:
            self.changed.emit(sorted(moved + gone))

    def close(self) -> None:
        """The window is closing: no more reading the store or sending commands."""
        self._closed = True
        self._refresh_timer.stop()

    def forget(self) -> None:
        """The store was switched or cleared: nothing of it is paused any more."""
        rows = list(self.pauses)
        self.pauses, self.sent = {}, set()
        if rows:
            self.changed.emit(rows)

    def is_paused(self, row: int | None) -> bool:
        return row is not None and row in self.pauses

    def can_answer(self, row: int | None) -> bool:
        return row is not None and row in self.pauses and row not in self.sent

    # -- commands -------------------------------------------------------------------------
    def _command(self, message: dict[str, Any], gen: int | None = None) -> bool:
        runner = self._app.runner
        if runner is None:
            return False
        if gen is not None and getattr(runner.app, "generation", gen) != gen:
            return False  # an app process that is gone (its pauses were released)
        return runner.command(message)

    def answer(self, row: int, kind: str, edit: dict[str, Any] | None = None,
               mode: str = "") -> bool:
        """``step``, ``continue`` or ``abort`` for the request of this row."""
        x = self.pauses.get(row)
        if x is None or row in self.sent or x.pause is None:
            return False
        message: dict[str, Any] = {"type": kind, "id": x.pause.get("agent_id", x.id)}
        if edit:
            message["edit"] = edit
        if kind == "abort":
            message["mode"] = mode or "502"
        if not self._command(message, x.pause.get("gen", 0)):
            return False
        self.sent.add(row)
        self.changed.emit([row])
        return True

    def step(self, row: int, edit: dict[str, Any] | None = None) -> bool:
        return self.answer(row, "step", edit)

    def resume(self, row: int, edit: dict[str, Any] | None = None) -> bool:
        return self.answer(row, "continue", edit)

    def abort(self, row: int, mode: str = "502") -> bool:
        return self.answer(row, "abort", mode=mode)

    def continue_all(self) -> bool:
        if not self._command({"type": "continue_all"}):
            return False
        rows = [row for row in self.pauses if row not in self.sent]
        self.sent.update(rows)
        if rows:
            self.changed.emit(rows)
        return True

    def release(self, rows: list[int]) -> None:
        """Let these rows' requests run on (their rows are being deleted)."""
        for row in rows:
            if self.can_answer(row):
                self.resume(row)

    # -- arming ---------------------------------------------------------------------------
    def enabled_filters(self) -> list[str]:
        return [e.text for e in self.breakpoints if e.enabled and e.text.strip() and e.valid]

    def set_step_next(self, on: bool) -> None:
        self.step_next = on
        with self._lock:
            self._awaiting_begin = on
        self.arm()

    def set_breakpoints(self, entries: list[BreakpointEntry]) -> None:
        self.breakpoints = [e for e in entries if e.text.strip()]
        save_breakpoints(self.settings, self.breakpoints)
        self.arm()

    def arm(self) -> bool:
        """Send the enabled breakpoints and the Step toggle to the app."""
        self.armed.emit()
        return self._command({"type": "arm", "breakpoints": self.enabled_filters(),
                              "next": self.step_next})

    def on_status(self, status: Status) -> None:
        """A new app process starts unarmed (in-process, a new server does): arm it."""
        if status.state == "serving" and (self.step_next or self.enabled_filters()):
            self.arm()
        if status.state in ("stopped", "starting", "died", "crashed"):
            self._refresh_timer.start()  # their pauses were released
