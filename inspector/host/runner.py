"""One app under inspection: its process (isolated or in-process) and its reloads.

The GUI and the headless command line both drive a Runner; events and status
changes arrive through callbacks from background threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from typing import Any

from .inprocess import InProcessApp
from .interpreter import NO_PYTHON
from .process import AppProcess, Options, Status, find_python
from .watch import SourceWatcher

Message = dict[str, Any]


class Runner:
    def __init__(self, options: Options, on_event: Callable[[Message], None],
                 on_status: Callable[[Status], None], *, in_process: bool = False,
                 reload: bool = True) -> None:
        self.options = options
        self._on_status = on_status
        # The frozen build may find no Python for the app: it is served here then, said so.
        found = in_process or find_python(options.app_dir, options.python) is not None
        self.note = "" if found else NO_PYTHON
        kind = InProcessApp if in_process or not found else AppProcess
        self.app = kind(options, on_event, self._status_changed)
        # In-process, a reload could only re-run the same imported code: not watched.
        watch = reload and self.app.reloads_code
        self.watcher = SourceWatcher(options.app_dir, self._source_changed) if watch else None
        self._reload_lock = threading.Lock()

    @property
    def status(self) -> Status:
        return self.app.status

    def start(self) -> Status:
        status = self.app.start()
        if self.watcher is not None:
            self.watcher.start()
        return status

    def reload(self) -> Status:
        """Kill and respawn the app's process (the code is imported afresh)."""
        with self._reload_lock:
            return self.app.restart()

    def command(self, message: Message) -> bool:
        """A stepping command for the app (arm, step, continue, abort, continue_all)."""
        return self.app.command(message)

    def stop(self, grace: float = 2.0) -> None:
        """Stop the app; requests in flight get ``grace`` seconds to finish."""
        if self.watcher is not None:
            self.watcher.stop()
        self.app.stop(grace)

    def _status_changed(self, status: Status) -> None:
        if self.note and status.state == "serving" and not status.message:
            status = dataclasses.replace(status, message=self.note)
        if self.watcher is not None and status.state in ("serving", "load_error"):
            self.watcher.watch(status.files, everything=status.state == "load_error")
        self._on_status(status)

    def _source_changed(self, paths: list[str]) -> None:
        drop_bytecode(paths)
        self.reload()


def drop_bytecode(paths: list[str]) -> None:
    """Delete the cached bytecode of changed files.

    Python trusts a .pyc whose recorded mtime (whole seconds) and size match
    the source, so an edit of the same length saved within the same second
    would otherwise run the old code after the reload.
    """
    for path in paths:
        folder, name = os.path.split(path)
        stem = name[:-3] if name.endswith(".py") else name
        cache = os.path.join(folder, "__pycache__")
        with contextlib.suppress(OSError):
            for cached in os.listdir(cache):
                if cached.startswith(stem + ".") and cached.endswith(".pyc"):
                    os.remove(os.path.join(cache, cached))
