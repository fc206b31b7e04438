"""The capture middleware: one exchange recorded per request, nothing changed.

It sits directly under waitress. What the client receives must stay
byte-for-byte what it would get without us, so the wrappers here only watch:
- the returned iterable keeps ``__len__`` when the app's has it (waitress adds
  a Content-Length for one-item iterables and would otherwise go chunked);
- ``wsgi.file_wrapper`` results pass through untouched (waitress's fast path
  checks their type); only their size is recorded;
- ``close()`` reaches the app's iterable exactly once;
- exceptions are recorded and re-raised where they happened;
- ``environ`` goes to the app as the server built it: ``wsgi.input`` is the
  server's own stream (how far the app read it is its position at the end), and
  ``wsgi.errors`` is whatever the server put there (under waitress sys.stderr,
  which output routing replaced with a stream of the same type).
"""

from __future__ import annotations

import itertools
import logging
import operator
import os
import threading
import time
import traceback
import types
from collections.abc import Iterable, Iterator
from typing import Any, Callable, ClassVar

from .. import lint
from .gate import Gate
from .onwire import slot as wire_slot
from .output import Lane, current

Emit = Callable[[dict[str, Any]], None]
WSGIApp = Callable[..., Iterable[bytes]]

MiB = 1 << 20
_perf = time.perf_counter


class Capture:
    """WSGI middleware that emits the events of every exchange to ``emit``."""

    def __init__(self, app: WSGIApp, emit: Emit, *, request_cap: int = MiB,
                 response_cap: int = MiB, lint: bool = True,
                 stepped: type[Flight] | None = None) -> None:
        self.app = app
        # The flight of a request a breakpoint matches (agent.stepping's, given by the
        # runtime, which sits above both: this module does not import it).
        self.stepped: type[Flight] = stepped or Flight
        self.emit = emit
        self.request_cap = request_cap
        self.response_cap = response_cap
        self.lint = lint
        self.gate = Gate(emit)
        self._ids = itertools.count(1)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        gate = self.gate  # nothing armed (the common case): not even a call to ask it
        stepped = (gate.armed_next or gate.breakpoints) and gate.wants(environ)
        return (self.stepped if stepped else Flight)(
            self, next(self._ids), environ, start_response).run()

    def next_id(self) -> int:
        """A new exchange id (also for answers the server gives without the app)."""
        return next(self._ids)



def snapshot(environ: dict[str, Any]) -> list[dict[str, Any]]:
    """The environ as ``[text values, {key: (text, type name)} of the others]``.

    Under waitress all but a known few values are text; they go as they are
    (no per-key work), and only the few objects are described. Most of those are
    the same objects every request: when they all are, their descriptions are the
    last request's (one identity check), and only the two made per request (the
    body stream, the disconnect check) are described, by type.
    """
    texts = dict(environ)
    values = tuple(map(texts.pop, _OBJECT_KEYS, _MISSINGS))
    stable = _stable_of(values)
    seen = _seen
    if not all(map(operator.is_, stable, seen[0])):
        seen = _remember(stable)
    others = seen[1].copy()
    for index, key in _FRESH:
        value = values[index]
        if value is _MISSING:
            del others[key]
        else:
            others[key] = _fresh_description(key, value)
    if {*map(type, texts.values())} - _TEXT:  # a server with other objects in it
        for key in [k for k, v in texts.items() if type(v) is not str]:
            others[key] = _described(texts.pop(key))
    return [texts, others]


_OBJECT_KEYS = ("wsgi.version", "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess",
                "wsgi.run_once", "wsgi.input", "wsgi.input_terminated", "wsgi.file_wrapper",
                "waitress.client_disconnected")
_MISSING = object()
_MISSINGS = (_MISSING,) * len(_OBJECT_KEYS)
_TEXT = frozenset({str})
# The keys whose values waitress makes anew for every request, by index.
_FRESH = tuple((i, k) for i, k in enumerate(_OBJECT_KEYS)
               if k in ("wsgi.input", "waitress.client_disconnected"))
