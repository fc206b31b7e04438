"""Where the merged pieces meet in the window: a request waitress answered on its
own, Copy as curl and Save raw with and without secrets, time paused while stepping."""

from __future__ import annotations

import socket

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from inspector.model import ExchangeBuilder
from tests.factories import exchange_events, make_exchange
from tests.gui.gui_helpers import http_request, wait_rows
from ui.exchange_model import COL_BADGE, COL_METHOD, COL_PATH, display_texts, tooltip
from ui.flow_view import flow_nodes


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def test_a_malformed_request_is_listed_as_the_servers_answer(qtbot, make_window) -> None:
    window = make_window()
    with socket.create_connection(("127.0.0.1", _port(window.url)), timeout=10) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        while sock.recv(65536):
            pass
    wait_rows(qtbot, window, 1)
    s = window.model.summary(0)
    texts = display_texts(s)
    assert texts[COL_PATH] == "(malformed request) NONSENSE"
    assert texts[4] == "400" and "waitress" in texts[COL_BADGE]
    for col in (COL_METHOD, COL_PATH, COL_BADGE):
        assert "Answered by waitress; the app was not called" in (tooltip(s, col) or "")
    window.select_id(s.id)
    overview = window.overview
    assert overview.text("Request") == "NONSENSE"
    assert overview.text("State") == "answered by waitress; the app was not called"
    assert overview.text("Response body").startswith("none from the app (waitress sent")
    nodes = {n.key: n for n in flow_nodes(window.current_exchange())}
    assert nodes["app"].label == "not called: waitress answered on its own"
    assert nodes["browser"].label == "NONSENSE"
    assert nodes["server"].label == "refused the request: answered on its own"
    assert nodes["body"].label == "none from the app" and nodes["body"].state == "pending"
    assert nodes["back"].label.startswith("400 Bad Request")


def test_a_died_exchange_reads_no_reply_in_the_flow() -> None:
    builder = ExchangeBuilder()
    for event in exchange_events(3, status=None, end=False):
        builder.apply(event)
    message = "The app's process exited with code 3 while serving this request."
    builder.apply({"type": "error", "id": 3, "t": 0.01, "phase": "error",  # as the host does
                   "exc_type": "ProcessDied", "message": message, "traceback": message})
    builder.apply({"type": "end", "id": 3, "t": 0.01, "closed": False, "size": 0,
                   "dropped": True})
    nodes = {n.key: n for n in flow_nodes(builder.exchanges[3])}
    assert nodes["back"].label == "no reply: the connection dropped"
    assert nodes["app"].label == "process died"
    assert nodes["body"].label == "no chunk: the process died"


def test_markup_in_a_path_is_shown_as_text(qtbot, make_window) -> None:
    window = make_window()
    http_request(window.url, path="/%3Cb%3Ebold%3C/b%3E")
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    label = window.overview.labels["Request"]
    assert label.text().startswith("GET /<b>bold</b>")
    assert label.textFormat() == Qt.TextFormat.PlainText


def test_copy_as_leaves_secrets_out_unless_asked_and_the_edit_menu_has_it_once(
        qtbot, make_window) -> None:
    window = make_window()
    http_request(window.url, path="/", headers={"Authorization": "Bearer s3cret",
                                                "Cookie": "sid=abc123"})
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    clipboard = QGuiApplication.clipboard()
    copy = window.loop.copy
    copy.format_actions["curl"].trigger()
    plain = clipboard.text()
    assert "\ncurl " in plain and "[redacted]" in plain
    assert "s3cret" not in plain and "abc123" not in plain
    copy.secrets.setChecked(True)
    copy.format_actions["curl"].trigger()
    assert "Bearer s3cret" in clipboard.text() and "sid=abc123" in clipboard.text()
    copy.secrets.setChecked(False)
    # Each way to copy or save an exchange is in the Edit menu once: Copy As ▸ holds
    # cURL and raw HTTP (with Keep Secrets), no separate curl or raw entries beside it.
    edit = window.menuBar().actions()[1].menu()
    texts = [a.text().replace("&", "") for a in edit.actions() if not a.isSeparator()]
    assert len(texts) == len(set(texts))
    assert "Copy As" in texts
    assert not [t for t in texts if "curl" in t.lower() or "raw" in t.lower()]


def test_the_timeline_says_apart_the_time_paused(qtbot) -> None:
    from ui.timeline import TimelineWidget

    widget = TimelineWidget()
    qtbot.addWidget(widget)
    x = make_exchange()
    x.paused_time, x.duration = 2.0, 2.004
    widget.set_exchange(x)
    note = widget.pause_note()
    assert "2.00 s of this was paused by you while stepping" in note
    assert "the app and server took 4.00 ms" in note and note in widget.toolTip()
    widget.set_exchange(make_exchange())
    assert widget.pause_note() == ""


def _has_colour(widget, colour: str) -> bool:
    """Whether some pixel of the widget is (nearly: text is antialiased) ``colour``."""
    from PySide6.QtGui import QColor

    image = widget.grab().toImage()
    want = QColor(colour)
    for x in range(image.width()):
        for y in range(image.height()):
            got = image.pixelColor(x, y)
            if max(abs(got.red() - want.red()), abs(got.green() - want.green()),
                   abs(got.blue() - want.blue())) < 24:
                return True
    return False


def test_the_url_link_follows_a_switch_to_dark(qtbot, make_window) -> None:
    from ui import theme

    window = make_window()
    dark = theme.dark_palette()
    link = dark.color(dark.ColorRole.Link).name()
    assert not _has_colour(window.url_label, link)
    app = QApplication.instance()
    light = app.palette()
    app.setPalette(dark)  # as a light -> dark switch of the system does
    try:
        qtbot.waitUntil(lambda: _has_colour(window.url_label, link), timeout=5000)
    finally:
        app.setPalette(light)


def test_a_client_that_hung_up_is_said_in_the_overview(qtbot, make_window, tmp_path) -> None:
    (tmp_path / "gui_stream_app.py").write_text(
        "import time\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    def body():\n"
        "        for _ in range(2000):\n"
        "            yield b'x' * 65536\n"
        "            time.sleep(0.001)\n"
        "    return body()\n")
    window = make_window("gui_stream_app:app", app_dir=str(tmp_path))
    with socket.create_connection(("127.0.0.1", _port(window.url)), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536)  # the head and a first piece, then hang up
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    assert window.current_exchange().client_disconnected
    text = window.overview.text("Status")
    assert text.startswith("200 OK (the client hung up after ") and "body bytes)" in text
