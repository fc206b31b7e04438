"""Load errors and recovery, quitting (window, Ctrl+Q, signals), settings, run()."""

from __future__ import annotations

import argparse
import os
import signal
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from tests.gui.gui_helpers import http_request, wait_rows
from ui import app as ui_app


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


BROKEN = textwrap.dedent("""\
    def helper():
        raise RuntimeError("the database is not configured")

    helper()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"broken"]
""")
FIXED = textwrap.dedent("""\
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fixed!"]
""")


def test_load_error_shown_in_window_then_recovery_isolated(qtbot, make_window, tmp_path):
    """The isolated app process: the error and the user's traceback show in the window,
    the window stays, and saving a fix reloads the app by itself."""
    project = tmp_path / "project"
    project.mkdir()
    source = project / "lesson_app.py"
    source.write_text(BROKEN)
    window = make_window("lesson_app:app", app_dir=str(project), in_process=False,
                         reload=True, wait="load_error")
    assert window.banner.isVisible()
    assert "could not be loaded" in window.banner_title.text()
    traceback = window.banner_traceback.toPlainText()
    assert "lesson_app.py" in traceback and "the database is not configured" in traceback
    assert "inspector/agent" not in traceback  # the user's frames, not ours
    assert window.isVisible()

    source.write_text(FIXED)
    future = time.time() + 5  # make sure the change is seen whatever the clock's grain
    os.utime(source, (future, future))
    qtbot.waitUntil(lambda: window.controller.status.state == "serving", timeout=30000)
    assert not window.banner.isVisible()
    assert http_request(window.url).body == b"fixed!"
    wait_rows(qtbot, window, 1)

    pid = window.controller.pid
    assert pid is not None and not gone(pid)
    window.close()  # the window's close button
    assert not window.isVisible()
    assert gone(pid), "the app's process outlived the window"
    assert window.controller.runner is None


def test_reload_f5_recovers_in_process(qtbot, make_window, tmp_path):
    (tmp_path / "gui_f5_app.py").write_text(BROKEN)
    window = make_window("gui_f5_app:app", app_dir=str(tmp_path), wait="load_error")
    assert "the database is not configured" in window.banner_traceback.toPlainText()
    (tmp_path / "gui_f5_app.py").write_text(FIXED)
    reload = window.actions_by_name["reload"]
    assert {s.toString() for s in reload.shortcuts()} == {"F5", "Ctrl+R"}
    reload.trigger()
    qtbot.waitUntil(lambda: window.controller.status.state == "serving", timeout=20000)
    assert not window.banner.isVisible()
    assert http_request(window.url).body == b"fixed!"


def test_ctrl_q_closes_app_and_session(qtbot, make_window):
    window = make_window()
    http_request(window.url)
    wait_rows(qtbot, window, 1)
    url = window.url
    quit_action = window.actions_by_name["quit"]
    assert quit_action.shortcut().toString() == "Ctrl+Q"
    quit_action.trigger()
    assert not window.isVisible()
    assert window.controller.runner is None
    with pytest.raises(OSError):
        http_request(url, timeout=2)
    assert len(window.store) == 1  # still readable; the file is closed and complete


def test_sigterm_and_sigint_close_the_window(qtbot, make_window):
    for sig in (signal.SIGTERM, signal.SIGINT):
        window = make_window()
        restore = ui_app.install_signal_handlers(window.close)
        try:
            os.kill(os.getpid(), sig)
            qtbot.waitUntil(lambda w=window: not w.isVisible())
        finally:
            restore()
        assert window.controller.runner is None


def test_settings_restored_on_a_second_window(qtbot, make_window, tmp_path):
    settings = QSettings(str(tmp_path / "shared.ini"), QSettings.Format.IniFormat)
    first = make_window(settings_=settings, start=False)
    first.resize(760, 540)  # within the offscreen screen
    first.splitter.setSizes([600, 400])
    first.table.setColumnWidth(6, 133)  # Size (the path stretches to what is left)
    sizes = first.splitter.sizes()
    first.close()
    assert "MainWindow" in settings.childGroups()

    second = make_window(settings_=settings, start=False)
    assert (second.width(), second.height()) == (1200, 700)  # the fixture resizes...
    second.restore_settings()  # ...so read the saved state again
    assert (second.width(), second.height()) == (760, 540)
    assert second.splitter.sizes() == sizes
    assert second.table.columnWidth(6) == 133


def test_run_serves_until_sigint(qtbot, tmp_path):
    """The command line's entry point: QApplication, window, app, and quit on SIGINT."""
    args = argparse.Namespace(
        app="inspector.examples.hello:app", host="127.0.0.1", port=0, threads=2,
        app_dir=None, python=None, in_process=True, no_reload=True,
        session=str(tmp_path / "run.wsgi-session"), open=None, har=None, debug_logs=False,
        headless=False)
    seen: dict[str, object] = {}

    def poll() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if w.objectName() == "" and hasattr(w, "controller")]
        window = windows[0] if windows else None
        if window is None or window.controller.status.state != "serving":
            QTimer.singleShot(20, poll)
            return
        seen["body"] = http_request(window.url).body
        seen["window"] = window
        os.kill(os.getpid(), signal.SIGINT)

    QTimer.singleShot(0, poll)
    assert ui_app.run(args) == 0
    assert seen["body"] == b"Hello, World!\n"
    window = seen["window"]
    assert window.controller.runner is None
    assert Path(args.session).exists()
    window.deleteLater()
