"""Saved sessions in the window: shown read-only while new requests go to the live
session, never changed by being opened; HAR export with or without secrets."""

from __future__ import annotations

import json

from tests.gui.gui_helpers import http_request, wait_rows


def test_an_opened_session_is_shown_read_only_and_never_changed(qtbot, make_window,
                                                                 tmp_path):
    window = make_window()
    http_request(window.url, path="/first")
    wait_rows(qtbot, window, 1)
    saved = tmp_path / "saved.wsgi-session"
    window.save_session(str(saved))
    before = saved.read_bytes()

    window.open_file(str(saved))
    assert window.store.read_only and window.store is not window.recording
    assert window.session_banner.isVisible()
    assert "Viewing saved session saved.wsgi-session (read-only)" in \
        window.session_banner.label.text()
    title = window.windowTitle()
    assert "inspector.examples.hello:app" in title and "saved.wsgi-session (read-only)" in title
    assert not window.actions_by_name["clear"].isEnabled()

    http_request(window.url, path="/after")  # the app goes on being recorded...
    http_request(window.url, path="/later")
    qtbot.waitUntil(lambda: len(window.recording) == 3, timeout=10000)
    assert [s.path for s in window.model.summaries()] == ["/first"]  # ...elsewhere
    qtbot.waitUntil(lambda: window.session_banner.button.text()
                    == "Show the Live Session (2 new)", timeout=10000)
    window.clear()  # nothing to clear in a saved session: it stays as it is
    assert [s.path for s in window.model.summaries()] == ["/first"]

    window.session_banner.button.click()  # "Show the Live Session"
    wait_rows(qtbot, window, 3)
    assert [s.path for s in window.model.summaries()] == ["/first", "/after", "/later"]
    assert not window.session_banner.isVisible() and "read-only" not in window.windowTitle()
    assert window.recording.path.name in window.windowTitle()
    assert saved.read_bytes() == before


def test_a_request_that_pauses_brings_the_live_session_back(qtbot, make_window, tmp_path):
    import threading

    window = make_window()
    http_request(window.url, path="/first")
    wait_rows(qtbot, window, 1)
    saved = tmp_path / "saved.wsgi-session"
    window.save_session(str(saved))
    window.open_file(str(saved))
    window.set_step_next(True)
    client = threading.Thread(target=http_request, args=(window.url,),
                              kwargs={"path": "/stepped", "timeout": 20}, daemon=True)
    client.start()
    # The paused request waits for the user: the window shows it, in the live session.
    qtbot.waitUntil(lambda: window.current_id is not None
                    and window.stepper.can_answer(window.current_id), timeout=10000)
    assert window.store is window.recording and not window.session_banner.isVisible()
    assert window.store.get(window.current_id).path == "/stepped"
    window.continue_current()
    qtbot.waitUntil(lambda: not client.is_alive(), timeout=10000)


def test_an_unreadable_row_is_named_in_the_window(qtbot, make_window, tmp_path):
    import sqlite3

    window = make_window()
    for path in ("/one", "/two"):
        http_request(window.url, path=path)
    wait_rows(qtbot, window, 2)
    saved = tmp_path / "saved.wsgi-session"
    window.save_session(str(saved))
    with sqlite3.connect(saved) as db:
        db.execute("UPDATE exchanges SET data = ? WHERE id = 2", (b"\x80\x05]\x8f.",))
    db.close()
    window.open_file(str(saved))
    window.select_id(2)
    assert "row 2 of the session file is unreadable" in window.overview.text("Request")
    assert "row 2 is unreadable" in window.session_banner.label.text()


def test_export_hides_secrets_unless_asked(qtbot, make_window, tmp_path):
    window = make_window()
    http_request(window.url, path="/", headers={"Authorization": "Bearer s3cret",
                                                "Cookie": "sid=abc123"})
    wait_rows(qtbot, window, 1)
    plain, secret = tmp_path / "plain.har", tmp_path / "secret.har"
    window.export_har(str(plain))
    window.export_har(str(secret), include_secrets=True)
    assert "s3cret" not in plain.read_text() and "abc123" not in plain.read_text()
    headers = json.loads(secret.read_text())["log"]["entries"][0]["request"]["headers"]
    assert {"name": "Authorization", "value": "Bearer s3cret"} in headers
    names = [a.text() for a in window.actions_by_name.values()]
    assert "&Export HAR…" in names and "Export HAR with Secrets…" in names


