"""PEP 3333 checks, as findings.

Each check is a small function over what the capture layer has seen; it
returns findings and never raises into the request, so lint cannot break a
response that would otherwise have gone out. Codes are stable: the GUI, the
exporters and users' notes refer to them.

What they teach. Each rule names the PEP 3333 section and quotes the sentence
it enforces (:class:`Rule`); a finding is an error where the PEP says "must",
a warning where a server corrects or drops what the app did. What only
``wsgiref.validate`` asks for is at most info (a Status header, a body without
Content-Type) or not checked at all: reading ``wsgi.input`` without a size (the
PEP says a server should allow it), a Content-Type on 204/304.

No wrapper for it. ``wsgi.input`` is the server's own stream: how far the app
read it is its position after the exchange (:func:`check_input`), and
``wsgi.errors`` (under waitress ``sys.stderr``) is checked by the stream that
output routing puts there anyway.

Where they run. Only the live objects show their types (a status that is not
a str, a chunk that is not bytes), so :func:`check_types` and the checks of
chunks, writes and streams run in the app's process, on the request's
thread. Everything the record shows as well (the form of the status and
headers, Content-Length against the bytes sent, close()) is checked by
:func:`check_record` where the record is folded, on the host: each check in
the app's process is paid for in its throughput, under its interpreter lock.
A stepped request is checked in the app's process, phase by phase, so a
pause already shows what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

PEP = "PEP 3333"


class Rule(NamedTuple):
    severity: str
    phase: str
    section: str  # the PEP 3333 section the rule comes from
    quote: str  # the sentence of that section it enforces, word for word


# The sentences of PEP 3333 the rules enforce.
_STATUS_FORM = ("The status argument is an HTTP \"status\" string like \"200 OK\" or \"404 Not "
                "Found\". That is, it is a string consisting of a Status-Code and a "
                "Reason-Phrase, in that order and separated by a single space, with no "
                "surrounding whitespace or other characters.")
_STATUS_CONTROL = ("The string must not contain control characters, and must not be "
                   "terminated with a carriage return, linefeed, or combination thereof.")
_LATIN1 = ("Note also that strings passed to start_response() as a status or as response "
           "headers must follow RFC 2616 with respect to encoding. That is, they must either "
           "be ISO-8859-1 characters, or use RFC 2047 MIME encoding.")
_NATIVE = ("Again, all objects referred to in this specification as \"strings\" must be of "
           "type str or StringType, and must not be of type unicode or UnicodeType.")
_HEADERS_LIST = ("The response_headers argument is a list of (header_name, header_value) "
                 "tuples. It must be a Python list; i.e. type(response_headers) is ListType, "
                 "and the server may change its contents in any way it desires.")
_HEADER_NAME = ("Each header_name must be a valid HTTP header field-name (as defined by "
                "RFC 2616, Section 4.2), without a trailing colon or other punctuation.")
_HEADER_VALUE = ("Each header_value must not include any control characters, including "
                 "carriage returns or linefeeds, either embedded or at the end.")
_STATUS_PARAM = ("The status parameter is a status string of the form \"999 Message here\", "
                 "and response_headers is a list of (header_name, header_value) tuples "
                 "describing the HTTP response header.")
_HOP = ("WSGI applications must not generate any \"hop-by-hop\" headers, attempt to use "
        "HTTP features that would require them to generate such headers, or rely on the "
        "content of any incoming \"hop-by-hop\" headers in the environ dictionary.")
_FORMAT = ("The application is responsible for ensuring that the bytestring(s) to be "
           "written are in a format suitable for the client.")
_ORIGIN = ("In a sense, a server should consider itself to be like an HTTP \"gateway "
           "server\", with the application being an HTTP \"origin server\".")
_REPEAT = ("More precisely, it is a fatal error to call start_response without the exc_info "
           "argument if start_response has already been called within the current "
           "invocation of the application.")
_EXC_INFO = "The exc_info argument, if supplied, must be a Python sys.exc_info() tuple."
_ITERABLE = ("Regardless of how it is accomplished, the application object must always "
             "return an iterable yielding zero or more bytestrings.")
_BYTES = ("For values referred to in this specification as \"bytestrings\" (i.e., values "
          "read from wsgi.input, passed to write() or yielded by the application), the value "
          "must be of type bytes under Python 3, and str in earlier versions of Python.")
_START_FIRST = ("Note: the application must invoke the start_response() callable before the "
                "iterable yields its first body bytestring, so that the server can send the "
                "headers before any body content.")
_WRITE_IN_ITER = ("Applications must not invoke write() from within their return iterable, "
                  "and therefore any bytestrings yielded by the iterable are transmitted "
                  "after all bytestrings passed to write() have been sent to the client.")
_CLOSE = ("If the iterable returned by the application has a close() method, the server or "
          "gateway must call that method upon completion of the current request, whether "
          "the request was completed normally, or terminated early due to an application "
          "error during iteration or an early disconnect of the browser.")
_CONTENT_LENGTH = ("If the application supplies a Content-Length header, the server should "
                   "not transmit more bytes to the client than the header allows, and should "
                   "stop iterating over the response when enough data has been sent, or raise "
                   "an error if the application tries to write() past that point. (Of course, "
                   "if the application does not provide enough data to meet its stated "
                   "Content-Length, the server should close the connection and log or "
                   "otherwise report the error.)")
_LEN = ("That is, if the iterable returned by the application provides a working __len__() "
        "method, it must return an accurate result.")
_READ_LIMIT = ("The application should not attempt to read more data than is specified by "
               "the CONTENT_LENGTH variable.")
_ERRORS_TEXT = ("This should be a \"text mode\" stream; i.e., applications should use \"\\n\" "
                "as a line ending, and assume that it will be converted to the correct line "
                "ending by the server/gateway.")

_SR = "The start_response() Callable"
_UNICODE = "Unicode Issues"
_DETAILS = "Specification Details"

RULES: dict[str, Rule] = {
    # start_response
    "status-type": Rule("error", "start_response", _UNICODE, _NATIVE),
    "status-format": Rule("error", "start_response", _SR, _STATUS_FORM),
    "status-no-reason": Rule("warning", "start_response", _SR, _STATUS_FORM),
    "status-latin1": Rule("error", "start_response", _UNICODE, _LATIN1),
    "status-control": Rule("error", "start_response", _SR, _STATUS_CONTROL),
    "headers-type": Rule("error", "start_response", _SR, _HEADERS_LIST),
    "header-item": Rule("error", "start_response", _SR, _HEADERS_LIST),
    "header-name": Rule("error", "start_response", _SR, _HEADER_NAME),
    "header-value-control": Rule("error", "start_response", _SR, _HEADER_VALUE),
    "header-latin1": Rule("error", "start_response", _UNICODE, _LATIN1),
    # wsgiref.validate's (CGI's Status header); PEP 3333 only says where the status goes
    "header-status": Rule("info", "start_response", _DETAILS, _STATUS_PARAM),
    "header-hop-by-hop": Rule("error", "start_response", "Other HTTP Features", _HOP),
    # wsgiref.validate's; HTTP only says a sender SHOULD label content it sends
    "content-type-missing": Rule("info", "closed", _DETAILS, _FORMAT),
    "start-response-repeated": Rule("error", "start_response", _SR, _REPEAT),
    "exc-info-type": Rule("error", "start_response", _SR, _EXC_INFO),
    # the returned iterable and its items
    "result-str": Rule("error", "app_called", _DETAILS, _ITERABLE),
    "result-bytes": Rule("error", "app_called", _DETAILS, _ITERABLE),
    "result-none": Rule("error", "app_called", _DETAILS, _ITERABLE),
    "chunk-type": Rule("error", "chunk", _UNICODE, _BYTES),
    "chunk-before-start-response": Rule("error", "chunk", _DETAILS, _START_FIRST),
    "write-type": Rule("error", "chunk", _UNICODE, _BYTES),
    "write-in-iterable": Rule("error", "chunk", "The write() Callable", _WRITE_IN_ITER),
    # the end of the exchange
    "start-response-missing": Rule("error", "closed", _DETAILS, _START_FIRST),
    "close-not-called": Rule("error", "closed", _DETAILS, _CLOSE),
    "content-length-mismatch": Rule("error", "closed", "Handling the Content-Length Header",
                                    _CONTENT_LENGTH),
    # HTTP's rule (RFC 9110, 6.4.1), the application's to keep as the origin server
    "body-not-allowed": Rule("warning", "closed", "Other HTTP Features", _ORIGIN),
    "len-mismatch": Rule("warning", "closed", _DETAILS, _LEN),
    # wsgi.input and wsgi.errors
    "input-read-past-length": Rule("warning", "app_called", "Input and Error Streams",
                                   _READ_LIMIT),
    "errors-type": Rule("error", "app_called", "environ Variables", _ERRORS_TEXT),
}

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})

# RFC 9110 token characters for header names.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# A value that is latin-1 text without control characters (tab allowed).
_CLEAN_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"[1-9][0-9][0-9]( |\Z)")
NO_BODY_STATUSES = frozenset({204, 304})


class Finding(NamedTuple):
    code: str
    message: str

    def event(self, xid: int, t: float, phase: str | None = None) -> dict[str, Any]:
        rule = RULES[self.code]
        return {
            "type": "finding", "id": xid, "t": t, "code": self.code,
            "severity": rule.severity, "phase": phase or rule.phase,
            "message": self.message, "pep": f"{PEP}: {rule.section}", "quote": rule.quote,
        }


def check_status(status: Any) -> list[Finding]:
    if type(status) is str and status in _good_statuses:
        return []
    if not isinstance(status, str):
        return [Finding("status-type", f"The status must be a str, not {type(status).__name__}.")]
    if _STATUS.match(status) is None:
        return [Finding("status-format",
                        f"The status {status!r} is not a three-digit code and a reason, "
                        "like '200 OK'.")]
    found = []
    if len(status) < 5 or not status[4:].strip():
        found.append(Finding("status-no-reason",
                             f"The status {status!r} has no reason phrase; write e.g. '200 OK'."))
    if _CONTROL.search(status):
        found.append(Finding("status-control",
                             f"The status {status!r} contains a control character."))
    if not _is_latin1(status):
        found.append(Finding("status-latin1",
                             f"The status {status!r} has characters outside latin-1."))
    if not found and len(_good_statuses) < _MEMO_LIMIT:
        _good_statuses.add(status)
    return found


# Lint runs on every response: what passed once (statuses, header names) is
# remembered, and plain printable ASCII values skip the regular expressions.
_MEMO_LIMIT = 1024
_good_statuses: set[str] = set()
_good_names: dict[str, str] = {}  # name -> lower-case name, for names that passed


# Whole (status, headers) pairs that passed every start_response check: most
# apps answer the same few ways, and this makes their lint one set lookup.
_good_responses: set[tuple[str, tuple[Any, ...]]] = set()


def known_good(status: Any, headers: Any) -> bool:
    if type(status) is not str or type(headers) is not list:
        return False
    try:
        return (status, tuple(headers)) in _good_responses
    except TypeError:  # an unhashable item: not a (name, value) tuple anyway
        return False


def remember_good(status: Any, headers: Any) -> None:
    """Called with what passed every check: a str and a list of (str, str) tuples."""
    if type(status) is str and type(headers) is list and len(_good_responses) < _MEMO_LIMIT:
        _good_responses.add((status, tuple(headers)))


def check_response_head(status: Any, headers: Any) -> list[Finding]:
    """Every check of one start_response call's status and headers."""
    if known_good(status, headers):
        return []
    found = check_status(status) + check_headers(headers, status)
    if not found:
        remember_good(status, headers)
    return found


