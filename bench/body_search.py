"""Body search at scale, and what the body index costs the recording.

1. Search. A session of N exchanges (100,000 by default) is recorded through a
   real Store, from the events the agent sends (JSON, text and form bodies,
   a quarter of the responses gzipped, a few binary ones), so its full-text
   index is filled by the writer as in a recording. It is then opened read-only,
   as the window opens a saved session, and each query is timed as the list runs
   it: the index lookup plus the pass over every summary
   (``summaryfilter.select``), median of 5. Goal: under 200 ms each.
   The same session without its index (as one saved before the index existed)
   is opened and indexed in memory: that one-time cost is printed too.

2. The writer. The CPU this process spends recording the lesson's hello
   exchanges into a Store (the writer thread included), with the index and
   without, alternating: what indexing adds per exchange, with little noise.

3. Recording. Rounds alternate plain waitress, the headless inspector as users
   run it, and the same inspector with the index turned off (this script
   starts it with ``bodyindex.create`` made a no-op, so the session has no
   index table and the writer indexes nothing), ABBA order; throughput medians
   and the ratio index / no index (1.00: indexing costs nothing).

    python bench/body_search.py                 # 100k exchanges; 5 rounds of 5 s
    python bench/body_search.py --quick         # 20k exchanges; 3 rounds of 2 s
    python bench/body_search.py --only search   # or: --only writer, --only recording
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Budget, Figure, add_summary_option, write_summary

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from headless_overhead import (  # noqa: E402
    APPS,
    START_TIMEOUT,
    Inspector,
    Load,
    PlainServer,
    count_session,
    cpu_seconds,
    load_tool,
    machine,
    write_apps,
)

from inspector.filtering import parse  # noqa: E402
from inspector.host import summaryfilter  # noqa: E402
from inspector.host.store import Store  # noqa: E402

GOAL_MS = 200.0
GOAL_RATIO = 0.97  # throughput with the index / without, at least (within noise)
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
         "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "order",
         "invoice", "customer", "widget", "gadget", "price", "stock", "shipping", "cart",
         "session"]
QUERIES = [
    ("body:needle", "a rare word (~100 hits)"),
    ("body:widget", "a common word (~1/3 of the rows)"),
    ('body:"out of stock"', "a phrase"),
    ("resbody:invo*", "a prefix, response bodies"),
    ("reqbody:customer -status:5xx", "request bodies and a summary term"),
    ("header:X-Trace=needle", "a request header's value (rare)"),
    ("header:Content-Encoding=gzip", "a response header's value (1/4 of the rows)"),
    ("header:User-Agent", "a header every request has"),
    ("method:POST status:2xx", "summary terms only (no index)"),
]
BUDGETS = {
    "body.search": Budget("body.search", "5", "body: search, 100k exchanges", "< 200 ms"),
    "body.recording": Budget("body.recording", "own", "recording with the body index",
                             f">= {GOAL_RATIO:.2f}x without", floor=True),
}


# -- 1. search ---------------------------------------------------------------------------

def events(xid: int, rng: random.Random) -> list[dict[str, Any]]:
    """One exchange as the agent sends it: begin (environ, body), start_response, chunk,
    end."""
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
    if xid % 1000 == 7:
        words += " needle"
    if xid % 10 == 3:
        words += " out of stock"
    post = xid % 2 == 0
    request = json.dumps({"customer": rng.choice(WORDS), "note": words}).encode() if post \
        else b""
    environ = {"REQUEST_METHOD": "POST" if post else "GET", "PATH_INFO": f"/api/items/{xid}",
               "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "bench/1.0",
               "HTTP_X_TRACE": "needle" if xid % 997 == 0 else f"t{xid}",
               "CONTENT_TYPE": "application/json" if post else "",
               "CONTENT_LENGTH": str(len(request)) if post else ""}
    body = json.dumps({"id": xid, "text": words, "invoice": rng.randint(1, 9999)}).encode()
    headers = [("Content-Type", "application/json")]
    if xid % 4 == 0:
        body = gzip.compress(body, compresslevel=1)
        headers.append(("Content-Encoding", "gzip"))
    if xid % 50 == 1:
        body, headers = bytes(rng.randrange(256) for _ in range(512)), [
            ("Content-Type", "image/png")]
    status = "500 Internal Server Error" if xid % 100 == 5 else "200 OK"
    return [
        {"type": "begin", "id": xid, "t": 0.0, "start": 1.7e9 + xid, "thread": "w",
         "environ": [environ, {}], "body": request, "body_size": len(request)},
        {"type": "phase", "id": xid, "t": 0.0001, "name": "start_response",
         "status": status, "headers": headers, "exc_info": None},
        {"type": "chunk", "id": xid, "t": 0.0002, "size": len(body), "data": body,
         "via": "iter"},
        {"type": "end", "id": xid, "t": 0.0003, "closed": True},
    ]


def build(path: Path, n: int) -> float:
    """Record ``n`` exchanges into a new session; seconds until all are committed."""
    rng = random.Random(13)
    store = Store(path, interval=0.05, batch_events=4000)
    began = time.perf_counter()
    for xid in range(1, n + 1):
        for event in events(xid, rng):
            store.put(event)
        if xid % 5000 == 0:
            store.flush()  # keep the queue (and memory) small
    store.flush()
    took = time.perf_counter() - began
    store.close()
    return took


def time_query(store: Store, text: str, repeat: int = 5) -> tuple[list[float], int]:
    times, hits = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        hits = len(summaryfilter.select(store, parse(text)))
        times.append(time.perf_counter() - began)
    return times, hits


def search(n: int, workdir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    path = workdir / "big.wsgi-session"
    took = build(path, n)
    size = path.stat().st_size
    lines = [f"built {n:,} exchanges in {took:.1f} s ({n / took:,.0f}/s, index included); "
             f"session {size / 2 ** 20:.0f} MiB", "",
             f"{'query':34} {'hits':>7} {'median':>9} {'min-max':>15}  {'goal':>8}  what",
             "-" * 100]
    worst: list[float] = []
    with Store.open(path) as store:
        for text, what in QUERIES:
            times, hits = time_query(store, text)
            med = statistics.median(times) * 1e3
            worst.append(med)
            ok = "meets" if med < GOAL_MS else "ABOVE"
            lines.append(f"{text:34} {hits:7,} {med:7.1f} ms {min(times) * 1e3:6.1f}-"
                         f"{max(times) * 1e3:<6.1f} ms  {ok:>8}  {what}")
    lines.append("")
    # The same file without the index: a session saved before it existed.
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE search")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        began = time.perf_counter()
        store.search_index.ensure()
        lazy = time.perf_counter() - began
        times, hits = time_query(store, "body:needle")
    lines.append(f"a session without the index: built in memory on the first body search "
                 f"in {lazy:.1f} s ({n / lazy:,.0f} exchanges/s, off the GUI thread); then "
                 f"body:needle {statistics.median(times) * 1e3:.1f} ms ({hits} hits)")
    worst_ms = max(worst)
    row = BUDGETS["body.search"].row(worst_ms < GOAL_MS, Figure(worst_ms, "ms"),
                                     name=f"body: search, {n // 1000}k exchanges (slowest "
                                          "query)")
    return lines, [row]


# -- 2. the writer's CPU per exchange -------------------------------------------------------

def hello_events(xid: int) -> list[dict[str, Any]]:
    """A GET of the lesson's hello app as wrk sends it, as the agent reports it."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "",
               "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000",
               "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http"}
    body = b"Hello, World!"
    head = (b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain; "
            b"charset=utf-8\r\nDate: Mon, 30 Nov 2026 09:00:00 GMT\r\nServer: waitress\r\n")
    return [
        {"type": "begin", "id": xid, "t": 0.0, "start": 1.7e9, "thread": "w",
         "environ": [environ, {}], "body": b"", "body_size": 0, "t_app": 0.00001},
        {"type": "end", "id": xid, "t": 0.0002, "closed": True, "closed_t": 0.00019,
         "start_response": (0.0001, "200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", "13")], None),
         "chunks": [(0.00015, 13, body, "iter")], "wire_head": head, "wire_size": 13},
    ]


