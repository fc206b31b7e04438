"""PEP 3333 checks, as findings.

Each check is a small function over what the capture layer has seen; it
returns findings and never raises into the request, so lint cannot break a
response that would otherwise have gone out. Codes are stable: the GUI, the
exporters and users' notes refer to them.

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
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .model import Exchange

PEP = "PEP 3333"


class Rule(NamedTuple):
    severity: str
    phase: str
    section: str  # the PEP 3333 section the rule comes from


RULES: dict[str, Rule] = {
    # start_response
    "status-type": Rule("error", "start_response", "The start_response() Callable"),
    "status-format": Rule("error", "start_response", "The start_response() Callable"),
    "status-no-reason": Rule("warning", "start_response", "The start_response() Callable"),
    "status-latin1": Rule("error", "start_response", "Unicode Issues"),
    "status-control": Rule("error", "start_response", "The start_response() Callable"),
    "headers-type": Rule("error", "start_response", "The start_response() Callable"),
    "header-item": Rule("error", "start_response", "The start_response() Callable"),
    "header-name": Rule("error", "start_response", "The start_response() Callable"),
    "header-value-control": Rule("error", "start_response", "The start_response() Callable"),
    "header-latin1": Rule("error", "start_response", "Unicode Issues"),
    "header-status": Rule("error", "start_response", "The start_response() Callable"),
    "header-hop-by-hop": Rule("error", "start_response", "Other HTTP Features"),
    "content-type-missing": Rule("warning", "start_response", "The start_response() Callable"),
    "content-type-not-allowed": Rule("warning", "start_response", "Other HTTP Features"),
    "start-response-repeated": Rule("error", "start_response", "The start_response() Callable"),
    "exc-info-type": Rule("error", "start_response", "Error Handling"),
    # the returned iterable and its items
    "result-str": Rule("error", "app_called", "Specification Details"),
    "result-bytes": Rule("error", "app_called", "Buffering and Streaming"),
    "result-none": Rule("error", "app_called", "Specification Details"),
    "chunk-type": Rule("error", "chunk", "Specification Details"),
    "chunk-before-start-response": Rule("error", "chunk", "The start_response() Callable"),
    "write-type": Rule("error", "chunk", "The write() Callable"),
    "write-in-iterable": Rule("error", "chunk", "The write() Callable"),
    # the end of the exchange
    "start-response-missing": Rule("error", "closed", "The start_response() Callable"),
    "close-not-called": Rule("error", "closed", "Specification Details"),
    "content-length-mismatch": Rule("error", "closed", "Handling the Content-Length Header"),
    "body-not-allowed": Rule("error", "closed", "Handling the Content-Length Header"),
    "len-mismatch": Rule("warning", "closed", "Buffering and Streaming"),
    # wsgi.input and wsgi.errors
    "input-read-no-size": Rule("info", "app_called", "Input and Error Streams"),
    "input-read-past-length": Rule("warning", "app_called", "Input and Error Streams"),
    "errors-type": Rule("error", "app_called", "Input and Error Streams"),
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
            "message": self.message, "pep": f"{PEP}: {rule.section}",
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
        found += [problem for item in headers for problem in _check_header(item)[0]
                  if problem.code in _TYPE_CODES]
    return found


def check_record(x: Exchange, end: dict[str, Any]) -> list[tuple[Finding, float]]:
    """The checks that need only the record, with the time each refers to; run
    when ``end`` (the agent's end event) is folded into ``x``.

    After a type finding the record holds stand-in text (a repr), which would
    only repeat the problem in other words: then the form checks are skipped.
    """
    typed = any(f.code in _TYPE_CODES for f in x.findings)
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
        failed=x.error is not None or not end.get("exhausted", True))]
    return found


def _handed(x: Exchange, last: Any) -> int:
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
    if type(headers) is not list:
        return [Finding("headers-type",
                        f"The headers must be a list of (name, value) tuples, "
                        f"not {type(headers).__name__}.")]
    found: list[Finding] = []
    content_type = False
    for item in headers:
        if type(item) is tuple and len(item) == 2:
            name, value = item
            lname = _good_names.get(name) if type(name) is str else None
            if (lname is not None and type(value) is str and value.isascii()
                    and value.isprintable()):
                content_type = content_type or lname == "content-type"
                continue
        problems, is_content_type = _check_header(item)
        found += problems
        content_type = content_type or is_content_type
    code = status_code(status)
    if code is not None:
        no_body = code in NO_BODY_STATUSES or code < 200
        if content_type and no_body:
            found.append(Finding("content-type-not-allowed",
                                 f"A {code} response has no body, so it should not have a "
                                 "Content-Type."))
        elif not content_type and not no_body:
            found.append(Finding("content-type-missing",
                                 "The response has no Content-Type header."))
    return found


def _check_header(item: Any) -> tuple[list[Finding], bool]:
    """The findings of one header, and whether it is the Content-Type."""
    if type(item) is not tuple or len(item) != 2 or not all(isinstance(p, str) for p in item):
        return [Finding("header-item", f"The header {item!r} is not a (str, str) tuple.")], False
    name, value = item
    lname = name.lower()
    found = []
    if _TOKEN.match(name) is None:
        found.append(Finding("header-name", f"The header name {name!r} is not a valid token."))
    if lname == "status":
        found.append(Finding("header-status",
                             "A 'Status' header is not allowed; pass the status to "
                             "start_response instead."))
    elif lname in HOP_BY_HOP:
        found.append(Finding("header-hop-by-hop",
                             f"The hop-by-hop header {name!r} is the server's business; "
                             "an application must not set it."))
    if not found and len(_good_names) < _MEMO_LIMIT:
        _good_names[name] = lname
    if _CLEAN_VALUE.match(value) is None:
        found.extend(_value_problems(name, value))
    return found, lname == "content-type"


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
              expected_len: int | None, chunks: int, closed: bool,
              failed: bool) -> list[Finding]:
    """Checks that need the whole exchange.

    ``failed``: the app raised, or the server stopped reading the iterable
    early (its own error, a client gone); then only close() is judged, since
    the app never got to finish.
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
                             f"A {code} response must have no body, but the application "
                             f"sent {sent} bytes."))
    # On HEAD and 304, Content-Length may give the size a GET would get (RFC 9110,
    # 8.6); on 1xx/204/304 servers drop it, and body-not-allowed covers any body.
    declared = content_length(headers)
    if declared is not None and declared != sent and method != "HEAD" and not no_body:
        found.append(Finding("content-length-mismatch",
                             f"Content-Length says {declared} bytes but the application "
                             f"sent {sent}."))
    if expected_len is not None and expected_len != chunks:
        found.append(Finding("len-mismatch",
                             f"len() of the iterable said {expected_len} items but it "
                             f"yielded {chunks}."))
    return found


