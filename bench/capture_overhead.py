"""Throughput of plain waitress vs waitress under capture, measured in the same run.

Each server runs in its own process (started with this interpreter), so the
load generator and the server never share a GIL. Rounds alternate plain and
capture on the same machine state and the result is a ratio of medians, which
is what the design's figures are (plain waitress = 1.00).

    python bench/capture_overhead.py            # 5 rounds of 5 s, 1 s warm-up per run
    python bench/capture_overhead.py --quick    # 3 rounds of 2 s
    python bench/capture_overhead.py --profile  # where the capture cost goes (cProfile)

The capture server is the real agent (capture, lint, output routing, waitress
in a background thread) with its events going into a BatchSink, drained by a
consumer thread that folds them into an ExchangeBuilder, as the product does;
exchanges are dropped once ended so memory stays flat.

Internal entry used for the servers themselves:

    python bench/capture_overhead.py --serve plain|capture --app hello|flask --port-file F
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from common import (
    Budget,
    Figure,
    add_load_options,
    add_summary_option,
    run_workers,
    versions,
    write_summary,
    wrk_version,
)

HOST = "127.0.0.1"
THREADS = 4  # waitress worker threads, both servers
CONNECTIONS = 16
WRK_THREADS = 2
GOALS = {"hello": 0.90, "flask": 0.95}
PATHS = {"hello": "/", "flask": "/json"}
START_TIMEOUT = 30.0
# Rows of bench/run.py's combined table: the project's own goals, stricter than the
# issue's (which judges the headless, isolated inspector: bench/headless_overhead.py).
BUDGETS = {f"capture.{app}.rps": Budget(f"capture.{app}.rps", "own",
                                        f"{app} req/s, in-process capture",
                                        f">= {goal:.2f}x plain", floor=True)
           for app, goal in GOALS.items()}


# -- the applications ------------------------------------------------------------------

def hello_app(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    """The lesson's hello app: one-item list, with a Content-Length."""
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def flask_app() -> Callable:
    from flask import Flask, jsonify

    app = Flask("bench")

    @app.get("/json")
    def data() -> Any:
        return jsonify(message="Hello, World!", ok=True, count=42, tags=["wsgi", "bench"])

    return app


def load_app(name: str) -> Callable:
    return hello_app if name == "hello" else flask_app()


# -- the server process ------------------------------------------------------------------

class Consumer(threading.Thread):
    """Drains the sink every 10 ms into an ExchangeBuilder, dropping exchanges once
    ended: what the in-process host's store writer does with its events."""

    def __init__(self, sink: Any) -> None:
        super().__init__(name="bench-consumer", daemon=True)
        self.sink = sink
        self.events = 0
        self.ended = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        from inspector.model import EV_END, ExchangeBuilder

        builder = ExchangeBuilder()
        apply, exchanges = builder.apply, builder.exchanges
        process_output = builder.process_output
        while True:
            stopping = self._stopping.wait(0.01)
            for event in self.sink.drain():
                apply(event)
                self.events += 1
                if event["type"] == EV_END:
                    exchanges.pop(event["id"], None)
                    self.ended += 1
            if len(process_output) > 1000:
                process_output.clear()
            if stopping:
                return

    def stop(self) -> None:
        self._stopping.set()
        self.join(10)