_TYPE_CODES = frozenset({"status-type", "headers-type", "header-item", "exc-info-type"})


def check_types(status: Any, headers: Any, exc_info: Any) -> list[Finding]:
    """What only the live objects of a start_response call show: their types."""
    if type(status) is str and type(headers) is list and exc_info is None:
        for item in headers:
            if (type(item) is not tuple or len(item) != 2 or type(item[0]) is not str
                    or type(item[1]) is not str):
                break
        else:
            return []
    found = check_exc_info(exc_info)
    if not isinstance(status, str):
        found += check_status(status)
    if type(headers) is not list:
        found += check_headers(headers, status)
    else:
        found += [problem for item in headers for problem in _check_header(item)
                  if problem.code in _TYPE_CODES]
    return found


class Record(Protocol):
    """What the record checks read of an exchange: ``inspector.model.Exchange``, or
    the session writer's tally of one (so this module needs neither)."""

    findings: Sequence[Any]
    error: Any
    start_response: Sequence[Any]
    chunks: Sequence[Any]
    response_size: int
    file_wrapper: bool

    @property
    def method(self) -> str: ...

    def env(self, key: str, default: str = "") -> str: ...


def check_record(x: Record, end: dict[str, Any]) -> list[tuple[Finding, float]]:
    """The checks that need only the record, with the time each refers to; run
    when ``end`` (the agent's end event) is folded into ``x``.

    After a type finding the record holds stand-in text (a repr), which would
    only repeat the problem in other words: then the form checks are skipped.
    """
    typed = any(f.code in _TYPE_CODES for f in x.findings)
    raised = x.error is not None and not getattr(x.error, "handled", False)
    found: list[tuple[Finding, float]] = []
    if not typed:
        for call in x.start_response:
            found += [(f, call.t) for f in check_response_head(call.status, call.headers)]
    last = x.start_response[-1] if x.start_response else None
    found += [(f, end["t"]) for f in check_end(
        method=x.method, status=None if typed or last is None else last.status,
        headers=last.headers if last is not None else None, sent=_handed(x, last),
        started=last is not None, expected_len=end.get("len"),
        chunks=sum(c.via == "iter" for c in x.chunks), closed=bool(end.get("closed")),
        failed=raised or not end.get("exhausted", True), file_wrapper=x.file_wrapper)]
    found += [(f, end["t"]) for f in check_input(
        end.get("input_read"), x.env("CONTENT_LENGTH"), x.env("wsgi.input_terminated"))]
    return found


