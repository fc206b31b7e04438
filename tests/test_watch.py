"""Reload on source change: the watcher alone, then wired to a real app process.

File times are set explicitly (os.utime, whole seconds apart) rather than waited
for, so each edit is a change for the watcher and for Python's bytecode cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.host.process import AppProcess, Options, Status
from inspector.host.watch import SourceWatcher, python_files
from inspector.model import ST_COMPLETE
from tests.appproc import TIMEOUT, Recorder, fetch, set_mtime, write_app

SECOND = 1_000_000_000


class Clock:
    """Hands out file times that only go forward, whole seconds apart."""

    def __init__(self, start: Path) -> None:
        self.ns = start.stat().st_mtime_ns

    def touch(self, path: Path, text: str | None = None) -> None:
        if text is not None:
            path.write_text(text)
        self.ns += 2 * SECOND
        set_mtime(path, self.ns)


class Changes:
    """Records the watcher's on_change calls; lets a test wait for the next one."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self._changed = threading.Condition()

    def __call__(self, paths: list[str]) -> None:
        with self._changed:
            self.calls.append(paths)
            self._changed.notify_all()

    def wait(self, count: int = 1) -> list[str]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.calls) >= count, TIMEOUT), \
                "the watcher reported no change"
            return self.calls[count - 1]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project with its own files and others that are not the user's."""
    root = tmp_path.resolve()
    for name in ("app.py", "helpers.py", "pkg/__init__.py", "pkg/views.py",
                 ".venv/lib/site.py", "venv2/lib/x.py", "node_modules/a/b.py",
                 "__pycache__/app.py", ".git/hooks/x.py", "build/lib/app.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# source\n")
    (root / "venv2" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "notes.txt").write_text("not python\n")
    return root


@pytest.fixture
def watcher_for(tree: Path) -> Iterator[tuple[SourceWatcher, Changes]]:
    changes = Changes()
    watcher = SourceWatcher(str(tree), changes)
    yield watcher, changes
    watcher.stop()


