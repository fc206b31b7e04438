"""Watch the app's project and ask for a reload when a source file changes.

Native file events through watchfiles (inotify, FSEvents, ReadDirectoryChangesW);
polling only where the system offers no events or refuses more watches. Any
edit counts that the app may read: Python files, templates and other text
files (``.html``, ``.jinja``, ``.j2``, ``.txt``, ``.json``, ``.toml``,
``.ini``, ``.cfg``, ``.env``). Virtualenvs, VCS folders, caches, build output,
SQLite files and logs never do: the app writes some of those itself, and a
reload for each would loop.

Virtualenvs hold thousands of folders that a recursive watch would each cost
a system watch: the project's top folder is watched on its own (not
recursively), and each of its sub-folders that is not skipped recursively. A
new top-level folder is taken in when it appears. Changes are debounced: an
editor's save-all or a ``git checkout`` gives one reload, not ten.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache

from watchfiles._rust_notify import RustNotify

log = logging.getLogger(__name__)

SOURCE_SUFFIXES = frozenset({".py", ".html", ".htm", ".jinja", ".jinja2", ".j2", ".txt",
                             ".json", ".toml", ".ini", ".cfg", ".env"})
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv",
                       "env", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
                       "site-packages", "build", "dist", ".idea", ".vscode", "htmlcov",
                       ".eggs", "logs", "log"})
DEBOUNCE_MS = 500  # at most this long between the first change and the report
STEP_MS = 60  # a quiet time this long ends a burst of changes
POLL_MS = 300  # between looks, where there are no file events
WAIT_MS = 500  # how often a watching thread looks whether it should stop

Report = Callable[[list[str]], None]


@lru_cache(maxsize=4096)
def _is_venv(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, "pyvenv.cfg"))


def skipped_dir(path: str) -> bool:
    """A folder that is not the user's source: an environment, a cache, VCS data."""
    name = os.path.basename(path)
    return name in SKIP_DIRS or name.endswith(".egg-info") or _is_venv(path)


def is_source(path: str, root: str) -> bool:
    """A file under ``root`` whose change should reload the app."""
    name = os.path.basename(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in SOURCE_SUFFIXES and not name.startswith(".env"):
        return False  # .sqlite3, .db, .log, .pyc, editors' swap files...
    relative = os.path.relpath(path, root)
    if relative.startswith(os.pardir):
        return False
    folder = root
    for part in relative.split(os.sep)[:-1]:
        folder = os.path.join(folder, part)
        if skipped_dir(folder):
            return False
    return True


def top_folders(root: str) -> list[str]:
    """The sub-folders of ``root`` watched recursively (those not skipped)."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    return sorted(e.path for e in entries if e.is_dir(follow_symlinks=False)
                  and not skipped_dir(e.path))


def python_files(root: str) -> list[str]:
    """Every source file below ``root`` (what a change to would reload the app)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not skipped_dir(os.path.join(folder, d))]
        found.extend(p for p in (os.path.join(folder, f) for f in files) if is_source(p, root))
    return sorted(found)


def open_notify(paths: list[str], *, recursive: bool) -> RustNotify:
    """File events for ``paths``; polling where the system has none to give."""
    try:
        return RustNotify(paths, False, False, POLL_MS, recursive, True)
    except (OSError, RuntimeError) as exc:  # no inotify, or its watch limit reached
        log.info("file events unavailable (%s); polling the project instead", exc)
        return RustNotify(paths, False, True, POLL_MS, recursive, True)