class ThreadProfiles:
    """One cProfile.Profile per thread started from now on (cProfile sees one thread only)."""

    def __init__(self) -> None:
        import cProfile

        self._new = cProfile.Profile
        self.profiles: list[Any] = []
        threading.setprofile(self._start)

    def _start(self, frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        profile = self._new()
        self.profiles.append(profile)
        profile.enable()

    def dump(self, path: str) -> None:
        """Merge and write them; call once the profiled threads have stopped."""
        import pstats

        threading.setprofile(None)  # type: ignore[arg-type]
        stats = pstats.Stats(*self.profiles) if self.profiles else None
        if stats is not None:
            stats.dump_stats(path)


def serve(mode: str, app_name: str, port_file: str, stats_file: str | None,
          profile_file: str | None) -> int:
    """Run one server until SIGTERM (or until the parent goes away)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    app = load_app(app_name)
    profiles = ThreadProfiles() if profile_file else None
    consumer = sink = None
    if mode == "capture":
        from inspector.agent.runtime import Agent
        from inspector.agent.sink import BatchSink

        sink = BatchSink()
        consumer = Consumer(sink)
        consumer.start()
        server: Any = Agent(app, sink.emit, host=HOST, port=0, threads=THREADS)
        server.start()
        port = server.server.effective_port
    else:
        from inspector.agent.server import BackgroundServer

        server = BackgroundServer(app, host=HOST, port=0, threads=THREADS)
        server.start()
        port = server.effective_port
    tmp = port_file + ".tmp"
    Path(tmp).write_text(str(port))
    os.replace(tmp, port_file)
    max_backlog = 0
    try:
        while not stop.wait(0.1) and os.getppid() == parent:
            if sink is not None:
                max_backlog = max(max_backlog, len(sink))
    finally:
        server.stop()
        if consumer is not None:
            consumer.stop()
        if profiles is not None and profile_file:
            profiles.dump(profile_file)
        if stats_file:
            import resource

            stats = {"max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                     "max_backlog": max_backlog,
                     "exchanges": consumer.ended if consumer else None,
                     "events": consumer.events if consumer else None}
            Path(stats_file).write_text(json.dumps(stats))
    return 0


class ServerProcess:
    """A server in a child process; always stop() it (it is also a context manager)."""

    def __init__(self, mode: str, app: str, workdir: Path, profile: Path | None = None) -> None:
        self.mode, self.app = mode, app
        stem = workdir / f"{app}-{mode}"
        self.port_file = stem.with_suffix(".port")
        self.stats_file = stem.with_suffix(".stats.json")
        self.log_file = stem.with_suffix(".log")
        self.profile = profile
        self.port = 0
        self.stats: dict[str, Any] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        cmd = [sys.executable, os.path.abspath(__file__), "--serve", self.mode,
               "--app", self.app, "--port-file", str(self.port_file),
               "--stats-file", str(self.stats_file)]
        if self.profile:
            cmd += ["--profile-out", str(self.profile)]
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.mode} {self.app} server did not start:\n"
                                   + self.log_tail())
            time.sleep(0.02)
        self.port = int(self.port_file.read_text())
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        with contextlib.suppress(OSError, ValueError):
            self.stats = json.loads(self.stats_file.read_text())

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- load ------------------------------------------------------------------------------

@dataclass
class Load:
    rps: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx responses


def wrk_load(port: int, path: str, seconds: float) -> Load:
    secs = max(1, round(seconds))
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{secs}s",
           f"http://{HOST}:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 30).stdout
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if not match:
        raise RuntimeError(f"no Requests/sec in the load tool's output:\n{out}")
    total = re.search(r"(\d+) requests in", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors += int(bad.group(1)) if bad else 0
    return Load(float(match.group(1)), int(total.group(1)) if total else 0, errors)


def python_load(port: int, path: str, seconds: float) -> Load:
    """Fallback: keep-alive connections on threads, bounded in time."""
    deadline = time.monotonic() + seconds
    done = [0] * CONNECTIONS
    failed = [0] * CONNECTIONS

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        while time.monotonic() < deadline:
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            if 200 <= response.status < 400:
                done[i] += 1
            else:
                failed[i] += 1
        conn.close()

    elapsed = run_workers(worker, CONNECTIONS, deadline)
    return Load(sum(done) / elapsed, sum(done), sum(failed))


def load_tool(choice: str) -> tuple[str, Callable[[int, str, float], Load]]:
    if choice == "wrk" or (choice == "auto" and shutil.which("wrk")):
        version = wrk_version()
        if not version:
            raise SystemExit("wrk is not on PATH; use --load python")
        return (f"{version}: -t{WRK_THREADS} -c{CONNECTIONS}", wrk_load)
    return (f"python http.client, {CONNECTIONS} keep-alive connections on threads "
            "(load generator is likely the bottleneck)", python_load)


# -- the measurement -------------------------------------------------------------------

@dataclass
class Result:
    app: str
    plain: list[float]
    capture: list[float]
    errors: int
    recorded: int | None  # exchanges the capture server's consumer saw end
    answered: int  # responses the load tool counted from the capture server
    max_backlog: int | None
    rss_kib: dict[str, int]

    @property
    def ratios(self) -> list[float]:
        return [c / p for p, c in zip(self.plain, self.capture) if p]

    @property
    def ratio(self) -> float:
        plain = statistics.median(self.plain)
        return statistics.median(self.capture) / plain if plain else 0.0


def measure(app: str, rounds: int, seconds: float, warmup: float,
            load: Callable[[int, str, float], Load], workdir: Path) -> Result:
    path = PATHS[app]
    runs: dict[str, list[float]] = {"plain": [], "capture": []}
    errors = answered = 0
    servers = {mode: ServerProcess(mode, app, workdir) for mode in ("plain", "capture")}
    try:
        for server in servers.values():
            server.start()
        for i in range(1, rounds + 1):
            line = []
            for mode in ("plain", "capture"):
                port = servers[mode].port
                result = [load(port, path, warmup)] if warmup > 0 else []
                result.append(load(port, path, seconds))
                runs[mode].append(result[-1].rps)
                errors += sum(r.errors for r in result)
                if mode == "capture":
                    answered += sum(r.requests for r in result)
                line.append(f"{mode} {result[-1].rps:9.0f}")
            print(f"  {app:5} round {i}/{rounds}: {'  '.join(line)}  "
                  f"ratio {runs['capture'][-1] / runs['plain'][-1]:.3f}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    stats = servers["capture"].stats
    return Result(app, runs["plain"], runs["capture"], errors, stats.get("exchanges"),
                  answered, stats.get("max_backlog"),
                  {m: s.stats.get("max_rss_kib", 0) for m, s in servers.items()})


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def report(results: list[Result], tool: str, rounds: int, seconds: float,
           warmup: float, loads: tuple[str, str]) -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    v = versions()
    head = (f"{'app':6} {'plain req/s':>12} {'capture req/s':>14} {'ratio':>7} "
            f"{'rounds min-max':>15} {'goal':>7}  verdict")
    out = [
        f"capture overhead: {rounds} alternating rounds of {seconds:g} s per server "
        f"({warmup:g} s warm-up before each), medians",
        "",
        head,
        "-" * len(head),
    ]
    for r in results:
        ratios = r.ratios
        goal = GOALS[r.app]
        out.append(
            f"{r.app:6} {statistics.median(r.plain):12.0f} {statistics.median(r.capture):14.0f} "
            f"{r.ratio:7.3f} {min(ratios):7.3f}-{max(ratios):<7.3f} {'>= ' + f'{goal:.2f}':>7}  "
            f"{'meets' if r.ratio >= goal else 'below'}")
    out.append("")
    for r in results:
        note = (f"{r.app}: capture server recorded {r.recorded} exchanges for "
                f"{r.answered} responses counted by the load tool; max queue backlog "
                f"{r.max_backlog} events; max RSS plain {r.rss_kib.get('plain', 0) // 1024} MiB, "
                f"capture {r.rss_kib.get('capture', 0) // 1024} MiB")
        if r.errors:
            note += f"; {r.errors} load errors"
        out.append(note)
    out += [
        "",
        f"machine: {cores} cores ({usable} usable), {platform.system()} {platform.machine()}; "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"waitress {v['waitress']}, {THREADS} threads; Flask {v['flask']}",
        f"load: {tool}",
        f"load average (1, 5, 15 min) before: {loads[0]}, after: {loads[1]} "
        "(other work on the machine widens the per-round spread)",
    ]
    return "\n".join(out)


def summary_rows(results: list[Result]) -> list[dict[str, Any]]:
    """The combined table's rows: the figures report() prints, one per app."""
    return [BUDGETS[f"capture.{r.app}.rps"].row(
        r.ratio >= GOALS[r.app], Figure.of(r.capture, "req/s"),
        baseline=Figure.of(r.plain, "req/s"), baseline_what="waitress",
        ratio=Figure(r.ratio, "x", min(r.ratios), max(r.ratios), len(r.ratios)),
        notes=f"{r.errors} load errors" if r.errors else "")
        for r in results]


# -- profiling ---------------------------------------------------------------------------

def profile(apps: list[str], seconds: float, warmup: float,
            load: Callable[[int, str, float], Load], workdir: Path, top: int) -> None:
    import pstats

    package = str(Path(__file__).resolve().parents[1] / "inspector")
    for app in apps:
        out = workdir / f"{app}.prof"
        with ServerProcess("capture", app, workdir, profile=out) as server:
            warm = load(server.port, PATHS[app], warmup) if warmup > 0 else Load(0.0, 0, 0)
            result = load(server.port, PATHS[app], seconds)
        # The profile spans the server's whole life: count every exchange it served.
        served = server.stats.get("exchanges") or (warm.requests + result.requests)
        if not out.exists():
            print(f"{app}: no profile written\n{server.log_tail()}")
            continue
        stats = pstats.Stats(str(out))
        raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        total = sum(tt for _, _, tt, _, _ in raw.values())
        ours = [(tt, nc, key) for key, (_, nc, tt, _, _) in raw.items()
                if key[0].startswith(package)]
        ours_total = sum(tt for tt, _, _ in ours)
        print(f"\n== {app}: {served} requests profiled ({result.rps:.0f} req/s under "
              f"cProfile); inspector/* self time {ours_total:.2f} s of {total:.2f} s "
              f"({100 * ours_total / total:.1f}%), {1e6 * ours_total / max(1, served):.1f}"
              " us per request")
        print(f"{'self s':>8} {'%all':>6} {'calls':>9} {'us/req':>7}  function")
        for tt, nc, (file, line, name) in sorted(ours, reverse=True)[:top]:
            where = os.path.relpath(file, os.path.dirname(package))
            print(f"{tt:8.3f} {100 * tt / total:6.1f} {nc:9d} "
                  f"{1e6 * tt / max(1, served):7.2f}  {where}:{line}({name})")
        everything = sorted(((tt, nc, key) for key, (_, nc, tt, _, _) in raw.items()),
                            reverse=True)[:top]
        print(f"-- top {top} self time, all code (idle waits included)")
        for tt, nc, (file, line, name) in everything:
            print(f"{tt:8.3f} {100 * tt / total:6.1f} {nc:9d}  "
                  f"{_short(file)}:{line}({name})")


def _short(file: str) -> str:
    for marker in ("site-packages/", "/inspector/", "/lib/python"):
        if marker in file:
            return file.split(marker, 1)[1] if marker != "/inspector/" else (
                "inspector/" + file.split(marker, 1)[1])
    return file


# -- command line ----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--profile", action="store_true",
                        help="profile the capture server under load instead of measuring")
    parser.add_argument("--top", type=int, default=15, help="rows in the profile listing")
    add_summary_option(parser)
    parser.add_argument("--serve", choices=("plain", "capture"), help=argparse.SUPPRESS)
    parser.add_argument("--app", choices=tuple(PATHS), default="hello", help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--stats-file", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        if not args.port_file:
            parser.error("--serve needs --port-file")
        return serve(args.serve, args.app, args.port_file, args.stats_file, args.profile_out)

    rounds = args.rounds or (3 if args.quick else 5)
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    if rounds < 1 or seconds <= 0 or args.warmup < 0:
        parser.error("--rounds and --seconds must be positive, --warmup not negative")
    apps = [a.strip() for a in args.apps.split(",") if a.strip()]
    unknown = set(apps) - set(PATHS)
    if unknown:
        parser.error(f"unknown app(s): {', '.join(sorted(unknown))}")
    tool, load = load_tool(args.load)
    with tempfile.TemporaryDirectory(prefix="capture-bench-") as tmp:
        workdir = Path(tmp)
        if args.profile:
            profile(apps, seconds, args.warmup, load, workdir, args.top)
            return 0
        before = load_average()
        results = [measure(app, rounds, seconds, args.warmup, load, workdir) for app in apps]
    print()
    print(report(results, tool, rounds, seconds, args.warmup, (before, load_average())))
    write_summary(args.summary, summary_rows(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