def writer_cpu(path: Path, n: int, index: bool) -> float:
    """CPU seconds of this process (the writer thread included) to record ``n`` hello
    exchanges, per exchange."""
    from inspector.host import bodyindex

    create = bodyindex.create
    if not index:
        bodyindex.create = lambda conn: None  # type: ignore[assignment]
    try:
        batch = [hello_events(i) for i in range(1, n + 1)]
        began = time.process_time()
        store = Store(path, interval=0.05, batch_events=1000)
        for events_of in batch:
            for event in events_of:
                store.put(event)
        store.flush()
        took = time.process_time() - began
        store.close()
    finally:
        bodyindex.create = create
    return took / n


def writer(n: int, workdir: Path, rounds: int) -> list[str]:
    costs: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds):
        for index in ((True, False) if i % 2 == 0 else (False, True)):
            path = workdir / f"writer-{i}-{index}.wsgi-session"
            costs[index].append(writer_cpu(path, n, index))
            path.unlink()
    with_index, without = (statistics.median(costs[k]) * 1e6 for k in (True, False))
    return [f"the session writer's CPU per hello exchange ({n:,} exchanges, {rounds} rounds, "
            f"medians): {without:.1f} us without the index, {with_index:.1f} us with it "
            f"(+{with_index - without:.1f} us: the text and marks of the exchange and "
            "its FTS5 row)"]


