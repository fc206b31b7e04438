"""PEP 3333 lint, end to end: every rule fired by a real broken app behind real waitress.

Each case below is a deliberately broken WSGI app, the rule it must trigger and
what waitress alone does with it. The same app is then served with and without
capture to check that lint only watches: the client gets the same bytes.
"""

from __future__ import annotations

import gc
import io
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from inspector.agent.capture import Capture
from inspector.agent.sink import EventLog
from inspector.lint import RULES
from inspector.model import PHASES, Exchange, Finding
from tests.conftest import raw_exchange

App = Callable[..., Any]

GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
HEAD = b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def post(body: bytes) -> bytes:
    return (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


CT = ("Content-Type", "text/plain")
CL5 = ("Content-Length", "5")
HELLO = [CT, CL5]


def respond(status: Any = "200 OK", headers: Any = HELLO, result: Any = (b"hello",),
            exc_info: Any = None) -> App:
    """An app that calls start_response once with these arguments and returns ``result``
    (a tuple stands for a fresh list of its items)."""

    def app(environ: dict[str, Any], start_response: Callable) -> Any:
        if exc_info is None:
            start_response(status, headers[:] if type(headers) is list else headers)
        else:
            start_response(status, headers[:], exc_info)
        return list(result) if type(result) is tuple else result

    return app


# -- broken apps that need more than one start_response call -------------------

def start_response_twice(environ: dict[str, Any], start_response: Callable) -> Any:
    start_response("200 OK", HELLO[:])
    start_response("200 OK", HELLO[:])  # no exc_info: not an error handler
    return [b"hello"]


def yields_before_start_response(environ: dict[str, Any], start_response: Callable) -> Any:
    def body() -> Iterator[bytes]:
        yield b"early"
        start_response("200 OK", HELLO[:])
        yield b"hello"

    return body()


def never_starts(environ: dict[str, Any], start_response: Callable) -> Any:
    return []


def writes_str(environ: dict[str, Any], start_response: Callable) -> Any:
    write = start_response("200 OK", HELLO[:])
    write("hello")
    return []


def writes_from_iterable(environ: dict[str, Any], start_response: Callable) -> Any:
    write = start_response("200 OK", HELLO[:])

    def body() -> Iterator[bytes]:
        write(b"he")
        yield b"llo"

    return body()


class LenSaysThree:
    """An iterable whose len() promises three items but yields two."""

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Iterator[bytes]:
        yield b"hel"
        yield b"lo"


def len_lies(environ: dict[str, Any], start_response: Callable) -> Any:
    start_response("200 OK", [CT])
    return LenSaysThree()


def reader(*args: Any) -> App:
    def app(environ: dict[str, Any], start_response: Callable) -> Any:
        data = environ["wsgi.input"].read(*args)
        start_response("200 OK", [CT, ("Content-Length", str(len(data)))])
        return [data]

    return app


def writes_bytes_to_errors(environ: dict[str, Any], start_response: Callable) -> Any:
    try:
        environ["wsgi.errors"].write(b"oops\n")
        outcome = b"accepted"
    except TypeError:  # a text stream refuses bytes, with or without capture
        outcome = b"refused"
    start_response("200 OK", [CT, ("Content-Length", str(len(outcome)))])
    return [outcome]


def file_shorter_than_its_length(environ: dict[str, Any], start_response: Callable) -> Any:
    """A file wrapper whose Content-Length promises more than the file holds."""
    data = tempfile.TemporaryFile()  # noqa: SIM115 - the server closes it
    data.write(b"hello")
    data.seek(0)
    start_response("200 OK", [CT, ("Content-Length", "10")])
    return environ["wsgi.file_wrapper"](data)


# -- the cases ---------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    code: str | None  # the rule it triggers; None for a well-behaved app
    app: App
    # What waitress alone does with it: "sent" (a whole response), "cut" (the
    # response starts, then the connection closes early), "500" (waitress's own
    # error page) or "dropped" (the connection closes with nothing sent).
    waitress: str
    request: bytes = GET
    also: tuple[str, ...] = ()  # other codes the same mistake may trigger


CASES = [
    # start_response: the status
    Case("status-bytes", "status-type", respond(status=b"200 OK"), "500"),
    Case("status-int", "status-type", respond(status=200), "500"),
    Case("status-glued", "status-format", respond(status="200OK"), "sent"),
    Case("status-reason-first", "status-format", respond(status="OK 200"), "sent"),
    Case("status-code-only", "status-no-reason", respond(status="200"), "sent"),
    Case("status-trailing-space", "status-no-reason", respond(status="200 "), "sent"),
    Case("status-non-latin1", "status-latin1", respond(status="200 \u2713"), "500"),
    Case("status-control-char", "status-control", respond(status="200 O\x01K"), "sent"),
    Case("status-crlf", "status-control", respond(status="200 OK\r\nX-Injected: 1"), "500"),
    # start_response: the headers
    Case("headers-tuple", "headers-type", respond(headers=(CT, CL5)), "sent"),
    Case("header-list-item", "header-item", respond(headers=[CT, CL5, ["X-A", "b"]]), "sent"),
    Case("header-three-items", "header-item",
         respond(headers=[CT, CL5, ("X-A", "b", "c")]), "500"),
    Case("header-int-value", "header-item", respond(headers=[CT, CL5, ("X-A", 1)]), "500"),
    Case("header-name-space", "header-name", respond(headers=[CT, CL5, ("X Bad", "v")]),
         "sent"),
    Case("header-name-empty", "header-name", respond(headers=[CT, CL5, ("", "v")]), "sent"),
    Case("header-value-control", "header-value-control",
         respond(headers=[CT, CL5, ("X-A", "a\x01b")]), "sent"),
    Case("header-value-crlf", "header-value-control",
         respond(headers=[CT, CL5, ("X-A", "a\r\nSet-Cookie: x=1")]), "500"),
    Case("header-non-latin1", "header-latin1",
         respond(headers=[CT, CL5, ("X-A", "\u2713")]), "500"),
    Case("header-status", "header-status",
         respond(headers=[CT, CL5, ("Status", "200 OK")]), "sent"),
    Case("hop-connection", "header-hop-by-hop",
         respond(headers=[CT, CL5, ("Connection", "close")]), "500"),
    Case("hop-transfer-encoding", "header-hop-by-hop",
         respond(headers=[CT, ("Transfer-Encoding", "chunked")]), "500"),
    Case("hop-trailer", "header-hop-by-hop",
         respond(headers=[CT, CL5, ("Trailer", "X-Sum")]), "sent"),
    Case("no-content-type", "content-type-missing", respond(headers=[CL5]), "sent"),
    Case("start-response-twice", "start-response-repeated", start_response_twice, "500"),
    Case("exc-info-str", "exc-info-type", respond(exc_info="oops"), "sent"),
    Case("exc-info-short-tuple", "exc-info-type", respond(exc_info=(None, None)), "sent"),
    # the returned iterable and its items
    # waitress gives up on these after the first item; len-mismatch then is noise
    # (see test_abandoned_iteration_is_not_blamed_on_the_app).
    Case("result-str", "result-str", respond(headers=[CT], result="hello"), "cut",
         also=("chunk-type", "len-mismatch")),
    Case("result-bytes", "result-bytes", respond(headers=[CT], result=b"hello"), "500",
         also=("chunk-type", "len-mismatch")),
    Case("result-none", "result-none", respond(result=None), "500"),
    Case("chunk-str", "chunk-type", respond(headers=[CT], result=("hello",)), "cut"),
    Case("chunk-bytearray", "chunk-type", respond(result=(bytearray(b"hello"),)), "sent"),
    Case("yield-before-start-response", "chunk-before-start-response",
         yields_before_start_response, "500", also=("start-response-missing",)),
    Case("write-str", "write-type", writes_str, "cut"),
    Case("write-in-iterable", "write-in-iterable", writes_from_iterable, "sent"),
    # the end of the exchange
    Case("never-starts", "start-response-missing", never_starts, "500"),
    Case("content-length-too-big", "content-length-mismatch",
         respond(headers=[CT, ("Content-Length", "10")]), "cut"),
    Case("content-length-too-small", "content-length-mismatch",
         respond(headers=[CT, ("Content-Length", "2")]), "sent"),
    # waitress corrects the header of a file wrapper; the app's promise was wrong still
    Case("file-shorter-than-length", "content-length-mismatch", file_shorter_than_its_length,
         "sent"),
    Case("body-on-204", "body-not-allowed",
         respond(status="204 No Content", headers=[], result=(b"hello",)), "sent"),
    Case("body-on-304", "body-not-allowed",
         respond(status="304 Not Modified", headers=[], result=(b"hello",)), "sent"),
    Case("len-lies", "len-mismatch", len_lies, "sent"),
    # wsgi.input and wsgi.errors
    Case("errors-bytes", "errors-type", writes_bytes_to_errors, "sent"),
]

# Rules that a real server cannot trigger, each tested below at the capture level.
CAPTURE_LEVEL = {"close-not-called", "input-read-past-length"}


def error_handler(environ: dict[str, Any], start_response: Callable) -> Any:
    start_response("200 OK", HELLO[:])
    try:
        raise ValueError("the view failed")
    except ValueError:
        start_response("500 Internal Server Error", [CT, ("Content-Length", "4")],
                       sys.exc_info())
    return [b"oops"]


def deferred_start(environ: dict[str, Any], start_response: Callable) -> Any:
    def body() -> Iterator[bytes]:
        yield b""  # an empty item may come before start_response
        start_response("200 OK", HELLO[:])
        yield b"hello"

    return body()


def file_slice(environ: dict[str, Any], start_response: Callable) -> Any:
    """Bytes 10 to 19 of a file, the way a range response sends them."""
    data = tempfile.TemporaryFile()  # noqa: SIM115 - the server closes it
    data.write(bytes(range(100)))
    data.seek(10)
    start_response("206 Partial Content", [("Content-Type", "application/octet-stream"),
                                           ("Content-Range", "bytes 10-19/100"),
                                           ("Content-Length", "10")])
    return environ["wsgi.file_wrapper"](data)


def text_to_errors(environ: dict[str, Any], start_response: Callable) -> Any:
    environ["wsgi.errors"].write("a str is fine\n")
    start_response("200 OK", HELLO[:])
    return [b"hello"]


CLEAN = [
    Case("hello", None, respond(), "sent"),
    Case("hello-head", None, respond(), "sent", HEAD),
    Case("no-content-204", None, respond(status="204 No Content", headers=[], result=()),
         "sent"),
    Case("not-modified-304", None,
         respond(status="304 Not Modified", headers=[("ETag", '"v1"')], result=()), "sent"),
    Case("not-modified-304-with-length", None,
         respond(status="304 Not Modified",
                 headers=[("ETag", '"v1"'), ("Content-Length", "5")], result=()), "sent"),
    Case("error-handler", None, error_handler, "sent"),
    Case("deferred-start-response", None, deferred_start, "sent"),
    Case("read-exact-length", None, reader(5), "sent", post(b"hello")),
    Case("errors-str", None, text_to_errors, "sent"),
    # PEP 3333: "A server should allow read() to be called without an argument"
    Case("read-no-size", None, reader(), "sent", post(b"hello")),
    Case("read-minus-one", None, reader(-1), "sent", post(b"hello")),
    # waitress sets wsgi.input_terminated: the stream ends with the body
    Case("read-past-length-terminated", None, reader(100), "sent", post(b"hello")),
    # PEP 3333 does not ask for a Content-Type, and there is no body to label
    Case("content-type-on-204", None,
         respond(status="204 No Content", headers=[CT], result=()), "sent"),
    Case("content-type-on-304", None,
         respond(status="304 Not Modified", headers=[CT], result=()), "sent"),
    Case("empty-401", None, respond(status="401 Unauthorized",
                                    headers=[("WWW-Authenticate", 'Basic realm="x"'),
                                             ("Content-Length", "0")], result=()), "sent"),
    Case("empty-200-no-type", None, respond(headers=[("Content-Length", "0")], result=()),
         "sent"),
    Case("file-slice", None, file_slice, "sent"),
]


def reads_with(*args: Any, **kwargs: Any) -> App:
    """An app that makes a bad read() call and reports what the stream said."""

    def app(environ: dict[str, Any], start_response: Callable) -> Any:
        try:
            environ["wsgi.input"].read(*args, **kwargs)
            said = b"read"
        except TypeError as exc:
            said = str(exc).encode()
        start_response("200 OK", [CT, ("Content-Length", str(len(said)))])
        return [said]

    return app


# Calls that are wrong but not lint's business: the app must get what it gets
# from waitress alone, exception message included.
QUIRKS = [
    pytest.param(Case("read-size-str", None, reads_with("3"), "sent", post(b"hello")),
                 id="read-size-str"),
    pytest.param(Case("read-size-keyword", None, reads_with(size=3), "sent", post(b"hello")),
                 id="read-size-keyword"),
]


def ids(cases: list[Case]) -> list[str]:
    return [case.id for case in cases]


# -- helpers ---------------------------------------------------------------------

def without_date(raw: bytes) -> bytes:
    return re.sub(rb"\r\nDate: [^\r\n]*", b"", raw)


def waitress_outcome(raw: bytes, request: bytes) -> str:
    """Classify a raw response as in :attr:`Case.waitress`."""
    if not raw:
        return "dropped"
    if (raw.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
            and raw.endswith(b"(generated by waitress)")):
        return "500"
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return "cut"
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    if head.split(b" ")[1][:3] in (b"204", b"304"):
        return "sent" if not body else "cut"
    # waitress 3 sends the body on HEAD too, so HEAD needs no special case.
    if fields.get(b"Transfer-Encoding") == b"chunked":
        return "sent" if body.endswith(b"0\r\n\r\n") else "cut"
    if b"Content-Length" in fields:
        return "sent" if len(body) == int(fields[b"Content-Length"]) else "cut"
    return "sent"  # delimited by the end of the connection


def exchange_for(serve_inspected: Callable, case: Case) -> tuple[bytes, Exchange]:
    agent, log = serve_inspected(case.app)
    raw = raw_exchange(agent.server.effective_port, case.request)
    exchanges = log.wait_ended(1)
    assert len(exchanges) == 1
    return raw, exchanges[0]


def assert_well_formed(finding: Finding) -> None:
    rule = RULES[finding.code]
    assert finding.severity == rule.severity
    assert finding.phase == rule.phase
    assert finding.phase in PHASES
    assert finding.pep == f"PEP 3333: {rule.section}"
    assert finding.pep.startswith("PEP 3333")
    assert finding.quote == rule.quote
    message = finding.message
    assert message.strip() == message and "\n" not in message
    assert message.endswith("."), message
    # One sentence: no sentence end followed by the start of another.
    assert re.search(r"[.!?] +[A-Z]", message) is None, message


# -- the tests -------------------------------------------------------------------

def test_every_rule_has_a_case() -> None:
    covered = {case.code for case in CASES} | CAPTURE_LEVEL
    assert sorted(set(RULES) - covered) == [], "rules without a test case"
    assert sorted(covered - set(RULES)) == [], "cases for rules that do not exist"


def test_cases_expect_only_known_codes() -> None:
    for case in CASES:
        assert set(case.also) <= set(RULES), case.id


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_broken_app_triggers_its_rule(case: Case, serve_inspected: Callable) -> None:
    _, exchange = exchange_for(serve_inspected, case)
    codes = [f.code for f in exchange.findings]
    assert case.code in codes
    assert set(codes) <= {case.code, *case.also}
    for finding in exchange.findings:
        assert_well_formed(finding)


def test_abandoned_iteration_is_not_blamed_on_the_app(serve_inspected: Callable) -> None:
    # The body and its Content-Length are right; only the header is wrong, and
    # waitress fails on it at the first item and never asks for the second.
    app = respond(headers=[CT, CL5, ("X-A", "\u2713")], result=(b"hel", b"lo"))
    _, exchange = exchange_for(serve_inspected, Case("abandoned", "header-latin1", app, "500"))
    assert [f.code for f in exchange.findings] == ["header-latin1"]


@pytest.mark.parametrize("case", CLEAN, ids=ids(CLEAN))
def test_well_behaved_app_has_no_findings(case: Case, serve_inspected: Callable) -> None:
    raw, exchange = exchange_for(serve_inspected, case)
    assert waitress_outcome(raw, case.request) == "sent"
    assert exchange.findings == []


@pytest.mark.parametrize("case", [*CASES, *CLEAN, *QUIRKS], ids=[*ids(CASES), *ids(CLEAN),
                                                               *(q.id for q in QUIRKS)])
def test_lint_never_breaks_a_response(case: Case, serve_plain: Callable,
                                      serve_inspected: Callable) -> None:
    plain = serve_plain(case.app)
    expected = raw_exchange(plain.effective_port, case.request)
    assert waitress_outcome(expected, case.request) == case.waitress, expected
    got, exchange = exchange_for(serve_inspected, case)
    assert without_date(got) == without_date(expected)
    assert exchange.findings or case.code is None


# -- close-not-called --------------------------------------------------------------
# waitress always calls close() on the returned iterable, so no real server
# here can leave it uncalled. These two tests are the one place where a fake
# server is fine: they call Capture the way a server would, by hand.

class Closable:
    def __init__(self) -> None:
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        yield b"hello"

    def close(self) -> None:
        self.closed += 1


def fake_environ() -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5000",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def serve_by_hand(close: bool) -> tuple[Closable, Exchange]:
    log = EventLog()
    body = Closable()

    def app(environ: dict[str, Any], start_response: Callable) -> Any:
        start_response("200 OK", HELLO[:])
        return body

    statuses = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        statuses.append(status)
        return lambda data: None

    result = Capture(app, log.emit)(fake_environ(), start_response)
    assert b"".join(result) == b"hello"
    assert statuses == ["200 OK"]
    if close:
        result.close()
    del result  # dropped, as a server that forgets close() would
    gc.collect()
    exchanges = log.wait_ended(1)
    assert len(exchanges) == 1
    return body, exchanges[0]


def test_close_not_called() -> None:
    body, exchange = serve_by_hand(close=False)
    assert body.closed == 0
    assert [f.code for f in exchange.findings] == ["close-not-called"]
    assert_well_formed(exchange.findings[0])
    assert exchange.phase_time("closed") is None


def test_close_called_once_has_no_finding() -> None:
    body, exchange = serve_by_hand(close=True)
    assert body.closed == 1
    assert exchange.findings == []
    assert exchange.phase_time("closed") is not None


def test_record_checks_run_where_the_record_is_folded(serve_inspected) -> None:
    """The agent only checks types; the form of the head and the sizes are judged
    from the record, when the end event is folded (on the host)."""
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "99")])
        return [b"short"]

    agent, log = serve_inspected(app)
    raw_exchange(agent.server.effective_port, GET)
    x = log.wait_ended(1)[0]
    sent = [e.get("code") for e in log.events if e["type"] == "finding"]
    end = next(e for e in log.events if e["type"] == "end")
    assert sent == [] and end["lint"] is True
    assert sorted(f.code for f in x.findings) == ["content-length-mismatch",
                                                  "content-type-missing"]
    assert {f.phase for f in x.findings} == {"closed"}


