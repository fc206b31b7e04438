"""The wire protocol between the agent (app process) and the host.

Stdlib only: both sides import it. See docs/protocol.md.

A *frame* is ``u32 length`` (big-endian) then that many bytes: a pickle
(protocol 5) of a list of messages. A message is a dict of plain data (str,
bytes, int, float, bool, None, lists, tuples, dicts), so bodies are binary-safe
as they are. The reading side refuses anything that would name a class or a
function (the unpickler's ``find_class`` always raises), so a frame can only
ever build plain data, never run code. Pickle rather than JSON: it encodes
about seven times faster, and the agent pays for it in the app's own process.
Frames carry the host's commands. The agent's messages go one pickle each into
the event ring (inspector/ring.py: :class:`Encoder`, :func:`loads_each`).
The session store keeps each exchange's record the same way (:func:`dumps_plain`,
:func:`loads_plain`); records read from a file are also checked to be a tree of
exactly the types written, not too deep, with no value shared (``strict``).
"""

from __future__ import annotations

import io
import operator
import pickle
import socket
import struct
from collections.abc import Iterator
from typing import Any, NoReturn

VERSION = 4  # 4: a socket pair and a shared-memory event ring, no listener
MAX_FRAME = 256 << 20  # a sanity bound: a corrupt length must not allocate gigabytes
PROTOCOL = 5

_U32 = struct.Struct(">I")

Message = dict[str, Any]


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


class _NotPlain(Exception):
    pass


class _PlainPickler(pickle.Pickler):
    # Called only for objects that are not of the exact built-in types; those
    # would need a class on the other side, which it refuses.
    def reducer_override(self, obj: Any) -> NoReturn:
        raise _NotPlain(type(obj).__name__)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> NoReturn:
        raise ProtocolError(f"pickle refers to {module}.{name}; only plain data is read")


def encode(messages: list[Message]) -> bytes:
    buffer = io.BytesIO()
    buffer.write(b"\0\0\0\0")
    _dump_plain(buffer, messages, memo=True)
    frame = buffer.getbuffer()
    _U32.pack_into(frame, 0, len(frame) - 4)
    return bytes(frame)


def dumps_plain(value: Any) -> bytes:
    """``value`` as a pickle that :func:`loads_plain` reads (foreign types made plain).

    Without a memo: faster and smaller for one record, whose values rarely repeat
    (a frame's many messages share their keys, so :func:`encode` keeps it).
    A value met twice is written twice; a cycle is a ValueError.
    """
    buffer = io.BytesIO()
    _dump_plain(buffer, value, memo=False)
    return buffer.getvalue()


# Words nearly every message carries (keys, event types, CGI names). A ring record
# names one by its memo index instead of spelling it out, and the host decodes each to
# one shared string: decoding a record of fresh strings cost twice as much. A record
# names a word only when its string is this very object (interned literals: the agent's
# keys and waitress's CGI names are). Both sides hold this list: it is part of VERSION.
VOCABULARY = (
    "type", "id", "t", "start", "thread", "environ", "body", "body_size", "t_app", "name",
    "status", "headers", "exc_info", "size", "data", "via", "start_response", "closed",
    "closed_t", "chunks", "lint", "len", "exhausted", "stream", "text", "level", "logger",
    "code", "severity", "phase", "message", "pep", "edited", "traceback", "exc_type",
    "timeout", "how", "what", "original", "index", "seq", "begin", "chunk", "output",
    "finding", "error", "end", "paused", "resumed", "edit", "pong", "iter", "write",
    "stdout", "stderr", "log", "app_called", "file_wrapper", "received", "str", "bool",
    "int", "tuple", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
    "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
    "SERVER_SOFTWARE", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "REQUEST_URI",
    "RAW_URI", "GET", "POST", "HEAD", "waitress",
)
_VOCABULARY_MEMO = {id(word): (index, word) for index, word in enumerate(VOCABULARY)}


def _primed_unpickler() -> _PlainUnpickler:
    """An unpickler whose memo holds VOCABULARY at indices 0, 1, ...: it read a pickle
    that memoizes each word (the memo cannot be set from a dict on every Python)."""
    words = b"".join(b"\x8c" + bytes([len(w)]) + w.encode() + b"\x94" + b"0"  # str, MEMOIZE,
                     for w in VOCABULARY)                                    # POP
    unpickler = _PlainUnpickler(io.BytesIO(b"\x80\x04" + words + b"N."))
    unpickler.load()
    return unpickler


