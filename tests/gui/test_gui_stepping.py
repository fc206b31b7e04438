"""Stepping from the window: arm with F9, edit what passes at each phase, F10/F8,
Continue all, Abort; the flow view and the Step panel follow the paused request."""

from __future__ import annotations

import http.client
import textwrap
import threading
from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication

from tests.gui.gui_helpers import Reply, http_request, wait_rows
from ui.breakpoints_dialog import BreakpointsDialog
from ui.exchange_model import COL_BADGE
from ui.stepping import BreakpointEntry, load_breakpoints
from ui.theme import pause_glyph

ECHO = textwrap.dedent("""\
    def app(environ, start_response):
        body = ("you asked for " + environ["PATH_INFO"]).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body))),
                                  ("X-Lesson", "wsgi")])
        return [body]
""")


@pytest.fixture
def echo_window(make_window: Callable[..., Any], tmp_path: Path) -> Any:
    (tmp_path / "gui_echo_app.py").write_text(ECHO)
    return make_window("gui_echo_app:app", app_dir=str(tmp_path))


class Client:
    """One HTTP request on a thread of its own; the window's thread stays free."""

    def __init__(self, url: str, path: str = "/", method: str = "GET") -> None:
        self.reply: Reply | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(url, path, method), daemon=True)
        self.thread.start()

    def _run(self, url: str, path: str, method: str) -> None:
        try:
            self.reply = http_request(url, method, path, timeout=20)
        except BaseException as exc:  # kept for the assertion
            self.error = exc

    def done(self) -> bool:
        return not self.thread.is_alive()


def paused_at(window: Any, phase: str, count: int = 1) -> Callable[[], None]:
    """A waitUntil check: ``count`` requests paused, the current one at ``phase``."""
    def check() -> None:
        assert len(window.stepper.pauses) == count
        assert window.current_id in window.stepper.pauses
        assert window.stepper.pauses[window.current_id].paused == phase
        assert window.stepper.can_answer(window.current_id)
        editor = window.step_panel.current
        assert editor is not None and editor.row == window.current_id
        assert editor.phase == phase
    return check


def key(window: Any, k: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
        widget: Any = None) -> None:
    """A key press where the user's focus is (the list, unless told): window shortcuts."""
    QTest.keyClick(widget or window.table, k, modifier)


def row_of(table: Any, name: str) -> int:
    return next(r for r in range(table.rowCount()) if table.item(r, 0).text() == name)


def type_into_cell(qtbot: Any, table: Any, row: int, col: int, text: str) -> None:
    """Keyboard only: F2 opens the cell's editor, Ctrl+A, type, Enter."""
    table.setFocus()
    table.setCurrentCell(row, col)
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert editor is not None and table.isAncestorOf(editor)
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # The delegate commits and closes on Enter from the event loop, as with a real user.
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)