def _handed(x: Record, last: Any) -> int:
    """The body size the app handed over, for the Content-Length check. A
    file_wrapper hands a file from its position: waitress sends at most
    Content-Length of it (how Range slices are served), so a file holding at
    least the declared bytes matches; a size of 0 there means unknown (a file
    that cannot seek)."""
    if not x.file_wrapper:
        return x.response_size
    declared = content_length(last.headers) if last is not None else None
    if declared is not None and (x.response_size == 0 or x.response_size >= declared):
        return declared
    return x.response_size


def check_headers(headers: Any, status: Any) -> list[Finding]:
    """The form of each header. (Whether a Content-Type is needed depends on the
    body, so :func:`check_end` judges that.)"""
    if type(headers) is not list:
        return [Finding("headers-type",
                        f"The headers must be a list of (name, value) tuples, "
                        f"not {type(headers).__name__}.")]
    found: list[Finding] = []
    for item in headers:
        if type(item) is tuple and len(item) == 2:
            name, value = item
            lname = _good_names.get(name) if type(name) is str else None
            if (lname is not None and type(value) is str and value.isascii()
                    and value.isprintable()):
                continue
        found += _check_header(item)
    return found


def _check_header(item: Any) -> list[Finding]:
    """The findings of one header."""
    if type(item) is not tuple or len(item) != 2 or not all(isinstance(p, str) for p in item):
        return [Finding("header-item", f"The header {item!r} is not a (str, str) tuple.")]
    name, value = item
    lname = name.lower()
    found = []
    if _TOKEN.match(name) is None:
        found.append(Finding("header-name", f"The header name {name!r} is not a valid token."))
    if lname == "status":
        found.append(Finding("header-status",
                             "A 'Status' header goes to the client as a header, not as the "
                             "status; pass the status to start_response instead."))
    elif lname in HOP_BY_HOP:
        found.append(Finding("header-hop-by-hop",
                             f"The hop-by-hop header {name!r} is the server's business; "
                             "an application must not set it."))
    if not found and len(_good_names) < _MEMO_LIMIT:
        _good_names[name] = lname
    if _CLEAN_VALUE.match(value) is None:
        found.extend(_value_problems(name, value))
    return found