def test_an_aborted_request_reads_aborted_and_its_pauses_are_apart(qtbot, make_window):
    import threading

    import pytest

    from ui.exchange_model import COL_BADGE, COL_DURATION

    window = make_window()
    replies: list[int] = []
    window.set_step_next(True)
    client = threading.Thread(
        target=lambda: replies.append(http_request(window.url, path="/abort-me",
                                                   timeout=20).status), daemon=True)
    client.start()

    def paused_at(phase: str) -> None:
        xid = window.current_id
        assert xid is not None and window.stepper.can_answer(xid)
        assert window.stepper.pauses[xid].paused == phase

    qtbot.waitUntil(lambda: paused_at("received"), timeout=10000)
    window.step_current()
    qtbot.waitUntil(lambda: paused_at("start_response"), timeout=10000)
    window.abort_current("502")
    qtbot.waitUntil(lambda: not client.is_alive(), timeout=10000)
    assert replies == [502]
    wait_rows(qtbot, window, 1)
    qtbot.waitUntil(lambda: window.overview.text("State").startswith("aborted"))

    assert window.overview.text("State") == "aborted by you at start_response"
    assert "WSGI Inspector's answer, not the app's" in window.overview.text("Meaning")
    assert "in the app," in window.overview.text("Duration")
    assert window.overview.text("Duration").endswith(" paused")
    summary = window.model.summary(0)
    assert summary.state == "aborted"
    assert window.model.index(0, COL_BADGE).data() == "⊘ aborted by you"
    x = window.store.get(summary.id)
    assert x.aborted == "start_response" and x.paused_time > 0
    # The list's duration is the app's: the pauses are left out.
    assert summary.duration == pytest.approx(x.duration - x.paused_time)
    assert window.model.index(0, COL_DURATION).data() != ""


SHOW_AND_CLOSE = """
import sys
from PySide6.QtCore import QTimer
from inspector.host.cli import parse_args
from ui import app as ui_app

class Window(ui_app.MainWindow):
    def show(self):
        super().show()
        QTimer.singleShot(0, self.report)

    def report(self):
        print("title:", self.windowTitle())
        print("rows:", self.model.rowCount(), "read-only:", self.store.read_only)
        print("banner:", self.session_banner.label.text())
        self.close()

ui_app.MainWindow = Window
sys.exit(ui_app.run(parse_args(["--open", sys.argv[1]])))
"""


def test_open_from_the_command_line_shows_the_session_read_only(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from inspector.host.store import Store
    from tests.factories import exchange_events

    saved = tmp_path / "saved.wsgi-session"
    with Store(saved) as store:
        for xid in (1, 2):
            for event in exchange_events(xid, path=f"/p{xid}"):
                store.put(event)
    before = saved.read_bytes()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", SHOW_AND_CLOSE, str(saved)], cwd=root,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "saved.wsgi-session (read-only) — WSGI Inspector" in done.stdout
    assert "rows: 2 read-only: True" in done.stdout
    assert "new requests are recorded in the live session" in done.stdout
    assert saved.read_bytes() == before
    assert list((tmp_path / "data" / "wsgi-inspector" / "sessions").iterdir())  # the live one


def test_a_request_aborted_before_the_call_says_the_app_never_ran(qtbot, make_window):
    import threading

    window = make_window()
    window.set_step_next(True)
    replies: list[int] = []
    client = threading.Thread(
        target=lambda: replies.append(http_request(window.url, path="/never", timeout=20)
                                      .status), daemon=True)
    client.start()
    qtbot.waitUntil(lambda: window.current_id is not None
                    and window.stepper.can_answer(window.current_id), timeout=10000)
    window.abort_current("502")
    qtbot.waitUntil(lambda: not client.is_alive(), timeout=10000)
    wait_rows(qtbot, window, 1)
    qtbot.waitUntil(lambda: window.overview.text("State").startswith("aborted"))
    assert replies == [502]
    assert window.overview.text("State") == \
        "aborted by you at received (the app was never called)"
    assert window.overview.text("Calls") == \
        "start_response called by WSGI Inspector, in the app's place"
    x = window.store.get(window.current_id)
    assert "app_called" not in [p.name for p in x.phases]
