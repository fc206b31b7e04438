"""The event ring (inspector/ring.py) and the agent's uplink over it.

Real shared memory, real threads; a slow reader is one that reads only when it
is told to, never one that sleeps.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from inspector import ring, wire
from inspector.agent.child import WAKE, Uplink

TIMEOUT = 30.0


@pytest.fixture
def small() -> Iterator[tuple[ring.RingWriter, ring.RingReader]]:
    """A writer and a reader on the smallest ring (4 KiB): wraps come quickly."""
    fd, mapping = ring.create(ring.MIN_CAPACITY)
    os.close(fd)
    yield ring.RingWriter(mapping), ring.RingReader(mapping)
    mapping.close()


def record(n: int, size: int) -> bytes:
    return n.to_bytes(4, "big") + bytes([n % 251]) * size


def test_records_wrap_around_the_end_whole_and_in_order(small) -> None:
    writer, reader = small
    sizes = [1, 100, 999, 7, 2000, 0, 513, 1021, 3, 64] * 20  # odd sizes: every alignment
    sent, got = [], []
    for n, size in enumerate(sizes):
        data = record(n, size)
        writer.append(data)
        sent.append(data)
        if n % 3 == 2:
            got += reader.records(writer.published)
    got += reader.records(writer.published)
    assert got == sent
    assert writer.published == reader.read > 10 * writer.capacity  # it went round often
    assert reader.records(writer.published) == []


def test_a_full_ring_makes_the_writer_wait_and_loses_nothing(small) -> None:
    writer, reader = small
    woken = threading.Condition()
    wakes: list[int] = []

    def on_full(offset: int) -> None:
        with woken:
            wakes.append(offset)
            woken.notify_all()

    writer = ring.RingWriter(writer._map, on_full=on_full)
    sent = [record(n, 300 + n % 200) for n in range(400)]  # ~200 KiB through 4 KiB
    done = threading.Event()

    def write() -> None:
        for data in sent:
            writer.append(data)
        done.set()
        with woken:
            woken.notify_all()

    thread = threading.Thread(target=write)
    thread.start()
    got: list[bytes] = []
    seen = 0
    while not done.is_set() or reader.read < writer.published:
        with woken:  # read only when the writer says it is stuck (or is done)
            woken.wait_for(lambda seen=seen: len(wakes) > seen or done.is_set(), TIMEOUT)
            seen = len(wakes)
        got += reader.records(writer.published)
    thread.join(TIMEOUT)
    assert got == sent
    assert len(wakes) > 10  # it did wait, many times, and said so each time
    assert all(a < b for a, b in zip(wakes, wakes[1:]))


def test_a_record_larger_than_the_ring_arrives_whole_and_in_order(small) -> None:
    writer, reader = small
    big = bytes(range(256)) * 100  # 25 600 bytes through a 4 KiB ring
    sent = [b"before", big, b"after"]
    got: list[bytes] = []
    reading = threading.Event()

    def read() -> None:  # reads whatever is there, as the host does on wake-ups
        while len(got) < len(sent):
            reading.wait(TIMEOUT)
            got.extend(reader.records(writer.published))

    writer = ring.RingWriter(writer._map, on_full=lambda offset: reading.set())
    thread = threading.Thread(target=read)
    thread.start()
    for data in sent:
        writer.append(data)
    reading.set()
    thread.join(TIMEOUT)
    assert got == sent
    assert not reader.partial


def test_a_record_cut_short_by_death_is_not_read(small) -> None:
    writer, reader = small
    writer.append(b"whole")
    writer._put(b"first piece of many", ring.MORE)  # the process died after this piece
    assert reader.records(writer.published) == [b"whole"]
    assert reader.partial


def test_the_reader_checks_every_offset_and_length(small) -> None:
    writer, reader = small
    writer.append(b"x" * 10)
    with pytest.raises(ring.RingError, match="outside what it can hold"):
        reader.read_to(writer.capacity + 8)  # more than the ring can hold
    with pytest.raises(ring.RingError, match="not aligned"):
        reader.read_to(3)
    struct.pack_into("<I", writer._map, ring.HEADER, 5000)  # a length beyond what was written
    with pytest.raises(ring.RingError, match="runs past the written end"):
        reader.read_to(writer.published)
    struct.pack_into("<I", writer._map, ring.HEADER, ring.MAX_PIECE_BITS)  # the largest word
    with pytest.raises(ring.RingError, match="runs past"):
        reader.read_to(writer.published)


def test_pieces_beyond_the_record_bound_are_refused(small, monkeypatch) -> None:
    writer, reader = small
    monkeypatch.setattr(ring, "MAX_RECORD", 1000)
    for _ in range(2):
        writer._put(b"p" * 600, ring.MORE)  # a record that never ends
    with pytest.raises(ring.RingError, match="larger than 1000 bytes"):
        reader.read_to(writer.published)


def test_attach_refuses_what_is_not_a_ring() -> None:
    fd, mapping = ring.create(ring.MIN_CAPACITY)
    try:
        assert ring.capacity_of(ring.attach(fd)) == ring.MIN_CAPACITY
        mapping[:8] = b"NOTARING"
        with pytest.raises(ring.RingError, match="does not match"):
            ring.attach(fd)
    finally:
        os.close(fd)
        mapping.close()


def test_the_capacity_is_aligned_and_at_least_the_minimum() -> None:
    for asked, capacity in ((0, ring.MIN_CAPACITY), (5000, 5000 + 0), (5001, 5008)):
        fd, mapping = ring.create(asked)
        os.close(fd)
        assert ring.capacity_of(mapping) == capacity
        mapping.close()


# -- decoding what the ring holds ------------------------------------------------------------

def test_loads_each_reads_plain_records_where_they_lie() -> None:
    values = [{"type": "begin", "id": 1}, [1, 2.5, None, True], b"\x00\xff", "text", "type"]
    encoder = wire.Encoder()
    blob, spans = b"", []
    for value in values:
        data = encoder.encode(value)
        spans.append((len(blob), len(blob) + len(data)))
        blob += data + b"pad"
    assert list(wire.loads_each(blob, spans)) == values


@pytest.mark.parametrize("data", [b"\x80\x05N.extra", b"\x80\x05", b"garbage",
                                  pickle.dumps(os.system), pickle.dumps(ValueError("x"))])
def test_loads_each_refuses_what_is_not_one_plain_record(data: bytes) -> None:
    with pytest.raises(wire.ProtocolError):
        list(wire.loads_each(data, [(0, len(data))]))


class Header(str):
    """A str subclass, as a framework may put in a header."""


def decode_one(data: bytes) -> object:
    return next(wire.loads_each(data, [(0, len(data))]))


def test_the_encoder_makes_foreign_values_plain_and_stays_usable() -> None:
    encoder = wire.Encoder()
    assert decode_one(encoder.encode({"h": Header("x"), "o": object})) == {
        "h": "x", "o": repr(object)}
    assert decode_one(encoder.encode({"type": "end", "id": 2})) == {"type": "end", "id": 2}


def test_records_name_the_vocabulary_and_decode_to_shared_words() -> None:
    """The keys every event has are not spelled out in each record, and the host gets one
    string per word, not one per record."""
    encoder = wire.Encoder()
    first, second = (encoder.encode({"type": "chunk", "id": n, "via": "iter"}) for n in (1, 2))
    assert b"type" not in first and b"via" not in first and b"iter" not in first
    spelled = wire.dumps_plain({"type": "chunk", "id": 1, "via": "iter"})
    assert len(first) < len(spelled) and wire.loads_plain(spelled) == decode_one(first)
    a, b = wire.loads_each(first + second, [(0, len(first)), (len(first), len(first) * 2)])
    assert [next(iter(a)), a["type"]] == ["type", "chunk"]
    assert next(iter(a)) is next(iter(b)) and a["via"] is b["via"]
    made = "".join(["ty", "pe"])  # equal to a word, but another object: spelled out
    assert made.encode() in encoder.encode({made: 1}) and decode_one(encoder.encode({made: 1}))


# -- the uplink --------------------------------------------------------------------------------

def test_uplink_records_at_once_and_wakes_the_host() -> None:
    """An event is in the ring when emit returns (so it outlives the process); the wake-up
    comes later, or at once for a message someone waits on."""
    fd, mapping = ring.create(ring.MIN_CAPACITY)
    os.close(fd)
    ours, theirs = socket.socketpair()
    uplink = Uplink(theirs, mapping)
    try:
        reader = ring.RingReader(mapping)
        uplink.emit({"type": "begin", "id": 1})
        assert reader.published > 0  # already in shared memory
        uplink.emit_now({"type": "pong", "seq": 7})
        ours.settimeout(TIMEOUT)
        offset = 0
        while offset < reader.published:
            (offset,) = WAKE.unpack(ours.recv(WAKE.size, socket.MSG_WAITALL))
        assert list(wire.loads_each(*reader.read_to(offset))) == [
            {"type": "begin", "id": 1}, {"type": "pong", "seq": 7}]
    finally:
        uplink.close()
        ours.close()
        theirs.close()
        mapping.close()


def test_uplink_gives_up_waiting_for_room_once_the_host_is_gone() -> None:
    fd, mapping = ring.create(ring.MIN_CAPACITY)
    os.close(fd)
    ours, theirs = socket.socketpair()
    uplink = Uplink(theirs, mapping)
    try:
        ours.close()  # the host is gone: the next wake-up fails, waiting stops
        for n in range(100):  # far more than the ring holds: returns all the same
            uplink.emit({"type": "chunk", "id": n, "data": b"x" * 500})
        assert uplink.ring.published <= uplink.ring.capacity
    finally:
        uplink.close()
        theirs.close()
        mapping.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_process_the_app_forks_writes_nothing_to_the_ring() -> None:
    """multiprocessing's fork: a second writer would corrupt the ring, and its copy of the
    socket would hide this process's end from the host."""
    fd, mapping = ring.create(ring.MIN_CAPACITY)
    os.close(fd)
    ours, theirs = socket.socketpair()
    uplink = Uplink(theirs, mapping)
    try:
        uplink.emit({"type": "begin", "id": 1})
        before = ring.RingReader(mapping).published
        pid = os.fork()
        if pid == 0:  # the forked process: emits, prints nothing of ours, exits
            uplink.emit({"type": "output", "id": 1, "text": "from the fork"})
            os._exit(0 if theirs.fileno() == -1 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0  # its copy of the socket was closed
        assert ring.RingReader(mapping).published == before
        uplink.emit({"type": "end", "id": 1})
        assert ring.RingReader(mapping).published > before  # the app's process goes on
    finally:
        uplink.close()
        ours.close()
        theirs.close()
        mapping.close()


def test_wake_ups_never_go_backwards_and_a_late_one_is_not_an_error() -> None:
    """Threads that emit at once (and a full ring that wakes the host from a writer)
    must not tell the host an older offset after a newer one; and the host takes a
    wake-up for what it has read already as nothing new, not as a broken ring."""
    fd, mapping = ring.create(ring.MIN_CAPACITY)  # small: the writers fill it often
    os.close(fd)
    ours, theirs = socket.socketpair()
    uplink = Uplink(theirs, mapping)
    reader = ring.RingReader(mapping)
    offsets: list[int] = []
    errors: list[str] = []

    def host() -> None:
        pending = b""
        while True:
            data = ours.recv(1 << 12)
            if not data:
                return
            pending += data
            whole = len(pending) - len(pending) % WAKE.size
            for at in range(0, whole, WAKE.size):
                (offset,) = WAKE.unpack_from(pending, at)
                offsets.append(offset)
                try:
                    reader.read_to(offset)
                except ring.RingError as exc:
                    errors.append(str(exc))
                    uplink.lost()  # writers waiting for room give up: the test ends
                    return
            pending = pending[whole:]

    def emitter(now: bool) -> None:
        for i in range(3000):
            message = {"type": "output", "id": i, "text": "x" * 200}
            (uplink.emit_now if now and i % 3 == 0 else uplink.emit)(message)

    reading = threading.Thread(target=host, daemon=True)
    reading.start()
    writers = [threading.Thread(target=emitter, args=(k % 2 == 0,)) for k in range(4)]
    try:
        for t in writers:
            t.start()
        for t in writers:
            t.join(TIMEOUT)
    finally:
        uplink.close()
        theirs.close()
        reading.join(TIMEOUT)
        ours.close()
    assert errors == []
    assert offsets == sorted(offsets)
    assert reader.read_to(reader.read) == (b"", [])  # a late wake-up: nothing new
    mapping.close()


def test_a_cut_records_first_bytes_name_its_type_and_exchange() -> None:
    from inspector.host.process import _type_and_id

    record = wire.Encoder().encode({"type": "chunk", "id": 70000, "t": 0.5, "size": 9,
                                    "data": b"x" * 5000, "via": "iter"})
    assert _type_and_id(record[:30]) == ("chunk", 70000)
    assert _type_and_id(record[:6]) == (None, None)  # cut before them
    assert _type_and_id(b"\x80\x05garbage") == (None, None)
    assert _type_and_id(wire.Encoder().encode({"type": ["x"], "id": "1"})) == (None, None)