# -- 3. recording ------------------------------------------------------------------------

NO_INDEX = ("import sys, runpy\n"
            "import inspector.host.bodyindex as b\n"
            "b.create = lambda conn: None\n"
            "sys.argv[0] = 'wsgi-inspector'\n"
            "runpy.run_module('ui.launch', run_name='__main__')\n")


class NoIndexInspector(Inspector):
    """The same command line, started with the body index turned off."""

    def start(self) -> NoIndexInspector:
        import subprocess
        import threading

        cmd = [sys.executable, "-c", NO_INDEX, self.spec, "--headless", "--port", "0",
               "--session", str(self.session), *self.extra]
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.app_dir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=log)
        self._drain = threading.Thread(target=self._read, args=(self.proc.stdout,),
                                       daemon=True)
        self._drain.start()
        if not self._ready.wait(START_TIMEOUT) or not self.url:
            self.stop()
            raise RuntimeError("the inspector without the index did not start")
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])
        return self


def inspector_run(kind: type[Inspector], spec: str, path: str, app_dir: Path, workdir: Path,
                  name: str, load: Any, seconds: float, warmup: float
                  ) -> tuple[Load, str, float]:
    """The load run, a note on the session, and the host's CPU per request during the
    load (its process alone: the app's is a child)."""
    session = workdir / f"{name}.wsgi-session"
    with kind(spec, app_dir, session, workdir / f"{name}.log") as inspector:
        if warmup > 0:
            load(inspector.port, path, warmup)
        cpu0 = cpu_seconds(inspector.pid)
        run = load(inspector.port, path, seconds)
        host_cpu = (cpu_seconds(inspector.pid) - cpu0) / max(run.requests, 1)
    with sqlite3.connect(session) as conn:
        indexed = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'search'"
                               ).fetchone()[0] and conn.execute(
            "SELECT count(*) FROM search").fetchone()[0]
    note = f"recorded {count_session(session)}, indexed {indexed or 0}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{session}{suffix}").unlink(missing_ok=True)
    return run, note, host_cpu