def test_step_every_phase_with_the_keyboard_edits_reach_the_client(qtbot, echo_window):
    window = echo_window
    window.activateWindow()
    step_mode = window.actions_by_name["step_mode"]
    assert step_mode.shortcut().toString() == "F9"
    key(window, Qt.Key.Key_F9)
    assert step_mode.isChecked() and window.stepper.step_next
    client = Client(window.url, "/original")

    # received: the row is paused and selected, the environ is editable.
    qtbot.waitUntil(paused_at(window, "received"), timeout=10000)
    assert not step_mode.isChecked()  # "the next request" was this one
    row = window.model.row_of(window.current_id)
    badge = f"{pause_glyph()} received"
    qtbot.waitUntil(lambda: window.model.index(row, COL_BADGE).data() == badge)
    assert "Paused at received" in window.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert window.tabs.currentWidget() is window.flow
    assert window.step_dock.isVisible()
    assert window.flow.view.current_node == "environ"
    assert window.flow.view.property("current_node") == "environ"
    assert "PEP 3333: environ Variables" in window.step_panel.learn.text()
    assert window.step_panel.countdown.text().startswith("continues on its own in ")
    assert "paused at <b>received</b>" in window.step_panel.title.text()
    editor = window.step_panel.current
    table = editor.environ
    type_into_cell(qtbot, table, row_of(table, "PATH_INFO"), 1, "/edited")
    assert editor.payload() == {"environ": {"PATH_INFO": "/edited"}}
    assert "your edit: PATH_INFO" in window.step_panel.pending.text()
    key(window, Qt.Key.Key_F10, widget=table)

    # start_response: change a header's value and add one.
    qtbot.waitUntil(paused_at(window, "start_response"), timeout=10000)
    assert window.flow.view.current_node == "start_response"
    editor = window.step_panel.current
    assert editor.status.text() == "200 OK"
    headers = editor.headers
    type_into_cell(qtbot, headers, row_of(headers, "X-Lesson"), 1, "stepped")
    headers.setFocus()
    qtbot.keyClick(headers, Qt.Key.Key_Insert)  # a new row, its name cell being edited
    new_name = QApplication.focusWidget()
    qtbot.keyClicks(new_name, "X-Added")
    qtbot.keyClick(new_name, Qt.Key.Key_Tab)  # to the value cell
    type_into_cell(qtbot, headers, headers.rowCount() - 1, 1, "yes")
    assert editor.payload()["headers"][-1] == ["X-Added", "yes"]
    key(window, Qt.Key.Key_F10, widget=headers)

    # the chunk: shown as text, stepped unchanged.
    qtbot.waitUntil(paused_at(window, "chunk"), timeout=10000)
    assert window.flow.view.current_node == "body"
    editor = window.step_panel.current
    assert editor.chunk.toPlainText() == "you asked for /edited"
    assert not editor.chunk.isReadOnly() and not editor.drop.isChecked()
    key(window, Qt.Key.Key_F10)

    # closed: nothing to edit; F8 runs it to the end.
    qtbot.waitUntil(paused_at(window, "closed"), timeout=10000)
    assert window.flow.view.current_node == "close"
    key(window, Qt.Key.Key_F8)

    qtbot.waitUntil(client.done, timeout=10000)
    assert client.error is None
    reply = client.reply
    assert reply is not None and reply.status == 200
    assert reply.body == b"you asked for /edited"  # the app saw the edited PATH_INFO
    assert reply.headers["X-Lesson"] == "stepped"
    assert reply.headers["X-Added"] == "yes"

    # Afterwards: the edits are on the exchange, shown as a diff.
    wait_rows(qtbot, window, 1)
    qtbot.waitUntil(lambda: not window.stepper.pauses)
    x = window.store.get(window.current_id)
    assert [(e.phase, e.what) for e in x.edits] == [("received", "environ"),
                                                     ("start_response", "headers")]
    assert window.flow.view.current_node == ""
    view = window.flow.view
    assert view.node("environ").edited and view.node("start_response").edited
    assert not view.node("body").edited
    view.select_node("start_response")
    detail = window.flow.detail.toPlainText()
    assert "- X-Lesson: wsgi" in detail and "+ X-Lesson: stepped" in detail
    assert "+ X-Added: yes" in detail
    overview = window.overview.text("Edits")
    assert "PATH_INFO = /original" in overview and "PATH_INFO = /edited" in overview
    assert window.model.index(row, COL_BADGE).data() == ""


