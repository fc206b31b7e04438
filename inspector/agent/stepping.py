"""A Flight that pauses at each phase and applies the user's edits.

Only requests that match a breakpoint take this path; the ordinary Flight
stays lean. Edits are recorded as ``edit`` events (what, original, edited),
and lint findings raised by an edited phase carry ``"edited": True``.

Abort answers ``502 Bad Gateway`` with a short body while no byte of the
response has gone out (at ``start_response`` or a chunk, by replacing the
status through ``start_response(..., exc_info)`` as PEP 3333 allows), and
otherwise (bytes already sent, at ``closed``, or with mode ``"drop"``) cuts the
connection.
"""

from __future__ import annotations

import io
import sys
from typing import Any, Callable

from .. import lint
from .capture import Body, Capture, Flight, _perf, input_position, read_body

ABORT_STATUS = "502 Bad Gateway"
ABORT_BODY = b"Aborted in WSGI Inspector.\n"
ABORT_HEADERS = [("Content-Type", "text/plain; charset=utf-8"),
                 ("Content-Length", str(len(ABORT_BODY)))]


class AbortedByUser(Exception):
    """Raised into the server to cut the connection of an aborted request."""


class SteppedFlight(Flight):
    __slots__ = ("abort", "edited", "gate", "stepping")
    HOLD = False  # each phase shows as it happens: the user is watching
    HOST_LINT = False  # a pause shows what is wrong so far

    def __init__(self, capture: Capture, xid: int, environ: dict[str, Any],
                 start_response: Callable) -> None:
        super().__init__(capture, xid, environ, start_response)
        self.begin(app_called=False)  # the row shows before the first pause
        self.gate = capture.gate
        self.stepping = True
        self.abort = ""  # "", "502" or "drop"
        self.edited: set[str] = set()  # phases whose data the user changed

    def ask(self, phase: str, **data: Any) -> dict[str, Any] | None:
        """Pause at ``phase`` if still stepping; the answer, or None."""
        if not self.stepping:
            return None
        answer = self.gate.pause(self.xid, self.t0, phase, **data)
        if answer["type"] == "continue":
            self.stepping = False
        elif answer["type"] == "abort":
            self.stepping = False
            self.abort = "drop" if answer.get("mode") == "drop" else "502"
        return answer

    def record_edit(self, phase: str, what: str, original: Any, edited: Any) -> None:
        self.edited.add(phase)
        self.emit({"type": "edit", "id": self.xid, "t": _perf() - self.t0, "phase": phase,
                   "what": what, "original": original, "edited": edited})

    def findings(self, found: list[lint.Finding], t: float | None = None) -> None:
        if not self.edited:
            return super().findings(found, t)
        t = _perf() - self.t0 if t is None else t
        for finding in found:
            event = finding.event(self.xid, t)
            event["edited"] = event["phase"] in self.edited or event["phase"] == "closed"
            self.emit(event)
        return None

    # -- received --------------------------------------------------------------------
    def run(self) -> Any:
        environ = self.environ
        body, size = read_body(environ, self.request_cap)
        answer = self.ask("received", environ={k: v for k, v in environ.items()
                                               if isinstance(v, str)},
                          body=body, body_complete=len(body) == size)
        if answer is not None:
            self.apply_request_edit(answer.get("edit") or {})
        if self.abort:
            return self.answer_abort()
        return super().run()

    def apply_request_edit(self, edit: dict[str, Any]) -> None:
        environ = self.environ
        changes = edit.get("environ") or {}
        if changes:
            original = {k: environ.get(k) for k in changes}
            for key, value in changes.items():
                if value is None:
                    environ.pop(key, None)
                else:
                    environ[key] = str(value)
            self.record_edit("received", "environ", original, changes)
        if edit.get("body") is not None:
            new = _as_bytes(edit["body"])
            old, _ = read_body(environ, self.request_cap)
            environ["wsgi.input"] = io.BytesIO(new)
            environ["CONTENT_LENGTH"] = str(len(new))
            self.input = input_position(environ)  # the app reads the edited body
            self.record_edit("received", "body", _as_text(old), _as_text(new))

    def answer_abort(self) -> Any:
        """The app is not called: answer 502 (or cut) in its place."""
        self.stepping = False
        self.phase("app_called", aborted=True)
        self.start_response(ABORT_STATUS, list(ABORT_HEADERS))
        body = SteppedBody(self, [])
        if self.abort == "502":
            body._replacement = [ABORT_BODY]
        return body

    # -- start_response ----------------------------------------------------------------
    def start_response(self, status: Any, headers: Any, exc_info: Any = None) -> Callable:
        answer = self.ask("start_response", status=str(status),
                          headers=_pairs(headers)) if exc_info is None else None
        if answer is not None:
            edit = answer.get("edit") or {}
            if "status" in edit and edit["status"] != status:
                self.record_edit("start_response", "status", status, edit["status"])
                status = edit["status"]
            if "headers" in edit:
                new = [(str(n), str(v)) for n, v in edit["headers"]]
                if new != _pairs(headers):
                    self.record_edit("start_response", "headers", _pairs(headers), new)
                    headers = new
        if self.abort == "502":
            status, headers = ABORT_STATUS, list(ABORT_HEADERS)
        return super().start_response(status, headers, exc_info)