class _Parts(list):  # type: ignore[type-arg]
    """The file an :class:`Encoder`'s pickler writes to: its writes, kept as they come
    (the pickler hands over each frame's bytes as they are, one write for a small
    pickle: no stream to copy them out of)."""

    write = list.append


class Encoder:
    """Pickles one message at a time like :func:`dumps_plain`, reusing its pickler.

    For a sender that encodes each message on its own (the agent's event ring):
    making a pickler per message cost more than the pickling. One per thread;
    a message met while the encoder is busy (a finalizer that logs, mid-dump)
    gets a pickler of its own.
    """

    def __init__(self) -> None:
        self._parts = _Parts()
        self._pickler = self._new_pickler()
        self._busy = False

    def _new_pickler(self) -> _PlainPickler:
        pickler = _PlainPickler(self._parts, PROTOCOL)
        pickler.fast = True  # no memo of its own: a record's values are written out
        pickler.memo = _VOCABULARY_MEMO  # copied; fast mode adds nothing to it
        return pickler

    def encode(self, message: Any) -> bytes:
        if self._busy:
            return dumps_plain(message)
        parts = self._parts
        self._busy = True
        try:
            self._pickler.dump(message)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        except _NotPlain:  # a foreign type somewhere: the slow, careful way
            self._pickler = self._new_pickler()
            return dumps_plain(message)
        finally:
            parts.clear()
            self._busy = False


def _dump_plain(buffer: io.BytesIO, value: Any, *, memo: bool) -> None:
    start = buffer.tell()
    try:
        _pickler(buffer, memo).dump(value)
    except _NotPlain:  # a str subclass in a header, an object in a log call...: rare
        buffer.seek(start)
        buffer.truncate()
        _pickler(buffer, memo).dump(_plain(value))


def _pickler(buffer: io.BytesIO, memo: bool) -> _PlainPickler:
    pickler = _PlainPickler(buffer, PROTOCOL)
    pickler.fast = not memo
    return pickler


def _plain(value: Any) -> Any:
    """The same data with every value of a subclass or a foreign type made plain."""
    kind = type(value)
    if value is None or kind in (str, bytes, int, float, bool):
        return value
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return repr(value)


def loads_plain(data: bytes | bytearray | memoryview, *, strict: bool = False) -> Any:
    """The plain data pickled in ``data``; ProtocolError if it is anything else.

    Never runs code: a pickle that names a class or a function is refused.
    ``strict`` (for records read from a file, which anyone may have crafted) also
    refuses what :func:`dumps_plain` never writes, see :func:`check_plain`.
    """
    if strict and len(data) > MAX_FRAME:
        raise ProtocolError(f"a record of {len(data)} bytes is larger than allowed")
    stream = io.BytesIO(data)
    try:
        value = _PlainUnpickler(stream).load()
    except ProtocolError:
        raise
    except Exception as exc:  # pickle reports bad input with many exception types
        raise ProtocolError(f"not a pickle of plain data: {type(exc).__name__}: {exc}"
                            ) from None
    if stream.tell() != len(data):
        raise ProtocolError("bytes after the pickled data")
    if strict:
        _check_strict(value, len(data))
    return value


class _Overflow(Exception):
    pass


class _CappedSink:
    """A file for the pickler that keeps what it is given, up to ``left`` bytes."""

    __slots__ = ("chunks", "left")

    def __init__(self, left: int) -> None:
        self.left = left
        self.chunks: list[bytes] = []

    def write(self, data: Any) -> int:
        self.left -= len(data)
        if self.left < 0:
            raise _Overflow
        self.chunks.append(bytes(data))
        return len(data)


# The only opcodes that build a value of another type than dumps_plain writes, once
# find_class refuses every class: EMPTY_SET, FROZENSET, BYTEARRAY8.
_FOREIGN_OPCODES = (b"\x8f", b"\x91", b"\x96")


def _check_strict(value: Any, size: int) -> None:
    """:func:`check_plain`'s verdict, mostly at the C pickler's speed (about 10 us a
    record, against 100 for the walk in Python); see :class:`_Repickler`."""
    _Repickler().check(value, size)