def test_several_paused_requests_each_keep_their_state_and_continue_all(
        qtbot, echo_window):
    window = echo_window
    window.stepper.set_breakpoints([BreakpointEntry("path:/hold/*")])
    free = http_request(window.url, path="/free")  # does not match: not paused
    assert free.body == b"you asked for /free"
    clients = [Client(window.url, "/hold/1"), Client(window.url, "/hold/2")]
    qtbot.waitUntil(lambda: len(window.stepper.pauses) == 2, timeout=10000)
    qtbot.waitUntil(paused_at(window, "received", 2))
    first = window.current_id
    second = next(r for r in window.stepper.pauses if r != first)
    for xid in (first, second):
        qtbot.waitUntil(lambda xid=xid: window.model.row_of(xid) is not None)
        badge = window.model.index(window.model.row_of(xid), COL_BADGE).data()
        assert badge == f"{pause_glyph()} received"
    # Type into the first one's environ, look at the second, come back: still there.
    table = window.step_panel.current.environ
    type_into_cell(qtbot, table, row_of(table, "HTTP_HOST"), 1, "example.org")
    window.select_id(second)
    assert window.step_panel.current.row == second
    assert "other request paused" in window.step_panel.title.text()
    window.select_id(first)
    assert window.step_panel.current.environ.item(row_of(table, "HTTP_HOST"), 1).text() \
        == "example.org"
    assert window.actions_by_name["continue_all"].shortcut().toString() == "Shift+F8"
    key(window, Qt.Key.Key_F8, Qt.KeyboardModifier.ShiftModifier)
    for client in clients:
        qtbot.waitUntil(client.done, timeout=10000)
        assert client.reply is not None and client.reply.status == 200
    assert sorted(c.reply.body for c in clients) == [b"you asked for /hold/1",
                                                     b"you asked for /hold/2"]
    qtbot.waitUntil(lambda: not window.stepper.pauses)
    wait_rows(qtbot, window, 3)


def test_abort_answers_502_or_cuts_the_connection(qtbot, echo_window):
    window = echo_window
    http_request(window.url, path="/warm-up")
    # A reload starts the agent's numbering again, the list's goes on: the commands
    # must carry the agent's id, not the row's.
    key(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.controller.status.state == "serving"
                    and window.controller.runner.app.generation == 2, timeout=20000)
    key(window, Qt.Key.Key_F9)
    client = Client(window.url, "/abort-me")
    qtbot.waitUntil(paused_at(window, "received"), timeout=10000)
    key(window, Qt.Key.Key_F10)
    qtbot.waitUntil(paused_at(window, "start_response"), timeout=10000)
    window.actions_by_name["abort_502"].trigger()  # the Abort ▾ button's first item
    qtbot.waitUntil(client.done, timeout=10000)
    assert client.reply is not None and client.reply.status == 502
    assert client.reply.body == b"Aborted in WSGI Inspector.\n"
    qtbot.waitUntil(lambda: not window.stepper.pauses)

    key(window, Qt.Key.Key_F9)
    cut = Client(window.url, "/cut-me")
    qtbot.waitUntil(paused_at(window, "received"), timeout=10000)
    window.actions_by_name["abort_drop"].trigger()
    qtbot.waitUntil(cut.done, timeout=10000)
    # No complete answer: the connection is closed under the client.
    assert cut.reply is None
    assert isinstance(cut.error, (http.client.HTTPException, ConnectionError))


def test_finding_caused_by_an_edit_is_marked(qtbot, echo_window):
    window = echo_window
    key(window, Qt.Key.Key_F9)
    client = Client(window.url, "/typeless")
    qtbot.waitUntil(paused_at(window, "received"), timeout=10000)
    key(window, Qt.Key.Key_F10)
    qtbot.waitUntil(paused_at(window, "start_response"), timeout=10000)
    headers = window.step_panel.current.headers
    headers.setFocus()
    headers.setCurrentCell(row_of(headers, "Content-Type"), 0)
    qtbot.keyClick(headers, Qt.Key.Key_Delete)  # remove the row
    assert window.step_panel.current.payload()["headers"][0][0] == "Content-Length"
    key(window, Qt.Key.Key_F8)
    qtbot.waitUntil(client.done, timeout=10000)
    assert client.reply is not None and "Content-Type" not in client.reply.headers
    wait_rows(qtbot, window, 1)
    xid = window.model.summary(0).id
    qtbot.waitUntil(lambda: len(window.store.get(xid).findings) >= 1)  # an info note
    window._show_current()
    text = window.findings.findings.toPlainText()
    assert "content-type-missing" in text and "(caused by your edit)" in text


