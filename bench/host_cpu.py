"""Host CPU per recorded exchange, without the noise of a loaded machine.

Records what a real app process puts in the event ring for N requests (the
bytes as they came, in the batches the host read them), then replays those
batches through the host's own path, as often as asked: ``wire.loads_each``,
the hand-off of each event, ``Store.put``, the writer's batches and commits.
The figure is the CPU time of this process (all threads) per exchange, so
another process on the same cores changes it little; instruction counts
(``valgrind --tool=callgrind``) are steadier still.

    python bench/host_cpu.py                 # 2000 requests to hello, 5 replays
    python bench/host_cpu.py --app json --requests 5000 --replays 3
    python bench/host_cpu.py --save B.pickle     # record once, then replay that same
    python bench/host_cpu.py --load B.pickle --replays 1   # load (under callgrind, say)
"""

from __future__ import annotations

import argparse
import http.client
import pickle
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector import ring, wire
from inspector.host.process import _LINK_MESSAGES, AppProcess, Options
from inspector.host.store import Store

APPS = {"hello": ("inspector.examples.hello:app", "/"),
        "json": ("inspector.examples.json_api:app", "/api/items")}


def record(spec: str, path: str, requests: int) -> list[tuple[bytes, list[tuple[int, int]]]]:
    """The ring's batches (bytes, spans) a real app process sent for ``requests``."""
    batches: list[tuple[bytes, list[tuple[int, int]]]] = []
    read_to = ring.RingReader.read_to

    def keep(self: ring.RingReader, upto: int) -> tuple[bytes, list[tuple[int, int]]]:
        blob, spans = read_to(self, upto)
        batches.append((blob, spans))
        return blob, spans

    ring.RingReader.read_to = keep  # type: ignore[method-assign]
    ended = threading.Semaphore(0)

    def on_event(message: dict) -> None:
        if message.get("type") == "end":
            ended.release()

    app = AppProcess(Options(spec, str(Path(__file__).resolve().parents[1])), on_event,
                     lambda status: None)
    try:
        status = app.start()
        if status.state != "serving":
            raise SystemExit(f"the app did not start: {status.message}")
        host, port = status.url.split("//", 1)[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port))
        for _ in range(requests):
            conn.request("GET", path)
            conn.getresponse().read()
        for _ in range(requests):
            ended.acquire(timeout=10)
    finally:
        app.stop()
        ring.RingReader.read_to = read_to  # type: ignore[method-assign]
    return batches


def replay(batches: list[tuple[bytes, list[tuple[int, int]]]], folder: Path, n: int) -> float:
    """CPU seconds of this process to take every batch into a new session."""
    store = Store(folder / f"replay-{n}.wsgi-session", busy_interval=0.25)
    record_type = getattr(wire, "Record", None)  # as AppProcess hands events on
    cpu0 = time.process_time()
    for blob, spans in batches:
        for message, (start, end) in zip(wire.loads_each(blob, spans), spans):
            if message.get("type") in _LINK_MESSAGES:
                continue
            if record_type is not None:
                message = record_type(message)
                message.raw = blob[start:end]
            message["gen"] = 0
            store.put(message)
    store.flush()
    cpu = time.process_time() - cpu0
    store.close()
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=sorted(APPS), default="hello")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--replays", type=int, default=5)
    parser.add_argument("--save", type=Path, help="keep the recorded batches in this file")
    parser.add_argument("--load", type=Path, help="replay batches saved with --save")
    args = parser.parse_args()
    spec, path = APPS[args.app]
    if args.load:
        args.requests, batches = pickle.loads(args.load.read_bytes())
    else:
        batches = record(spec, path, args.requests)
    if args.save:
        args.save.write_bytes(pickle.dumps((args.requests, batches)))
    records = sum(len(spans) for _, spans in batches)
    with tempfile.TemporaryDirectory() as tmp:
        per = [1e6 * replay(batches, Path(tmp), n) / args.requests for n in range(args.replays)]
    print(f"{args.app}: {args.requests} exchanges, {records} records; host CPU per exchange "
          f"median {statistics.median(per):.1f} us (runs: "
          f"{', '.join(f'{p:.1f}' for p in per)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
