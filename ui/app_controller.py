"""Drives the Runner for the window: start, stop, reload, pause — off the GUI thread.

Starting an isolated app waits for its process to import the app, so every
Runner call runs on one worker thread, in order; status changes come back to
the GUI thread through a queued signal. :class:`Recorder` sits between the
app's events and the store and implements *Pause recording*.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from inspector.host.appref import AppRef, record_app
from inspector.host.process import Options, Status
from inspector.host.resend import Links, resent_event
from inspector.host.runner import Runner
from inspector.host.store import Store

DEFAULT_APP = "inspector.examples.hello:app"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class Launch:
    """What to serve and how; ``port=None`` means 8000, or a free port if it is taken."""

    spec: str = DEFAULT_APP
    app_dir: str = ""
    python: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    threads: int = 4
    in_process: bool = False
    reload: bool = True
    debug_logs: bool = False

    def options(self, port: int) -> Options:
        return Options(spec=self.spec, app_dir=os.path.abspath(self.app_dir or os.getcwd()),
                       python=self.python, host=self.host, port=port, threads=self.threads,
                       debug_logs=self.debug_logs)

    def for_spec(self, spec: str) -> Launch:
        """The same settings for another app; a .py file's folder becomes the app dir."""
        path = spec.split(":", 1)[0] if spec.split(":", 1)[0].endswith(".py") else ""
        if path and os.path.isfile(path):
            folder = os.path.dirname(os.path.abspath(path))
            return replace(self, spec=spec, app_dir=folder)
        return replace(self, spec=spec)


class Recorder:
    """Puts the app's events in the store unless recording is paused.

    Pausing drops exchanges that *begin* while paused; those already in
    flight are recorded to their end, so no row is left half-done.

    Stepping: each ``paused`` event is recorded with the agent's own id of the
    exchange (``"agent_id"``), since the store gives rows ids of its own and
    the agent wants its id back in step/continue/abort. ``step_listener``
    (if set) hears, from the event's thread, ``paused``/``resumed`` events
    after they are queued to the store, ``"unrecorded"`` for a pause of an
    exchange that is not recorded, and ``begin`` while it asks for them.
    """

    def __init__(self, store: Store) -> None:
        self._lock = threading.Lock()
        self._live: set[tuple[int, Any]] = set()
        self.store = store
        self.paused = False
        self.step_listener: Callable[[str, dict[str, Any]], None] | None = None
        self.wants_begin: Callable[[], bool] = lambda: False
        self.links = Links()  # resent requests to recognise (inspector.host.resend)

    def set_store(self, store: Store) -> None:
        with self._lock:
            self.store = store
            self._live.clear()

    def put(self, event: dict[str, Any]) -> None:
        xid = event.get("id")
        kind = event.get("type")
        listener = self.step_listener
        with self._lock:
            store = self.store
            if xid is None:
                if self.paused:
                    return
            else:
                key = (event.get("gen", 0), xid)
                if kind == "begin":
                    if listener is not None and self.wants_begin():
                        listener("begin", event)
                    if self.paused:
                        return
                    self._live.add(key)
                elif key not in self._live:
                    if kind == "paused" and listener is not None:
                        listener("unrecorded", event)
                    return
                elif kind == "end":
                    self._live.discard(key)
        if kind == "paused":
            event = {**event, "agent_id": xid}
        store.put(event)
        if kind == "begin" and self.links:  # a resend waits for its exchange
            origin = self.links.match(event)
            if origin is not None:
                store.put(resent_event(event, origin))
        if kind in ("paused", "resumed") and listener is not None:
            listener(kind, event)


class AppController(QObject):
    status_changed = Signal(object)  # Status, on the GUI thread

    _status_from_thread = Signal(object)

    def __init__(self, recorder: Recorder, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.recorder = recorder
        self.launch: Launch | None = None
        self.runner: Runner | None = None
        self.status = Status("stopped")
        self._closed = False
        self._quiet_serve_error = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="app-control")
        self._status_from_thread.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- commands (GUI thread; the work happens on the worker) -------------------------
    def start(self, launch: Launch | None = None) -> Future[Status]:
        if launch is not None:
            self.launch = launch
        target = self.launch or Launch()
        self.launch = target
        self._deliver(Status("starting", f"Starting {target.spec}…"))
        return self._submit(lambda: self._start(target))

    def stop(self) -> Future[None]:
        return self._submit(self._stop)

    def reload(self) -> Future[Status]:
        target = self.launch or Launch()
        self._deliver(Status("starting", "Reloading…", url=self.status.url))
        return self._submit(lambda: self._reload(target))

    @property
    def pid(self) -> int | None:
        runner = self.runner
        return runner.app.pid if runner is not None else None

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop the app and the worker; blocks (used when quitting)."""
        if self._closed:
            return
        future = self._submit(self._stop)
        try:
            future.result(timeout)
        finally:
            self._closed = True
            self._executor.shutdown(wait=True)

    def _submit(self, work: Callable[[], Any]) -> Future[Any]:
        if self._closed:
            done: Future[Any] = Future()
            done.set_result(None)
            return done
        return self._executor.submit(work)

    # -- the worker thread -------------------------------------------------------------
    def _start(self, launch: Launch) -> Status:
        self._stop()
        self._on_status(Status("starting", f"Starting {launch.spec}…"))
        fallback = launch.port is None
        port = DEFAULT_PORT if fallback else int(launch.port or 0)
        self._quiet_serve_error = fallback
        try:
            status = self._run(launch, port)
            if status.state == "serve_error" and fallback:
                self._stop(quiet=True)
                self._quiet_serve_error = False
                status = self._run(launch, 0)
        finally:
            self._quiet_serve_error = False
        if status.state == "serve_error":
            self._on_status(status)
        elif status.state == "serving":  # the session remembers its app (a pytest export)
            record_app(self.recorder.store, AppRef(launch.spec, launch.options(0).app_dir))
        return status

    def _run(self, launch: Launch, port: int) -> Status:
        self.runner = Runner(launch.options(port), self.recorder.put, self._on_status,
                             in_process=launch.in_process, reload=launch.reload)
        return self.runner.start()

    def _reload(self, launch: Launch) -> Status:
        if self.runner is None or self.runner.status.state in ("stopped", "serve_error"):
            return self._start(launch)
        self._on_status(Status("starting", "Reloading…", url=self.status.url))
        return self.runner.reload()

    def _stop(self, quiet: bool = False) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            runner.stop()
            if not quiet:
                self._on_status(Status("stopped"))

    def _on_status(self, status: Status) -> None:  # any thread
        if self._quiet_serve_error and status.state == "serve_error":
            return
        if not self._closed:
            self._status_from_thread.emit(status)

    @Slot(object)
    def _deliver(self, status: Status) -> None:
        self.status = status
        self.status_changed.emit(status)
