"""The wire side: what the client actually got, recorded at waitress's own seam.

Real waitress on 127.0.0.1 port 0 under the Agent, real sockets; every test
compares the record with the bytes a raw socket received.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from typing import Any

import pytest

from inspector.host import summaryfilter
from inspector.host.export import from_har, to_har
from inspector.host.store import Store, summarize
from inspector.model import Exchange
from tests.conftest import raw_exchange

# -- helpers -------------------------------------------------------------------


def request(path: str = "/", method: str = "GET", extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}"
            "Connection: close\r\n\r\n").encode()


def split(response: bytes) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers (lower-case names) and what followed the head."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
    return lines[0], headers, body


def one(log, count: int = 1) -> Exchange:
    exchanges = log.wait_ended(count)
    assert len(exchanges) == count
    return exchanges[-1]


def har_round_trip(x: Exchange) -> tuple[dict[str, Any], Exchange]:
    har = to_har([x])
    entry = har["log"]["entries"][0]
    return entry, from_har(har)[0]


DATA = bytes(range(256)) * 11  # 2816 bytes, every offset distinguishable


# -- waitress's own 500 ------------------------------------------------------------


def raise_before_start_response(environ, start_response):
    raise ValueError("no status chosen")


def raise_before_first_chunk(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body():
        raise ValueError("the generator failed first")
        yield b"never"

    return body()


def hop_by_hop_header(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "keep-alive")])
    return [b"hello"]


@pytest.mark.parametrize("app,app_status", [
    (raise_before_start_response, ""),
    (raise_before_first_chunk, "200 OK"),
    (hop_by_hop_header, "200 OK"),
])
def test_waitress_answered_500_is_the_status(serve_inspected, app, app_status) -> None:
    agent, log = serve_inspected(app)
    status, headers, body = split(raw_exchange(agent.server.effective_port, request()))
    assert status == "HTTP/1.1 500 Internal Server Error"

    x = one(log)
    assert x.status == "500 Internal Server Error" and x.status_code == 500
    assert x.app_status == app_status  # the app's own answer, kept beside it
    assert x.wire_size == len(body) == int(headers["content-length"])
    assert x.sent_body == body and x.client_body == body
    assert summarize(x).status == 500 and summarize(x).response_size == len(body)
    assert summaryfilter.parse("status:5xx")(summarize(x))

    saved = Exchange.from_dict(json.loads(json.dumps(x.to_dict())))
    assert (saved.status, saved.headers, saved.sent_body) == (x.status, x.headers, body)

    entry, back = har_round_trip(x)
    assert entry["response"]["status"] == 500
    assert entry["response"]["bodySize"] == len(body)
    assert entry["response"]["content"]["size"] == len(body)
    assert entry["_wsgi"]["app_response"]["status"] == app_status
    assert entry["_wsgi"]["client_disconnected"] is False
    assert (back.status, back.app_status, back.sent_body) == (x.status, app_status, body)


# -- file_wrapper ---------------------------------------------------------------------


class SlicedFile:
    """Like WhiteNoise's: a slice of a file that can only read and close
    (no fileno, no seek), so waitress iterates it."""

    def __init__(self, data: bytes, start: int, length: int) -> None:
        self._stream = io.BytesIO(data[start:start + length])

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def close(self) -> None:
        self._stream.close()


def file_app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/range":  # a Range answer: seek, then a Content-Length shorter than the rest
        f: Any = io.BytesIO(DATA)
        f.seek(200)
        status, length = "206 Partial Content", 40
    elif path == "/short":  # Content-Length shorter than the file: waitress sends that much
        f, status, length = io.BytesIO(DATA), "200 OK", 100
    else:
        f, status, length = SlicedFile(DATA, 300, 50), "206 Partial Content", 50
    start_response(status, [("Content-Type", "application/octet-stream"),
                            ("Content-Length", str(length))])
    return environ["wsgi.file_wrapper"](f, 16)


@pytest.mark.parametrize("path,expected", [
    ("/range", DATA[200:240]),
    ("/short", DATA[:100]),
    ("/sliced", DATA[300:350]),
], ids=["range", "short", "sliced"])
def test_file_wrapper_records_the_bytes_sent(serve_inspected, path, expected) -> None:
    agent, log = serve_inspected(file_app)
    _, _, body = split(raw_exchange(agent.server.effective_port, request(path)))
    assert body == expected

    x = one(log)
    assert x.file_wrapper
    assert x.wire_size == x.client_size == len(expected)
    assert x.sent_body == expected  # the file's bytes, captured
    assert [f.code for f in x.findings] == []  # no false content-length-mismatch
    assert summarize(x).response_size == len(expected)
    entry, back = har_round_trip(x)
    assert entry["response"]["bodySize"] == len(expected)
    assert back.sent_body == expected and back.wire_size == len(expected)


# -- Content-Length cuts, HEAD ---------------------------------------------------------


def too_long(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"abcdefghijklmnopqrstuvwxyz"]


def test_content_length_cuts_what_went_out(serve_inspected) -> None:
    agent, log = serve_inspected(too_long)
    _, _, body = split(raw_exchange(agent.server.effective_port, request()))
    assert body == b"abcde"

    x = one(log)
    assert (x.response_size, x.wire_size, x.sent_body) == (26, 5, b"abcde")
    assert "content-length-mismatch" in [f.code for f in x.findings]  # the app's real fault
    entry, back = har_round_trip(x)
    assert entry["response"]["bodySize"] == 5
    assert entry["response"]["content"]["text"] == "abcde"
    assert entry["_wsgi"]["app_response"]["size"] == 26
    assert (back.response_body, back.sent_body) == (x.response_body, b"abcde")


def head_with_body(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"hello, world"]


def test_head_answer_has_no_body_for_the_client(serve_inspected) -> None:
    agent, log = serve_inspected(head_with_body)
    raw = raw_exchange(agent.server.effective_port, request(method="HEAD"))
    _, headers, after_head = split(raw)
    assert headers["content-length"] == "12"

    x = one(log)
    assert x.wire_size == len(after_head)  # waitress does put the app's bytes out
    assert (x.client_size, x.client_body) == (0, b"")  # a client reads none after HEAD
    entry, back = har_round_trip(x)
    assert entry["response"]["bodySize"] == 0
    assert entry["response"]["content"]["size"] == 0
    assert entry["_wsgi"]["app_response"]["size"] == 12
    assert back.client_size == 0 and back.response_body == b"hello, world"


# -- the headers waitress adds ------------------------------------------------------------


def chunked_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return iter([b"one ", b"two"])


def test_headers_waitress_adds_are_recorded(serve_inspected) -> None:
    agent, log = serve_inspected(chunked_app)
    status, headers, _ = split(raw_exchange(agent.server.effective_port, request()))

    x = one(log)
    sent = {k.lower(): v for k, v in x.headers}
    assert sent == headers  # Date, Server, Transfer-Encoding, Connection: all of them
    assert {"date", "server", "transfer-encoding", "connection"} <= set(sent)
    assert [n for n, _ in x.app_headers] == ["Content-Type"]
    assert x.wire_version + " " + x.status == status
    assert (x.wire_size, x.sent_body) == (7, b"one two")  # de-chunked
    entry, _ = har_round_trip(x)
    har_headers = {h["name"].lower(): h["value"] for h in entry["response"]["headers"]}
    assert har_headers == headers
    assert entry["response"]["headersSize"] == x.wire_head_size > 0
    assert "app_response" not in entry["_wsgi"]  # same status and body: only headers added
    assert entry["_wsgi"]["start_response"][0]["headers"] == [
        {"name": "Content-Type", "value": "text/plain"}]  # the app's own, as always


# -- a client that hangs up -------------------------------------------------------------------


def test_client_hanging_up_mid_stream(serve_inspected) -> None:
    gone = threading.Event()
    piece = b"x" * 65536

    def stream(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def body():
            yield piece
            gone.wait(10)
            for _ in range(2000):  # stops as soon as waitress sees the client gone
                yield piece
        return body()

    agent, log = serve_inspected(stream)
    with socket.create_connection(("127.0.0.1", agent.server.effective_port), 10) as sock:
        sock.sendall(request())
        received = b""
        while len(received) < 1000:
            received += sock.recv(65536)
        # Reset, not a polite close: the server's next send fails at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    gone.set()

    x = one(log)
    assert x.client_disconnected
    assert x.wire_size is not None and x.wire_size < x.response_size < 2001 * len(piece)
    entry, back = har_round_trip(x)
    assert entry["_wsgi"]["client_disconnected"] is True
    assert back.client_disconnected and back.wire_size == x.wire_size


# -- waitress's answers to requests it could not parse ------------------------------------------


def never_called(environ, start_response):  # pragma: no cover - must not run
    raise AssertionError("the app was called")


MALFORMED = [
    (b"NONSENSE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n", 431),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n" + b"z" * 50, 413),
]


@pytest.mark.parametrize("raw,code", MALFORMED, ids=[str(code) for _, code in MALFORMED])
def test_server_answers_are_recorded(serve_inspected, raw, code) -> None:
    agent, log = serve_inspected(never_called, max_request_header_size=2048,
                                 max_request_body_size=10)
    response = raw_exchange(agent.server.effective_port, raw)
    status, headers, body = split(response)
    assert status.split(" ")[1] == str(code)

    x = one(log)
    assert x.server_only and x.start_response == [] and x.error is None
    assert x.status_code == code and x.status == status.split(" ", 1)[1]
    assert x.sent_body == body and x.wire_size == len(body)
    assert {k.lower(): v for k, v in x.headers} == headers
    assert summarize(x).status == code
    if code == 413:
        assert (x.method, x.path, x.request_line) == ("POST", "/up", "POST /up HTTP/1.1")
    entry, back = har_round_trip(x)
    assert entry["response"]["status"] == code and entry["_wsgi"]["server_only"] is True
    assert back.server_only and back.status_code == code and back.sent_body == body


# -- a real framework -----------------------------------------------------------------------------


def test_flask_view_raising_answers_500_and_matches_5xx(serve_inspected, tmp_path) -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("wireside_flask")
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.route("/fail")
    def fail() -> str:
        raise ZeroDivisionError("the view failed")

    agent, log = serve_inspected(app)
    status, _, _ = split(raw_exchange(agent.server.effective_port, request("/fail")))
    assert status == "HTTP/1.1 500 Internal Server Error"
    x = one(log)
    assert x.error is not None and x.error.type == "ZeroDivisionError"

    # Through the session store, as the window and the command line see it.
    session = tmp_path / "flask.wsgi-session"
    with Store(session, interval=0.01) as store:
        for event in log.events:
            store.put(event)
        assert store.flush(10)
    with Store.open(session) as reopened:
        [summary] = reopened.summaries()
        assert summary.status == 500 and summary.error
        assert summaryfilter.parse("status:5xx")(summary)
        assert not summaryfilter.parse("-status:5xx")(summary)
        saved = reopened.get(summary.id)
        assert (saved.status, saved.app_status) == ("500 Internal Server Error", "")
        assert saved.sent_body.startswith(b"Internal Server Error")
