"""Watch the app's source and ask for a reload when it changes.

Polling, stdlib only: the files the app's process imported from the project
(the agent reports them) are checked often; the tree is scanned less often for
new ``.py`` files. After a failed import the whole tree counts, since the file
being fixed may not have been imported. Changes are debounced: an editor's
save-all or a ``git checkout`` gives one reload, not ten.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv",
                       "env", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
                       "site-packages", "build", "dist"})
POLL = 0.1  # seconds between checks of the watched files (a few stat calls)
SCAN_EVERY = 10  # polls between scans of the tree for new files
DEBOUNCE = 0.1  # quiet time after the last change before reloading


def python_files(root: str) -> dict[str, Stamp]:
    """Stamp of every .py file below root, skipping environments and caches."""
    found: dict[str, Stamp] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                   and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                mtime = _mtime(path)
                if mtime is not None:
                    found[path] = mtime
    return found


Stamp = tuple[int, int]  # (mtime in ns, size): ns, since editors can save twice a second


def _mtime(path: str) -> Stamp | None:
    try:
        st = os.stat(path)
        return st.st_mtime_ns, st.st_size
    except OSError:
        return None


class SourceWatcher:
    """Calls ``on_change(paths)`` from its own thread after the source changes."""

    def __init__(self, root: str, on_change: Callable[[list[str]], None]) -> None:
        self.root = os.path.realpath(root)
        self.on_change = on_change
        self._lock = threading.Lock()
        self._watched: dict[str, Stamp | None] = {}
        self._known = python_files(self.root)
        self._everything = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wsgi-inspector-watch",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def watch(self, files: Iterable[str], *, everything: bool = False) -> None:
        """Watch these files (after a load); ``everything`` after a failed load."""
        with self._lock:
            self._watched = {os.path.realpath(f): _mtime(f) for f in files}
            self._everything = everything
            self._known = python_files(self.root)

    def _run(self) -> None:
        polls = 0
        while not self._stop.wait(POLL):
            polls += 1
            changed = self._changes(scan=polls % SCAN_EVERY == 0)
            if not changed:
                continue
            # Debounce: wait until the tree is quiet, collecting what else changes.
            while not self._stop.wait(DEBOUNCE):
                more = self._changes(scan=True)
                if not more:
                    break
                changed |= more
            if not self._stop.is_set():
                self.on_change(sorted(changed))

    def _changes(self, *, scan: bool) -> set[str]:
        with self._lock:
            changed = set()
            for path, mtime in self._watched.items():
                now = _mtime(path)
                if now != mtime:
                    self._watched[path] = now
                    changed.add(path)
            if scan or self._everything:
                tree = python_files(self.root)
                for path, mtime in tree.items():
                    before = self._known.get(path)
                    if before is None or (self._everything and before != mtime):
                        changed.add(path)
                self._known = tree
            return changed

