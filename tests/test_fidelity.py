"""Byte for byte, the client gets from the inspected server what plain waitress sends.

Each case sends the same raw request to waitress alone and to waitress under
capture, and compares the raw responses once the ``Date`` lines are removed.
"""

from __future__ import annotations

import io
import re
import sys

import pytest

from tests.conftest import raw_exchange

BINARY = bytes(range(256)) * 4
LARGE = bytes(i % 253 for i in range(64 * 1024))  # 24 of these: 1.5 MiB


def hello_with_length(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def one_item_no_length(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"waitress adds the Content-Length"]


def generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(20):
        yield f"line {i}\n".encode()


def empty_body(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return []


def no_content(environ, start_response):
    start_response("204 No Content", [])
    return [b""]


def not_modified(environ, start_response):
    start_response("304 Not Modified", [("ETag", '"abc"')])
    return []


def head_aware(environ, start_response):
    body = b"<h1>not sent for HEAD</h1>"
    start_response("200 OK", [("Content-Type", "text/html"),
                              ("Content-Length", str(len(body)))])
    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]


def binary(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(BINARY)))])
    return [BINARY]


def large_streamed(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for _ in range(24):
        yield LARGE


def large_single(environ, start_response):
    body = LARGE * 20
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


def echo_path(environ, start_response):
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def str_return(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return "a str, not bytes"


def raising(environ, start_response):
    raise RuntimeError("the app fails")


def file_wrapper(environ, start_response):
    import io

    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](io.BytesIO(BINARY), 1000)


def write_based(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"from write(), ")
    write(b"twice; ")
    return [b"then the iterable"]


def stream_types(environ, start_response):
    """What an app can find out about the two streams waitress hands it."""
    errors = environ["wsgi.errors"]
    facts = [
        repr(type(environ["wsgi.input"])),
        repr(type(environ["wsgi.errors"])),
        repr(isinstance(errors, io.TextIOWrapper)),
        repr(errors),
        repr(errors is sys.stderr),
        repr((errors.encoding, errors.errors, errors.fileno(), errors.isatty())),
        repr(type(errors.buffer)),
        repr(environ["wsgi.input"].read()),
    ]
    body = "\n".join(facts).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def close_request(target: str = "/", method: str = "GET") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


HTTP10 = b"GET /old HTTP/1.0\r\nHost: localhost\r\n\r\n"
FORM_POST = (b"POST /form HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\n"
             b"a=1&b=2")
PIPELINED = (b"GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n"
             b"GET /second HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")

CASES = {
    # name: (app, request, something the response must contain)
    "hello-with-length": (hello_with_length, close_request(), b"Content-Length: 14\r\n"),
    "one-item-no-length": (one_item_no_length, close_request(), b"Content-Length: 32\r\n"),
    "generator-chunked": (generator, close_request(), b"Transfer-Encoding: chunked\r\n"),
    "generator-http10": (generator, HTTP10, b"line 19\n"),
    "empty-body": (empty_body, close_request(), b"HTTP/1.1 200 OK\r\n"),
    "204": (no_content, close_request(), b"HTTP/1.1 204 No Content\r\n"),
    "304": (not_modified, close_request(), b"HTTP/1.1 304 Not Modified\r\n"),
    "head": (head_aware, close_request("/", "HEAD"), b"Content-Length: 26\r\n"),
    "binary": (binary, close_request(), BINARY),
    "large-streamed": (large_streamed, close_request(), LARGE),
    "large-single": (large_single, close_request(), b"Content-Length: 1310720\r\n"),
    "keep-alive-pipelined": (echo_path, PIPELINED, b"/second"),
    "str-return": (str_return, close_request(), b"HTTP/1.1"),
    "raising": (raising, close_request(), b"500 Internal Server Error"),
    "file-wrapper": (file_wrapper, close_request(), BINARY),
    "write-based": (write_based, close_request(), b"then the iterable"),
    # the app sees the server's own stream objects, of the very same types
    "stream-types": (stream_types, FORM_POST, b"<class '_io.BytesIO'>\n"),
}


def without_date(response: bytes) -> bytes:
    return re.sub(rb"Date: [^\r\n]*\r\n", b"", response)


@pytest.mark.parametrize("name", CASES)
def test_same_bytes_as_plain_waitress(serve_plain, serve_inspected, name) -> None:
    app, request, marker = CASES[name]
    expected = raw_exchange(serve_plain(app).effective_port, request)
    agent, log = serve_inspected(app)
    got = raw_exchange(agent.server.effective_port, request)

    assert expected.startswith(b"HTTP/1.")
    assert marker in expected
    assert without_date(got) == without_date(expected)
    # and the exchange was recorded to its end
    requests = request.count(b"HTTP/1.")
    assert len(log.wait_ended(requests)) == requests


def test_pipelined_responses_both_arrive(serve_inspected) -> None:
    agent, log = serve_inspected(echo_path)
    got = raw_exchange(agent.server.effective_port, PIPELINED)
    assert got.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert got.index(b"/first") < got.index(b"/second")
    assert [x.path for x in log.wait_ended(2)] == ["/first", "/second"]


# Per-run values werkzeug's test page shows: the ports of server and client, and
# object addresses in reprs (wsgi.input, the channel behind client_disconnected).
RUN_VALUES = [
    (rb"(REMOTE_PORT|SERVER_PORT)<td><code>&#39;\d+&#39;", rb"\1<td><code>&#39;PORT&#39;"),
    (rb"127\.0\.0\.1:\d+", b"127.0.0.1:PORT"),
    (rb"0x[0-9a-f]+", b"0xADDRESS"),
    (rb"Content-Length: \d+\r\n", b"Content-Length: N\r\n"),  # they change the length
]


def masked(response: bytes) -> bytes:
    head, _, body = without_date(response).partition(b"\r\n\r\n")
    length = re.search(rb"Content-Length: (\d+)", head)
    assert length and int(length.group(1)) == len(body)
    for pattern, replacement in RUN_VALUES:
        response = re.sub(pattern, replacement, without_date(response))
    return response


@pytest.mark.parametrize("request_bytes", [close_request(), FORM_POST], ids=["get", "post"])
def test_werkzeug_test_app_page_is_the_same(serve_plain, serve_inspected, request_bytes) -> None:
    from werkzeug.testapp import test_app  # its page lists the whole environ, reprs and all

    expected = raw_exchange(serve_plain(test_app).effective_port, request_bytes)
    agent, log = serve_inspected(test_app)
    got = raw_exchange(agent.server.effective_port, request_bytes)
    assert expected.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"wsgi.errors" in expected and b"wsgi.input" in expected
    assert masked(got) == masked(expected)
    (x,) = log.wait_ended(1)
    # the record names the types the app saw
    assert x.environ["wsgi.input"][1] == "BytesIO"
    assert x.environ["wsgi.errors"][1] == type(sys.stderr).__name__
    assert x.findings == []
