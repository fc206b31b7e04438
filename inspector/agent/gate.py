"""Stepping: hold a live request at each phase of the WSGI call.

When a request matches a breakpoint, its worker thread blocks here at each
phase (received, start_response, each body chunk, closed) until the host
answers step, continue, abort (with edits, where the phase allows them) or
the pause times out. The client simply waits meanwhile: a WSGI server has
no clock on the application.

Commands (dicts, from the wire or in-process):
  {"type": "arm", "breakpoints": ["method:POST path:/api/*", ...], "next": bool}
      (each a filter of inspector.filtering, request-side terms only)
  {"type": "step" | "continue", "id": N, "edit": {...}}   (edit optional)
  {"type": "abort", "id": N, "mode": "502" | "drop"}
  {"type": "continue_all"}                               (release every paused request)
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from ..filtering import Filter, FilterError, parse_breakpoint

Emit = Callable[[dict[str, Any]], None]
DEFAULT_TIMEOUT = 300.0  # a forgotten pause must not hold a worker thread forever


def breakpoint_filter(text: str) -> Filter | None:
    """The filter of one breakpoint (see :mod:`inspector.filtering`: request-side
    terms only); None for one that cannot be read. The host checks each one before
    arming, with the sentence saying why; one that comes here anyway pauses nothing."""
    try:
        return parse_breakpoint(text)
    except FilterError:
        return None


class Gate:
    """Breakpoints and the requests paused on them; thread-safe."""

    def __init__(self, emit: Emit, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.emit = emit
        self.timeout = timeout
        self.breakpoints: tuple[Filter, ...] = ()
        self.armed_next = False
        self.closed = False  # stopping: nothing pauses any more
        self._cond = threading.Condition()
        self._answers: dict[int, dict[str, Any] | None] = {}  # paused id -> answer (None: none yet)

    # -- which requests step ---------------------------------------------------------
    def wants(self, environ: dict[str, Any]) -> bool:
        """Should this new request step? Cheap when nothing is armed."""
        if not self.armed_next and not self.breakpoints:
            return False
        with self._cond:
            if self.armed_next:
                self.armed_next = False  # "the next request" means exactly one
                return True
            return any(b.matches_request(environ) for b in self.breakpoints)

    def arm(self, breakpoints: list[str], next_request: bool = False) -> None:
        with self._cond:
            parsed = (breakpoint_filter(b) for b in breakpoints)
            self.breakpoints = tuple(b for b in parsed if b is not None)
            self.armed_next = next_request

    # -- pausing (called in the request's worker thread) -----------------------------
    def pause(self, xid: int, t0: float, phase: str, **data: Any) -> dict[str, Any]:
        """Block until the host answers; return the answer (a command dict)."""
        with self._cond:
            if self.closed:  # a stepping request between two phases when the app stops
                return {"type": "continue", "how": "released"}
            self._answers[xid] = None
        self.emit({"type": "paused", "id": xid, "t": time.perf_counter() - t0, "phase": phase,
                   "timeout": self.timeout, **data})
        with self._cond:
            answered = self._cond.wait_for(lambda: self._answers[xid] is not None, self.timeout)
            answer = self._answers.pop(xid) if answered else None
            self._answers.pop(xid, None)
        if answer is None:
            answer = {"type": "continue", "how": "timeout"}
        self.emit({"type": "resumed", "id": xid, "t": time.perf_counter() - t0, "phase": phase,
                   "how": answer.get("how", answer["type"])})
        return answer

    # -- answers (called from the host's command thread) -----------------------------
    def handle(self, command: dict[str, Any]) -> None:
        kind = command.get("type")
        if kind == "arm":
            self.arm(list(command.get("breakpoints", [])), bool(command.get("next")))
        elif kind in ("step", "continue", "abort"):
            self.answer(int(command["id"]), command)
        elif kind == "continue_all":
            self.release_all(how="continue_all")

    def answer(self, xid: int, command: dict[str, Any]) -> bool:
        with self._cond:
            if xid not in self._answers or self._answers[xid] is not None:
                return False  # not paused (any more): a late or doubled click
            self._answers[xid] = command
            self._cond.notify_all()
            return True

    def release_all(self, how: str = "released") -> None:
        """Continue every paused request (stop, reload, "continue all")."""
        with self._cond:
            for xid, answer in self._answers.items():
                if answer is None:
                    self._answers[xid] = {"type": "continue", "how": how}
            self._cond.notify_all()

    def disarm(self) -> None:
        with self._cond:
            self.breakpoints, self.armed_next = (), False

    def close(self, how: str = "released") -> None:
        """Before a stop: disarm, let every paused request go on, and pause none again.

        A request already stepping but running app code between two phases would
        otherwise pause at its next phase with nobody left to answer it.
        """
        with self._cond:
            self.closed = True
            self.breakpoints, self.armed_next = (), False
        self.release_all(how)

    @property
    def paused(self) -> list[int]:
        with self._cond:
            return [xid for xid, answer in self._answers.items() if answer is None]
