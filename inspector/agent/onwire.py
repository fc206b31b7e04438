"""What went out to the client, recorded at waitress's own seam.

The capture middleware sees what the app hands over; waitress then decides
what the client gets: it adds Date, Server, Content-Length or chunked framing
and Connection, cuts a body at its Content-Length, answers 500 itself when the
app raised before the headers went out, sends a file_wrapper's file, stops at
a client that hung up, and answers malformed requests without calling the
app. A channel class of our own (set on the one server instance we create,
no waitress globals touched) records those facts per request:

- ``RecordingChannel.service`` runs one request; a :class:`WireRecord` lives
  for that call, reachable by the worker thread through :data:`slot`, which
  is how the capture's Flight (running on the same thread, inside the app
  call) finds it without a key in the environ;
- the capture's ``end`` event is held in the record and sent when the task
  is over, with the wire facts added: one message per exchange, as before;
- a request waitress answered on its own (a parse error) becomes an exchange
  of its own, marked ``server_only``.

Body bytes are counted exactly; they travel only when they are not a prefix
of what the app handed over (waitress's own answers, file_wrapper files):
the host derives the rest from the app's captured body and the size.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, ClassVar

from waitress.buffers import ReadOnlyFileBasedBuffer
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.task import ErrorTask, WSGITask

Emit = Callable[[dict[str, Any]], None]


class _Slot(threading.local):
    record: WireRecord | None = None


# The record of the request the current worker thread is serving, if any.
slot = _Slot()


class WireRecord:
    """The wire facts of one request: set by the task and channel, read at its end."""

    __slots__ = ("cap_left", "end", "flight", "foreign", "hangup", "head", "pieces", "size")

    def __init__(self, cap: int) -> None:
        self.cap_left = cap
        self.end: dict[str, Any] | None = None  # the capture's end event, held
        self.flight: Any = None  # the capture's Flight of this request, if the app was called
        self.foreign = False  # bytes went out that the app did not hand over as body chunks
        self.hangup = False
        self.head = b""
        self.pieces: list[bytes] = []
        self.size = 0

    def add(self, data: Any, size: int) -> None:
        """``size`` body bytes went out; ``data`` is (the start of) them. They are
        kept only when foreign: else the host has them from the app's chunks."""
        self.size += size
        if self.foreign and self.cap_left > 0 and data:
            piece = bytes(data[: self.cap_left])
            self.pieces.append(piece)
            self.cap_left -= len(piece)

    def facts(self) -> dict[str, Any]:
        """The fields the end event carries (see docs/protocol.md)."""
        facts: dict[str, Any] = {"wire_head": self.head, "wire_size": self.size}
        if self.foreign:
            facts["wire_body"] = b"".join(self.pieces)
        if self.hangup:
            facts["hangup"] = True
        return facts

    def hold(self, flight: Any, event: dict[str, Any]) -> bool:
        """Keep ``flight``'s end event until the task is over; False: not ours."""
        if flight is not self.flight:
            return False
        self.end = event
        return True


class RecordingTaskMixin:
    """Records the head and the body bytes waitress actually writes."""

    channel: RecordingChannel

    def build_response_header(self) -> bytes:
        head: bytes = super().build_response_header()  # type: ignore[misc]
        record = self.channel.wire
        if record is not None:
            record.head = head
        return head

    def write(self, data: bytes) -> None:
        before = self.content_bytes_written  # type: ignore[attr-defined]
        super().write(data)  # type: ignore[misc]
        record = self.channel.wire
        if not data or record is None or not self.has_body:  # type: ignore[attr-defined]
            return  # no body for this status: waitress drops it
        if self.chunked_response or self.content_length is None:  # type: ignore[attr-defined]
            record.add(data, len(data))
        else:  # cut at Content-Length
            sent = self.content_bytes_written - before  # type: ignore[attr-defined]
            record.add(data if sent == len(data) else data[:sent], sent)


class RecordingWSGITask(RecordingTaskMixin, WSGITask):
    pass


class RecordingErrorTask(RecordingTaskMixin, ErrorTask):
    def execute(self) -> None:
        record = self.channel.wire
        if record is not None:
            record.foreign = True  # waitress's own words, not the app's
            record.pieces, record.size = [], 0  # nothing of the app's went out before it
        super().execute()