def recording(app: str, rounds: int, seconds: float, warmup: float, load: Any,
              workdir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    spec, path = APPS[app]
    app_dir = workdir / "app"
    app_dir.mkdir(exist_ok=True)
    write_apps(app_dir)
    runs: dict[str, list[Load]] = {"plain": [], "index": [], "no index": []}
    host: dict[str, list[float]] = {"index": [], "no index": []}
    lines = []
    with PlainServer(spec, app_dir, workdir, f"{app}-plain") as server:
        for i in range(rounds):
            order = ["plain", "index", "no index"]
            if i % 2:
                order.reverse()
            notes = []
            for mode in order:
                if mode == "plain":
                    if warmup > 0:
                        load(server.port, path, warmup)
                    run, note = load(server.port, path, seconds), ""
                else:
                    kind = Inspector if mode == "index" else NoIndexInspector
                    run, note, cpu = inspector_run(kind, spec, path, app_dir, workdir,
                                                   f"{app}-{mode.replace(' ', '-')}-{i}",
                                                   load, seconds, warmup)
                    host[mode].append(cpu)
                    note += f", host {cpu * 1e6:.0f} us/request"
                runs[mode].append(run)
                notes.append(f"{mode} {run.rps:6.0f} req/s" + (f" ({note})" if note else ""))
            print(f"  {app} round {i + 1}/{rounds}: " + "; ".join(notes), flush=True)
    med = {mode: statistics.median(r.rps for r in rs) for mode, rs in runs.items()}
    ratios = [a.rps / b.rps for a, b in zip(runs["index"], runs["no index"])]
    ratio = med["index"] / med["no index"]
    lines.append(f"{app}: plain {med['plain']:.0f} req/s; inspector with the index "
                 f"{med['index']:.0f} ({med['index'] / med['plain']:.3f}x plain); without "
                 f"{med['no index']:.0f} ({med['no index'] / med['plain']:.3f}x plain); "
                 f"index / no index {ratio:.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f}; "
                 f"goal >= {GOAL_RATIO:.2f}, within noise); host CPU per request during "
                 f"the load: {statistics.median(host['index']) * 1e6:.0f} us with the index, "
                 f"{statistics.median(host['no index']) * 1e6:.0f} us without")
    row = BUDGETS["body.recording"].row(
        ratio >= GOAL_RATIO, Figure.of([r.rps for r in runs["index"]], "req/s"),
        baseline=Figure.of([r.rps for r in runs["no index"]], "req/s"),
        baseline_what="no index", ratio=Figure(ratio, "x", min(ratios), max(ratios),
                                               len(ratios)),
        name=f"{app} req/s, headless, with the body index")
    return lines, [row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k exchanges; 3 rounds of 2 s")
    parser.add_argument("--exchanges", type=int, help="session size (default 100,000)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--apps", default="hello", help="comma-separated: hello,flask")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--only", choices=("search", "writer", "recording"))
    add_summary_option(parser)
    args = parser.parse_args(argv)
    n = args.exchanges or (20_000 if args.quick else 100_000)
    rounds = args.rounds or (3 if args.quick else 5)
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    out: list[str] = []
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="body-search-bench-") as tmp:
        workdir = Path(tmp)
        if args.only in (None, "search"):
            lines, found = search(n, workdir)
            out += ["body search (goal: each query < 200 ms)", "", *lines, ""]
            rows += found
        if args.only in (None, "writer"):
            out += [*writer(n // 5, workdir, rounds), ""]
        if args.only in (None, "recording"):
            tool, load = load_tool(args.load)
            out += [f"recording with and without the body index: {rounds} rounds of "
                    f"{seconds:g} s, medians; load: {tool}"]
            for app in [a.strip() for a in args.apps.split(",") if a.strip()]:
                lines, found = recording(app, rounds, seconds, args.warmup, load, workdir)
                out += lines
                rows += found
            out.append("")
    out.append(machine())
    print()
    print("\n".join(out))
    write_summary(args.summary, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