class SteppedBody(Body):
    """Pauses before each non-empty chunk and before close()."""

    __slots__ = ("_cut", "_fetched", "_replacement")

    def __init__(self, flight: Flight, result: Any) -> None:
        super().__init__(flight, result)
        self._replacement: list[bytes] | None = None
        self._fetched = 0  # items taken from the app: a chunk's number, dropped ones counted
        self._cut: AbortedByUser | None = None  # aborted at closed: raised after close()

    def __next__(self) -> Any:
        flight: SteppedFlight = self._flight  # type: ignore[assignment]
        while True:
            if self._replacement is not None:
                return self._next_replacement()
            if flight.abort:
                self._abort_now()
                continue
            chunk = self._fetch()
            self._fetched += 1
            if isinstance(chunk, bytes) and chunk:
                answer = flight.ask("chunk", data=chunk, index=self._fetched)
                if flight.abort:
                    continue
                chunk = self._edited(chunk, (answer or {}).get("edit") or {})
                if chunk is None:
                    continue  # dropped by the user
            flight.chunk(chunk, "iter")
            return chunk

    def _edited(self, chunk: bytes, edit: dict[str, Any]) -> bytes | None:
        flight: SteppedFlight = self._flight  # type: ignore[assignment]
        what = f"chunk {self._fetched}"
        if edit.get("drop"):
            flight.record_edit("chunk", what, _as_text(chunk), None)
            return None
        if edit.get("data") is not None:
            new = _as_bytes(edit["data"])
            if new != chunk:
                flight.record_edit("chunk", what, _as_text(chunk), _as_text(new))
                return new
        return chunk

    def _abort_now(self) -> None:
        """Replace the response with a 502 if nothing went out yet, else cut."""
        flight: SteppedFlight = self._flight  # type: ignore[assignment]
        if flight.abort == "502" and flight.sent == 0:
            try:
                raise AbortedByUser("aborted by the user")
            except AbortedByUser:
                flight.start_response(ABORT_STATUS, list(ABORT_HEADERS), sys.exc_info())
            self._replacement = [ABORT_BODY]
            return
        exc = AbortedByUser("The request was aborted in the inspector; the connection is cut.")
        flight.error("chunk", exc)
        if flight.real_write is not None:
            flight.real_write(b"")  # headers out first, so the server closes, not answers 500
        raise exc

    def _next_replacement(self) -> bytes:
        flight = self._flight
        if not self._replacement:
            flight.exhausted = True
            raise StopIteration
        chunk = self._replacement.pop(0)
        flight.chunk(chunk, "iter")
        return chunk

    def _before_close(self) -> None:
        flight: SteppedFlight = self._flight  # type: ignore[assignment]
        if flight.ask("closed") is not None and flight.abort:
            # The body has gone to the server: all an abort can still do is cut.
            self._cut = AbortedByUser("The request was aborted in the inspector at close(); "
                                      "the connection is cut.")
            flight.error("closed", self._cut)
            if flight.real_write is not None:
                flight.real_write(b"")  # headers out, so the server closes, not answers 500

    def close(self) -> None:
        super().close()  # the app's close() runs and the exchange ends, as always
        cut, self._cut = self._cut, None
        if cut is not None:
            raise cut


class SteppedSizedBody(SteppedBody):
    __slots__ = ()

    def __len__(self) -> int:
        return len(self._result)


SteppedFlight.body, SteppedFlight.sized_body = SteppedBody, SteppedSizedBody


def _pairs(headers: Any) -> list[tuple[str, str]]:
    try:
        return [(str(n), str(v)) for n, v in headers]
    except (TypeError, ValueError):
        return []


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _as_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
