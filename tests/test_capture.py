"""The capture middleware records every exchange completely and faithfully.

Real waitress on 127.0.0.1 port 0, real sockets; each test waits for the
exchange to end through the event log, never by sleeping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
import sys
import threading
import urllib.parse
from typing import Any

import pytest

from inspector.model import (
    ST_COMPLETE,
    ST_FAILED,
    Exchange,
    ExchangeBuilder,
    from_jsonable,
    to_jsonable,
)
from tests.conftest import fetch, raw_exchange

# -- helpers -------------------------------------------------------------------




def without_date(response: bytes) -> bytes:
    return re.sub(rb"Date: [^\r\n]*\r\n", b"", response)


def request_bytes(target: str = "/", method: str = "GET") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


def read_all(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length)


def echo_digest(environ, start_response):
    """Reads the whole body; answers with its size and SHA-256."""
    data = read_all(environ)
    body = f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def only(log, count: int = 1) -> Exchange:
    exchanges = log.wait_ended(count)
    assert len(exchanges) == count
    return exchanges[-1]


# -- requests ------------------------------------------------------------------


def test_get_with_query_string(serve_inspected) -> None:
    def app(environ, start_response):
        args = urllib.parse.parse_qs(environ["QUERY_STRING"])
        body = json.dumps(args, sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    agent, log = serve_inspected(app)
    status, _, body = fetch(agent.server.effective_port, target="/search?q=w%C3%BCrst&n=2&n=3")
    assert status == 200
    assert json.loads(body) == {"q": ["würst"], "n": ["2", "3"]}

    x = only(log)
    assert x.state == ST_COMPLETE
    assert x.method == "GET"
    assert x.path == "/search"
    assert x.query == "q=w%C3%BCrst&n=2&n=3"
    assert x.environ["QUERY_STRING"] == ("q=w%C3%BCrst&n=2&n=3", "str")
    assert x.status == "200 OK" and x.status_code == 200
    assert x.header("content-type") == "application/json"
    assert x.response_body == body
    assert x.response_size == len(body)
    assert x.request_body == b"" and x.request_size == 0
    assert x.findings == []
    assert x.error is None


def test_post_form_urlencoded(serve_inspected) -> None:
    def app(environ, start_response):
        form = urllib.parse.parse_qs(read_all(environ).decode())
        body = f"hello {form['name'][0]}, {form['lang'][0]}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    agent, log = serve_inspected(app)
    form = urllib.parse.urlencode({"name": "Ada Lovelace", "lang": "en&fr"}).encode()
    status, _, body = fetch(agent.server.effective_port, "POST", "/form", form,
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body) == (200, b"hello Ada Lovelace, en&fr")

    x = only(log)
    assert x.method == "POST"
    assert x.request_body == form
    assert x.request_size == len(form)
    assert not x.request_truncated
    assert x.env("CONTENT_TYPE") == "application/x-www-form-urlencoded"
    assert x.env("CONTENT_LENGTH") == str(len(form))
    assert x.response_body == body
    assert x.state == ST_COMPLETE


def test_post_json(serve_inspected) -> None:
    def app(environ, start_response):
        data = json.loads(read_all(environ))
        body = json.dumps({"sum": sum(data["values"])}).encode()
        start_response("201 Created", [("Content-Type", "application/json"),
                                       ("Content-Length", str(len(body)))])
        return [body]

    agent, log = serve_inspected(app)
    payload = json.dumps({"values": [1, 2, 3, 4.5], "note": "é"}).encode()
    status, _, body = fetch(agent.server.effective_port, "POST", "/api/sum", payload,
                            {"Content-Type": "application/json"})
    assert status == 201 and json.loads(body) == {"sum": 10.5}

    x = only(log)
    assert x.status == "201 Created"
    assert x.request_body == payload
    assert json.loads(x.request_body) == {"values": [1, 2, 3, 4.5], "note": "é"}
    assert x.env("CONTENT_TYPE") == "application/json"
    assert json.loads(x.response_body) == {"sum": 10.5}


def test_post_multipart(serve_inspected) -> None:
    boundary = "----inspector-boundary-7MA4YWxkTrZu0gW"
    file_data = bytes(range(256)) * 3
    body = b"".join([
        f"--{boundary}\r\n".encode(),
        b'Content-Disposition: form-data; name="title"\r\n\r\n',
        b"My upload\r\n",
        f"--{boundary}\r\n".encode(),
        b'Content-Disposition: form-data; name="file"; filename="blob.bin"\r\n',
        b"Content-Type: application/octet-stream\r\n\r\n",
        file_data, b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ])

    def app(environ, start_response):
        ctype = environ["CONTENT_TYPE"]
        sep = b"--" + ctype.split("boundary=")[1].encode()
        data = read_all(environ)
        parts = [p for p in data.split(sep)[1:] if p not in (b"--\r\n", b"--")]
        names = []
        for part in parts:
            head, _, content = part.partition(b"\r\n\r\n")
            name = re.search(rb'name="([^"]+)"', head).group(1).decode()
            names.append(f"{name}={len(content) - 2}")
        out = " ".join(names).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(out)))])
        return [out]

    agent, log = serve_inspected(app)
    status, _, answer = fetch(agent.server.effective_port, "POST", "/upload", body,
                              {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert (status, answer) == (200, f"title=9 file={len(file_data)}".encode())

    x = only(log)
    assert x.request_body == body
    assert x.request_size == len(body)
    assert x.env("CONTENT_TYPE") == f"multipart/form-data; boundary={boundary}"
    assert file_data in x.request_body


def test_chunked_request_body_is_recorded_dechunked(serve_inspected) -> None:
    agent, log = serve_inspected(echo_digest)
    pieces = [b"Hello, ", b"chunked ", b"world" * 100, b"!"]
    data = b"".join(pieces)
    request = (b"POST /chunked HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n")
    response = raw_exchange(agent.server.effective_port, request)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()

    x = only(log)
    assert x.request_body == data
    assert x.request_size == len(data)
    # waitress de-chunks before the app runs and says so through CONTENT_LENGTH
    assert x.env("CONTENT_LENGTH") == str(len(data))


def test_request_body_beyond_cap(serve_inspected) -> None:
    agent, log = serve_inspected(echo_digest, request_cap=1024)
    data = bytes(i * 7 % 251 for i in range(50_000))
    status, _, body = fetch(agent.server.effective_port, "POST", "/big", data,
                            {"Content-Type": "application/octet-stream"})
    # the app still reads the whole body
    assert (status, body) == (200, f"50000 {hashlib.sha256(data).hexdigest()}".encode())

    x = only(log)
    assert x.request_body == data[:1024]
    assert x.request_size == 50_000
    assert x.request_truncated


# -- responses -----------------------------------------------------------------


def test_binary_response(serve_inspected) -> None:
    every_byte = bytes(range(256))

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", "256")])
        return [every_byte]

    agent, log = serve_inspected(app)
    status, _, body = fetch(agent.server.effective_port, target="/bytes")
    assert (status, body) == (200, every_byte)

    x = only(log)
    assert x.response_body == every_byte
    assert x.response_size == 256
    assert [c.size for c in x.chunks] == [256]


def test_streamed_response(serve_inspected) -> None:
    sizes = [(i * 37) % 500 + 1 for i in range(60)]

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        for i, size in enumerate(sizes):
            yield bytes([65 + i % 26]) * size

    agent, log = serve_inspected(app)
    expected = b"".join(bytes([65 + i % 26]) * size for i, size in enumerate(sizes))
    status, headers, body = fetch(agent.server.effective_port, target="/stream")
    assert status == 200 and body == expected
    assert headers["transfer-encoding"] == "chunked"

    x = only(log)
    assert len(x.chunks) == len(sizes)
    assert [c.size for c in x.chunks] == sizes
    assert all(c.via == "iter" for c in x.chunks)
    assert x.response_size == sum(sizes)
    assert x.response_body == expected
    assert [p.name for p in x.phases] == [
        "received", "app_called", "start_response", "chunk", "closed"]
    times = [p.t for p in x.phases]
    assert times == sorted(times)
    chunk_times = [c.t for c in x.chunks]
    assert chunk_times == sorted(chunk_times)
    assert x.phase_time("start_response") <= chunk_times[0]
    assert chunk_times[-1] <= x.phase_time("closed") <= x.duration
    assert x.state == ST_COMPLETE


def test_response_beyond_cap(serve_inspected) -> None:
    parts = [bytes([i]) * 700 for i in range(1, 8)]
    full = b"".join(parts)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(full)))])
        return iter(parts)

    agent, log = serve_inspected(app, response_cap=1000)
    status, _, body = fetch(agent.server.effective_port)
    assert (status, body) == (200, full)

    x = only(log)
    assert x.response_body == full[:1000]
    assert x.response_size == len(full)
    assert x.response_truncated
    assert [c.size for c in x.chunks] == [700] * 7


def test_head(serve_inspected, serve_plain) -> None:
    def app(environ, start_response):
        # waitress sends whatever the app yields, even for HEAD: frameworks send nothing
        body = b"a body the server must not send for HEAD"
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    request = request_bytes("/h", "HEAD")
    expected = raw_exchange(serve_plain(app).effective_port, request)
    agent, log = serve_inspected(app)
    response = raw_exchange(agent.server.effective_port, request)
    assert without_date(response) == without_date(expected)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Length: 40" in head
    assert body == b""

    x = only(log)
    assert x.method == "HEAD"
    assert x.status_code == 200
    assert x.header("Content-Length") == "40"
    assert x.response_size == 0
    assert x.findings == []  # a HEAD answer may declare a length it does not send
    assert x.state == ST_COMPLETE


def test_redirect(serve_inspected) -> None:
    def app(environ, start_response):
        start_response("302 Found", [("Location", "/elsewhere?x=1"),
                                     ("Content-Type", "text/plain"),
                                     ("Content-Length", "0")])
        return [b""]

    agent, log = serve_inspected(app)
    status, headers, body = fetch(agent.server.effective_port, target="/old")
    assert (status, headers["location"], body) == (302, "/elsewhere?x=1", b"")

    x = only(log)
    assert x.status == "302 Found" and x.status_code == 302
    assert x.header("location") == "/elsewhere?x=1"
    assert x.response_size == 0
    assert x.state == ST_COMPLETE


# -- failures: recorded, and the client gets what plain waitress gives ----------


def app_raising_in_call(environ, start_response):
    raise RuntimeError("boom in call")


def app_raising_in_iteration(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first part\n"
    raise ValueError("boom while iterating")


class CloseRaises:
    def __init__(self) -> None:
        self.items = [b"all of ", b"the body"]

    def __iter__(self):
        return iter(self.items)

    def close(self) -> None:
        close_method_that_raises()


def close_method_that_raises() -> None:
    raise OSError("boom in close")


def app_whose_close_raises(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return CloseRaises()


@pytest.mark.parametrize(("app", "phase", "exc_type", "function"), [
    (app_raising_in_call, "app_called", "RuntimeError", "app_raising_in_call"),
    (app_raising_in_iteration, "chunk", "ValueError", "app_raising_in_iteration"),
    (app_whose_close_raises, "closed", "OSError", "close_method_that_raises"),
])
def test_app_errors(serve_inspected, serve_plain, app, phase, exc_type, function) -> None:
    request = request_bytes("/fail")
    expected = raw_exchange(serve_plain(app).effective_port, request)
    agent, log = serve_inspected(app)
    got = raw_exchange(agent.server.effective_port, request)
    assert without_date(got) == without_date(expected)

    x = only(log)
    assert x.state == ST_FAILED
    assert x.error is not None
    assert x.error.phase == phase
    assert x.error.type == exc_type
    assert "boom" in x.error.message
    assert function in x.error.traceback
    assert x.error.traceback.startswith("Traceback (most recent call last):")
    assert "error" in [p.name for p in x.phases]
    assert x.duration is not None


@pytest.mark.parametrize(("declare_length", "offset"), [(False, 0), (True, 0), (False, 1000)])
def test_file_wrapper_passes_through(serve_inspected, serve_plain, tmp_path,
                                     declare_length, offset) -> None:
    path = tmp_path / "data.bin"
    data = bytes(range(256)) * 400
    path.write_bytes(data)
    sent = data[offset:]
    opened = []
    headers = [("Content-Type", "application/octet-stream")]
    if declare_length:  # as framework helpers such as Flask's send_file do
        headers.append(("Content-Length", str(len(sent))))

    def app(environ, start_response):
        start_response("200 OK", list(headers))
        f = path.open("rb")
        f.seek(offset)
        opened.append(f)
        return environ["wsgi.file_wrapper"](f, 8192)

    request = request_bytes("/file")
    expected = raw_exchange(serve_plain(app).effective_port, request)
    agent, log = serve_inspected(app)
    got = raw_exchange(agent.server.effective_port, request)
    assert without_date(got) == without_date(expected)
    assert got.endswith(b"\r\n\r\n" + sent)
    assert f"Content-Length: {len(sent)}".encode() in got

    x = only(log)
    assert x.file_wrapper is True
    assert x.response_size == len(sent)
    assert x.chunks == []
    assert x.findings == []
    assert x.state == ST_COMPLETE
    assert all(f.closed for f in opened)


def test_one_item_iterable_gets_content_length(serve_inspected, serve_plain) -> None:
    class OneItem:
        def __init__(self) -> None:
            self.items = [b"sized by the server"]

        def __iter__(self):
            return iter(self.items)

        def __len__(self) -> int:
            return 1

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return OneItem()

    request = request_bytes("/one")
    expected = raw_exchange(serve_plain(app).effective_port, request)
    assert b"Content-Length: 19\r\n" in expected  # waitress's own behaviour
    agent, log = serve_inspected(app)
    got = raw_exchange(agent.server.effective_port, request)
    assert without_date(got) == without_date(expected)
    assert b"Transfer-Encoding" not in got
    assert only(log).response_size == 19


def test_close_called_exactly_once(serve_inspected) -> None:
    closes = []

    class Counted:
        def __iter__(self):
            yield b"counted"

        def close(self) -> None:
            closes.append(threading.current_thread().name)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
        return Counted()

    agent, log = serve_inspected(app)
    assert fetch(agent.server.effective_port)[2] == b"counted"
    x = only(log)
    assert len(closes) == 1
    assert [p.name for p in x.phases].count("closed") == 1
    assert x.findings == []


def test_write_callable_recorded(serve_inspected) -> None:
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        write(b"twice, ")
        return [b"then returned"]

    agent, log = serve_inspected(app)
    status, _, body = fetch(agent.server.effective_port)
    assert (status, body) == (200, b"written twice, then returned")

    x = only(log)
    assert [(c.size, c.via) for c in x.chunks] == [(8, "write"), (7, "write"), (13, "iter")]
    assert x.response_body == b"written twice, then returned"
    assert x.response_size == len(body)


# -- what is recorded about the request ----------------------------------------


def test_environ_snapshot_has_every_key_with_type(serve_inspected) -> None:
    seen: dict[str, tuple[str, str]] = {}

    def app(environ, start_response):
        for key, value in environ.items():
            seen[key] = (value if type(value) is str else repr(value), type(value).__name__)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    # lint off: the app sees the very environ the server built, object for object
    agent, log = serve_inspected(app, lint=False)
    fetch(agent.server.effective_port, target="/env?k=v", headers={"X-Custom": "yes"})
    x = only(log)
    # Per-request objects are shown by type: their repr is only an address.
    by_type = {"wsgi.input", "waitress.client_disconnected"}
    assert {k: v for k, v in x.environ.items() if k not in by_type} == {
        k: v for k, v in seen.items() if k not in by_type}
    assert set(x.environ) == set(seen)
    assert x.environ["waitress.client_disconnected"] == (
        "<method HTTPChannel.check_client_disconnected>", "method")
    assert x.environ["wsgi.input"] == ("<BytesIO>", "BytesIO")
    assert x.environ["HTTP_X_CUSTOM"] == ("yes", "str")
    assert x.environ["wsgi.version"] == ("(1, 0)", "tuple")
    assert x.environ["wsgi.multithread"] == ("True", "bool")
    assert x.environ["wsgi.input"][1] == "BytesIO"
    assert x.environ["wsgi.file_wrapper"][1] == "type"


def test_environ_snapshot_shows_the_server_streams_under_lint(serve_inspected) -> None:
    types: dict[str, str] = {}

    def app(environ, start_response):
        types["input"] = type(environ["wsgi.input"]).__name__
        types["errors"] = type(environ["wsgi.errors"]).__name__
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    agent, log = serve_inspected(app)
    fetch(agent.server.effective_port, "POST", "/", b"data")
    x = only(log)
    # the app sees the server's own stream, and the record names the types it saw
    assert types["input"] == "BytesIO"
    assert x.environ["wsgi.input"][1] == "BytesIO"
    assert x.environ["wsgi.errors"][1] == types["errors"]
    assert set(x.environ) >= {"REQUEST_METHOD", "PATH_INFO", "SERVER_NAME", "SERVER_PORT",
                              "SERVER_PROTOCOL", "REMOTE_ADDR", "wsgi.url_scheme",
                              "wsgi.errors", "wsgi.multiprocess", "wsgi.run_once"}


def test_client_address_and_thread(serve_inspected) -> None:
    threads = []

    def app(environ, start_response):
        threads.append(threading.current_thread().name)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    agent, log = serve_inspected(app)
    with socket.create_connection(("127.0.0.1", agent.server.effective_port)) as sock:
        client_port = sock.getsockname()[1]
        sock.sendall(request_bytes())
        while sock.recv(4096):
            pass
    x = only(log)
    assert x.client == f"127.0.0.1:{client_port}"
    assert x.thread == threads[0]
    assert x.thread
    assert x.start > 0


# -- plain data round trips -----------------------------------------------------


def rich_app(environ, start_response):
    """Output, findings, a start_response with exc_info and a failing close()."""
    print("printed", "line")
    logging.getLogger("rich").warning("careful: %d", 3)
    start_response("200 OK", [("Status", "200 OK")])  # a finding (header-status)
    try:
        raise KeyError("missing")
    except KeyError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                       sys.exc_info())
    return CloseRaises()


def test_exchange_to_dict_round_trip(serve_inspected) -> None:
    agent, log = serve_inspected(rich_app)
    raw_exchange(agent.server.effective_port,
                 b"POST /rich?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                 b"Content-Length: 4\r\n\r\n\x00\xff\x10\x80")
    x = only(log)
    # the exchange holds every kind of record
    assert x.request_body == b"\x00\xff\x10\x80"
    assert len(x.start_response) == 2 and "KeyError" in x.start_response[1].exc_info
    assert x.findings and x.output and x.error and x.chunks

    data = x.to_dict()
    text = json.dumps(data)
    again = Exchange.from_dict(json.loads(text))
    assert again == x
    assert again.to_dict() == data


def test_events_jsonable_round_trip(serve_inspected) -> None:
    agent, log = serve_inspected(rich_app)
    raw_exchange(agent.server.effective_port,
                 b"PUT /bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                 b"Content-Length: 3\r\n\r\n\xde\xad\xbe")
    x = only(log)
    events = list(log.events)
    assert any(isinstance(v, bytes) and v for ev in events for v in ev.values())

    builder = ExchangeBuilder()
    for event in events:
        assert from_jsonable(to_jsonable(event)) == event
        wire = json.loads(json.dumps(to_jsonable(event)))
        back = from_jsonable(wire)
        assert {k: v for k, v in back.items() if isinstance(v, bytes)} == {
            k: v for k, v in event.items() if isinstance(v, bytes)}
        builder.apply(back)
    assert builder.exchanges[x.id].to_dict() == x.to_dict()
    assert builder.exchanges[x.id].request_body == b"\xde\xad\xbe"


# -- fewer messages per exchange ------------------------------------------------------

def _exchange_events(log) -> list[dict[str, Any]]:
    # Process-lane lines (id None) may come from another test's server stopping.
    return [e for e in log.events if e.get("id") is not None]


def _kinds(log) -> list[str]:
    return [e["type"] if e["type"] != "phase" else f"phase:{e['name']}"
            for e in _exchange_events(log)]


def test_a_returned_list_travels_as_begin_and_end(serve_inspected) -> None:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"hello", b"world"]

    agent, log = serve_inspected(app)
    assert fetch(agent.server.effective_port)[2] == b"helloworld"
    x = only(log)
    assert _kinds(log) == ["begin", "end"]
    assert [p.name for p in x.phases] == [
        "received", "app_called", "start_response", "chunk", "closed"]
    assert x.status == "200 OK" and x.header("Content-Length") == "10"
    assert [c.size for c in x.chunks] == [5, 5] and x.response_body == b"helloworld"
    assert x.findings == []


def test_start_response_travels_with_the_first_chunk(serve_inspected) -> None:
    seen_before_second: list[list[str]] = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first"
        seen_before_second.append(_kinds(log))  # what had gone out by now: the stream is live
        yield b"second"

    agent, log = serve_inspected(app)
    assert fetch(agent.server.effective_port)[2] == b"firstsecond"
    x = only(log)
    assert seen_before_second == [["begin", "chunk"]]
    assert "start_response" in _exchange_events(log)[1]
    assert _kinds(log) == ["begin", "chunk", "chunk", "end"]
    assert [p.name for p in x.phases] == [
        "received", "app_called", "start_response", "chunk", "closed"]
    assert x.status == "200 OK"


def test_an_error_after_start_response_keeps_the_phase_order(serve_inspected) -> None:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("after start_response")

    agent, log = serve_inspected(app)
    assert fetch(agent.server.effective_port)[0] == 500
    x = only(log)
    assert _kinds(log)[:3] == ["begin", "phase:start_response", "error"]
    assert [p.name for p in x.phases][:4] == [
        "received", "app_called", "start_response", "error"]
    assert x.error is not None and x.error.type == "RuntimeError"


def test_lint_remembers_only_clean_responses(serve_inspected) -> None:
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/bad":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "close")])
        else:
            start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"x"]

    agent, log = serve_inspected(app)
    port = agent.server.effective_port
    for target in ("/", "/", "/bad", "/bad"):
        fetch(port, target=target)
    exchanges = log.wait_ended(4)
    codes = [[f.code for f in x.findings] for x in exchanges]
    assert codes == [[], [], ["header-hop-by-hop"], ["header-hop-by-hop"]]
