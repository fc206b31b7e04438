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
:func:`loads_plain`).
"""

from __future__ import annotations

import io
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


class Encoder:
    """Pickles one message at a time like :func:`dumps_plain`, reusing its pickler.

    For a sender that encodes each message on its own (the agent's event ring):
    making a pickler per message cost more than the pickling. One per thread;
    a message met while the encoder is busy (a finalizer that logs, mid-dump)
    gets a pickler of its own.
    """

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._pickler = self._new_pickler()
        self._busy = False

    def _new_pickler(self) -> _PlainPickler:
        pickler = _pickler(self._buffer, memo=False)
        pickler.memo = _VOCABULARY_MEMO  # copied; fast mode adds nothing to it
        return pickler

    def encode(self, message: Any) -> bytes:
        if self._busy:
            return dumps_plain(message)
        buffer = self._buffer
        self._busy = True
        try:
            self._pickler.dump(message)
            return buffer.getvalue()
        except _NotPlain:  # a foreign type somewhere: the slow, careful way
            self._pickler = self._new_pickler()
            return dumps_plain(message)
        finally:
            buffer.seek(0)
            buffer.truncate()
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


def loads_plain(data: bytes | bytearray | memoryview) -> Any:
    """The plain data pickled in ``data``; ProtocolError if it is anything else.

    Never runs code: a pickle that names a class or a function is refused.
    """
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
    return value


def loads_each(data: bytes, spans: list[tuple[int, int]]) -> Iterator[Any]:
    """What :func:`loads_plain` reads from each ``data[start:end]``, in order; a record
    may name the words of VOCABULARY by memo index (as :class:`Encoder` writes them).

    One unpickler for all of them, reading where they lie: for many small
    records (the event ring's) that costs a fraction of one loads_plain each.
    """
    stream = io.BytesIO(data)
    unpickler = _PlainUnpickler(stream)
    unpickler.memo = _PRIMED.memo  # a copy: what one call's records add stays there
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