class _Repickler:
    """Checks values by writing them again, one pickler for many (a ring row's records).

    Written again without a memo (but for ``memo``: the shared words a ring record
    names by index, named so again), a value of ``size`` pickled bytes that shares
    nothing takes about as many bytes again, so a shared one overflows a cap of
    twice that, after at most that many bytes (protocol 5 hands its frames to the
    file every 64 KB). A cycle, or nesting beyond the interpreter's recursion
    limit, is an error of the pickler. Then types: if the bytes written could hold
    a set, a frozenset or a bytearray (their opcode bytes also occur inside floats
    and texts), protocol 3, which names those types as ``builtins`` classes, tells
    for sure; only then does the walk look at every value.
    """

    def __init__(self, memo: dict[int, Any] | None = None) -> None:
        self._sink = _CappedSink(0)
        self._pickler = pickle.Pickler(self._sink, PROTOCOL)
        self._pickler.fast = True
        if memo:
            self._pickler.memo = memo

    def check(self, value: Any, size: int) -> None:
        sink = self._sink
        sink.left, sink.chunks = 2 * size + 1024, []
        try:
            self._pickler.dump(value)
        except _Overflow:
            raise ProtocolError("refers to shared values, far more data than its size"
                                ) from None
        except ValueError:  # fast mode: "can't pickle cyclic objects"
            raise ProtocolError("refers to itself (a cycle)") from None
        except RecursionError:
            raise ProtocolError("nests too deeply") from None
        written = b"".join(sink.chunks)
        if not any(op in written for op in _FOREIGN_OPCODES):
            return
        again = io.BytesIO()  # the size is known to be small now
        pickler = pickle.Pickler(again, 3)
        pickler.fast = True
        pickler.dump(value)
        if b"cbuiltins\n" in again.getvalue():
            check_plain(value, size)


# What a record may hold besides texts and containers: the exact types dumps_plain
# writes (it makes every other value plain, or refuses it).
_NUMBERS = frozenset((int, float, bool, type(None)))
MAX_DEPTH = 64  # a record nests a few levels; a crafted one must not exhaust the stack


def check_plain(value: Any, budget: int) -> None:
    """ProtocolError unless ``value`` is a tree of plain data as :func:`dumps_plain`
    writes it: str/bytes/int/float/bool/None in dicts (keys of those types too),
    lists and tuples, at most MAX_DEPTH deep, no container reached twice.

    A pickle can refer back to a value it built (its memo, or DUP). A record
    written without a memo never does, so ``budget`` (the pickle's size) bounds
    both the number of values and the length of the texts: each took a byte or
    more of it. A value shared many times (40 lists, each holding the previous
    one twice, is 2**40 values to anyone who walks it as a tree, JSON writers
    included) meets a container seen before or runs out of budget within
    ``budget`` steps. Cost: about 0.12 us per value, some 3x the unpickling.
    """
    if type(value) not in (dict, list, tuple):
        _check_scalar(value)
        return
    seen: set[int] = set()
    stack, depths = [value], [1]
    left = budget
    while stack:
        item, depth = stack.pop(), depths.pop()
        if depth > MAX_DEPTH:
            raise ProtocolError(f"nests deeper than {MAX_DEPTH} levels")
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is str or type(key) is bytes:
                    left -= len(key)
                elif type(key) not in _NUMBERS:
                    raise ProtocolError(f"has a {type(key).__name__} as a key")
            values: Any = item.values()
        else:
            values = item
        if item or kind is not tuple:  # () is one object however often it is written
            if id(item) in seen:
                raise ProtocolError("refers to shared values")
            seen.add(id(item))
        left -= len(item) + 1
        depth += 1
        for v in values:
            t = type(v)
            if t is str or t is bytes:
                left -= len(v)
            elif t is dict or t is list or t is tuple:
                stack.append(v)
                depths.append(depth)
            elif t not in _NUMBERS:
                _check_scalar(v)
        if left < 0:
            raise ProtocolError("refers to shared values, far more data than its size")


def _check_scalar(item: Any) -> None:
    if type(item) not in _NUMBERS and type(item) is not str and type(item) is not bytes:
        raise ProtocolError(f"holds a {type(item).__name__}, which a record never holds")


def loads_each(data: bytes, spans: list[tuple[int, int]]) -> Iterator[Any]:
    """What :func:`loads_plain` reads from each ``data[start:end]``, in order; a record
    may name the words of VOCABULARY by memo index (as :class:`Encoder` writes them).

    One unpickler for all of them, reading where they lie: for many small
    records (the event ring's) that costs a fraction of one loads_plain each.
    """
    stream = io.BytesIO(data)
    yield from _load_spans(_records_unpickler(stream), stream, spans)


def _records_unpickler(stream: io.BytesIO) -> _PlainUnpickler:
    unpickler = _PlainUnpickler(stream)
    unpickler.memo = _PRIMED.memo  # a copy: what one call's records add stays there
    return unpickler


