"""The wire protocol's framing: binary-safe bodies, batching, split reads, bad input."""

from __future__ import annotations

import copy
import pickle
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from inspector import wire

EVERY_BYTE = bytes(range(256))
TIMEOUT = 30.0


def roundtrip(messages: list[wire.Message]) -> list[wire.Message]:
    frame = wire.encode(messages)
    (length,) = struct.unpack(">I", frame[:4])
    assert length == len(frame) - 4
    return wire.decode(frame[4:])


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    with a, b:
        yield a, b


def test_roundtrip_keeps_bytes_fields_binary_and_text_as_text() -> None:
    messages = [
        {"type": "begin", "id": 1, "body": EVERY_BYTE, "body_size": 256,
         "environ": {"PATH_INFO": ["/ü", "str"], "QUERY_STRING": ["", "str"]}},
        {"type": "chunk", "id": 1, "data": bytearray(b"\x00\xff\r\n"), "size": 4},
        {"type": "chunk", "id": 1, "data": b"", "size": 0},
        {"type": "output", "id": None, "text": "naïve ✓ \x00 \"quoted\"", "level": ""},
        {"type": "chunk", "id": 2, "data": EVERY_BYTE[::-1], "t": 0.5},
    ]
    original = copy.deepcopy(messages)
    decoded = roundtrip(messages)
    assert messages == original  # encoding does not touch the caller's messages
    assert decoded[0]["body"] == EVERY_BYTE and type(decoded[0]["body"]) is bytes
    assert decoded[1]["data"] == b"\x00\xff\r\n"
    assert decoded[2]["data"] == b""
    assert decoded[3] == original[3]
    assert decoded[4]["data"] == EVERY_BYTE[::-1]
    assert decoded == [{k: bytes(v) if isinstance(v, bytearray) else v for k, v in m.items()}
                       for m in original]


def test_bodies_travel_raw_not_as_base64() -> None:
    frame = wire.encode([{"type": "chunk", "data": EVERY_BYTE * 64}])
    assert EVERY_BYTE * 64 in frame
    assert len(frame) < 256 * 64 + 100


def test_many_messages_share_one_frame() -> None:
    messages = [{"type": "chunk", "id": n, "data": bytes([n % 256]) * (n % 7), "size": n % 7}
                for n in range(2000)]
    frame = wire.encode(messages)
    assert roundtrip(messages) == messages
    assert len(frame) < 2000 * 40  # one frame, the repeated keys shared


def test_empty_frame_holds_no_messages() -> None:
    assert roundtrip([]) == []


def read_all(sock: socket.socket) -> list[list[wire.Message]]:
    return list(wire.read_frames(sock))


def test_frames_split_at_every_byte_arrive_whole(pair: tuple[socket.socket, ...]) -> None:
    writer, reader = pair
    frames = [
        [{"type": "hello", "token": "t" * 32, "version": wire.VERSION}],
        [{"type": "begin", "id": 1, "body": EVERY_BYTE}, {"type": "end", "id": 1}],
        [],
        [{"type": "chunk", "id": 1, "data": b"\x00\x00\x00\x04"}],  # looks like a header
    ]
    stream = b"".join(wire.encode(f) for f in frames)

    def send_byte_by_byte() -> None:
        for index in range(len(stream)):
            writer.sendall(stream[index:index + 1])
        writer.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send_byte_by_byte)
    sender.start()
    received = read_all(reader)
    sender.join(TIMEOUT)
    assert not sender.is_alive()
    assert received == frames


