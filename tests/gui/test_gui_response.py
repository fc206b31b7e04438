"""The Response pane shows what the client got, switches to what the app
returned, and points out the difference in one line. Exchanges come from the
real agent and waitress over real sockets."""

from __future__ import annotations

import pytest

from inspector.model import Exchange
from tests.conftest import raw_exchange
from ui.panes.response import APP, CLIENT, ResponsePane


def request(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/raise":
        raise ValueError("no status chosen")
    body = b"abcdefghijklmnopqrstuvwxyz"
    length = "5" if path == "/cut" else str(len(body))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", length)])
    return [body]


def exchange(serve_inspected, path: str, method: str = "GET") -> Exchange:
    agent, log = serve_inspected(app)
    raw_exchange(agent.server.effective_port, request(path, method))
    return log.wait_ended(1)[-1]


@pytest.fixture
def pane(qtbot) -> ResponsePane:
    widget = ResponsePane()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    return widget


def header_names(pane: ResponsePane) -> list[str]:
    return [row[0] for row in pane.headers.rows()]


def test_raised_app_shows_waitress_500_then_the_apps_nothing(pane, serve_inspected) -> None:
    x = exchange(serve_inspected, "/raise")
    pane.show_exchange(x)
    assert pane.showing == CLIENT
    assert pane.status.text() == "HTTP/1.1 500 Internal Server Error"
    assert "waitress answered 500: the app raised before start_response" in \
        pane.difference.text()
    assert {"Date", "Server", "Content-Length"} <= set(header_names(pane))
    assert "110 bytes" in pane.body.info.text()

    pane.show_side(APP)
    assert pane.status.text() == "(no status)"
    assert header_names(pane) == []


def test_cut_body_and_head(pane, serve_inspected) -> None:
    pane.show_exchange(exchange(serve_inspected, "/cut"))
    assert "Content-Length 5: 21 bytes were cut" in pane.difference.text()
    assert "5 bytes" in pane.body.info.text()
    pane.show_side(APP)
    assert "26 bytes" in pane.body.info.text()


def test_head_and_added_headers(pane, serve_inspected) -> None:
    pane.show_exchange(exchange(serve_inspected, "/", "HEAD"))
    assert "HEAD: a client reads no body" in pane.difference.text()
    assert pane.body.info.text() == "HEAD: a client reads no body."


def test_same_answer_names_the_added_headers(pane, serve_inspected) -> None:
    pane.show_exchange(exchange(serve_inspected, "/"))
    assert pane.difference.text().startswith("The same status and body; the server added")
    assert "Date" in pane.difference.text() and "Server" in pane.difference.text()
    assert pane.client_button.isVisible() and pane.app_button.isVisible()


def test_without_a_wire_record_only_the_apps_side(pane) -> None:
    old = Exchange(1)  # e.g. from an older session: no wire side
    pane.show_exchange(old)
    assert not pane.client_button.isVisible()
    assert pane.difference.isHidden()