# -- reading wsgi.input past CONTENT_LENGTH ------------------------------------------
# waitress ends wsgi.input with the body and says so (wsgi.input_terminated), so
# no app behind it can read past CONTENT_LENGTH; a server without that flag can.

def test_read_past_content_length_on_an_unterminated_stream() -> None:
    log = EventLog()

    def app(environ: dict[str, Any], start_response: Callable) -> Any:
        data = environ["wsgi.input"].read(100)  # the stream holds more than the body
        start_response("200 OK", [CT, ("Content-Length", str(len(data)))])
        return [data]

    environ = fake_environ()
    environ.update({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "5",
                    "wsgi.input": io.BytesIO(b"hello, and the next request")})
    result = Capture(app, log.emit)(environ, lambda status, headers, exc_info=None: None)
    assert b"".join(result) == b"hello, and the next request"
    (exchange,) = log.wait_ended(1)
    assert [f.code for f in exchange.findings] == ["input-read-past-length"]
    finding = exchange.findings[0]
    assert_well_formed(finding)
    assert "27 bytes" in finding.message and "5 of CONTENT_LENGTH" in finding.message

    # the same read with the stream marked as ending with the body: nothing to say
    log = EventLog()
    environ = fake_environ()
    environ.update({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "5",
                    "wsgi.input": io.BytesIO(b"hello"), "wsgi.input_terminated": True})
    Capture(app, log.emit)(environ, lambda status, headers, exc_info=None: None)
    assert log.wait_ended(1)[0].findings == []


def test_every_rule_quotes_its_section_of_pep_3333() -> None:
    sections = json.loads((Path(__file__).parents[1] / "resources" / "explanations"
                           / "pep_sections.json").read_text(encoding="utf-8"))
    for code, rule in RULES.items():
        assert rule.section in sections, code
        assert rule.quote[:1].isupper() and rule.quote.rstrip(")").endswith("."), code
        assert rule.severity in ("error", "warning", "info"), code
