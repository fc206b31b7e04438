"""What looking inside the app costs: per SQL query, per template render, and for a
request that runs neither.

.venv/bin/python bench/inside_cost.py           # 5 rounds each
.venv/bin/python bench/inside_cost.py --quick   # 3 rounds, shorter

Per query and per render: the same loop in one thread, in the same run,
(a) without the hooks, (b) with them installed but outside any request (what
start-up code and other threads pay), (c) inside a request, each query or
render recorded: encoded as the agent encodes it (``wire.Encoder``) and
appended to a real shared-memory ring (``ring.RingWriter``), which a reader
thread drains as the host would. The cost is (c) - (a) in µs; goal ≤ 5 µs per
query. Times are the thread's CPU time (other load on the machine does not
count); medians over rounds, min-max beside them.

No-query throughput: the real ``Agent`` serving the lesson's hello app, with
and without the hooks, alternating rounds; 16 keep-alive connections on
threads load it. The ratio of the medians should be 1.00 (within noise).
"""

from __future__ import annotations

import argparse
import http.client
import os
import sqlite3
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from inspector import ring, wire  # noqa: E402
from inspector.agent import inside_hooks  # noqa: E402
from inspector.agent.output import Lane, current  # noqa: E402
from inspector.agent.runtime import Agent  # noqa: E402
from inspector.agent.sink import BatchSink  # noqa: E402
from inspector.examples.hello import app as hello  # noqa: E402


class RingSink:
    """The agent's emit path: encode (``wire.Encoder``), append to a shared-memory ring.

    The host reads the ring from another process; here nobody reads it: the ring
    is made large enough for one round, so the loop pays exactly what the app's
    thread pays, and no reader thread competes for this interpreter's lock.
    """

    def __init__(self, records: int) -> None:
        fd, self.mapping = ring.create(max(records * 512, 1 << 20))
        os.close(fd)
        self.writer = ring.RingWriter(self.mapping)
        self.encoder = wire.Encoder()

    def emit(self, message: dict[str, Any]) -> None:
        self.writer.append(self.encoder.encode(message))

    def close(self) -> None:
        self.writer.close()
        self.mapping.close()


def per_call(run: Callable[[int], None], count: int) -> float:
    """µs per call, in this thread's CPU time: what the app's thread pays, whatever
    else the machine runs meanwhile (wall time on 2 busy cores is mostly waiting)."""
    start = time.thread_time()
    run(count)
    return (time.thread_time() - start) / count * 1e6


def per_call_recorded(run: Callable[[int], None], count: int) -> float:
    """``per_call`` on a thread serving a request: each call recorded into a fresh ring
    (made before the clock starts)."""
    sink = RingSink(count)
    token = current.set(Lane(sink.emit, 1, time.perf_counter()))
    try:
        return per_call(run, count)
    finally:
        current.reset(token)
        sink.close()


def queries(conn: sqlite3.Connection) -> Callable[[int], None]:
    def run(count: int) -> None:
        for i in range(count):
            conn.execute("SELECT ?", (i,)).fetchone()
    return run


def renders(template: Any) -> Callable[[int], None]:
    def run(count: int) -> None:
        for i in range(count):
            template.render(name="Ada", items=(i, i + 1))
    return run


def measure_calls(label: str, make: Callable[[], Callable[[int], None]], count: int,
                  rounds: int) -> None:
    plain, outside, recorded = [], [], []
    for _ in range(rounds):
        plain.append(per_call(make(), count))
        inside_hooks.install()
        try:
            run = make()
            outside.append(per_call(run, count))
            recorded.append(per_call_recorded(run, count))
        finally:
            inside_hooks.uninstall()
    cost = [r - p for r, p in zip(recorded, plain)]
    quiet = [o - p for o, p in zip(outside, plain)]
    print(f"{label:<28} {statistics.median(plain):7.2f} µs  "
          f"{statistics.median(outside):7.2f} µs  {statistics.median(recorded):7.2f} µs  "
          f"{statistics.median(cost):+6.2f} µs ({min(cost):+.2f}…{max(cost):+.2f})  "
          f"{statistics.median(quiet):+6.2f} µs")


def throughput(look_inside: bool, seconds: float, connections: int = 16
               ) -> tuple[float, float]:
    """(requests a second, CPU µs of this process per request: server and load)."""
    sink = BatchSink()
    stop = threading.Event()
    drainer = threading.Thread(target=lambda: [sink.drain() for _ in iter(
        lambda: stop.wait(0.01), True)], daemon=True)
    drainer.start()
    agent = Agent(hello, sink.emit, look_inside=look_inside, tee=False, threads=4)
    agent.start()
    port = agent.server.effective_port
    counts = [0] * connections
    deadline = time.perf_counter() + seconds

    def load(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.perf_counter() < deadline:
            conn.request("GET", "/")
            conn.getresponse().read()
            counts[slot] += 1
        conn.close()

    threads = [threading.Thread(target=load, args=(i,)) for i in range(connections)]
    cpu = time.process_time()
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    agent.stop()
    stop.set()
    drainer.join()
    return sum(counts) / elapsed, cpu / max(sum(counts), 1) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 3 if args.quick else 5
    count = 20_000 if args.quick else 50_000
    print(f"{'per call':<28} {'no hooks':>10}  {'outside':>10}  {'recorded':>10}  "
          f"{'cost (recorded - none)':<26} outside - none")
    measure_calls("sqlite3 query (SELECT ?)",
                  lambda: queries(sqlite3.connect(":memory:", check_same_thread=False)),
                  count, rounds)
    try:
        import jinja2
    except ImportError:
        print("jinja2 render: jinja2 is not installed")
    else:
        env = jinja2.Environment()
        measure_calls("jinja2 render (small)", lambda: renders(env.from_string(
            "<p>{{ name }}: {% for i in items %}{{ i }} {% endfor %}</p>")),
            count // 5, rounds)

    seconds = 1.5 if args.quick else 3.0
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    throughput(True, 0.5)  # warm-up
    for _ in range(rounds):
        off.append(throughput(False, seconds))
        on.append(throughput(True, seconds))
    print()
    for index, what in ((0, "req/s"), (1, "CPU µs/request")):
        a = statistics.median(r[index] for r in off)
        b = statistics.median(r[index] for r in on)
        ratios = [y[index] / x[index] for x, y in zip(off, on)]
        print(f"no-query hello app, {what:<15} hooks off {a:8.1f}   hooks on {b:8.1f}   "
              f"ratio {b / a:.3f} ({min(ratios):.3f}…{max(ratios):.3f}; goal 1.00 within "
              "noise)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
