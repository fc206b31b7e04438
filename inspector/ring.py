"""A ring of records in memory shared by the app's process and the host.

The agent appends each message as a record the moment it is emitted; the host
reads records up to the offset the agent tells it in a wake-up. Nothing the
agent produced is lost when its process dies (a segfault, ``os._exit``, a
SIGKILL): the records are in the host's own mapping of the memory, and the
host reads what is left before it ends the exchanges still in flight.

Stdlib only: both sides import it. See docs/protocol.md ("The event ring").

Layout (little-endian; offsets are totals since the start, never wrapped)::

    0    magic     8 bytes  MAGIC
    8    capacity  u64      bytes in the data area (a multiple of ALIGN)
    16   write     u64      published end: advanced only after a record is whole
    64   read      u64      what the host has consumed (its own cache line)
    128  data      capacity bytes

A record is a u32 word (payload length, plus MORE when the payload continues in
the next record) and the payload, padded to ALIGN bytes. The word never wraps
around the end (positions are aligned and the capacity is too); a payload may.
A record larger than a quarter of the ring goes as several pieces, each waiting
for room, so any size fits and order is kept.

Memory ordering: the writer publishes ``write`` after the record's bytes; the
host reads no further than the offset in a wake-up (the send is a system call,
which orders the writer's stores before it) or, once the process is gone, than
the header says. The host checks every offset and length against the ring's
bounds: the content is input from another process, like any other.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Callable

MAGIC = b"WSGIRNG1"  # the layout's name and version
HEADER = 128
ALIGN = 8
MORE = 1 << 31  # in a record's word: the payload continues in the next record
MAX_PIECE_BITS = MORE - 1
DEFAULT_CAPACITY = 32 << 20
MIN_CAPACITY = 4096
MAX_RECORD = 256 << 20  # a record the host assembles from pieces: a sanity bound
WAIT_MIN, WAIT_MAX = 0.0005, 0.01  # how often a writer facing a full ring looks again

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_OFF_CAPACITY, _OFF_WRITE, _OFF_READ = 8, 16, 64


class RingError(Exception):
    """The ring's content breaks its layout (a corrupt header or record)."""


class RingClosed(Exception):
    """The reader is gone: a writer waiting for room gives up."""


def _padded(size: int) -> int:
    return (size + ALIGN - 1) & ~(ALIGN - 1)


# -- backing memory --------------------------------------------------------------------

def create(capacity: int = DEFAULT_CAPACITY) -> tuple[int, mmap.mmap]:
    """A new ring: (an fd a child can inherit, the host's mapping of it).

    Anonymous memory where the platform has it (``memfd_create``), else a file
    unlinked at once from a private folder. Pages are only committed when
    written, so a large ring costs little while the app is quiet.
    """
    capacity = max(MIN_CAPACITY, _padded(capacity))
    fd = _anonymous_fd()
    try:
        os.ftruncate(fd, HEADER + capacity)
        mapping = mmap.mmap(fd, HEADER + capacity)
    except BaseException:
        os.close(fd)
        raise
    mapping[:8] = MAGIC
    _U64.pack_into(mapping, _OFF_CAPACITY, capacity)
    return fd, mapping


def _anonymous_fd() -> int:
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):  # e.g. forbidden by a seccomp profile
            return os.memfd_create("wsgi-inspector-ring", os.MFD_CLOEXEC)
    folder = tempfile.mkdtemp(prefix="wsgi-inspector-ring-")  # mode 0700
    try:
        path = os.path.join(folder, "ring")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.unlink(path)
        return fd
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def attach(fd: int) -> mmap.mmap:
    """Map the ring behind an inherited ``fd`` (the fd may be closed afterwards)."""
    size = os.fstat(fd).st_size
    if size < HEADER + MIN_CAPACITY:
        raise RingError(f"the ring is {size} bytes, too small to be one")
    mapping = mmap.mmap(fd, size)
    if mapping[:8] != MAGIC or capacity_of(mapping) != size - HEADER:
        mapping.close()
        raise RingError("the ring's header does not match this version of the agent")
    return mapping