class RecordingChannel(HTTPChannel):
    """An HTTPChannel that records what each response put on the wire.

    Made per agent by :func:`recording_channel`, bound to the capture's
    ``emit``, its id counter and its response cap.
    """

    task_class = RecordingWSGITask
    error_task_class = RecordingErrorTask
    emit: ClassVar[Emit]
    next_id: ClassVar[Callable[[], int]]
    cap: ClassVar[int]
    wire: WireRecord | None = None

    def service(self) -> None:
        request = self.requests[0]
        record = self.wire = slot.record = WireRecord(self.cap)
        t0 = time.perf_counter()
        if not self.connected:
            record.hangup = True  # waitress will not call the app: nobody to answer
        try:
            super().service()
        finally:
            slot.record = self.wire = None
            self._report(record, request, t0)

    def write_soon(self, data: Any) -> int:
        record = self.wire
        if record is None or not isinstance(data, ReadOnlyFileBasedBuffer):
            try:
                return int(super().write_soon(data))
            except ClientDisconnected:
                if record is not None:
                    record.hangup = True
                raise
        piece, size = _file_start(data, record.cap_left)  # read before waitress sends it
        try:
            sent = int(super().write_soon(data))
        except ClientDisconnected:
            record.hangup = True
            raise
        record.foreign = True  # the file's bytes never passed the app's iterable
        record.add(piece, size)
        return sent

    def _report(self, record: WireRecord, request: Any, t0: float) -> None:
        facts = record.facts()
        end, flight = record.end, record.flight
        if end is not None:
            end.update(facts)
            flight.emit(end)
        elif flight is not None:  # its end comes later (close() from elsewhere)
            flight.wire = facts
        else:  # waitress answered without calling the app
            self._report_server_only(request, facts, time.perf_counter() - t0)

    def _report_server_only(self, request: Any, facts: dict[str, Any], t: float) -> None:
        xid = type(self).next_id()
        facts.setdefault("wire_body", b"")
        line = getattr(request, "first_line", b"")
        self.emit({"type": "begin", "id": xid, "t": 0.0, "start": time.time() - t,
                   "thread": threading.current_thread().name,
                   "environ": [parsed_environ(request, self.addr), {}], "body": b"",
                   "body_size": 0, "server_only": True,
                   "request_line": line.decode("latin-1") if isinstance(line, bytes) else ""})
        self.emit({"type": "end", "id": xid, "t": t, "closed": False, "size": 0, **facts})


def _file_start(buffer: ReadOnlyFileBasedBuffer, cap: int) -> tuple[bytes, int]:
    """The start of a prepared file_wrapper (up to ``cap``) and its size, read
    without moving the file (``get`` seeks back to where it was)."""
    size = len(buffer)  # what prepare() left to send: min(file left, Content-Length)
    if cap <= 0 or not size:
        return b"", size
    try:
        return buffer.get(min(cap, size)), size
    except (OSError, ValueError):  # unreadable here: the size is still known
        return b"", size


def parsed_environ(request: Any, addr: Any) -> dict[str, str]:
    """What waitress parsed of a request it answered itself, as environ text values."""
    environ = {"REQUEST_METHOD": getattr(request, "command", "") or "",
               "PATH_INFO": getattr(request, "path", "") or "",
               "QUERY_STRING": getattr(request, "query", "") or "",
               "REQUEST_URI": getattr(request, "request_uri", "") or "",
               "SERVER_PROTOCOL": f"HTTP/{getattr(request, 'version', '1.0')}"}
    if isinstance(addr, tuple) and len(addr) >= 2:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(addr[0]), str(addr[1])
    for key, value in (getattr(request, "headers", None) or {}).items():
        name = key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{key}"
        environ.setdefault(name, str(value))
    return environ


def recording_channel(emit: Emit, next_id: Callable[[], int], cap: int) -> type[RecordingChannel]:
    """A RecordingChannel class bound to one capture's emit, ids and cap."""
    # The app can see the channel (the repr of environ's waitress.client_disconnected
    # names its class): it reads exactly as under plain waitress.
    return type(HTTPChannel.__name__, (RecordingChannel,),
                {"emit": staticmethod(emit), "next_id": staticmethod(next_id), "cap": cap,
                 "__module__": HTTPChannel.__module__,
                 "__qualname__": HTTPChannel.__qualname__})