_stable_of = operator.itemgetter(*(i for i, k in enumerate(_OBJECT_KEYS)
                                   if (i, k) not in _FRESH))
# The stable values last seen (kept alive: ids stay unique) and the others dict they
# made, in key order, the fresh keys holding a place.
_seen: tuple[tuple[Any, ...], dict[str, Any]] = (
    (object(),) * (len(_OBJECT_KEYS) - len(_FRESH)), {})


def _remember(stable: tuple[Any, ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Describe the stable values anew (the first request, or one of them changed)."""
    global _seen
    others: dict[str, Any] = {}
    values = iter(stable)
    for index, key in enumerate(_OBJECT_KEYS):
        if (index, key) in _FRESH:
            others[key] = None  # its place in the order
            continue
        value = next(values)
        if value is not _MISSING:
            others[key] = _describe_at(key, value)[1]
    _seen = (stable, others)
    return _seen


def _fresh_description(key: str, value: Any) -> tuple[str, str]:
    """A per-request object's description: a stream's by its type, a bound method's by
    its function (new objects every request, the same kind every time)."""
    kind = type(value)
    token = value.__func__ if kind is _METHOD else kind
    hit = _fresh_at.get(token)
    if hit is None:
        hit = _describe_at(key, value)[1]
        if kind.__name__ in _BY_TYPE_ONLY:  # else described by its repr: every time
            _fresh_at[token] = hit
    return hit


_METHOD = types.MethodType
# A fresh key's value's function or type -> its description.
_fresh_at: dict[Any, tuple[str, str]] = {}
# key -> (value, description) of the last value seen there: most are the same
# object every request (wsgi.version, wsgi.errors, the flags, the file_wrapper).
_last_at: dict[str, tuple[Any, tuple[str, str]]] = {}
# key -> (type, description) for streams, new every request (wsgi.input).
_streams_at: dict[str, tuple[type, tuple[str, str]]] = {}
_STREAM_TYPES = frozenset({"BytesIO", "BufferedRandom", "SpooledTemporaryFile"})


def _describe_at(key: str, value: Any) -> tuple[Any, tuple[str, str]]:
    kind = type(value)
    hit = _streams_at.get(key)
    if hit is not None and hit[0] is kind:
        return hit
    described = _described(value)
    if kind.__name__ in _STREAM_TYPES:  # remembered by type: the stream is not kept alive
        _streams_at[key] = (kind, described)
    elif kind.__name__ not in _BY_TYPE_ONLY:
        _last_at[key] = (value, described)
    return (None, described)


# The non-text values under waitress are mostly the same objects every request
# (wsgi.version, the booleans, the file_wrapper class, the errors stream) or
# per-request objects whose repr only shows an address (wsgi.input, the
# client_disconnected method): describe those by type, remember the rest.
_described_cache: dict[int, tuple[Any, tuple[str, str]]] = {}
_CACHE_LIMIT = 256
_by_type: dict[tuple[type, str], tuple[str, str]] = {}
_BY_TYPE_ONLY = frozenset({*_STREAM_TYPES, "method", "builtin_function_or_method", "function"})


def _described(value: Any) -> tuple[str, str]:
    hit = _described_cache.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    kind = type(value)
    name = kind.__name__
    if name in _BY_TYPE_ONLY:
        # New objects every request: remember by (type, function name) instead.
        qualname = getattr(value, "__qualname__", "")
        key = (kind, qualname)
        hit = _by_type.get(key)
        if hit is None:
            hit = _by_type[key] = ((f"<{name} {qualname}>" if qualname else f"<{name}>"), name)
        return hit
    described = (_text(value), name)
    if len(_described_cache) < _CACHE_LIMIT:
        _described_cache[id(value)] = (value, described)  # kept alive: ids stay unique
    return described


def _text(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a user object with a broken __repr__
        return f"<unprintable {type(value).__name__}: {exc!r}>"


_thread_names = threading.local()


def _thread_name() -> str:
    """The worker thread's name, looked up once per thread."""
    name = getattr(_thread_names, "name", None)
    if name is None:
        name = _thread_names.name = threading.current_thread().name
    return name


def has_body(environ: dict[str, Any]) -> bool:
    """Whether the request has a body: waitress sets CONTENT_LENGTH for every
    body, a chunked one too (it de-chunks before calling the app)."""
    return environ.get("CONTENT_LENGTH", "") not in ("", "0")


def read_body(environ: dict[str, Any], cap: int) -> tuple[bytes, int]:
    """The first ``cap`` bytes of the request body and its total size.

    waitress buffers the whole body before calling the app, and its
    ``wsgi.input`` is seekable: read, then seek back so the app sees it whole.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b"", 0
    try:
        start = stream.tell()
        data = stream.read(cap)
        stream.seek(0, os.SEEK_END)
        total = stream.tell() - start
        stream.seek(start)
    except (AttributeError, OSError, ValueError):  # not seekable: size from the header
        try:
            return b"", int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return b"", 0
    return data, total


class Flight(Lane):
    """The state of one exchange while it is in flight; also the output lane
    its lines go to (one object per request fewer)."""

    __slots__ = (
        "app",
        "begun",
        "body_len",
        "cap_left",
        "chunks",
        "closed",
        "environ",
        "exhausted",
        "failed",
        "file_wrapper",
        "handled",
        "headers",
        "held",
        "in_iter",
        "input",
        "lint",
        "method",
        "real_start_response",
        "real_write",
        "request_cap",
        "sent",
        "started",
        "status",
        "wire",
    )

    def __init__(self, capture: Capture, xid: int, environ: dict[str, Any],
                 start_response: Callable) -> None:
        self.t0 = _perf()
        self.xid = xid
        self.app = capture.app
        self.emit = capture.emit
        self.lint = capture.lint
        self.cap_left = capture.response_cap
        self.environ = environ
        self.real_start_response = start_response
        self.real_write: Callable | None = None
        self.method = environ.get("REQUEST_METHOD", "")
        self.started = False
        self.status: Any = None
        self.headers: Any = None
        self.sent = 0
        self.chunks = 0
        self.body_len: int | None = None
        self.in_iter = False
        self.closed = False
        self.failed = False
        self.exhausted = False  # the server read the iterable to its end
        self.file_wrapper = False  # the app returned wsgi.file_wrapper: the server sends it
        self.held: tuple[float, str, list[tuple[str, str]], str | None] | None = None
        self._buffers = None  # the lane's, see output.Lane
        self.request_cap = capture.request_cap
        self.begun = False
        self.handled = False  # an exception the app caught and logged is recorded
        self.input: Any = None  # the request body stream, and where it stood: (stream, pos)
        # What went out on the wire, when the server reports it before our end.
        self.wire: dict[str, Any] | None = None
        record = wire_slot.record  # the server's record of this request (onwire)
        if record is not None:
            record.flight = self

    def begin(self, *, app_called: bool) -> None:
        """Emit the exchange's first event; with ``app_called`` it also marks
        that phase (one event instead of two on the common path)."""
        environ = self.environ
        body, size = b"", 0
        if environ.get("CONTENT_LENGTH", "") not in ("", "0"):  # has_body(), inlined
            body, size = read_body(environ, self.request_cap)
            self.input = input_position(environ)
        event = {
            "type": "begin", "id": self.xid, "t": 0.0, "start": time.time(),
            "thread": getattr(_thread_names, "name", None) or _thread_name(),
            "environ": snapshot(environ), "body": body, "body_size": size,
        }
        if app_called:
            event["t_app"] = _perf() - self.t0
        self.begun = True
        self.emit(event)

    # -- the call ------------------------------------------------------------------
    def run(self) -> Iterable[bytes]:
        environ = self.environ
        current.set(self)
        if self.begun:
            self.phase("app_called")
        else:
            self.begin(app_called=True)
        try:
            result = self.app(environ, self.start_response)
        except BaseException as exc:
            self.error("app_called", exc)
            self.end(closed=True)
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(result, file_wrapper):
            # The server sends the file itself: record the size it has left (None:
            # not seekable, unknown), for the Content-Length check at the end.
            size = _file_size(result)
            self.sent = size or 0
            record = wire_slot.record
            if record is not None:  # its bytes will not pass through our Body
                record.foreign = True
            self.exhausted = self.file_wrapper = True
            self.phase("file_wrapper", size=size)
            self.end(closed=True)
            return result
        if self.lint:
            found = lint.check_result(result)
            if found:
                self.findings(found)
        if type(result) is list and self.body is Body:
            return self.returned_list(result)
        if hasattr(result, "__len__"):
            try:
                self.body_len = len(result)  # type: ignore[arg-type]
            except Exception:
                self.body_len = None
            return self.sized_body(self, result)
        return self.body(self, result)

    def returned_list(self, result: list[Any]) -> list[Any]:
        """A list is the whole body already, and has no close(): record it now
        and hand waitress the very same list (no wrapper to iterate through).

        The exchange ends here, when the app has returned; waitress then sends.
        """
        chunks = [self.chunk_record(item, "iter") for item in result]
        self.body_len = len(result)
        self.exhausted = True
        self.end(closed=True, chunks=chunks)
        return result

    # The wrappers for the returned iterable; stepping puts its own in.
    body: ClassVar[type[Body]]
    sized_body: ClassVar[type[Body]]

    # start_response is recorded, not sent at once: it travels with the first
    # chunk (when waitress sends the headers) or the end, one message fewer per
    # exchange. Anything else of the exchange sends it first, to keep the order.
    HOLD: ClassVar[bool] = True
    # Checks the record shows too run on the host, out of the app's process
    # (see inspector.lint); the end event asks for them with "lint".
    HOST_LINT: ClassVar[bool] = True

    def start_response(self, status: Any, headers: Any, exc_info: Any = None) -> Callable:
        t = _perf() - self.t0
        if self.lint:
            self.lint_start_response(status, headers, exc_info, t)
        self.started = True
        self.status, self.headers = status, headers
        if self.held is not None:  # a second call (an error handler's) keeps both in order
            self.send_held()
        self.held = (t, status if type(status) is str else _text(status),
                     _plain_headers(headers), None if exc_info is None else _exc_text(exc_info))
        if not self.HOLD:
            self.send_held()
        if exc_info is None:
            self.real_write = self.real_start_response(status, headers)
        else:
            self.real_write = self.real_start_response(status, headers, exc_info)
        return self.wsgi_write

    def lint_start_response(self, status: Any, headers: Any, exc_info: Any, t: float) -> None:
        if self.HOST_LINT:
            found = lint.check_types(status, headers, exc_info)
        else:
            found = lint.check_exc_info(exc_info) + lint.check_response_head(status, headers)
        if self.started:
            found += lint.check_repeat(exc_info)
        if found:
            self.findings(found, t)

    def send_held(self) -> None:
        """Send a held start_response as its own event."""
        held = self.held
        if held is not None:
            self.held = None
            self.emit({"type": "phase", "id": self.xid, "t": held[0], "name": "start_response",
                       "status": held[1], "headers": held[2], "exc_info": held[3]})

    def wsgi_write(self, data: Any) -> Any:
        """The write() callable start_response returns."""
        if self.lint and self.in_iter:
            self.findings(lint.check_write_in_iterable())
        self.chunk(data, "write")
        return self.real_write(data)  # type: ignore[misc]

    # -- recording -----------------------------------------------------------------
    def chunk(self, data: Any, via: str) -> None:
        t, size, piece, via = self.chunk_record(data, via)
        event = {"type": "chunk", "id": self.xid, "t": t, "size": size, "data": piece,
                 "via": via}
        if self.held is not None:
            event["start_response"], self.held = self.held, None
        self.emit(event)

    def chunk_record(self, data: Any, via: str) -> tuple[float, int, bytes, str]:
        """Count and lint one piece of the body; ``(t, size, captured part, via)``."""
        t = _perf() - self.t0
        # Bytes after start_response, the common case, break none of its rules: no call.
        if self.lint and (type(data) is not bytes or not self.started):
            found = lint.check_chunk(data, self.started, via)
            if found:
                self.findings(found, t)
        try:
            size = len(data)
        except TypeError:
            size = 0
        if via == "iter":
            self.chunks += 1
        self.sent += size
        piece = b""
        if size and self.cap_left > 0 and isinstance(data, bytes):
            piece = data if size <= self.cap_left else data[: self.cap_left]
            self.cap_left -= len(piece)
        return t, size, piece, via

    def phase(self, name: str, **data: Any) -> None:
        self.send_held()
        self.emit({"type": "phase", "id": self.xid, "t": _perf() - self.t0, "name": name,
                   **data})

    def findings(self, found: list[lint.Finding], t: float | None = None) -> None:
        if t is None:
            t = _perf() - self.t0
        for finding in found:
            self.emit(finding.event(self.xid, t))

    def error(self, phase: str, exc: BaseException) -> None:
        self.failed = True
        self.send_held()
        self.emit(_error_event(self.xid, _perf() - self.t0, phase, exc))

    def logged_error(self, record: logging.LogRecord) -> None:
        """The app caught an exception and logged it with its traceback (Flask's
        and Django's 500 handling, ``logger.exception``): it becomes the
        exchange's error, marked handled, unless one was raised or logged already."""
        if self.failed or self.handled:
            return
        self.handled = True
        exc = record.exc_info[1]  # type: ignore[index]
        if exc is None:
            return
        self.send_held()
        event = _error_event(self.xid, _perf() - self.t0, "handled", exc)
        event.update(handled=True, logged=f"{record.name}: {_log_message(record)}")
        self.emit(event)

    def end(self, *, closed: bool, chunks: list[tuple[float, int, bytes, str]] | None = None
            ) -> None:
        """The last event; it carries a held start_response and, for a returned
        list, its items (``chunks``), which were all there at once."""
        read = None if self.input is None else self.input_read()
        if self.lint and not self.HOST_LINT:
            self.findings(lint.check_end(
                method=self.method, status=self.status, headers=self.headers, sent=self.sent,
                started=self.started, expected_len=self.body_len, chunks=self.chunks,
                closed=closed, failed=self.failed or not self.exhausted,
                file_wrapper=self.file_wrapper))
            self.findings(lint.check_input(read, self.environ.get("CONTENT_LENGTH"),
                                           self.environ.get("wsgi.input_terminated")))
        if self._buffers:  # a line printed without its newline
            self.flush()
        if current.get() is self:
            current.set(None)
        event = {"type": "end", "id": self.xid, "t": _perf() - self.t0, "closed": closed,
                 "size": self.sent}
        if self.held is not None:
            event["start_response"], self.held = self.held, None
        if chunks:
            event["chunks"] = chunks
        if read is not None:
            event["input_read"] = read
        if self.lint and self.HOST_LINT:
            event["lint"], event["len"], event["exhausted"] = True, self.body_len, self.exhausted
        if self.wire is not None:
            event.update(self.wire)
        else:
            record = wire_slot.record
            if record is not None and record.hold(self, event):
                return  # the server sends it once the response has gone out
        self.emit(event)

    def input_read(self) -> int | None:
        """How many bytes of the request body the app read: the stream's position
        now against where it stood when the app was called (no wrapper needed)."""
        if self.input is None:
            return None
        stream, start = self.input
        try:
            return stream.tell() - start
        except (AttributeError, OSError, ValueError):  # closed, or not seekable
            return None


class Body:
    """Wraps the app's iterable: records each item, forwards close() once."""

    __slots__ = ("_flight", "_iterator", "_result")

    def __init__(self, flight: Flight, result: Any) -> None:
        self._flight = flight
        self._result = result
        self._iterator: Iterator[Any] | None = None

    def __iter__(self) -> Body:
        return self

    def __next__(self) -> Any:
        # _fetch() inlined: a call fewer per item, on every response's path.
        flight = self._flight
        flight.in_iter = True
        try:
            iterator = self._iterator
            if iterator is None:
                iterator = self._iterator = iter(self._result)  # raises here, as alone
            chunk = next(iterator)
        except StopIteration:
            flight.exhausted = True
            raise
        except BaseException as exc:
            flight.error("chunk", exc)
            raise
        finally:
            flight.in_iter = False
        flight.chunk(chunk, "iter")
        return chunk

    def _fetch(self) -> Any:
        """The app's next item, recording errors and the end of iteration."""
        flight = self._flight
        flight.in_iter = True
        try:
            if self._iterator is None:
                self._iterator = iter(self._result)  # raises here, as under waitress alone
            return next(self._iterator)
        except StopIteration:
            flight.exhausted = True
            raise
        except BaseException as exc:
            flight.error("chunk", exc)
            raise
        finally:
            flight.in_iter = False

    def close(self) -> None:
        flight = self._flight
        if flight.closed:
            return
        flight.closed = True
        self._before_close()
        close = getattr(self._result, "close", None)
        try:
            if close is not None:
                close()
        except BaseException as exc:
            flight.error("closed", exc)
            raise
        finally:
            flight.end(closed=True)

    def _before_close(self) -> None:
        """A hook for stepping, which pauses here."""

    def __del__(self) -> None:
        # A server that never calls close() still gets its exchange ended.
        flight = self._flight
        if not flight.closed:
            flight.closed = True
            flight.end(closed=False)


class SizedBody(Body):
    """A Body that keeps the app iterable's ``len()``."""

    __slots__ = ()

    def __len__(self) -> int:
        return len(self._result)


Flight.body, Flight.sized_body = Body, SizedBody


def input_position(environ: dict[str, Any]) -> tuple[Any, int] | None:
    """``(wsgi.input, its position)`` before the app reads it; None if it has none."""
    stream = environ.get("wsgi.input")
    try:
        return stream, stream.tell()  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return None


def _error_event(xid: int, t: float, phase: str, exc: BaseException) -> dict[str, Any]:
    return {"type": "error", "id": xid, "t": t, "phase": phase,
            "exc_type": type(exc).__name__, "message": str(exc),
            "traceback": "".join(traceback.format_exception(
                type(exc), exc, exc.__traceback__)).rstrip("\n")}


def _log_message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a broken %-format in the app's call
        return str(record.msg)


def _plain_headers(headers: Any) -> list[tuple[str, str]]:
    """The headers as (str, str) pairs whatever the app passed, for the record."""
    try:
        return [(h[0] if isinstance(h[0], str) else repr(h[0]),
                 h[1] if isinstance(h[1], str) else repr(h[1])) for h in headers]
    except Exception:
        return [("(invalid headers)", _text(headers))]


def _exc_text(exc_info: Any) -> str | None:
    if not exc_info:
        return None
    try:
        return "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    except Exception:
        return _text(exc_info)


def _file_size(wrapper: Any) -> int | None:
    """What the file holds from its position to its end, measured as waitress's
    file_wrapper does (seek to the end and back); None when it cannot seek."""
    try:
        file = wrapper.file
        seekable = file.seekable() if hasattr(file, "seekable") else hasattr(file, "tell")
        if not seekable:
            return None
        start = file.tell()
        file.seek(0, os.SEEK_END)
        end = file.tell()
        file.seek(start)
        return max(end - start, 0)
    except (AttributeError, OSError, ValueError):
        return None