def _value_problems(name: str, value: str) -> list[Finding]:
    found = []
    if _CONTROL.search(value):
        found.append(Finding("header-value-control",
                             f"The value of header {name!r} contains a control character "
                             "(such as a newline)."))
    if not _is_latin1(value):
        found.append(Finding("header-latin1",
                             f"The value of header {name!r} has characters outside latin-1."))
    return found


def check_repeat(exc_info: Any) -> list[Finding]:
    """start_response called a second time."""
    if exc_info is None:
        return [Finding("start-response-repeated",
                        "start_response was called again without exc_info; only an error "
                        "handler may call it twice.")]
    return []


def check_exc_info(exc_info: Any) -> list[Finding]:
    if exc_info is not None and (type(exc_info) is not tuple or len(exc_info) != 3):
        return [Finding("exc-info-type",
                        "exc_info must be a sys.exc_info() tuple or None, "
                        f"not {type(exc_info).__name__}.")]
    return []


def check_result(result: Any) -> list[Finding]:
    if result is None:
        return [Finding("result-none", "The application returned None instead of an iterable "
                        "of bytes.")]
    if isinstance(result, str):
        return [Finding("result-str", "The application returned a str; return a list of "
                        "bytes, e.g. [body.encode()].")]
    if isinstance(result, (bytes, bytearray)):
        return [Finding("result-bytes", "The application returned bytes, which iterate as "
                        "single integers; return [body] instead.")]
    return []


def check_chunk(chunk: Any, started: bool, via: str) -> list[Finding]:
    found = []
    if type(chunk) is not bytes:
        code = "write-type" if via == "write" else "chunk-type"
        what = "write() was given" if via == "write" else "The iterable yielded"
        found.append(Finding(code, f"{what} a {type(chunk).__name__}; body data must be "
                                   "bytes."))
    elif not started and chunk:  # write() only exists once start_response was called
        found.append(Finding("chunk-before-start-response",
                             "The iterable yielded body data before start_response was called."))
    return found