def test_flow_view_of_a_completed_exchange(qtbot, make_window):
    window = make_window()  # the lesson's hello app, not stepped
    http_request(window.url, path="/lesson")
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    window.tabs.setCurrentWidget(window.flow)
    view = window.flow.view
    assert view.current_node == ""
    labels = dict(view.node_labels()[1:-1])  # both ends are "Browser"
    assert view.node_labels()[0] == ("Browser", "GET /lesson")
    assert labels["app(environ, start_response)"] == "called"
    assert labels["start_response(status, headers)"] == "200 OK · 2 headers"
    assert labels["chunk 1"] == "14 B"
    assert labels["close()"] == "called by the server"
    assert ("Browser", "200 OK · 14 B received") in view.node_labels()
    assert view.node("app").t is not None
    # Clicking a node shows its data.
    qtbot.waitUntil(lambda: view.isVisible() and view.width() > 0)
    rect = view.layout_nodes()["body"]
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.center().x()),
                                                                 int(rect.center().y())))
    assert view.selected_node == "body"
    assert "Hello, World!" in window.flow.detail.toPlainText()
    assert "PEP 3333: Buffering and Streaming" in window.flow.detail.toPlainText()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)  # walk the path with the keyboard
    assert view.selected_node == "close"
    assert "close()" in window.flow.detail.toPlainText()


def test_breakpoints_dialog_saves_and_arms(qtbot, echo_window, settings):
    window = echo_window
    dialog = BreakpointsDialog([BreakpointEntry("method:DELETE", enabled=False)], window)
    qtbot.addWidget(dialog)
    dialog.edit.setFocus()
    qtbot.keyClicks(dialog.edit, "method:POST path:/api/*")
    assert dialog.preview.text() == "Pauses: method POST, path matching /api/*"
    qtbot.keyClick(dialog.edit, Qt.Key.Key_Return)  # adds; the dialog stays open
    assert dialog.list.count() == 2 and dialog.edit.text() == ""
    window.stepper.set_breakpoints(dialog.entries())
    assert window.stepper.enabled_filters() == ["method:POST path:/api/*"]
    assert [(e.text, e.enabled) for e in load_breakpoints(settings)] == [
        ("method:DELETE", False), ("method:POST path:/api/*", True)]
    assert "1 breakpoint" in window.step_label.text()
    assert http_request(window.url, path="/api/x").status == 200  # a GET: not paused
    client = Client(window.url, "/api/books", method="POST")
    qtbot.waitUntil(paused_at(window, "received"), timeout=10000)
    key(window, Qt.Key.Key_F8)
    qtbot.waitUntil(client.done, timeout=10000)
    assert client.reply is not None and client.reply.body == b"you asked for /api/books"