def _load_spans(unpickler: _PlainUnpickler, stream: io.BytesIO,
                spans: list[tuple[int, int]]) -> Iterator[Any]:
    for start, end in spans:
        stream.seek(start)
        try:
            value = unpickler.load()
        except ProtocolError:
            raise
        except Exception as exc:  # pickle reports bad input with many exception types
            raise ProtocolError(f"not a pickle of plain data: {type(exc).__name__}: {exc}"
                                ) from None
        if stream.tell() != end:
            raise ProtocolError("a record's pickle does not end where its length says")
        yield value


_PRIMED = _primed_unpickler()
_PRIMED_WORDS = list(_PRIMED.memo.copy().values())  # index order: the memo's slots
_WORDS_MEMO = {id(word): (index, word) for index, word in enumerate(_PRIMED_WORDS)}


class Record(dict):  # type: ignore[type-arg]
    """A message read from the event ring that keeps its record's bytes (``raw``), so
    whoever stores it can store those instead of pickling the message again; read
    them back with :func:`loads_record`. A copy of it is a plain dict."""

    __slots__ = ("raw",)
    raw: bytes


def loads_record(data: bytes, *, strict: bool = False) -> Any:
    """What :func:`loads_plain` reads from one ring record (``Record.raw``), whose
    pickle may name the words of VOCABULARY by memo index; see :func:`loads_records`."""
    return loads_records([data], strict=strict)[0]


def loads_records(records: list[bytes], *, strict: bool = False) -> list[Any]:
    """What :func:`loads_record` reads from each of ``records``, with one unpickler.

    ``strict`` (records read from a file): the pickles may fetch the shared words
    and nothing else. :class:`Encoder` never memoizes a value of its own, so records
    that do (to refer to one large value many times over) are refused; then each
    value must re-pickle, naming the same words, within twice its size.
    """
    spans, start = [], 0
    for record in records:
        if strict and len(record) > MAX_FRAME:
            raise ProtocolError(f"a record of {len(record)} bytes is larger than allowed")
        spans.append((start, start + len(record)))
        start += len(record)
    stream = io.BytesIO(records[0] if len(records) == 1 else b"".join(records))
    unpickler = _records_unpickler(stream)
    values = list(_load_spans(unpickler, stream, spans))
    if strict:
        _check_memo(unpickler)
        repickler = _Repickler(_WORDS_MEMO)
        for value, record in zip(values, records):
            repickler.check(value, len(record))
    return values


def _check_memo(unpickler: _PlainUnpickler) -> None:
    """ProtocolError unless the memo holds exactly the shared words, as primed.

    Any PUT, BINPUT, LONG_BINPUT or MEMOIZE either adds an index or replaces a word,
    and a replaced word is not put back as the very object it was while a value built
    from the replacement is kept (what was built after fetching the word lies above
    it on the pickle's stack). So every fetch (GET, BINGET, LONG_BINGET) got one of
    the words; the size check after it bounds any other sharing (DUP) too.
    """
    memo = unpickler.memo.copy()  # by index, in order
    if len(memo) != len(_PRIMED_WORDS) or not all(map(operator.is_, memo.values(),
                                                      _PRIMED_WORDS)):
        raise ProtocolError("keeps values of its own to refer to again (a memo beyond "
                            "the shared words)")


def decode(payload: bytes | bytearray | memoryview) -> list[Message]:
    """Messages of one frame, ``payload`` being the bytes after the length prefix."""
    messages = loads_plain(payload)
    if type(messages) is not list or any(type(m) is not dict for m in messages):
        raise ProtocolError("frame does not hold a list of messages")
    return messages


def read_frames(sock: socket.socket) -> Iterator[list[Message]]:
    """Yield each frame's messages until the peer closes the connection."""
    buffer = bytearray()
    while True:
        # Frames are decoded where they lie; what they used is dropped once per recv.
        done = 0
        with memoryview(buffer) as view:
            for start, end in _frames(view):
                with view[start:end] as payload:
                    messages = decode(payload)
                done = end
                yield messages
        del buffer[:done]
        try:
            data = sock.recv(1 << 18)
        except OSError:
            return
        if not data:
            return
        buffer += data


def _frames(view: memoryview) -> Iterator[tuple[int, int]]:
    """(start, end) of the payload of each whole frame at the front of ``view``."""
    offset = 0
    while len(view) - offset >= 4:
        (length,) = _U32.unpack_from(view, offset)
        if length > MAX_FRAME:
            raise ProtocolError(f"frame of {length} bytes is larger than allowed")
        end = offset + 4 + length
        if end > len(view):
            return
        yield offset + 4, end
        offset = end


def send(sock: socket.socket, messages: list[Message]) -> None:
    sock.sendall(encode(messages))
