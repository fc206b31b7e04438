"""The agent-to-host transport: the shared-memory ring vs the socket batches it replaced.

The same event stream goes through both, in the same run, in alternating rounds
(ABBA order, so drift cancels):

- old: the request threads append events to a deque; a writer thread wakes
  every 10 ms and sends what piled up as one pickled batch per frame over a
  socket; the host decodes frame by frame (the version 3 transport, kept below);
- new: each event is pickled on the emitting thread and appended to the ring;
  a writer thread sends an 8-byte wake-up every 10 ms; the host reads the
  records up to the wake-up's offset and decodes each (the product's own
  Uplink and RingReader).

The stream is what the real capture emits for a waitress-like environ (20 keys):
per pair, a plain exchange (begin, chunk, end) and a streamed one (begin, 8
chunks of 2 KiB, end). Events are made before the clock starts; the emitting
process's CPU (all its threads: emit, encode, send) and the host's decoding CPU
are measured per exchange and printed as medians with the ratio new/old.

    python bench/transport.py             # 7 rounds of 5000 exchange pairs
    python bench/transport.py --quick     # 3 rounds of 2000

Internal entry, the emitting process:

    python bench/transport.py --emit old|new --pairs N   (fds from the environment)
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inspector import ring, wire
from inspector.agent.capture import Capture
from inspector.agent.child import WAKE, Uplink
from inspector.host.process import RING_CAPACITY

ENV_SOCK, ENV_RING = "BENCH_TRANSPORT_SOCK", "BENCH_TRANSPORT_RING"
STREAM_CHUNKS, STREAM_CHUNK = 8, 2048


# -- the stream ------------------------------------------------------------------------------

HEADERS = {"HOST": "127.0.0.1:8000", "USER_AGENT": "python-requests/2.32.3", "ACCEPT": "*/*",
           "ACCEPT_ENCODING": "gzip, deflate", "CONNECTION": "keep-alive"}


def environ(n: int) -> dict[str, Any]:
    """A fresh environ as waitress builds it for a small GET (20 keys): CGI names as
    literals, header keys made per request ("HTTP_" + name), values parsed (new strings)."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": "".join("GET"), "SCRIPT_NAME": "", "PATH_INFO": f"/items/{n}",
        "QUERY_STRING": "page=2&sort=name", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_SOFTWARE": "waitress",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_HOST": "127.0.0.1", "REMOTE_PORT": str(40000 + n),
        "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.input": io.BytesIO(),
        "wsgi.multithread": True,
    }
    for name, value in HEADERS.items():
        env["HTTP_" + name] = "".join(value)
    return env


def plain_app(env: dict[str, Any], start_response: Any) -> Any:
    body = b'{"id": 1, "name": "widget", "price": 9.5}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    yield body


