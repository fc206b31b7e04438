"""The list's filter box with every term of the filter language, typed by the user, over
real exchanges (a real app served by waitress, real HTTP); errors inline; Help ▸ Filter
syntax; a breakpoint in the same syntax pausing a real request."""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import Qt

from inspector.filtering import KEYS, SYNTAX
from tests.gui.gui_helpers import http_request, wait_rows
from tests.gui.test_gui_stepping import Client
from ui.exchange_model import ID_ROLE
from ui.filter_help import FilterHelpDialog
from ui.stepping import BreakpointEntry

APP = textwrap.dedent("""\
    import gzip, json, time

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        environ["wsgi.input"].read()
        if path == "/api/items":
            body = gzip.compress(json.dumps({"status": "out of stock"}).encode())
            start_response("201 Created", [("Content-Type", "application/json"),
                                           ("Content-Encoding", "gzip"),
                                           ("Content-Length", str(len(body)))])
            return [body]
        if path == "/boom":
            raise RuntimeError("boom")
        if path == "/slow":
            time.sleep(0.15)  # the app is slow; the test waits on rows, not on time
        if path == "/big":
            body = b"x" * (2 * 1024 * 1024)
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path == "/lint":
            start_response("200", [("Content-Type", "text/plain")])  # no reason: a finding
            return [b"lint"]
        if path.startswith("/static/"):
            start_response("404 Not Found", [("Content-Type", "text/css")])
            return [b"gone"]
        body = ("hello from " + path).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Trace", "t-" + path)])
        return [body]
""")

REQUESTS: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("GET", "/", None, {}),
    ("POST", "/api/items", json.dumps({"name": "widget"}).encode(),
     {"Content-Type": "application/json", "X-Debug": "yes"}),
    ("GET", "/static/app.css", None, {}),
    ("GET", "/boom", None, {}),
    ("GET", "/slow", None, {}),
    ("GET", "/big", None, {}),
    ("GET", "/lint", None, {}),
    ("PUT", "/search?q=deep+dive", gzip.compress(b"note=zipped upload"),
     {"Content-Type": "text/plain", "Content-Encoding": "gzip"}),
]

# Every term, as a user types it, and the paths of the rows it leaves.
TERMS = [
    ("", ["/", "/api/items", "/static/app.css", "/boom", "/slow", "/big", "/lint", "/search"]),
    ("api", ["/api/items"]),
    ("q=deep", ["/search"]),
    ("method:POST", ["/api/items"]),
    ("method:put,post", ["/api/items", "/search"]),
    ("status:404", ["/static/app.css"]),
    ("status:5xx", ["/boom"]),
    ("status:200-201", ["/", "/api/items", "/slow", "/big", "/lint", "/search"]),
    ("status:error", ["/static/app.css", "/boom"]),
    ("path:/static/*", ["/static/app.css"]),
    ("path:/s", ["/static/app.css", "/slow", "/search"]),
    ("header:X-Debug", ["/api/items"]),
    ("header:x-trace=t-/slow", ["/slow"]),
    ("reqheader:content-encoding=gzip", ["/search"]),
    ("resheader:Content-Encoding", ["/api/items"]),
    ("body:stock", ["/api/items"]),
    ('body:"out of stock"', ["/api/items"]),
    ("reqbody:widget", ["/api/items"]),
    ("resbody:widget", []),
    ("reqbody:zipped", ["/search"]),
    ("resbody:hello", ["/", "/slow", "/search"]),
    ("type:json", ["/api/items"]),
    ("dur:>100ms", ["/slow"]),
    ("size:>1mb", ["/big"]),
    ("has:findings", ["/lint"]),
    ("has:error", ["/boom"]),
    ("has:query", ["/search"]),
    ("is:resent", []),
    ("-path:/static -status:2xx", ["/boom"]),
    ('"/api/items" method:POST', ["/api/items"]),
    ("-body:hello method:GET", ["/static/app.css", "/boom", "/big", "/lint"]),
]


@pytest.fixture
def window(make_window: Callable[..., Any], tmp_path: Path, qtbot: Any) -> Any:
    (tmp_path / "gui_filter_app.py").write_text(APP)
    window = make_window("gui_filter_app:app", app_dir=str(tmp_path))
    for method, path, body, headers in REQUESTS:
        http_request(window.url, method, path, body, headers)
    wait_rows(qtbot, window, len(REQUESTS))
    return window


def shown(window: Any) -> list[str]:
    paths = {s.id: s.path for s in window.store.summaries()}
    proxy = window.proxy
    return [paths[int(proxy.data(proxy.index(r, 0), ID_ROLE))]
            for r in range(proxy.rowCount())]


def type_filter(qtbot: Any, window: Any, text: str) -> None:
    box = window.filter_edit
    box.clear()
    box.setFocus()
    qtbot.keyClicks(box, text)


