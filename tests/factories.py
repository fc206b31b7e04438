"""Test factories for exchanges: complete, realistic ones in one call.

``exchange_events(...)`` gives the events the agent's capture layer would emit
for one request (same shapes as ``inspector/agent/capture.py``), and
``make_exchange(...)`` the Exchange those events build, so a test can feed a
store exactly like the real agent does and compare with the expected result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from inspector.model import Exchange, ExchangeBuilder, Finding, OutputLine

START = 1_700_000_000.25  # a fixed wall clock, so exports are reproducible
PORT = "8000"
BINARY_SAMPLE = bytes(range(256)) * 3  # every byte value: NUL, CR, invalid UTF-8...

FindingLike = Union[Finding, Sequence[str]]  # (code, severity, phase, message[, pep])
OutputLike = Union[OutputLine, str, Sequence[str]]  # a stdout line or (stream, text[, level])


def make_exchange(id: int = 1, method: str = "GET", path: str = "/", query: str = "",
                  status: str | None = "200 OK",
                  headers: Sequence[tuple[str, str]] | None = None,
                  request_body: bytes = b"", response_body: bytes = b"Hello",
                  findings: Sequence[FindingLike] = (), output: Sequence[OutputLike] = (),
                  error: str | None = None, **more: Any) -> Exchange:
    """The exchange built from :func:`exchange_events` with the same arguments."""
    builder = ExchangeBuilder()
    for event in exchange_events(id, method, path, query, status, headers, request_body,
                                 response_body, findings, output, error, **more):
        builder.apply(event)
    return builder.exchanges[id]


def exchange_events(id: int = 1, method: str = "GET", path: str = "/", query: str = "",
                    status: str | None = "200 OK",
                    headers: Sequence[tuple[str, str]] | None = None,
                    request_body: bytes = b"", response_body: bytes = b"Hello",
                    findings: Sequence[FindingLike] = (), output: Sequence[OutputLike] = (),
                    error: str | None = None, *,
                    request_headers: Sequence[tuple[str, str]] = (),
                    request_size: int | None = None, response_size: int | None = None,
                    start: float = START, gen: int | None = None,
                    end: bool = True) -> list[dict[str, Any]]:
    """The events of one exchange, as the agent emits them.

    ``status=None`` means start_response was never called. ``error`` is
    ``"Type: message"``; it is raised by the app call without a status, while
    iterating with one. ``request_size``/``response_size`` larger than the
    bodies make them truncated captures. ``end=False`` leaves it in flight.
    """
    if headers is None:
        headers = [("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Length", str(len(response_body)))]
    clock = _Clock()
    events: list[dict[str, Any]] = [{
        "type": "begin", "id": id, "t": 0.0, "start": start,
        "client": "127.0.0.1:52912", "thread": "waitress-1",
        "environ": environ(method, path, query, request_body, request_headers),
        "body": request_body,
        "body_size": len(request_body) if request_size is None else request_size,
    }]
    events.append({"type": "phase", "id": id, "t": clock(), "name": "app_called"})
    events += [_finding(id, clock(), f) for f in findings]
    events += [_output(id, clock(), o) for o in output]
    if status is not None:
        events.append({"type": "phase", "id": id, "t": clock(), "name": "start_response",
                       "status": status, "headers": list(headers), "exc_info": None})
        size = len(response_body) if response_size is None else response_size
        if size:
            events.append({"type": "chunk", "id": id, "t": clock(), "size": size,
                           "data": response_body, "via": "iter"})
    if error is not None:
        exc_type, _, message = error.partition(": ")
        phase = "chunk" if status is not None else "app_called"
        events.append({"type": "error", "id": id, "t": clock(), "phase": phase,
                       "exc_type": exc_type, "message": message,
                       "traceback": _traceback(exc_type, message)})
    if end:
        events.append({"type": "end", "id": id, "t": clock(), "closed": True,
                       "size": len(response_body) if response_size is None else response_size})
    if gen is not None:
        for event in events:
            event["gen"] = gen
    return events


def environ(method: str = "GET", path: str = "/", query: str = "", body: bytes = b"",
            request_headers: Sequence[tuple[str, str]] = ()) -> dict[str, tuple[str, str]]:
    """A waitress environ snapshot: (text, type name) per key, in waitress's order."""
    env: dict[str, tuple[str, str]] = {
        "REMOTE_ADDR": ("127.0.0.1", "str"),
        "REMOTE_HOST": ("127.0.0.1", "str"),
        "REMOTE_PORT": ("52912", "str"),
        "REQUEST_METHOD": (method, "str"),
        "SERVER_PORT": (PORT, "str"),
        "SERVER_NAME": ("waitress.invalid", "str"),
        "SERVER_SOFTWARE": ("waitress", "str"),
        "SERVER_PROTOCOL": ("HTTP/1.1", "str"),
        "SCRIPT_NAME": ("", "str"),
        "PATH_INFO": (path, "str"),
        "REQUEST_URI": (path + (f"?{query}" if query else ""), "str"),
        "QUERY_STRING": (query, "str"),
        "wsgi.url_scheme": ("http", "str"),
        "wsgi.version": ("(1, 0)", "tuple"),
        "wsgi.errors": ("<_io.TextIOWrapper name='<stderr>' mode='w' encoding='utf-8'>",
                        "TextIOWrapper"),
        "wsgi.multithread": ("True", "bool"),
        "wsgi.multiprocess": ("False", "bool"),
        "wsgi.run_once": ("False", "bool"),
        "wsgi.input": ("<_io.BytesIO object at 0x7f195fc3b7e0>", "BytesIO"),
        "wsgi.file_wrapper": ("<class 'waitress.buffers.ReadOnlyFileBasedBuffer'>", "type"),
        "wsgi.input_terminated": ("True", "bool"),
        "HTTP_HOST": (f"127.0.0.1:{PORT}", "str"),
        "HTTP_USER_AGENT": ("curl/8.5.0", "str"),
        "HTTP_ACCEPT": ("*/*", "str"),
    }
    for name, value in request_headers:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        env[key] = (value, "str")
    if body:
        env.setdefault("CONTENT_TYPE", ("application/octet-stream", "str"))
        env["CONTENT_LENGTH"] = (str(len(body)), "str")
    return env


class _Clock:
    """Phase times that grow by 0.25 ms per step, like a quick app."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.00025
        return self.t


def _finding(xid: int, t: float, f: FindingLike) -> dict[str, Any]:
    if not isinstance(f, Finding):
        f = Finding(*f)
    return {"type": "finding", "id": xid, "t": t, "code": f.code, "severity": f.severity,
            "phase": f.phase, "message": f.message, "pep": f.pep}


def _output(xid: int, t: float, o: OutputLike) -> dict[str, Any]:
    if isinstance(o, str):
        o = OutputLine("stdout", o)
    elif not isinstance(o, OutputLine):
        o = OutputLine(*o)
    return {"type": "output", "id": xid, "t": t, "stream": o.stream, "text": o.text,
            "level": o.level, "logger": o.logger}


def _traceback(exc_type: str, message: str) -> str:
    return ("Traceback (most recent call last):\n"
            '  File "/srv/app/views.py", line 12, in index\n'
            "    raise " + exc_type + "(" + repr(message) + ")\n"
            f"{exc_type}: {message}")