def test_stepping_an_isolated_app_process(qtbot, make_window, tmp_path):
    """The same commands over the wire to the app's own process."""
    (tmp_path / "gui_echo_child.py").write_text(ECHO)
    window = make_window("gui_echo_child:app", app_dir=str(tmp_path), in_process=False,
                         reload=False)
    key(window, Qt.Key.Key_F9)
    client = Client(window.url, "/over-the-wire")
    qtbot.waitUntil(paused_at(window, "received"), timeout=20000)
    table = window.step_panel.current.environ
    type_into_cell(qtbot, table, row_of(table, "PATH_INFO"), 1, "/rewritten")
    key(window, Qt.Key.Key_F10, widget=table)
    qtbot.waitUntil(paused_at(window, "start_response"), timeout=20000)
    editor = window.step_panel.current
    editor.status.setFocus()
    editor.status.selectAll()
    qtbot.keyClicks(editor.status, "202 Accepted")
    key(window, Qt.Key.Key_F10, widget=editor.status)
    qtbot.waitUntil(paused_at(window, "chunk"), timeout=20000)
    editor = window.step_panel.current
    editor.drop.setFocus()
    qtbot.keyClick(editor.drop, Qt.Key.Key_Space)  # drop it
    assert editor.payload() == {"drop": True}
    key(window, Qt.Key.Key_F8)
    qtbot.waitUntil(client.done, timeout=20000)
    # The status line went out; dropping the only chunk left fewer body bytes than
    # Content-Length promised, so the client reads a short answer.
    assert client.reply is None
    assert isinstance(client.error, http.client.IncompleteRead)
    wait_rows(qtbot, window, 1)
    x = window.store.get(window.model.summary(0).id)
    assert [(e.phase, e.what) for e in x.edits] == [
        ("received", "environ"), ("start_response", "status"), ("chunk", "chunk 1")]
    assert x.status == "202 Accepted"
    assert any(f.edited for f in x.findings)  # the short body is the edit's doing


# -- the flow diagram's data and the list's badge, without a server ---------------------

def test_flow_nodes_collapse_chunks_mark_errors_and_pauses():
    from inspector.model import ExchangeBuilder
    from tests.factories import exchange_events, make_exchange
    from ui.flow_view import flow_nodes

    streamed = ExchangeBuilder()
    events = exchange_events(1, response_body=b"", end=False)
    for i in range(5):
        events.append({"type": "chunk", "id": 1, "t": 0.01 + i / 100, "size": 3 + i,
                       "data": b"x" * (3 + i), "via": "iter"})
    events.append({"type": "end", "id": 1, "t": 0.2, "closed": True, "size": 25})
    for event in events:
        streamed.apply(event)
    nodes = {n.key: n for n in flow_nodes(streamed.exchanges[1])}
    assert (nodes["body"].title, nodes["body"].label) == ("chunks \u00d75",
                                                          "25 B · 3\u20137 B each")
    assert all(n.state == "done" for n in nodes.values())

    failed = {n.key: n for n in flow_nodes(make_exchange(status=None,
                                                         error="ZeroDivisionError: no"))}
    assert failed["app"].state == "error" and failed["app"].label == "raised ZeroDivisionError"
    assert failed["start_response"].label == "never called"

    paused = ExchangeBuilder()
    for event in exchange_events(2, response_body=b"ab", end=False):
        paused.apply(event)
    paused.apply({"type": "paused", "id": 2, "t": 0.3, "phase": "chunk", "timeout": 300.0,
                  "data": b"next piece", "index": 2})
    x = paused.exchanges[2]
    nodes = {n.key: n for n in flow_nodes(x)}
    assert nodes["body"].state == "current"
    assert (nodes["body"].title, nodes["body"].label) == ("chunk 2", "10 B waiting · 1 sent")
    assert nodes["back"].state == "pending" and nodes["close"].state == "pending"


def test_model_badge_for_paused_rows(qtmodeltester):
    from inspector.host.store import Summary
    from ui.exchange_model import COL_DURATION, COL_STATUS, ExchangeModel

    model = ExchangeModel()
    model.reset([Summary(1, 1.0, "GET", "/", "", None, "", 0, None, 0, False, "paused"),
                 Summary(2, 2.0, "GET", "/x", "", 200, "text/plain", 5, 0.001, 1, False,
                         "complete")])
    model.set_paused({1: "start_response"})
    qtmodeltester.check(model, force_py=True)
    assert model.index(0, COL_BADGE).data() == f"{pause_glyph()} start_response"
    assert model.index(0, COL_STATUS).data() == "…"
    assert model.index(0, COL_DURATION).data() == "paused"
    assert model.index(0, 0).data(Qt.ItemDataRole.FontRole).italic()
    assert model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    model.set_paused({})
    assert model.index(0, COL_BADGE).data() == f"{pause_glyph()} paused"