def check_read(size: Any, consumed: int, limit: int | None) -> list[Finding]:
    if size is None or (isinstance(size, int) and size < 0):
        return [Finding("input-read-no-size",
                        "wsgi.input.read() was called without a size; portable code reads "
                        "at most CONTENT_LENGTH bytes.")]
    if not isinstance(size, int):
        return []  # the stream itself rejects it; lint must not raise in its place
    if limit is not None and consumed + size > limit:
        return [Finding("input-read-past-length",
                        f"wsgi.input.read({size}) asked for more than the {limit - consumed} "
                        "bytes left of CONTENT_LENGTH.")]
    return []


def check_errors_write(data: Any) -> list[Finding]:
    if not isinstance(data, str):
        return [Finding("errors-type", f"wsgi.errors.write() was given a "
                        f"{type(data).__name__}; it takes str.")]
    return []


def status_code(status: Any) -> int | None:
    if isinstance(status, str) and status[:3].isdigit():
        return int(status[:3])
    return None


def content_length(headers: Any) -> int | None:
    if type(headers) is not list:
        return None
    for item in headers:
        if (type(item) is tuple and len(item) == 2 and isinstance(item[0], str)
                and item[0].lower() == "content-length"):
            try:
                return int(item[1])
            except (TypeError, ValueError):
                return None
    return None


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