def capacity_of(mapping: mmap.mmap) -> int:
    return _U64.unpack_from(mapping, _OFF_CAPACITY)[0]


# -- the agent's side --------------------------------------------------------------------

class RingWriter:
    """Appends records; thread-safe. Waits (and calls ``on_full``) while the ring is full."""

    def __init__(self, mapping: mmap.mmap, on_full: Callable[[int], None] | None = None
                 ) -> None:
        self._map = mapping
        self.capacity = capacity_of(mapping)
        self._write = _U64.unpack_from(mapping, _OFF_WRITE)[0]
        self._room_to = self._write  # free space known up to here (the reader only adds)
        self._lock = threading.Lock()
        self._on_full = on_full
        self._closed = False
        self.max_piece = self.capacity // 4 - 4

    @property
    def published(self) -> int:
        """The write offset the reader may read up to."""
        return self._write

    def close(self) -> None:
        """The reader is gone: appends that wait for room give up (RingClosed)."""
        self._closed = True

    def append(self, payload: bytes) -> None:
        """Add one record (in pieces if it is large); returns once it is published."""
        # The hot path of every event (_put inlined): few lookups, one copy, the offset last.
        size = len(payload)
        if size > self.max_piece:
            self._append_pieces(payload)
            return
        with self._lock:
            write = self._write
            end = write + ((size + 4 + ALIGN - 1) & ~(ALIGN - 1))
            if end > self._room_to:
                self._wait_for_room(end)
            mapping, capacity = self._map, self.capacity
            pos = HEADER + write % capacity
            _U32.pack_into(mapping, pos, size)
            pos += 4
            first = HEADER + capacity - pos
            if size <= first:
                mapping[pos:pos + size] = payload
            else:  # the payload wraps around the end
                mapping[pos:pos + first] = payload[:first]
                mapping[HEADER:HEADER + size - first] = payload[first:]
            self._write = end
            _U64.pack_into(mapping, _OFF_WRITE, end)  # only now is the record visible

    def _append_pieces(self, payload: bytes) -> None:
        size, step = len(payload), self.max_piece
        with self._lock, memoryview(payload) as view:
            for start in range(0, size, step):
                end = min(start + step, size)
                self._put(view[start:end], MORE if end < size else 0)

    def _put(self, data: bytes | memoryview, flag: int) -> None:
        """One piece of a large record (``append`` does the same for a whole one)."""
        size = len(data)
        write = self._write
        end = write + ((size + 4 + ALIGN - 1) & ~(ALIGN - 1))
        if end > self._room_to:
            self._wait_for_room(end)
        mapping, capacity = self._map, self.capacity
        pos = HEADER + write % capacity
        _U32.pack_into(mapping, pos, size | flag)
        pos += 4
        first = HEADER + capacity - pos
        if size <= first:
            mapping[pos:pos + size] = data
        else:  # the payload wraps around the end
            mapping[pos:pos + first] = data[:first]
            mapping[HEADER:HEADER + size - first] = data[first:]
        self._write = end
        _U64.pack_into(mapping, _OFF_WRITE, end)  # only now is the record visible

    def _wait_for_room(self, end: int) -> None:
        """Block until the reader has read enough for a record ending at ``end``:
        never drop one."""
        room = _U64.unpack_from(self._map, _OFF_READ)[0] + self.capacity
        if end > room and self._on_full is not None:
            self._on_full(self._write)  # the reader reads on wake-ups: wake it now
        pause = WAIT_MIN
        while end > room:
            if self._closed:
                raise RingClosed("the host is gone")
            time.sleep(pause)
            pause = min(pause * 2, WAIT_MAX)
            room = _U64.unpack_from(self._map, _OFF_READ)[0] + self.capacity
        self._room_to = room


# -- the host's side ----------------------------------------------------------------------

