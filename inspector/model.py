"""Exchanges as plain data, and the events that build them.

This module is the contract between the agent (which emits events), the store,
the exporters and the GUI (which rebuild exchanges from them). Stdlib only.

An *event* is a dict with a ``"type"`` key (one of the ``EV_*`` names) and,
except for process-lane output, the exchange ``"id"``. Times ``"t"`` are
seconds since the exchange began (monotonic clock); ``"start"`` is wall-clock.
Bytes stay bytes in memory; :func:`to_jsonable` turns them into base64 text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .inside import (
    EV_OUTBOUND,
    EV_PROFILE,
    EV_QUERY,
    EV_TEMPLATE,
    OutboundCall,
    ProfileNode,
    Query,
    TemplateRender,
    check_queries,
    outbound_from,
    profile_from,
    query_from,
    template_from,
)
from .inside import from_plain as inside_from_plain
from .inside import to_plain as inside_to_plain
from .lint import check_record

# Event types.
EV_BEGIN = "begin"  # environ snapshot and request body; the app is about to be called
EV_PHASE = "phase"  # a named phase was reached (app_called, start_response, closed, ...)
EV_CHUNK = "chunk"  # one piece of response body, from the iterable or write()
EV_OUTPUT = "output"  # a line of print()/stderr/logging; "id" is None for the process lane
EV_FINDING = "finding"  # a lint finding
EV_ERROR = "error"  # an exception raised by the app (call, iteration or close)
EV_END = "end"  # the exchange is over
EV_PAUSED = "paused"  # stepping: the request waits at a phase (with that phase's data)
EV_RESUMED = "resumed"  # stepping: it goes on ("how": step, continue, abort, timeout, ...)
EV_EDIT = "edit"  # stepping: the user changed what passes ("what", "original", "edited")
# The host's, not the agent's: this exchange is the user's resend of row "from".
EV_RESENT = "resent"
# Inside the app (see inspector.inside): a SQL query, a template render, an HTTP call.
EVENT_TYPES = (EV_BEGIN, EV_PHASE, EV_CHUNK, EV_OUTPUT, EV_FINDING, EV_ERROR, EV_END,
               EV_PAUSED, EV_RESUMED, EV_EDIT, EV_RESENT, EV_QUERY, EV_TEMPLATE, EV_OUTBOUND,
               EV_PROFILE)

# Phase names, in the order a well-behaved exchange passes them.
PH_RECEIVED = "received"
PH_APP_CALLED = "app_called"
PH_START_RESPONSE = "start_response"
PH_CHUNK = "chunk"
PH_CLOSED = "closed"
PH_ERROR = "error"
PHASES = (PH_RECEIVED, PH_APP_CALLED, PH_START_RESPONSE, PH_CHUNK, PH_CLOSED, PH_ERROR)

# Severities of findings, most serious first.
SEVERITIES = ("error", "warning", "info")

# Exchange states.
ST_ACTIVE = "active"
ST_COMPLETE = "complete"
ST_FAILED = "failed"
ST_ABORTED = "aborted"  # the user aborted it while stepping (see ``Exchange.aborted``)


@dataclass
class Finding:
    code: str
    severity: str
    phase: str
    message: str
    pep: str = ""
    edited: bool = False  # raised by data the user edited while stepping
    quote: str = ""  # the sentence of the PEP the rule enforces


@dataclass
class Phase:
    name: str
    t: float  # seconds since the exchange began


@dataclass
class OutputLine:
    stream: str  # "stdout", "stderr" (under waitress also wsgi.errors) or "log"
    text: str
    level: str = ""  # logging level name for "log" lines
    logger: str = ""
    t: float = 0.0


@dataclass
class StartResponseCall:
    status: Any  # normally str; kept as sent so lint findings can be shown against it
    headers: list[tuple[str, str]]
    exc_info: str | None = None  # the exception text when called with exc_info
    t: float = 0.0


@dataclass
class Chunk:
    size: int
    t: float
    via: str = "iter"  # "iter" or "write"


@dataclass
class ErrorInfo:
    phase: str  # where it was raised, or "handled": the app caught it and logged it
    type: str
    message: str
    traceback: str
    handled: bool = False  # caught by the app (a framework's 500 page), known from its log
    logged: str = ""  # "logger: message" of the log record that carried it


@dataclass
class Edit:
    """A change the user made while stepping; both values kept for the diff."""

    phase: str
    what: str  # "environ", "body", "status", "headers", "chunk 2"
    original: Any
    edited: Any  # None: removed / dropped
    t: float = 0.0


@dataclass
class Exchange:
    id: int
    start: float = 0.0  # wall clock, seconds since the epoch
    client: str = ""
    thread: str = ""
    environ: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # key -> (text, type)
    request_body: bytes = b""  # captured part
    request_size: int = 0  # total size, whatever the cap
    start_response: list[StartResponseCall] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    response_body: bytes = b""  # captured part
    response_size: int = 0  # total bytes the app produced
    file_wrapper: bool = False  # the app returned wsgi.file_wrapper, passed through
    phases: list[Phase] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    output: list[OutputLine] = field(default_factory=list)
    error: ErrorInfo | None = None
    state: str = ST_ACTIVE
    duration: float | None = None  # seconds, when ended
    edits: list[Edit] = field(default_factory=list)
    paused: str = ""  # the phase it waits at while stepping, else ""
    aborted: str = ""  # the phase at which the user aborted it while stepping, else ""
    paused_time: float = 0.0  # seconds it waited on the user while stepping, in ``duration``
    client_dropped: bool = False  # the app's process died: the client got no reply from it
    pause: dict[str, Any] | None = field(default=None, compare=False)  # the paused event
    # What went out on the wire (the server's side; see docs/protocol.md). wire_size
    # None: not recorded (an older session, an import without it).
    wire_version: str = ""  # "HTTP/1.1"
    wire_status: str = ""  # "" with wire_size set: no head went out
    wire_headers: list[tuple[str, str]] = field(default_factory=list)  # as sent, in order
    wire_head_size: int = 0  # bytes of the status line and headers
    wire_size: int | None = None  # body bytes that went out (de-chunked)
    wire_body: bytes | None = None  # captured part, only when not a prefix of response_body
    client_disconnected: bool = False  # the client hung up before the response was out
    server_only: bool = False  # the server answered on its own; the app was not called
    request_line: str = ""  # as received, for a server_only answer
    resent_from: int | None = None  # the row this one was sent again from (Resend, Edit)
    # Inside the app, in the order each ended (see inspector.inside).
    queries: list[Query] = field(default_factory=list)
    templates: list[TemplateRender] = field(default_factory=list)
    outbound: list[OutboundCall] = field(default_factory=list)
    profile: ProfileNode | None = None  # the call tree, when this request was profiled

    # -- convenience views over the environ ---------------------------------
    def env(self, key: str, default: str = "") -> str:
        value = self.environ.get(key)
        return value[0] if value else default

    @property
    def method(self) -> str:
        return self.env("REQUEST_METHOD")

    @property
    def path(self) -> str:
        return self.env("SCRIPT_NAME") + self.env("PATH_INFO")

    @property
    def query(self) -> str:
        return self.env("QUERY_STRING")

    @property
    def wire_recorded(self) -> bool:
        return self.wire_size is not None

    @property
    def status(self) -> str:
        """The status the client got (the app's, when the wire was not recorded)."""
        return self.wire_status if self.wire_size is not None else self.app_status

    @property
    def app_status(self) -> str:
        """The status the app gave: its last start_response call's."""
        return str(self.start_response[-1].status) if self.start_response else ""

    @property
    def status_code(self) -> int | None:
        head = self.status[:3]
        return int(head) if head.isdigit() else None

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The headers the client got (the app's, when the wire was not recorded)."""
        if self.wire_size is not None:
            return list(self.wire_headers)
        return self.app_headers

    @property
    def app_headers(self) -> list[tuple[str, str]]:
        return list(self.start_response[-1].headers) if self.start_response else []

    @property
    def sent_size(self) -> int:
        """Body bytes that went out (the app's count, when the wire was not recorded)."""
        return self.wire_size if self.wire_size is not None else self.response_size

    @property
    def sent_body(self) -> bytes:
        """The captured part of the body that went out."""
        if self.wire_body is not None:
            return self.wire_body
        if self.wire_size is not None and self.wire_size < len(self.response_body):
            return bytes(self.response_body[: self.wire_size])
        return bytes(self.response_body)

    @property
    def client_reads_body(self) -> bool:
        """False for answers a client reads no body from (HEAD; 1xx, 204, 304)."""
        code = self.status_code
        return self.method != "HEAD" and not (code is not None and (code < 200
                                                                    or code in (204, 304)))

    @property
    def client_size(self) -> int:
        """The body the client read: what went out, unless it reads none."""
        return self.sent_size if self.client_reads_body else 0

    @property
    def client_body(self) -> bytes:
        return self.sent_body if self.client_reads_body else b""

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if isinstance(key, str) and key.lower() == lname:
                return value
        return None

    @property
    def request_truncated(self) -> bool:
        return len(self.request_body) < self.request_size

    @property
    def response_truncated(self) -> bool:
        return len(self.response_body) < self.response_size

    @property
    def app_duration(self) -> float | None:
        """``duration`` without the time spent paused: what the app and server took."""
        if self.duration is None:
            return None
        return max(self.duration - self.paused_time, 0.0)

    def phase_time(self, name: str) -> float | None:
        for phase in self.phases:
            if phase.name == name:
                return phase.t
        return None

    # -- building from events ------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event of this exchange into it."""
        handler = _APPLY[event["type"]]
        handler(self, event)

    # -- plain data ------------------------------------------------------------
    def to_dict(self, bodies: bool = True) -> dict[str, Any]:
        """A JSON-safe dict (bytes as base64 text; ``bodies=False`` leaves the two
        bodies out, for a store that keeps them as blobs)."""
        data = {
            "id": self.id,
            "start": self.start,
            "client": self.client,
            "thread": self.thread,
            "environ": environ_to_plain(self.environ),
            "request_body": _b64(self.request_body) if bodies else "",
            "request_size": self.request_size,
            "start_response": [
                {"status": c.status, "headers": [list(h) for h in c.headers],
                 "exc_info": c.exc_info, "t": c.t}
                for c in self.start_response
            ],
            "chunks": [{"size": c.size, "t": c.t, "via": c.via} for c in self.chunks],
            "response_body": _b64(self.response_body) if bodies else "",
            "response_size": self.response_size,
            "file_wrapper": self.file_wrapper,
            "phases": [{"name": p.name, "t": p.t} for p in self.phases],
            "findings": [vars(f).copy() for f in self.findings],
            "output": [vars(o).copy() for o in self.output],
            "error": vars(self.error).copy() if self.error else None,
            "state": self.state,
            "duration": self.duration,
            "edits": [vars(e).copy() for e in self.edits],
            "paused": self.paused,
            "aborted": self.aborted,
            "paused_time": self.paused_time,
            "client_dropped": self.client_dropped,
        }
        if self.resent_from is not None:
            data["resent_from"] = self.resent_from
        if self.wire_size is not None or self.server_only:
            data.update(wire_to_plain(self))
        data.update(inside_to_plain(self))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exchange:
        return cls(
            id=data["id"],
            start=data["start"],
            client=data["client"],
            thread=data["thread"],
            environ=environ_from_event(data["environ"]),
            request_body=_unb64(data["request_body"]),
            request_size=data["request_size"],
            start_response=[
                StartResponseCall(c["status"], [(h[0], h[1]) for h in c["headers"]],
                                  c["exc_info"], c["t"])
                for c in data["start_response"]
            ],
            chunks=[Chunk(**c) for c in data["chunks"]],
            response_body=_unb64(data["response_body"]),
            response_size=data["response_size"],
            file_wrapper=data["file_wrapper"],
            phases=[Phase(**p) for p in data["phases"]],
            findings=[Finding(**f) for f in data["findings"]],
            output=[OutputLine(**o) for o in data["output"]],
            error=ErrorInfo(**data["error"]) if data["error"] else None,
            state=data["state"],
            duration=data["duration"],
            edits=[Edit(**e) for e in data.get("edits", [])],
            paused=data.get("paused", ""),
            aborted=data.get("aborted", ""),
            paused_time=data.get("paused_time", 0.0),
            **wire_from_plain(data),
            **inside_from_plain(data),
            client_dropped=data.get("client_dropped", False),
            resent_from=data.get("resent_from"),
        )


def wire_to_plain(x: Exchange) -> dict[str, Any]:
    """The wire fields, JSON-safe. wire_body goes with them even when bodies are
    kept elsewhere: it is rare (the server's own answers, files)."""
    return {
        "wire_version": x.wire_version, "wire_status": x.wire_status,
        "wire_headers": [list(h) for h in x.wire_headers], "wire_head_size": x.wire_head_size,
        "wire_size": x.wire_size,
        "wire_body": None if x.wire_body is None else _b64(x.wire_body),
        "client_disconnected": x.client_disconnected, "server_only": x.server_only,
        "request_line": x.request_line,
    }


def wire_from_plain(data: dict[str, Any]) -> dict[str, Any]:
    if "wire_size" not in data:
        return {}
    body = data.get("wire_body")
    return {
        "wire_version": data.get("wire_version", ""), "wire_status": data.get("wire_status", ""),
        "wire_headers": [(h[0], h[1]) for h in data.get("wire_headers", [])],
        "wire_head_size": data.get("wire_head_size", 0), "wire_size": data["wire_size"],
        "wire_body": None if body is None else _unb64(body),
        "client_disconnected": bool(data.get("client_disconnected")),
        "server_only": bool(data.get("server_only")),
        "request_line": data.get("request_line", ""),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


# -- event folding -------------------------------------------------------------

def _apply_begin(x: Exchange, ev: dict[str, Any]) -> None:
    x.start = ev["start"]
    x.thread = ev["thread"]
    x.environ = environ_from_event(ev["environ"])
    # The agent leaves the client address to us: it is in the environ.
    x.client = ev.get("client") or f"{x.env('REMOTE_ADDR')}:{x.env('REMOTE_PORT')}"
    x.request_body = ev["body"]
    x.request_size = ev["body_size"]
    x.phases.append(Phase(PH_RECEIVED, 0.0))
    if ev.get("server_only"):  # answered by the server; the app was not called
        x.server_only = True
        x.request_line = ev.get("request_line", "")
    if "t_app" in ev:  # the app was called straight away: one event for both
        x.phases.append(Phase(PH_APP_CALLED, ev["t_app"]))


def environ_from_event(environ: Any) -> Mapping[str, tuple[str, str]]:
    """The begin event's environ: ``[texts, others]`` from the agent, or a full
    ``{key: (text, type)}`` mapping (older sessions, imports)."""
    if isinstance(environ, list):
        texts, others = environ
        if any(type(v) is not tuple for v in others.values()):  # lists, from JSON
            others = {k: (v[0], v[1]) for k, v in others.items()}
        return EnvironView(texts, others)
    # Over the wire pairs arrive as JSON lists; in-process as tuples: make them one.
    return {k: (v[0], v[1]) for k, v in environ.items()}


def environ_to_plain(environ: Mapping[str, tuple[str, str]]) -> Any:
    """JSON-safe: the compact ``[texts, others]`` of a view, else ``{key: [text, type]}``
    (json writes the pairs, tuples, as lists)."""
    if isinstance(environ, EnvironView):
        return [environ._texts, environ._others]
    return {k: list(v) for k, v in environ.items()}


class EnvironView(Mapping[str, tuple[str, str]]):
    """An environ snapshot as ``key -> (text, type name)`` without building a
    pair per text value: most keys are text, and most exchanges are never opened."""

    __slots__ = ("_others", "_texts")

    def __init__(self, texts: dict[str, str], others: dict[str, tuple[str, str]]) -> None:
        self._texts = texts
        self._others = others

    def __getitem__(self, key: str) -> tuple[str, str]:
        text = self._texts.get(key)
        if text is not None:
            return text, "str"
        return self._others[key]

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping.get wraps __getitem__ in try/except: slow, and it runs per summary.
        text = self._texts.get(key)
        if text is not None:
            return text, "str"
        return self._others.get(key, default)

    def __iter__(self) -> Iterator[str]:
        yield from self._texts
        yield from self._others

    def __len__(self) -> int:
        return len(self._texts) + len(self._others)

    def __repr__(self) -> str:
        return repr(dict(self.items()))

    def __deepcopy__(self, memo: dict[int, Any]) -> EnvironView:
        return EnvironView(dict(self._texts), dict(self._others))


def _apply_phase(x: Exchange, ev: dict[str, Any]) -> None:
    if ev["name"] == PH_START_RESPONSE:
        _apply_start_response(x, (ev["t"], ev["status"], ev["headers"], ev.get("exc_info")))
        return
    if ev.get("aborted"):  # aborted before the call: the app was never called
        return
    x.phases.append(Phase(ev["name"], ev["t"]))
    if ev["name"] == "file_wrapper":
        x.file_wrapper = True
        x.response_size = ev.get("size") or 0  # None: a file that cannot seek


def _apply_start_response(x: Exchange, call: Any) -> None:
    """``call`` is ``(t, status, headers, exc_info)``: a phase event's, or the one
    a chunk or end event carries as "start_response"."""
    t, status, headers, exc_info = call
    x.phases.append(Phase(PH_START_RESPONSE, t))
    x.start_response.append(StartResponseCall(status, [(h[0], h[1]) for h in headers],
                                              exc_info, t))


def _apply_chunk(x: Exchange, ev: dict[str, Any]) -> None:
    if "start_response" in ev:
        _apply_start_response(x, ev["start_response"])
    _add_chunk(x, ev["t"], ev["size"], ev.get("data"), ev.get("via", "iter"))


def _add_chunk(x: Exchange, t: float, size: int, data: bytes | None, via: str) -> None:
    x.chunks.append(Chunk(size, t, via))
    x.response_size += size
    if data:
        # Grown in place while streaming: bytes += bytes would copy the whole
        # capture for every small chunk. Made bytes again at the end.
        if type(x.response_body) is not bytearray:
            x.response_body = bytearray(x.response_body)
        x.response_body += data
    if not x.phases or x.phases[-1].name != PH_CHUNK:
        x.phases.append(Phase(PH_CHUNK, t))


def _apply_output(x: Exchange, ev: dict[str, Any]) -> None:
    _apply_output_to(x.output, ev)


def _apply_finding(x: Exchange, ev: dict[str, Any]) -> None:
    x.findings.append(Finding(ev["code"], ev["severity"], ev["phase"], ev["message"],
                              ev.get("pep", ""), ev.get("edited", False), ev.get("quote", "")))


def _apply_error(x: Exchange, ev: dict[str, Any]) -> None:
    # The first error is the cause; later ones (e.g. from close()) are kept as output.
    # One the app raised wins over one it caught and logged (that one is in the
    # output already, as its log record).
    handled = bool(ev.get("handled"))
    if handled and x.error is not None:
        return
    info = ErrorInfo(ev["phase"], ev["exc_type"], ev["message"], ev["traceback"], handled,
                     ev.get("logged", ""))
    if x.error is None or x.error.handled:
        x.error = info
    else:
        x.output.append(OutputLine("stderr", ev["traceback"], "ERROR", "", ev["t"]))
    if not handled:  # not a phase of the WSGI call: the app went on and answered
        x.phases.append(Phase(PH_ERROR, ev["t"]))


def _apply_end(x: Exchange, ev: dict[str, Any]) -> None:
    if "start_response" in ev:
        _apply_start_response(x, ev["start_response"])
    for t, size, data, via in ev.get("chunks", ()):  # a returned list, all at once
        _add_chunk(x, t, size, data, via)
    if "wire_size" in ev:
        _apply_wire(x, ev)
    if ev.get("lint"):  # the agent left the checks of the record to us
        for finding, t in check_record(x, ev):
            _apply_finding(x, finding.event(x.id, t))
    for finding, _t in check_queries(x.queries):  # not PEP 3333's: no section
        x.findings.append(Finding(finding.code, "warning", PH_APP_CALLED, finding.message))
    x.response_body = bytes(x.response_body)
    x.duration = ev["t"]
    failed = x.error is not None and not x.error.handled
    x.state = ST_ABORTED if x.aborted else ST_FAILED if failed else ST_COMPLETE
    x.client_dropped = bool(ev.get("dropped"))
    if ev.get("closed"):
        x.phases.append(Phase(PH_CLOSED, ev.get("closed_t", ev["t"])))


def _apply_wire(x: Exchange, ev: dict[str, Any]) -> None:
    """The end event's wire facts: the head as sent, the body's size and, when it is
    not a prefix of the app's, its bytes."""
    head = ev.get("wire_head") or b""
    x.wire_head_size = len(head)
    lines = head.decode("latin-1").split("\r\n")
    version, _, x.wire_status = lines[0].partition(" ")
    x.wire_version = version if x.wire_status else ""
    x.wire_headers = [(name, value) for name, _, value in
                      (line.partition(": ") for line in lines[1:] if line)]
    x.wire_size = ev["wire_size"]
    if "wire_body" in ev:
        x.wire_body = bytes(ev["wire_body"])
    x.client_disconnected = bool(ev.get("hangup"))


def _apply_paused(x: Exchange, ev: dict[str, Any]) -> None:
    x.paused = ev["phase"]
    x.pause = ev


def _apply_resumed(x: Exchange, ev: dict[str, Any]) -> None:
    if x.pause is not None:  # both times count from the exchange's start
        x.paused_time += max(ev["t"] - x.pause.get("t", ev["t"]), 0.0)
    if ev.get("how") == "abort":
        x.aborted = ev.get("phase") or x.paused
    x.paused = ""
    x.pause = None


def _apply_resent(x: Exchange, ev: dict[str, Any]) -> None:
    origin = ev["from"]
    if type(origin) is not int:  # a crafted log: the link is left out, not the exchange
        raise TypeError("a resent event's origin is not a row id")
    x.resent_from = origin


def _apply_edit(x: Exchange, ev: dict[str, Any]) -> None:
    x.edits.append(Edit(ev["phase"], ev["what"], ev["original"], ev["edited"], ev["t"]))


def _apply_query(x: Exchange, ev: dict[str, Any]) -> None:
    x.queries.append(query_from(ev))


def _apply_template(x: Exchange, ev: dict[str, Any]) -> None:
    x.templates.append(template_from(ev))


def _apply_outbound(x: Exchange, ev: dict[str, Any]) -> None:
    x.outbound.append(outbound_from(ev))


def _apply_profile(x: Exchange, ev: dict[str, Any]) -> None:
    x.profile = profile_from(ev.get("tree"))


_APPLY = {
    EV_BEGIN: _apply_begin,
    EV_PHASE: _apply_phase,
    EV_CHUNK: _apply_chunk,
    EV_OUTPUT: _apply_output,
    EV_FINDING: _apply_finding,
    EV_ERROR: _apply_error,
    EV_END: _apply_end,
    EV_PAUSED: _apply_paused,
    EV_RESUMED: _apply_resumed,
    EV_EDIT: _apply_edit,
    EV_RESENT: _apply_resent,
    EV_QUERY: _apply_query,
    EV_TEMPLATE: _apply_template,
    EV_OUTBOUND: _apply_outbound,
    EV_PROFILE: _apply_profile,
}


class ExchangeBuilder:
    """Rebuilds exchanges from a stream of events (in any thread, one at a time).

    Process-lane output (events whose ``id`` is None) is kept in ``process_output``.
    """

    def __init__(self) -> None:
        self.exchanges: dict[int, Exchange] = {}
        self.process_output: list[OutputLine] = []

    def apply(self, event: dict[str, Any]) -> Exchange | None:
        xid = event.get("id")
        if xid is None:
            _apply_output_to(self.process_output, event)
            return None
        exchange = self.exchanges.get(xid)
        if exchange is None:
            exchange = self.exchanges[xid] = Exchange(xid)
        exchange.apply(event)
        return exchange


def _apply_output_to(lines: list[OutputLine], ev: dict[str, Any]) -> None:
    lines.append(OutputLine(ev["stream"], ev["text"], ev.get("level", ""),
                            ev.get("logger", ""), ev.get("t", 0.0)))


def to_jsonable(event: dict[str, Any]) -> dict[str, Any]:
    """An event with its bytes values as ``{"b64": ...}`` so json.dumps takes it."""
    return {k: ({"b64": _b64(v)} if isinstance(v, (bytes, bytearray)) else v)
            for k, v in event.items()}


def from_jsonable(event: dict[str, Any]) -> dict[str, Any]:
    return {k: (_unb64(v["b64"]) if isinstance(v, dict) and set(v) == {"b64"} else v)
            for k, v in event.items()}