class OneByteAtATime:
    """A socket whose every recv returns a single byte: the worst split there is."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, size: int) -> bytes:
        head, self.data = self.data[:1], self.data[1:]
        return head


def test_frames_split_deterministically_at_every_byte() -> None:
    frames = [[{"type": "chunk", "id": n, "data": EVERY_BYTE[:n]}] for n in range(0, 40, 7)]
    stream = b"".join(wire.encode(f) for f in frames)
    assert list(wire.read_frames(OneByteAtATime(stream))) == frames  # type: ignore[arg-type]


def test_send_then_read_frames(pair: tuple[socket.socket, ...]) -> None:
    writer, reader = pair
    wire.send(writer, [{"type": "ping", "seq": 1}])
    wire.send(writer, [{"type": "stop", "grace": 0.5}, {"type": "ping", "seq": 2}])
    writer.shutdown(socket.SHUT_WR)
    assert read_all(reader) == [[{"type": "ping", "seq": 1}],
                                [{"type": "stop", "grace": 0.5}, {"type": "ping", "seq": 2}]]


def test_a_frame_cut_short_by_the_peer_is_dropped(pair: tuple[socket.socket, ...]) -> None:
    writer, reader = pair
    whole = wire.encode([{"type": "ping", "seq": 1}])
    writer.sendall(whole + wire.encode([{"type": "ping", "seq": 2}])[:-3])
    writer.shutdown(socket.SHUT_WR)
    assert read_all(reader) == [[{"type": "ping", "seq": 1}]]


class Foreign:
    pass


@pytest.mark.parametrize("payload", [
    b"",
    b"\x00\x00",
    b"not a pickle",
    pickle.dumps({"type": "x"}),  # a message, not a list of them
    pickle.dumps([1]),
    pickle.dumps(["no"]),
    pickle.dumps([{"ok": 1}]) + b"trailing",
    pickle.dumps([{"d": Foreign()}]),  # would need a class: refused, never built
    pickle.dumps([{"d": print}]),
    b"\x80\x05" + b"(" * 100_000,  # a truncated, deeply nested frame
], ids=lambda p: repr(p[:24]))
def test_garbage_is_a_protocol_error(payload: bytes) -> None:
    with pytest.raises(wire.ProtocolError):
        wire.decode(payload)


def test_values_of_foreign_types_travel_as_plain_data() -> None:
    class Text(str):
        pass

    (message,) = roundtrip([{"status": Text("200 OK"), "obj": Foreign(), "n": True}])
    assert type(message["status"]) is str and message["status"] == "200 OK"
    assert message["obj"].startswith("<") and message["n"] is True


def test_a_record_is_plain_data_both_ways() -> None:
    class Text(str):
        pass

    record = {"environ": [{"PATH_INFO": "/"}, {"n": ("1", "int")}], "body": EVERY_BYTE,
              "phases": [{"name": "received", "t": 0.0}], "error": None}
    assert wire.loads_plain(wire.dumps_plain(record)) == record
    assert wire.loads_plain(wire.dumps_plain({"status": Text("200 OK")})) == {"status": "200 OK"}
    with pytest.raises(wire.ProtocolError, match=r"builtins\.print"):
        wire.loads_plain(pickle.dumps({"d": print}))


def test_garbage_on_the_socket_is_a_protocol_error(pair: tuple[socket.socket, ...]) -> None:
    writer, reader = pair
    writer.sendall(struct.pack(">I", 8) + b"not pick")
    with pytest.raises(wire.ProtocolError):
        read_all(reader)


def test_oversize_length_is_refused_before_reading_it(pair: tuple[socket.socket, ...]) -> None:
    writer, reader = pair
    # Only the length goes out and the connection stays open: the reader must
    # refuse at once instead of waiting for (or allocating) 256 MiB and more.
    writer.sendall(struct.pack(">I", wire.MAX_FRAME + 1))
    frames = wire.read_frames(reader)
    with pytest.raises(wire.ProtocolError, match="larger than allowed"):
        next(frames)
    # An HTTP request sent to the wire port by mistake reads as a huge length too.
    writer.sendall(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(wire.ProtocolError):
        next(wire.read_frames(reader))


def test_largest_allowed_length_is_waited_for_not_refused() -> None:
    header = struct.pack(">I", wire.MAX_FRAME)
    frames = wire.read_frames(OneByteAtATime(header + b"\x00" * 10))  # type: ignore[arg-type]
    assert list(frames) == []  # the peer went away mid-frame: no error, no frame