class RingReader:
    """Reads records up to a given offset, checking every length against the ring."""

    def __init__(self, mapping: mmap.mmap) -> None:
        self._map = mapping
        self.capacity = capacity_of(mapping)
        self.read = _U64.unpack_from(mapping, _OFF_READ)[0]
        self._pieces: list[bytes] = []  # a record arriving in pieces
        self._pieces_size = 0

    @property
    def published(self) -> int:
        """The writer's published offset, as the header says (after its death: the end)."""
        return _U64.unpack_from(self._map, _OFF_WRITE)[0]

    def close(self) -> None:
        """Unmap the ring (once the writer is gone and its records are read)."""
        self._map.close()

    @property
    def partial(self) -> bool:
        """Some pieces of a record arrived and the rest did not (yet)."""
        return bool(self._pieces)

    @property
    def partial_size(self) -> int:
        """How many bytes of that record arrived."""
        return self._pieces_size

    def partial_head(self, size: int = 4096) -> bytes:
        """The first ``size`` bytes of that record (empty if there is none)."""
        return self._pieces[0][:size] if self._pieces else b""

    def records(self, upto: int) -> list[bytes]:
        """The whole records between what was read and ``upto``, each as bytes."""
        blob, spans = self.read_to(upto)
        return [blob[start:end] for start, end in spans]

    def read_to(self, upto: int) -> tuple[bytes, list[tuple[int, int]]]:
        """The whole records between what was read and ``upto`` as (bytes, [(start, end)]
        of each record's payload in them, in order); frees their room.

        One copy out of the ring for many records, decoded where they lie
        (wire.loads_each). RingError if ``upto`` or a record's length is impossible.
        """
        if upto <= self.read:  # nothing new (a wake-up that arrived late): not an error
            return b"", []
        if upto > self.read + self.capacity:
            raise RingError(f"the ring's write offset {upto} is outside what it can hold "
                            f"(read {self.read}, capacity {self.capacity})")
        if upto % ALIGN:
            raise RingError(f"the ring's write offset {upto} is not aligned")
        region = self._copy(self.read, upto)
        spans, assembled = self._split(region)
        self.read = upto
        _U64.pack_into(self._map, _OFF_READ, upto)
        if not assembled:
            return region, spans
        # Records that came in pieces go after the region, their spans in stream order.
        parts, end = [region], len(region)
        for index, whole in assembled:
            spans[index] = (end, end + len(whole))
            parts.append(whole)
            end += len(whole)
        return b"".join(parts), spans

    def _copy(self, start: int, end: int) -> bytes:
        """The bytes from ``start`` to ``end`` as one string (two slices if it wraps)."""
        capacity, base = self.capacity, HEADER
        a, b = start % capacity, end % capacity
        if a < b:
            return self._map[base + a:base + b]
        return self._map[base + a:base + capacity] + self._map[base:base + b]

    def _split(self, region: bytes) -> tuple[list[tuple[int, int]], list[tuple[int, bytes]]]:
        """Each whole record's span in ``region``, and the (index, bytes) of those
        assembled from pieces (their span is filled in by the caller)."""
        spans: list[tuple[int, int]] = []
        assembled: list[tuple[int, bytes]] = []
        offset, total = 0, len(region)
        while offset < total:
            (word,) = _U32.unpack_from(region, offset)
            size = word & MAX_PIECE_BITS
            end = offset + 4 + size
            if end > total:
                raise RingError(f"a record of {size} bytes runs past the written end")
            if word & MORE or self._pieces:
                whole = self._gather(region[offset + 4:end], more=bool(word & MORE))
                if whole is not None:
                    assembled.append((len(spans), whole))
                    spans.append((0, 0))
            else:
                spans.append((offset + 4, end))
            offset += (size + 4 + ALIGN - 1) & ~(ALIGN - 1)
        return spans, assembled

    def _gather(self, piece: bytes, *, more: bool) -> bytes | None:
        self._pieces_size += len(piece)
        if self._pieces_size > MAX_RECORD:
            raise RingError(f"a record larger than {MAX_RECORD} bytes")
        self._pieces.append(piece)
        if more:
            return None
        whole = b"".join(self._pieces)
        self._pieces, self._pieces_size = [], 0
        return whole