def streaming_app(env: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    piece = b"x" * STREAM_CHUNK
    for _ in range(STREAM_CHUNKS):
        yield piece


def make_events(pairs: int) -> list[dict[str, Any]]:
    """The events the real capture emits for ``pairs`` plain + streamed exchanges."""
    events: list[dict[str, Any]] = []
    plain = Capture(plain_app, events.append, lint=True)
    streaming = Capture(streaming_app, events.append, lint=True)
    for n in range(pairs):
        for capture in (plain, streaming):
            result = capture(environ(n), lambda status, headers, exc_info=None: None)
            for _ in result:
                pass
            result.close()
    return events


# -- the old transport (version 3), kept for comparison -------------------------------------

class OldUplink:
    """Requests append to a deque; a writer sends batches every 10 ms (as before)."""

    BATCH = 512

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._pending: collections.deque[Any] = collections.deque()
        self.emit = self._pending.append
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            closing = self._closing.wait(0.01)
            popleft = self._pending.popleft
            while self._pending:
                batch = []
                try:
                    while len(batch) < self.BATCH:
                        batch.append(popleft())
                except IndexError:
                    pass
                wire.send(self.sock, batch)
            if closing:
                return

    def close(self) -> None:
        self._closing.set()
        self._thread.join()


# -- the emitting process ---------------------------------------------------------------------

def emit_main(kind: str, pairs: int) -> None:
    """Emit the stream through one transport; print this process's CPU seconds for it."""
    events = make_events(pairs)
    sock = socket.socket(fileno=int(os.environ[ENV_SOCK]))
    if kind == "old":
        uplink: Any = OldUplink(sock)
    else:
        ring_fd = int(os.environ[ENV_RING])
        uplink = Uplink(sock, ring.attach(ring_fd))
        os.close(ring_fd)
    emit = uplink.emit
    started = time.process_time()
    for event in events:
        emit(event)
    uplink.close()
    print(time.process_time() - started, flush=True)
    sock.close()


# -- the host side ------------------------------------------------------------------------------

def read_old(sock: socket.socket) -> int:
    count = 0
    for messages in wire.read_frames(sock):
        count += len(messages)
    return count


def read_new(sock: socket.socket, reader: ring.RingReader) -> int:
    """As AppProcess does: drain the ring on each wake-up, one record at a time."""
    count, pending = 0, b""
    while data := sock.recv(1 << 12):
        pending += data
        whole = len(pending) - len(pending) % WAKE.size
        if not whole:
            continue
        (offset,) = WAKE.unpack_from(pending, whole - WAKE.size)
        pending = pending[whole:]
        for message in wire.loads_each(*reader.read_to(offset)):
            assert type(message) is dict
            count += 1
    return count


def run_round(kind: str, pairs: int) -> tuple[float, float, int]:
    """(emitting CPU s, host CPU s, messages) for one run of one transport."""
    ours, theirs = socket.socketpair()
    env = dict(os.environ, **{ENV_SOCK: str(theirs.fileno())})
    fds = [theirs.fileno()]
    reader = None
    if kind == "new":
        ring_fd, mapping = ring.create(RING_CAPACITY)
        env[ENV_RING] = str(ring_fd)
        fds.append(ring_fd)
        reader = ring.RingReader(mapping)
    proc = subprocess.Popen([sys.executable, __file__, "--emit", kind, "--pairs", str(pairs)],
                            env=env, pass_fds=fds, stdout=subprocess.PIPE, text=True)
    theirs.close()
    if reader is not None:
        os.close(ring_fd)
    started = time.thread_time()
    count = read_old(ours) if reader is None else read_new(ours, reader)
    host = time.thread_time() - started
    out, _ = proc.communicate()
    ours.close()
    return float(out.strip()), host, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2000 pairs")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--emit", choices=("old", "new"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    pairs = args.pairs or (2000 if args.quick else 5000)
    if args.emit:
        emit_main(args.emit, pairs)
        return
    rounds = args.rounds or (3 if args.quick else 7)
    figures: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    exchanges = 2 * pairs
    for n in range(rounds):
        order = ("old", "new") if n % 2 == 0 else ("new", "old")
        for kind in order:
            emit_s, host_s, count = run_round(kind, pairs)
            figures[kind].append((emit_s, host_s))
            print(f"round {n + 1}/{rounds} {kind}: {count} messages; per exchange: "
                  f"emitting process {emit_s / exchanges * 1e6:6.1f} us CPU, "
                  f"host decode {host_s / exchanges * 1e6:6.1f} us CPU", flush=True)
    report(figures, exchanges, pairs, rounds)


def report(figures: dict[str, list[tuple[float, float]]], exchanges: int, pairs: int,
           rounds: int) -> None:
    def median(kind: str, index: int) -> float:
        return statistics.median(f[index] for f in figures[kind]) / exchanges * 1e6

    print(f"\ntransport: {rounds} alternating rounds of {pairs} pairs (a plain exchange of 3 "
          f"events + one streamed in {STREAM_CHUNKS} chunks of {STREAM_CHUNK} B), medians, "
          "per exchange")
    print(f"{'cost':<32}{'old (socket batches)':>22}{'new (ring)':>14}{'new/old':>10}")
    for index, name in ((0, "emitting process CPU"), (1, "host decode CPU")):
        old, new = median("old", index), median("new", index)
        print(f"{name:<32}{old:>19.1f} us{new:>11.1f} us{new / old:>10.2f}")


if __name__ == "__main__":
    main()
