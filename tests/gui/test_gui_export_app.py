"""The window's session remembers the app it serves, for the pytest export."""

from __future__ import annotations

from inspector.host.appref import AppRef, recorded_app
from inspector.host.formats import render
from tests.gui.gui_helpers import http_request, wait_rows

APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"remembered"]
"""


def test_the_window_session_records_the_app_it_serves(qtbot, make_window, tmp_path):
    (tmp_path / "gui_export_app.py").write_text(APP)
    window = make_window("gui_export_app:app", app_dir=str(tmp_path))
    store = window.controller.recorder.store
    qtbot.waitUntil(lambda: recorded_app(store) is not None, timeout=10000)
    assert recorded_app(store) == AppRef("gui_export_app:app", str(tmp_path))
    assert http_request(window.url).body == b"remembered"
    wait_rows(qtbot, window, 1)
    exchanges = list(store.exchanges())
    text = render("pytest", exchanges, app=recorded_app(store))
    assert "b'remembered'" not in text and "== 'remembered'" in text