def check_write_in_iterable() -> list[Finding]:
    return [Finding("write-in-iterable", "write() was called from inside the returned iterable; "
                    "yield the data instead.")]


def check_end(*, method: str, status: Any, headers: Any, sent: int, started: bool,
              expected_len: int | None, chunks: int, closed: bool, failed: bool,
              file_wrapper: bool = False) -> list[Finding]:
    """Checks that need the whole exchange.

    ``failed``: the app raised, or the server stopped reading the iterable
    early (its own error, a client gone); then only close() is judged, since
    the app never got to finish. ``file_wrapper``: the server sent a file, and
    ``sent`` is what the file held from its position on.
    """
    found = []
    if not closed:
        found.append(Finding("close-not-called",
                             "The server never called close() on the returned iterable."))
    if failed:
        return found
    if not started:
        return [*found, Finding("start-response-missing",
                                "The application finished without calling start_response.")]
    code = status_code(status)
    no_body = code is not None and (code in NO_BODY_STATUSES or code < 200)
    if no_body and sent:
        found.append(Finding("body-not-allowed",
                             f"A {code} response has no body, so the server drops the "
                             f"{sent} bytes the application sent (RFC 9110, 6.4.1)."))
    if sent and not no_body and header_value(headers, "content-type") is None:
        found.append(Finding("content-type-missing",
                             "The response has a body but no Content-Type header, so the "
                             "client has to guess what it is."))
    found += _length_findings(method, headers, sent, no_body, file_wrapper)
    if expected_len is not None and expected_len != chunks:
        found.append(Finding("len-mismatch",
                             f"len() of the iterable said {expected_len} items but it "
                             f"yielded {chunks}."))
    return found


def _length_findings(method: str, headers: Any, sent: int, no_body: bool,
                     file_wrapper: bool) -> list[Finding]:
    """Content-Length against the bytes sent, judged as waitress does.

    On HEAD and 304, Content-Length may give the size a GET would get (RFC 9110,
    8.6); on 1xx/204/304 servers drop it, and body-not-allowed covers any body.
    A file wrapper with a shorter Content-Length is a slice of the file: the
    server sends that many bytes.
    """
    declared = content_length(headers)
    if declared is None or declared == sent or method == "HEAD" or no_body:
        return []
    if file_wrapper and declared < sent:
        return []
    if file_wrapper:
        return [Finding("content-length-mismatch",
                        f"Content-Length says {declared} bytes but the file holds only {sent} "
                        "from its position; waitress sends those with a corrected header, "
                        "other servers leave the client waiting for the rest.")]
    if declared > sent:
        return [Finding("content-length-mismatch",
                        f"Content-Length says {declared} bytes but the application sent "
                        f"only {sent}, so the server closes the connection early.")]
    return [Finding("content-length-mismatch",
                    f"Content-Length says {declared} bytes but the application sent {sent}, "
                    f"so the server cuts the body after byte {declared}.")]


def check_input(read: int | None, content_length: Any, terminated: Any) -> list[Finding]:
    """How far the app read wsgi.input (the stream's position after the exchange)
    against CONTENT_LENGTH. A stream marked ``wsgi.input_terminated`` ends where
    the body ends, so reading it to its end is right (werkzeug does)."""
    if read is None or terminated in (True, "True"):
        return []
    try:
        limit = int(content_length or 0)
    except ValueError:
        return []
    if read <= limit:
        return []
    return [Finding("input-read-past-length",
                    f"The application read {read} bytes of wsgi.input, more than the "
                    f"{limit} of CONTENT_LENGTH.")]


def check_errors_write(data: Any) -> list[Finding]:
    """A write to wsgi.errors (under waitress, sys.stderr: the two are one stream)."""
    if not isinstance(data, str):
        return [Finding("errors-type", f"wsgi.errors (sys.stderr under waitress) was given "
                        f"a {type(data).__name__} to write; it is a text stream and takes str.")]
    return []


def status_code(status: Any) -> int | None:
    if isinstance(status, str) and status[:3].isdigit():
        return int(status[:3])
    return None


def header_value(headers: Any, lname: str) -> Any:
    """The value of the first header named ``lname`` (lower case), or None."""
    if type(headers) is not list:
        return None
    for item in headers:
        if (type(item) is tuple and len(item) == 2 and isinstance(item[0], str)
                and item[0].lower() == lname):
            return item[1]
    return None


def content_length(headers: Any) -> int | None:
    try:
        value = header_value(headers, "content-length")
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