class _Either:
    """Stops a watch when either event is set (watchfiles asks ``is_set()``)."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


class SourceWatcher:
    """Calls ``on_change(paths)`` from its own threads after the source changes.

    Watching starts when it is made (what changes from then on is reported once
    :meth:`start` runs its threads), so an edit right after the app loaded is
    never missed. Until the app has settled (:meth:`watch`, called on each
    load or failed load) only ``.py`` changes count: an app that writes a JSON
    or text file of its project while it starts must not restart itself forever.
    """

    def __init__(self, root: str, on_change: Report) -> None:
        self.root = os.path.realpath(root)
        self.on_change = on_change
        self._stop = threading.Event()
        self._new_folders = threading.Event()  # the tree watch must take in new folders
        self._settled = threading.Event()  # the app loaded (or failed to): all changes count
        self._threads: list[threading.Thread] = []
        self._pending: set[str] = set()  # changes of both watches, reported together
        self._arrived = threading.Condition()
        self._top: RustNotify | None = None
        self._tree: RustNotify | None = None
        if os.path.isdir(self.root):  # else nothing to watch: the app's load says why
            self._top = open_notify([self.root], recursive=False)
            self._tree = self._open_tree()

    def start(self) -> None:
        if self._top is None:
            return
        for target, name in ((self._run_top, "top"), (self._run_tree, "tree"),
                             (self._run_report, "report")):
            thread = threading.Thread(target=target, name=f"wsgi-inspector-watch-{name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        with self._arrived:
            self._arrived.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(2)
        if not self._threads:  # never started: the watches were opened all the same
            for notify in (self._top, self._tree):
                if notify is not None:
                    notify.close()

    @property
    def _thread(self) -> threading.Thread:  # the first watching thread (tests look at it)
        return self._threads[0]

    def watch(self, files: Iterable[str], *, everything: bool = False) -> None:
        """The app loaded (or failed to): from now on every source file counts. (Every
        file of the project is watched, imported or not: a template never is.)"""
        self._settled.set()

    # -- the two watches -----------------------------------------------------------------
    def _open_tree(self) -> RustNotify | None:
        folders = top_folders(self.root)
        return open_notify(folders, recursive=True) if folders else None

    def _run_top(self) -> None:
        assert self._top is not None
        self._follow(self._top, self._stop, on_folder=self._new_folders.set)
        self._top.close()

    def _run_tree(self) -> None:
        while not self._stop.is_set():
            tree = self._tree
            if tree is None:  # no sub-folders yet: wait for one to appear
                self._new_folders.wait(WAIT_MS / 1000)
            else:
                self._follow(tree, _Either(self._stop, self._new_folders))
                tree.close()
            if self._new_folders.is_set() and not self._stop.is_set():
                self._new_folders.clear()
                self._tree = self._open_tree()

    def _follow(self, notify: RustNotify, stop: _Either | threading.Event,
                on_folder: Callable[[], None] | None = None) -> None:
        while not stop.is_set():
            try:
                raw = notify.watch(DEBOUNCE_MS, STEP_MS, WAIT_MS, stop)
            except (OSError, RuntimeError) as exc:  # the watched folder went away
                log.info("watching stopped: %s", exc)
                return
            if not isinstance(raw, set):  # "timeout", "stop", "signal"
                continue
            paths = {path for _change, path in raw}
            if on_folder is not None and any(self._maybe_folder(p) for p in paths):
                on_folder()
            changed = {p for p in paths if is_source(p, self.root)}
            for folder in (p for p in paths if os.path.isdir(p) and not skipped_dir(p)):
                # Files written into a new folder before its watch was set up send no
                # event of their own (inotify's race): look at what it holds.
                if is_source(os.path.join(folder, "x.py"), self.root):
                    changed.update(python_files(folder))
            if not self._settled.is_set():  # the app is starting: its own writes do not count
                changed = {p for p in changed if p.endswith(".py")}
            if changed:
                with self._arrived:
                    self._pending |= changed
                    self._arrived.notify_all()

    def _run_report(self) -> None:
        """One report for what both watches saw in one burst (a top-level file and a
        file in a package saved together make one reload)."""
        while True:
            with self._arrived:
                self._arrived.wait_for(lambda: bool(self._pending) or self._stop.is_set())
                while not self._stop.is_set():  # until quiet
                    seen = len(self._pending)
                    self._arrived.wait(STEP_MS / 1000 * 2)
                    if len(self._pending) == seen:
                        break
                if self._stop.is_set():
                    return
                changed, self._pending = sorted(self._pending), set()
                self._settled.clear()  # the app restarts now: settled again at its load
            self.on_change(changed)

    def _maybe_folder(self, path: str) -> bool:
        """A top-level folder came or went (a deleted path may have been one)."""
        if is_source(path, self.root) or skipped_dir(path):
            return False
        return os.path.isdir(path) or not os.path.exists(path)