def test_every_term_typed_in_the_filter_box(qtbot: Any, window: Any) -> None:
    for text, expected in TERMS:
        type_filter(qtbot, window, text)

        def check(expected: list[str] = expected, text: str = text) -> None:
            assert shown(window) == expected, text
        qtbot.waitUntil(check, timeout=5000)
        assert window.list_filter.note.isHidden(), text
    assert "4 of 8 exchanges shown" in window.counts_label.text()


def test_a_filter_that_does_not_read_says_why_inline(qtbot: Any, window: Any) -> None:
    type_filter(qtbot, window, "method:POST")
    qtbot.waitUntil(lambda: shown(window) == ["/api/items"])
    window.filter_edit.setText("status:abc")  # pasted
    note = window.list_filter.note
    assert note.isVisible()
    assert note.text().startswith("⚠ status:abc is not a status I can read")
    assert shown(window) == ["/api/items"]  # the last filter that read still holds
    type_filter(qtbot, window, 'body:"out')  # typed: the quote is not closed yet
    assert "quote is not closed" in note.text()
    type_filter(qtbot, window, 'body:"out of"')
    qtbot.waitUntil(lambda: shown(window) == ["/api/items"])
    assert note.isHidden()


def test_a_body_search_follows_new_exchanges(qtbot: Any, window: Any) -> None:
    type_filter(qtbot, window, "resbody:hello -path:/slow")
    qtbot.waitUntil(lambda: shown(window) == ["/", "/search"])
    http_request(window.url, "GET", "/later")
    qtbot.waitUntil(lambda: shown(window) == ["/", "/search", "/later"], timeout=5000)


def test_is_paused_and_has_edits_with_a_breakpoint_in_the_same_syntax(
        qtbot: Any, window: Any) -> None:
    window.stepper.set_breakpoints([BreakpointEntry("method:DELETE header:X-Step=on")])
    assert window.stepper.enabled_filters() == ["method:DELETE header:X-Step=on"]
    # Not matched (no header): not paused.
    assert http_request(window.url, "DELETE", "/free").status == 200
    client = Client(window.url, "/held", method="DELETE")  # no X-Step header either
    qtbot.waitUntil(client.done, timeout=10000)
    window.stepper.set_breakpoints([BreakpointEntry("method:DELETE -path:/free")])
    client = Client(window.url, "/held", method="DELETE")
    qtbot.waitUntil(lambda: len(window.stepper.pauses) == 1, timeout=10000)
    type_filter(qtbot, window, "is:paused")
    qtbot.waitUntil(lambda: shown(window) == ["/held"])
    row = next(iter(window.stepper.pauses))
    assert window.stepper.resume(row, edit={"environ": {"PATH_INFO": "/edited"}})
    qtbot.waitUntil(client.done, timeout=10000)
    assert client.reply is not None and client.reply.body == b"hello from /edited"
    qtbot.waitUntil(lambda: shown(window) == [])
    type_filter(qtbot, window, "has:edits")
    qtbot.waitUntil(lambda: shown(window) == ["/held"], timeout=5000)


def test_a_breakpoint_that_needs_the_answer_is_refused(qtbot: Any, window: Any) -> None:
    from ui.breakpoints_dialog import BreakpointsDialog

    dialog = BreakpointsDialog([], window)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.edit, "status:500")
    assert dialog.preview.text().startswith("⚠ status: cannot be in a breakpoint")
    qtbot.keyClick(dialog.edit, Qt.Key.Key_Return)
    assert dialog.list.count() == 0  # not added
    window.stepper.set_breakpoints([BreakpointEntry("status:500")])  # from old settings
    assert window.stepper.enabled_filters() == []


def test_help_filter_syntax(qtbot: Any, window: Any) -> None:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    entry = next(a for a in help_menu.actions() if a.text().replace("&", "") == "Filter Syntax")
    entry.trigger()
    dialog = next(w for w in window.findChildren(FilterHelpDialog))
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    for key in KEYS:
        assert f"{key}:" in text, key
    assert len(SYNTAX) > 10 and "A breakpoint decides" in text


def test_a_saved_session_without_the_index_is_indexed_off_the_gui_thread(
        qtbot: Any, window: Any, tmp_path: Path) -> None:
    import sqlite3

    from inspector.host.store import Store

    saved = tmp_path / "saved.wsgi-session"
    window.store.save_as(saved)
    conn = sqlite3.connect(saved)  # as saved before the index existed
    conn.execute("DROP TABLE search")
    conn.commit()
    conn.close()
    window.show_saved(Store.open(saved))
    assert not window.store.search_index.in_file
    progress: list[str] = []
    window.list_filter._progress.connect(lambda *args: progress.append(args))
    type_filter(qtbot, window, 'body:"out of stock"')
    qtbot.waitUntil(lambda: shown(window) == ["/api/items"], timeout=10000)
    assert progress and progress[-1][1:] == (8, 8)  # done, total: told as it went
    assert window.list_filter.note.isHidden()
    type_filter(qtbot, window, "reqbody:zipped")  # indexed once: answered at once
    qtbot.waitUntil(lambda: shown(window) == ["/search"])
    window.show_live_session()
    qtbot.waitUntil(lambda: shown(window) == ["/search"])  # the live one's own index