def test_source_files_leave_out_environments_caches_databases_and_logs(tree: Path) -> None:
    for name in ("db.sqlite3", "app.log", "logs/today.txt", "templates/index.html",
                 "templates/base.jinja", "mail.j2", "settings.toml", ".env", "setup.cfg",
                 "config.ini", "data/seed.json"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("x\n")
    assert python_files(str(tree)) == sorted(str(tree / name) for name in (
        "app.py", "helpers.py", "pkg/__init__.py", "pkg/views.py", "notes.txt",
        "templates/index.html", "templates/base.jinja", "mail.j2", "settings.toml", ".env",
        "setup.cfg", "config.ini", "data/seed.json"))


def test_edits_new_files_and_templates_are_reported_not_environments(
        tree: Path, watcher_for: tuple[SourceWatcher, Changes]) -> None:
    watcher, changes = watcher_for
    watcher.watch([])  # the app loaded: every source file counts
    watcher.start()
    (tree / ".venv" / "lib" / "new.py").write_text("# installed, not the user's\n")
    (tree / "venv2" / "lib" / "x.py").write_text("# another environment\n")
    (tree / "__pycache__" / "x.py").write_text("\n")
    (tree / "db.sqlite3").write_bytes(b"SQLite format 3\0")
    (tree / "server.log").write_text("GET / 200\n")
    (tree / "app.py").write_text("# edited\n")
    (tree / "pkg" / "models.py").write_text("# new\n")
    assert changes.wait() == [str(tree / "app.py"), str(tree / "pkg" / "models.py")]
    watcher.watch([])  # the app reloaded (the runner says so at its load)
    templates = tree / "pkg" / "templates"
    templates.mkdir()
    (templates / "page.html").write_text("<p>{{ x }}</p>\n")
    paths = changes.wait(2)
    assert paths == [str(templates / "page.html")]


def test_a_new_top_level_folder_is_watched_too(
        tree: Path, watcher_for: tuple[SourceWatcher, Changes]) -> None:
    watcher, changes = watcher_for
    watcher.watch([])
    watcher.start()
    (tree / "templates").mkdir()
    # The folder's arrival is not a change of source; a template written in it is.
    for _ in range(200):
        (tree / "templates" / "home.html").write_text("<h1>hi</h1>\n")
        with changes._changed:
            if changes._changed.wait_for(lambda: bool(changes.calls), 0.1):
                break
    assert changes.calls[-1] == [str(tree / "templates" / "home.html")]


def test_deleted_file_is_a_change(tree: Path, watcher_for: tuple[SourceWatcher, Changes]) -> None:
    watcher, changes = watcher_for
    watcher.watch([])
    watcher.start()
    (tree / "pkg" / "views.py").unlink()
    assert changes.wait() == [str(tree / "pkg" / "views.py")]


def test_an_edit_before_start_is_seen_but_the_apps_own_writes_while_it_starts_are_not(
        tree: Path, watcher_for: tuple[SourceWatcher, Changes]) -> None:
    watcher, changes = watcher_for  # made (watching) before the app starts, as the runner does
    (tree / "cache.json").write_text("{}")  # the app writes this while it imports...
    (tree / "helpers.py").write_text("# edited while the app was starting\n")
    watcher.start()
    assert changes.wait() == [str(tree / "helpers.py")]  # ...and only the edit counts
    watcher.watch([])  # loaded: from now on a JSON file is a reason too
    (tree / "cache.json").write_text('{"edited": true}')
    assert changes.wait(2) == [str(tree / "cache.json")]


def test_stop_ends_the_threads(watcher_for: tuple[SourceWatcher, Changes]) -> None:
    watcher, _ = watcher_for
    watcher.start()
    watcher.stop()
    assert not any(t.is_alive() for t in watcher._threads)


# -- wired to a real app process -------------------------------------------------------

class Reloading:
    """An AppProcess reloaded by a SourceWatcher, as the host wires them."""

    def __init__(self, app_dir: Path, recorder: Recorder) -> None:
        self.recorder = recorder
        self.changes = Changes()
        self.process = AppProcess(Options("web:app", str(app_dir)), recorder.on_event,
                                  self._status)
        self.watcher = SourceWatcher(str(app_dir), self._changed)

    def _status(self, status: Status) -> None:
        # Watch before anyone hears of the status, so a test that saw it may edit.
        if status.state in ("serving", "load_error"):
            self.watcher.watch(status.files, everything=status.state == "load_error")
        self.recorder.on_status(status)

    def _changed(self, paths: list[str]) -> None:
        self.changes(paths)
        self.process.restart()

    def start(self) -> Status:
        status = self.process.start()
        self.watcher.start()
        return status

    def stop(self) -> None:
        self.watcher.stop()
        self.process.stop()

    def next_status(self, mark: int) -> Status:
        """The first settled status (serving or load_error) after ``mark``."""
        return self.recorder.wait(
            lambda: next((s for s in self.recorder.statuses[mark:]
                          if s.state in ("serving", "load_error")), None),
            "the app to come back after a reload")


@pytest.fixture
def reloading(tmp_path: Path) -> Iterator[Reloading]:
    app = Reloading(tmp_path, Recorder())
    yield app
    app.stop()


def served(url: str) -> bytes:
    status, _, body = fetch(url, "/hello")
    assert status == 200
    return body


def test_edits_reload_the_app(tmp_path: Path, reloading: Reloading) -> None:
    web = write_app(tmp_path, message="version 1")
    clock = Clock(web)
    status = reloading.start()
    assert status.state == "serving", status
    url = status.url
    assert served(url) == b"version 1"

    mark = reloading.recorder.mark()
    clock.touch(web, web.read_text().replace("version 1", "version 2"))
    status = reloading.next_status(mark)
    assert status.state == "serving" and status.url == url
    assert reloading.changes.calls[-1] == [os.path.realpath(web)]
    assert served(url) == b"version 2"
    gen = reloading.process.generation
    assert gen == 2
    x = reloading.recorder.wait_exchange(gen, "/hello")
    assert (x.response_body, x.state) == (b"version 2", ST_COMPLETE)

    mark = reloading.recorder.mark()
    clock.touch(web, web.read_text().replace("def app(environ, start_response):",
                                             "def app(environ, start_response)"))
    status = reloading.next_status(mark)
    assert status.state == "load_error", status
    assert "SyntaxError" in status.message and "\n" not in status.message
    assert status.traceback is not None and "web.py" in status.traceback

    mark = reloading.recorder.mark()
    clock.touch(web, web.read_text().replace("def app(environ, start_response)",
                                             "def app(environ, start_response):")
                .replace("version 2", "version 3"))
    status = reloading.next_status(mark)
    assert status.state == "serving", status
    assert status.url == url
    assert served(url) == b"version 3"

    mark = reloading.recorder.mark()
    gen = reloading.process.generation
    helper = tmp_path / "helper.py"
    helper.write_text("ANSWER = 42\n")
    status = reloading.next_status(mark)
    assert status.state == "serving", status
    assert reloading.changes.calls[-1] == [os.path.realpath(helper)]
    assert reloading.process.generation == gen + 1
    assert served(url) == b"version 3"
    # Every reload was a stop and a fresh start of the child.
    states = reloading.recorder.states()
    assert states.count("load_error") == 1 and states.count("serving") == 4
    assert "died" not in states and "crashed" not in states
