"""An exchange kept as the events the agent sent, and what the list needs of it.

The session stores each exchange as its event log (format 3): the events as
they came, in order. Building an :class:`inspector.model.Exchange` from them
(:func:`fold`) costs more than everything else the host does per exchange, and
most exchanges are never opened, so the writer does not: a :class:`Tally` takes
from each event only the few values of the exchange's :class:`Summary` (method,
path, status as sent, sizes, duration, flags, counts), in a few attribute
updates per event.

The findings count includes what the checks of the record find when the end
event is folded (:func:`inspector.lint.check_record`). Those checks read a
handful of the exchange's fields; the tally keeps exactly those and runs the
same function on itself at the end (a few microseconds: its verdicts on a
status and headers are remembered), so the live list counts right without a fold.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..inside import check_queries, query_from
from ..lint import RULES, check_record
from ..model import (
    EV_BEGIN,
    EV_CHUNK,
    EV_END,
    EV_ERROR,
    EV_FINDING,
    EV_PAUSED,
    EV_PHASE,
    EV_QUERY,
    EV_RESENT,
    EV_RESUMED,
    PH_START_RESPONSE,
    ST_ABORTED,
    ST_ACTIVE,
    ST_COMPLETE,
    ST_FAILED,
    Exchange,
    environ_from_event,
    from_jsonable,
)

log = logging.getLogger(__name__)

SERVER_ONLY = "server"  # a Summary's state: waitress answered; the app was not called


class Summary(NamedTuple):
    """What the exchange list shows and filters on; small, kept for every exchange."""

    id: int
    start: float
    method: str
    path: str
    query: str
    status: int | None
    content_type: str
    response_size: int
    duration: float | None
    findings: int
    error: bool
    state: str
    resent_from: int | None = None  # the row it was sent again from (Resend, Edit and resend)
    queries: int = 0  # SQL queries the app ran (inspector.inside)


class _Code(NamedTuple):
    code: str  # a finding's, all check_record reads of one


class _Via(NamedTuple):
    via: str  # a chunk's, all check_record reads of one


class _Error(NamedTuple):
    handled: bool


class _Call(NamedTuple):
    """A start_response call: what check_record and the summary read of one."""

    status: Any
    headers: list[tuple[str, str]]
    t: float


_ITER = _Via("iter")
_NO_TEXTS: dict[str, str] = {}
_NO_OTHERS: dict[str, tuple[str, str]] = {}


class Tally:
    """The summary of an exchange, kept up to date event by event.

    Its attributes mirror the Exchange fields that :func:`check_record` and the
    summary read, updated as :meth:`Exchange.apply` would update them.
    """

    __slots__ = ("aborted", "chunks", "client_dropped", "duration", "environ", "error",
                 "file_wrapper", "findings", "others", "pause_t", "paused", "paused_time",
                 "pausing", "problems", "queries", "request_line", "resent_from",
                 "response_size", "server_only", "start", "start_response", "state", "texts",
                 "wire_head", "wire_size")

    def __init__(self) -> None:
        self.start = 0.0
        # The begin event's environ as the agent sends it (see environ_from_event):
        # read where it lies, a view would cost more than the few values looked up.
        self.texts = _NO_TEXTS
        self.others = _NO_OTHERS
        self.start_response: list[_Call] = []
        self.chunks: list[_Via] = []
        self.response_size = 0
        self.file_wrapper = False
        self.findings: list[_Code] = []
        self.problems = 0  # findings that are not mere notes (severity info)
        self.server_only = False  # waitress answered on its own; the app was not called
        self.request_line = ""
        self.error: _Error | None = None
        self.state = ST_ACTIVE
        self.duration: float | None = None
        self.paused = ""
        self.pausing = False  # a paused event came, and no resumed one yet
        self.pause_t: float | None = None  # that paused event's "t"
        self.aborted = ""
        self.paused_time = 0.0
        self.client_dropped = False
        self.wire_head = b""
        self.wire_size: int | None = None
        self.resent_from: int | None = None
        self.queries: list[Any] = []  # inspector.inside.Query, for the count and findings

    # -- the fields check_record reads -------------------------------------------
    def env(self, key: str, default: str = "") -> str:
        text = self.texts.get(key)
        if text is not None:
            return text
        value = self.others.get(key)
        return value[0] if value else default

    @property
    def method(self) -> str:
        return self.env("REQUEST_METHOD")

    # -- events ------------------------------------------------------------------------
    def apply(self, ev: dict[str, Any]) -> None:
        """Take what the summary needs from one event of this exchange."""
        kind = ev["type"]
        if kind == EV_CHUNK:
            if "start_response" in ev:
                self._start_response(ev["start_response"])
            self._chunk(ev["size"], ev.get("via", "iter"))
        elif kind == EV_PHASE:
            self._phase(ev)
        elif kind == EV_BEGIN:
            self.start = ev["start"]
            self._environ(ev["environ"])
            if ev.get("server_only"):
                self.server_only = True
                self.request_line = ev.get("request_line") or ""
        elif kind == EV_END:
            self._end(ev)
        elif kind == EV_FINDING:
            self.findings.append(_Code(ev["code"]))
            self.problems += ev.get("severity") != "info"
        elif kind == EV_ERROR:
            self._error(bool(ev.get("handled")))
        elif kind == EV_PAUSED:
            self.paused = ev["phase"]
            self.pausing = True
            self.pause_t = ev.get("t")
        elif kind == EV_RESUMED:
            self._resumed(ev)
        elif kind == EV_RESENT and type(ev["from"]) is int:
            self.resent_from = ev["from"]
        elif kind == EV_QUERY:
            self.queries.append(query_from(ev))

    def _environ(self, environ: Any) -> None:
        if type(environ) is list:  # [texts, others]: nearly always
            self.texts, self.others = environ
        else:
            self.texts, self.others = _NO_TEXTS, dict(environ_from_event(environ))

    def _phase(self, ev: dict[str, Any]) -> None:
        if ev["name"] == PH_START_RESPONSE:
            self._start_response((ev["t"], ev["status"], ev["headers"], ev.get("exc_info")))
        elif not ev.get("aborted") and ev["name"] == "file_wrapper":
            self.file_wrapper = True
            self.response_size = ev.get("size") or 0

    def _start_response(self, call: Any) -> None:
        t, status, headers, _exc_info = call
        self.start_response.append(_Call(status, [(h[0], h[1]) for h in headers], t))

    def _chunk(self, size: int, via: str) -> None:
        self.chunks.append(_ITER if via == "iter" else _Via(via))
        self.response_size += size

    def _error(self, handled: bool) -> None:
        if handled and self.error is not None:
            return
        if self.error is None or self.error.handled:
            self.error = _Error(handled)

    def _resumed(self, ev: dict[str, Any]) -> None:
        if self.pausing:  # both times count from the exchange's start
            t = ev["t"]
            began = self.pause_t if self.pause_t is not None else t
            self.paused_time += max(t - began, 0.0)
        if ev.get("how") == "abort":
            self.aborted = ev.get("phase") or self.paused
        self.paused = ""
        self.pausing = False
        self.pause_t = None

    def _end(self, ev: dict[str, Any]) -> None:
        if "start_response" in ev:
            self._start_response(ev["start_response"])
        for _t, size, _data, via in ev.get("chunks", ()):
            self._chunk(size, via)
        if "wire_size" in ev:
            self.wire_head = bytes(ev.get("wire_head") or b"")
            self.wire_size = ev["wire_size"]
        if ev.get("lint"):
            for finding, _t in check_record(self, ev):  # type: ignore[arg-type]
                self.findings.append(_Code(finding.code))
                self.problems += RULES[finding.code].severity != "info"
        for finding, _t in check_queries(self.queries):  # all warnings
            self.findings.append(_Code(finding.code))
            self.problems += 1
        self.duration = ev["t"]
        failed = self.error is not None and not self.error.handled
        self.state = ST_ABORTED if self.aborted else ST_FAILED if failed else ST_COMPLETE
        self.client_dropped = bool(ev.get("dropped"))

    # -- the summary -------------------------------------------------------------------
    def summary(self, xid: int) -> Summary:
        """What :func:`inspector.host.store.summarize` gives for the folded exchange."""
        if self.wire_size is not None:
            status, content_type = _wire_head(self.wire_head)
            size = self.wire_size
        else:
            last = self.start_response[-1] if self.start_response else None
            status = str(last.status) if last is not None else ""
            content_type = _header(last.headers, "content-type") if last is not None else None
            size = self.response_size
        head = status[:3]
        code = int(head) if head.isdigit() else None
        if self.method == "HEAD" or (code is not None and (code < 200 or code in (204, 304))):
            size = 0  # the body the client read: none (Exchange.client_size)
        duration = None if self.duration is None else max(self.duration - self.paused_time,
                                                          0.0)
        state = ("paused" if self.paused else "dropped" if self.client_dropped
                 else SERVER_ONLY if self.server_only else self.state)
        path = self.env("SCRIPT_NAME") + self.env("PATH_INFO") or self.request_line
        return Summary(xid, self.start, sys.intern(self.method), path,
                       self.env("QUERY_STRING"), code, sys.intern(content_type or ""), size,
                       duration, self.problems, self.error is not None, sys.intern(state),
                       self.resent_from, len(self.queries))


def _wire_head(head: bytes) -> tuple[str, str | None]:
    """The status and the first Content-Type of the head as sent, as Exchange's wire
    fields read them (lines split at CRLF, each header at ": ", latin-1), without
    splitting every line: a latin-1 letter lowers to ASCII only from ASCII."""
    status = head.split(b"\r\n", 1)[0].partition(b" ")[2].decode("latin-1")
    at = head.lower().find(b"\r\ncontent-type: ")
    if at < 0:
        return status, None
    start = at + len(b"\r\ncontent-type: ")
    end = head.find(b"\r\n", start)
    return status, (head[start:] if end < 0 else head[start:end]).decode("latin-1")


def _header(headers: Iterable[tuple[Any, Any]], lname: str) -> str | None:
    for key, value in headers:
        if isinstance(key, str) and key.lower() == lname:
            return value  # type: ignore[no-any-return]
    return None


# -- folding a log into an exchange ----------------------------------------------------

def applicable(event: dict[str, Any], xid: int) -> dict[str, Any]:
    """The event as ``Exchange.apply`` takes it, copied only when it must change.

    ``apply`` ignores the agent's id, so most events go in as they came. Bodies
    that came as JSON (``{"b64": ...}``) become bytes, and a paused event, which
    the exchange keeps as its ``pause``, gets the row id as every record has.
    """
    # Only begin ("body"), chunk and paused ("data") carry bytes; checking those
    # two is much cheaper than from_jsonable's look at every value of every event.
    if isinstance(event.get("body"), dict) or isinstance(event.get("data"), dict):
        event = from_jsonable(event)
    elif event["type"] == EV_PAUSED:
        event = dict(event)
    else:
        return event
    event["id"] = xid
    return event


def fold(xid: int, events: Iterable[Any]) -> Exchange:
    """The exchange ``xid`` built from its events; an event that does not fold (a
    malformed one) is left out, as the live recording leaves it out."""
    x = Exchange(xid)
    for event in events:
        try:
            x.apply(applicable(event, xid))
        except Exception as exc:  # one bad event must not lose the rest
            log.debug("exchange %d: event left out (%s)", xid, type(exc).__name__)
    return x
