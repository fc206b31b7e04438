"""Throughput of plain waitress vs the headless inspector (isolated, recording a session).

Both servers run in processes of their own, apart from the load generator.
The inspector is the real command line,

    python -m ui.launch APP --headless --port 0 --session FILE

so its cost includes everything a user pays: the capture in the app's
process, the events crossing the loopback link, the host folding them into
the SQLite session and printing one access-log line per exchange (read here
by a thread, so printing never blocks). Rounds alternate plain and inspector
(ABBA order, so drift cancels) and the figures are medians and their ratio
(plain waitress = 1.00), throughput and p99 latency both.

    python bench/headless_overhead.py            # 5 rounds of 5 s, 1 s warm-up per run
    python bench/headless_overhead.py --quick    # 3 rounds of 2 s
    python bench/headless_overhead.py --modes isolated --before /tmp/old  # A/B two trees

Each round also runs, in turn (the order reversed every other round):

- **in-process**: the same command line with ``--in-process`` (the app served
  from a thread of the inspector's own process);
- **pinned**: plain waitress on core 0, and the isolated inspector with its
  app's process on core 0 and the host on core 1 (every thread of each, via
  sched_setaffinity), as on a machine with a core to spare for the host;
- with ``--before DIR``: the isolated inspector run from another source tree
  (a checkout of an earlier commit), for a before/after in the same run.

CPU per request comes from /proc/PID/stat (utime + stime) of each process
before and after the measured load run, divided by the requests wrk counted:
the host's, the app process's, and plain waitress's; the agent's share is the
app process's minus plain's.

Every inspector round is a fresh process writing a fresh session. Once it has
exited, the session is opened and its exchanges are counted against the
responses the load tool reported; requests still in flight when a load run
stops are served and recorded too, hence a tolerance of one per connection
and load run.

Internal entry, the plain server (also used by bench/big_stream.py):

    python bench/headless_overhead.py --serve-plain module:app --app-dir DIR --port-file F
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from common import (
    Budget,
    Figure,
    add_load_options,
    add_summary_option,
    cpu_model,
    run_workers,
    versions,
    write_summary,
    wrk_version,
)

HOST = "127.0.0.1"
THREADS = 4  # waitress worker threads, both servers
CONNECTIONS = 16
WRK_THREADS = 2
GOALS = {"hello": 0.93, "flask": 0.96}  # inspector throughput / plain, at least
IN_PROCESS_GOALS = {"hello": 0.90, "flask": 0.95}
GOAL_P99 = 1.15  # inspector p99 latency / plain p99 latency, at most
MODES = ("isolated", "in-process", "pinned")  # besides plain waitress; "before" with --before
APP_CORE, HOST_CORE = 0, 1  # the pinned mode's cores
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parents[1]

FLASK_MODULE = "bench_flask_json"
FLASK_SOURCE = '''"""A Flask JSON route, for the benchmark."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/json")
def data():
    return jsonify(message="Hello, World!", ok=True, count=42, tags=["wsgi", "bench"])
'''

# name -> (app spec, path requested)
APPS = {
    "hello": ("inspector.examples.hello:app", "/"),
    "flask": (f"{FLASK_MODULE}:app", "/json"),
}


def write_apps(app_dir: Path) -> None:
    """The benchmark's own apps, in the directory both servers run from."""
    (app_dir / f"{FLASK_MODULE}.py").write_text(FLASK_SOURCE)


# Rows of bench/run.py's combined table: the budget lines 1 (hello) and 2 (Flask)
# for throughput, 3 for p99 latency; 12 in-process, 13 CPU per exchange, 14 pinned.
RPS_LINES = {"hello": "1", "flask": "2"}


def _budgets() -> dict[str, Budget]:
    found = {}
    for app, goal in GOALS.items():
        for key, line, name, text, floor in (
                ("rps", RPS_LINES[app], f"{app} req/s, headless", f">= {goal:.2f}x plain", True),
                ("p99", "3", f"{app} p99, headless", f"<= {GOAL_P99:.2f}x plain", False),
                ("inproc.rps", "12", f"{app} req/s, headless --in-process",
                 f">= {IN_PROCESS_GOALS[app]:.2f}x plain", True),
                ("cpu.host", "13", f"{app}: host CPU per exchange",
                 "<= 1/plain req/s (one core keeps up)", False),
                ("cpu.agent", "13", f"{app}: agent CPU per exchange (app process - plain)",
                 f"<= {1 / goal - 1:.3f}x plain CPU/req", False),
                ("pinned.cpu.host", "14", f"{app}: host CPU per exchange, pinned",
                 "<= 1/plain req/s (one core keeps up)", False),
                ("pinned.cpu.agent", "14", f"{app}: agent CPU per exchange, pinned",
                 f"<= {1 / goal - 1:.3f}x plain CPU/req", False),
                ("pinned.rps", "14", f"{app} req/s, app core {APP_CORE} / host core "
                 f"{HOST_CORE}", f">= {goal:.2f}x plain (pinned)", True),
                ("pinned.p99", "14", f"{app} p99, pinned", f"<= {GOAL_P99:.2f}x plain", False)):
            found[f"headless.{app}.{key}"] = Budget(f"headless.{app}.{key}", line, name, text,
                                                    floor=floor)
    return found


BUDGETS = _budgets()


# -- processes -------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from the field after the command name (state is [0], ppid [1])."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    fields = _stat_fields(pid) if pid else None
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else 0.0


def children(pid: int) -> list[int]:
    """Pids of the processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and int(fields[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def busy_seconds() -> float:
    """CPU time the whole machine has spent busy so far, all cores (/proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / _TICK


def own_seconds() -> float:
    """CPU time of this process and of its children already waited for (the load tool)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """CPU used by processes other than ours while a block runs, in cores.

    Other programs busy on a small machine skew a benchmark more than anything
    measured here: each run says how much of that there was.
    """

    def __init__(self, pids: Callable[[], list[int | None]]) -> None:
        self.pids = pids
        self.cores = 0.0

    def _ours(self) -> float:
        return own_seconds() + sum(cpu_seconds(pid) for pid in self.pids())

    def __enter__(self) -> OtherLoad:
        self._start = time.monotonic(), busy_seconds(), self._ours()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, busy, ours = self._start
        elapsed = time.monotonic() - wall
        other = (busy_seconds() - busy) - (self._ours() - ours)
        self.cores = max(0.0, other / elapsed) if elapsed > 0 else 0.0


QUIET = 0.15  # cores: what other processes may use while we measure


def wait_until_quiet(limit: float) -> float:
    """Wait (at most ``limit`` seconds) until other processes use under QUIET cores;
    returns the last load seen."""
    deadline = time.monotonic() + limit
    while True:
        with OtherLoad(lambda: []) as other:
            time.sleep(1.0)
        if other.cores < QUIET or time.monotonic() >= deadline:
            return other.cores
        print(f"  waiting for a quiet machine: other processes use {other.cores:.2f} cores",
              flush=True)


def load_spec(spec: str, app_dir: str) -> Callable:
    sys.path.insert(0, app_dir)
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr or "app")


def serve_plain(spec: str, app_dir: str, port_file: str, threads: int) -> int:
    """Plain waitress in this process's main thread, until killed or orphaned."""
    from waitress.server import create_server

    app = load_spec(spec, app_dir)
    server = create_server(app, host=HOST, port=0, threads=threads)
    tmp = port_file + ".tmp"
    Path(tmp).write_text(str(server.effective_port))
    os.replace(tmp, port_file)
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.run()
    return 0


class PlainServer:
    """Plain waitress in a child process; always stop() it (or use ``with``)."""

    def __init__(self, spec: str, app_dir: Path, workdir: Path, name: str) -> None:
        self.spec, self.app_dir = spec, app_dir
        self.port_file = workdir / f"{name}.port"
        self.log_file = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> PlainServer:
        with contextlib.suppress(FileNotFoundError):
            self.port_file.unlink()
        cmd = [sys.executable, os.path.abspath(__file__), "--serve-plain", self.spec,
               "--app-dir", str(self.app_dir), "--port-file", str(self.port_file),
               "--threads", str(THREADS)]
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.app_dir, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"plain waitress ({self.spec}) did not start:\n"
                                   + _tail(self.log_file))
            time.sleep(0.02)
        self.port = int(self.port_file.read_text())
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def __enter__(self) -> PlainServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_ACCESS_LINE = re.compile(rb"^\d\d:\d\d:\d\d ")


class Inspector:
    """The headless inspector as a user runs it, its stdout read by a thread."""

    def __init__(self, spec: str, app_dir: Path, session: Path, log_file: Path,
                 extra: tuple[str, ...] = (), source: Path | None = None) -> None:
        self.spec, self.app_dir, self.session = spec, app_dir, session
        self.log_file = log_file
        self.extra = extra
        self.source = source  # another source tree to run (first on PYTHONPATH)
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.port = 0
        self.logged = 0  # access-log lines printed
        self.reloads = 0
        self.other: list[str] = []
        self._ready = threading.Event()
        self._drain: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def app_pid(self) -> int | None:
        """The app's process (the host's child), if it is running."""
        found = children(self.proc.pid) if self.proc else []
        return found[0] if found else None

    def start(self) -> Inspector:
        cmd = [sys.executable, "-m", "ui.launch", self.spec, "--headless", "--port", "0",
               "--session", str(self.session), *self.extra]
        env = None
        if self.source is not None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                p for p in (str(self.source), os.environ.get("PYTHONPATH")) if p))
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.app_dir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=log, env=env)
        self._drain = threading.Thread(target=self._read, args=(self.proc.stdout,),
                                       name="inspector-stdout", daemon=True)
        self._drain.start()
        if not self._ready.wait(START_TIMEOUT) or not self.url:
            self.stop()
            raise RuntimeError(f"the inspector did not start ({' '.join(cmd)}):\n"
                               + "\n".join(self.other[-10:]) + "\n" + _tail(self.log_file))
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])
        return self

    def _read(self, stream: Any) -> None:
        for line in stream:
            if _ACCESS_LINE.match(line):
                self.logged += 1
            elif line.startswith(b"Serving at "):
                self.url = line.split()[-1].decode()
                self._ready.set()
            elif line.startswith(b"Reloaded"):
                self.reloads += 1
            else:
                self.other.append(line.decode(errors="replace").rstrip())
        self._ready.set()

    def stop(self) -> int | None:
        """SIGTERM, as a user's Ctrl+C would; the exit code (None if it had to be killed)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        code: int | None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            code = None
        if self._drain is not None:
            self._drain.join(5)
        return code

    def __enter__(self) -> Inspector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pin(pid: int | None, core: int) -> None:
    """Every thread of process ``pid`` on ``core`` (affinity is per thread; threads
    started later inherit it from the thread that starts them)."""
    if not pid:
        return
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread that just ended
            os.sched_setaffinity(int(task), {core})


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and {APP_CORE, HOST_CORE} <= os.sched_getaffinity(0)


def count_session(path: Path) -> int:
    """Exchanges in a finished session file."""
    from inspector.host.store import Store

    with Store.open(path) as store:
        return len(store)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- load ------------------------------------------------------------------------------

@dataclass
class Load:
    rps: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx responses
    p99: float  # seconds


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk_load(port: int, path: str, seconds: float) -> Load:
    secs = max(1, round(seconds))
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{secs}s", "--latency",
           f"http://{HOST}:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 30).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    if not rps or not p99:
        raise RuntimeError(f"unexpected output from the load tool:\n{out}")
    total = re.search(r"(\d+) requests in", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors += int(bad.group(1)) if bad else 0
    return Load(float(rps.group(1)), int(total.group(1)) if total else 0, errors,
                float(p99.group(1)) * _UNITS[p99.group(2)])


def python_load(port: int, path: str, seconds: float) -> Load:
    """Fallback: keep-alive connections on threads, bounded in time."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(CONNECTIONS)]
    failed = [0] * CONNECTIONS

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine = latencies[i]
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            mine.append(time.perf_counter() - began)
            if not 200 <= response.status < 400:
                failed[i] += 1
        conn.close()

    elapsed = run_workers(worker, CONNECTIONS, deadline)
    every = sorted(t for mine in latencies for t in mine)
    p99 = every[min(len(every) - 1, int(0.99 * len(every)))] if every else 0.0
    return Load(len(every) / elapsed, len(every), sum(failed), p99)


LoadFn = Callable[[int, str, float], Load]


def load_tool(choice: str) -> tuple[str, LoadFn]:
    if choice == "wrk" or (choice == "auto" and shutil.which("wrk")):
        version = wrk_version()
        if not version:
            raise SystemExit("wrk is not on PATH; use --load python")
        return f"{version}: -t{WRK_THREADS} -c{CONNECTIONS} --latency", wrk_load
    return (f"python http.client, {CONNECTIONS} keep-alive connections on threads "
            "(the load generator is likely the bottleneck)", python_load)


# -- the measurement -------------------------------------------------------------------

@dataclass
class Runs:
    """The measured load runs of one server kind, and their CPU per request."""

    loads: list[Load] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the server's process, us per request
    cpu_host: list[float] = field(default_factory=list)  # the inspector's host, us/request

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.loads)


@dataclass
class Result:
    app: str
    runs: dict[str, Runs] = field(default_factory=dict)  # "plain", "isolated", "pinned"...
    checks: list[str] = field(default_factory=list)  # "recorded N of M" per inspector round
    mismatches: int = 0
    errors: int = 0
    reloads: int = 0
    bad_exits: int = 0
    other: list[float] = field(default_factory=list)  # cores used by other processes, per run

    def of(self, mode: str) -> Runs:
        return self.runs.setdefault(mode, Runs())

    def baseline(self, mode: str) -> str:
        return "plain-pinned" if mode.endswith("pinned") else "plain"

    def ratios(self, mode: str, attr: str = "rps") -> list[float]:
        """Per round: the mode's figure over its baseline's in the same round."""
        base = self.runs[self.baseline(mode)].loads
        return [getattr(i, attr) / getattr(p, attr)
                for p, i in zip(base, self.runs[mode].loads) if getattr(p, attr)]

    def ratio(self, mode: str, attr: str = "rps") -> float:
        """The mode's median over its baseline's median."""
        base = self.runs[self.baseline(mode)].median(attr)
        return self.runs[mode].median(attr) / base if base else 0.0

    @property
    def goal(self) -> float:
        return GOALS[self.app]

    def goal_of(self, mode: str) -> float:
        return IN_PROCESS_GOALS[self.app] if mode == "in-process" else GOALS[self.app]

    def agent_cpu(self, mode: str = "isolated") -> float:
        """The agent's share of the app process's CPU per request (median, us)."""
        return (statistics.median(self.runs[mode].cpu)
                - statistics.median(self.runs[self.baseline(mode)].cpu))


def _noisy(other: OtherLoad) -> str:
    return f" [other processes: {other.cores:.2f} cores]" if other.cores >= QUIET else ""


def _per_request(cpu: float, load: Load) -> float:
    return 1e6 * cpu / load.requests if load.requests else 0.0


def measure(app: str, rounds: int, seconds: float, warmup: float, load: LoadFn,
            workdir: Path, app_dir: Path, modes: list[str], before: Path | None) -> Result:
    spec, path = APPS[app]
    result = Result(app)
    tolerance_runs = 2 if warmup > 0 else 1

    def plain_round(server: PlainServer, mode: str) -> str:
        warm = load(server.port, path, warmup) if warmup > 0 else None
        cpu0 = cpu_seconds(server.pid)
        with OtherLoad(lambda: [server.pid]) as other:
            run = load(server.port, path, seconds)
        runs = result.of(mode)
        runs.cpu.append(_per_request(cpu_seconds(server.pid) - cpu0, run))
        runs.loads.append(run)
        result.other.append(other.cores)
        result.errors += run.errors + (warm.errors if warm else 0)
        return f"{mode} {run.rps:6.0f} req/s p99 {1e3 * run.p99:6.2f} ms" + _noisy(other)

    def inspector_round(i: int, mode: str) -> str:
        session = workdir / f"{app}-{mode}-{i}.session"
        inspector = Inspector(spec, app_dir, session, workdir / f"{app}-inspector.log",
                              extra=("--in-process",) if mode == "in-process" else (),
                              source=before if mode.startswith("before") else None)
        inspector.start()
        try:
            host = inspector.pid
            child = inspector.app_pid() if mode != "in-process" else None
            if mode.endswith("pinned"):
                pin(child, APP_CORE)
                pin(host, HOST_CORE)
            warm = load(inspector.port, path, warmup) if warmup > 0 else None
            cpu0 = cpu_seconds(host), cpu_seconds(child)
            with OtherLoad(lambda: [host, child]) as other:
                run = load(inspector.port, path, seconds)
            cpu1 = cpu_seconds(host), cpu_seconds(child)
        finally:
            code = inspector.stop()
        runs = result.of(mode)
        runs.loads.append(run)
        result.other.append(other.cores)
        runs.cpu_host.append(_per_request(cpu1[0] - cpu0[0], run))
        runs.cpu.append(_per_request(cpu1[1] - cpu0[1], run))
        errors = run.errors + (warm.errors if warm else 0)  # timed out: maybe served
        result.errors += errors
        result.reloads += inspector.reloads
        result.bad_exits += code != 0
        answered = run.requests + (warm.requests if warm else 0)
        recorded = count_session(session)
        session.unlink()
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(session) + suffix).unlink()
        ok = 0 <= recorded - answered <= CONNECTIONS * tolerance_runs + errors
        result.mismatches += not ok
        check = f"{mode}: recorded {recorded} of {answered}" + ("" if ok else " MISMATCH")
        if inspector.logged != recorded:
            check += f" (printed {inspector.logged} access-log lines)"
        if code != 0:
            check += f" (exit code {code})"
        result.checks.append(check)
        return (f"{mode} {run.rps:6.0f} req/s p99 {1e3 * run.p99:6.2f} ms"
                + ("" if ok else " MISMATCH") + _noisy(other))

    kinds = ["plain", *modes]
    if any(m.endswith("pinned") for m in modes):
        kinds.append("plain-pinned")
    with PlainServer(spec, app_dir, workdir, f"{app}-plain") as server, \
            PlainServer(spec, app_dir, workdir, f"{app}-plain-pinned") as pinned:
        pin(pinned.pid, APP_CORE)
        for i in range(rounds):
            parts = []
            for kind in (kinds if i % 2 == 0 else kinds[::-1]):  # ABBA: drift cancels
                if kind.startswith("plain"):
                    parts.append(plain_round(server if kind == "plain" else pinned, kind))
                else:
                    parts.append(inspector_round(i, kind))
            ratios = ", ".join(f"{m} {result.ratios(m)[-1]:.3f}" for m in modes)
            print(f"  {app:5} round {i + 1}/{rounds}: {'; '.join(parts)}; ratios {ratios}",
                  flush=True)
    return result


def machine() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    v = versions()
    return (f"machine: {cores} cores ({usable} usable), {cpu_model()}, {platform.system()} "
            f"{platform.release()} {platform.machine()}; Python {platform.python_version()}; "
            f"waitress {v['waitress']} ({THREADS} threads); Flask {v['flask']}")


def report(results: list[Result], tool: str, rounds: int, seconds: float,
           warmup: float) -> str:
    head = (f"{'app':6} {'mode':13} {'plain req/s':>11} {'req/s':>7} {'ratio':>6} "
            f"{'goal':>7} {'rounds min-max':>14} {'p99 plain':>9} {'p99':>9} {'p99 ratio':>9}"
            "  verdict")
    out = [
        f"headless inspector overhead (recording a session): {rounds} alternating rounds of "
        f"{seconds:g} s per server ({warmup:g} s warm-up before each), medians",
        "",
        head,
        "-" * len(head),
    ]
    for r in results:
        for mode in (m for m in r.runs if not m.startswith("plain")):
            ratios, goal = r.ratios(mode), r.goal_of(mode)
            tput_ok, p99_ok = r.ratio(mode) >= goal, r.ratio(mode, "p99") <= GOAL_P99
            verdict = ("meets both" if tput_ok and p99_ok else
                       "; ".join(x for x in ("" if tput_ok else "throughput below",
                                             "" if p99_ok else "p99 above") if x))
            base = r.runs[r.baseline(mode)]
            out.append(
                f"{r.app:6} {mode:13} {base.median('rps'):11.0f} "
                f"{r.runs[mode].median('rps'):7.0f} {r.ratio(mode):6.3f} "
                f"{'>= ' + f'{goal:.2f}':>7} {min(ratios):6.3f}-{max(ratios):<7.3f} "
                f"{1e3 * base.median('p99'):6.2f} ms {1e3 * r.runs[mode].median('p99'):6.2f} ms "
                f"{r.ratio(mode, 'p99'):8.2f}x  {verdict}")
    out += ["", f"goals: isolated (unpinned and pinned) throughput ratio hello >= "
                f"{GOALS['hello']:.2f}, flask >= {GOALS['flask']:.2f}; in-process hello >= "
                f"{IN_PROCESS_GOALS['hello']:.2f}, flask >= {IN_PROCESS_GOALS['flask']:.2f}; "
                f"p99 latency ratio <= {GOAL_P99:.2f}x (plain waitress = 1.00)", ""]
    for r in results:
        cpu = ", ".join(
            f"{mode} {statistics.median(runs.cpu):.0f}"
            + (f" + host {statistics.median(runs.cpu_host):.0f}" if runs.cpu_host else "")
            for mode, runs in r.runs.items())
        note = f"{r.app}: CPU per request (us): {cpu}"
        for mode in ("isolated", "pinned", "before", "before-pinned"):
            if mode in r.runs:
                note += f"; agent's share, {mode}: {r.agent_cpu(mode):.0f} us"
        if r.mismatches:
            note += f"; {r.mismatches} session count(s) outside the tolerance"
        if r.errors:
            note += f"; {r.errors} load errors"
        if r.reloads:
            note += f"; {r.reloads} unexpected reload(s)"
        if r.bad_exits:
            note += f"; {r.bad_exits} inspector run(s) did not exit with 0"
        out.append(note)
        out.append(f"  sessions: {', '.join(r.checks)}")
    other = [c for r in results for c in r.other]
    noisy = sum(c >= QUIET for c in other)
    out.append(f"other processes during the measured runs: median {statistics.median(other):.2f}"
               f", max {max(other):.2f} cores" + (
                   f"; {noisy} of {len(other)} runs above {QUIET} cores: figures are skewed, "
                   "run again on a quiet machine" if noisy else ""))
    out += ["", machine(), f"load: {tool}"]
    return "\n".join(out)


def _rate_rows(r: Result, mode: str, key: str, notes: str) -> list[dict[str, Any]]:
    """The throughput row (and for isolated modes the p99 row) of one mode."""
    runs, base = r.runs[mode], r.runs[r.baseline(mode)]
    ratios, p99s = r.ratios(mode), r.ratios(mode, "p99")
    rows = [BUDGETS[f"headless.{r.app}.{key}rps"].row(
        r.ratio(mode) >= r.goal_of(mode), Figure.of([x.rps for x in runs.loads], "req/s"),
        baseline=Figure.of([x.rps for x in base.loads], "req/s"), baseline_what=r.baseline(mode),
        ratio=Figure(r.ratio(mode), "x", min(ratios), max(ratios), len(ratios)), notes=notes)]
    if mode != "in-process":
        rows.append(BUDGETS[f"headless.{r.app}.{key}p99"].row(
            r.ratio(mode, "p99") <= GOAL_P99, Figure.of([x.p99 for x in runs.loads], "ms", 1e3),
            baseline=Figure.of([x.p99 for x in base.loads], "ms", 1e3),
            baseline_what=r.baseline(mode),
            ratio=Figure(r.ratio(mode, "p99"), "x", min(p99s, default=None),
                         max(p99s, default=None), len(p99s))))
    return rows


def _cpu_rows(r: Result, mode: str, key: str) -> list[dict[str, Any]]:
    """Host and agent CPU per exchange, against what the throughput budget leaves."""
    plain, runs = r.runs[r.baseline(mode)], r.runs[mode]
    one_core = 1e6 / plain.median("rps")  # us: one core keeps up with plain's rate
    host = Figure.of(runs.cpu_host, "us")
    plain_cpu = statistics.median(plain.cpu)
    allowed = plain_cpu * (1 / r.goal - 1)
    agent = r.agent_cpu(mode)
    return [
        BUDGETS[f"headless.{r.app}.{key}cpu.host"].row(
            host.median <= one_core, host, baseline=Figure(one_core, "us"),
            baseline_what="1/plain req/s"),
        BUDGETS[f"headless.{r.app}.{key}cpu.agent"].row(
            agent <= allowed, Figure(agent, "us"), baseline=Figure(plain_cpu, "us"),
            baseline_what="plain CPU/req",
            notes=f"{r.app}, {mode}: the budget allows {allowed:.0f} us; the app process used "
                  f"{statistics.median(runs.cpu):.0f} us per request"),
    ]


def summary_rows(results: list[Result]) -> list[dict[str, Any]]:
    """The combined table's rows: the figures report() prints, one row per budget."""
    rows = []
    prefix = {"isolated": "", "in-process": "inproc.", "pinned": "pinned."}
    for r in results:
        notes = [f"{r.mismatches} session count(s) off"] if r.mismatches else []
        notes += [f"{r.errors} load errors"] if r.errors else []
        if max(r.other) >= QUIET:  # the same warning as report()'s, per app
            notes.append(f"other processes used up to {max(r.other):.2f} cores: skewed")
        for mode, key in prefix.items():
            if mode in r.runs:
                rows += _rate_rows(r, mode, key, "; ".join(notes))
        for mode, key in (("isolated", ""), ("pinned", "pinned.")):
            if mode in r.runs:
                rows += _cpu_rows(r, mode, key)
    return rows


# -- command line ----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="S",
                        help="wait up to S seconds for other processes to calm down first")
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated inspector modes: {', '.join(MODES)}")
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="also run the isolated (and pinned) inspector from this source "
                             "tree, a checkout of another commit: modes before, before-pinned")
    add_summary_option(parser)
    parser.add_argument("--serve-plain", metavar="SPEC", help=argparse.SUPPRESS)
    parser.add_argument("--app-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=THREADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve_plain:
        if not args.port_file:
            parser.error("--serve-plain needs --port-file")
        return serve_plain(args.serve_plain, args.app_dir or os.getcwd(), args.port_file,
                           args.threads)

    rounds = args.rounds or (3 if args.quick else 4)
    seconds = args.seconds or (2.0 if args.quick else 4.0)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if set(modes) - set(MODES):
        parser.error(f"unknown mode(s): {', '.join(sorted(set(modes) - set(MODES)))}")
    if "pinned" in modes and not can_pin():
        print(f"cores {APP_CORE} and {HOST_CORE} are not both usable here: no pinned runs")
        modes.remove("pinned")
    if args.before is not None:  # the same isolated runs from the other tree
        modes += [{"isolated": "before", "pinned": "before-pinned"}[m] for m in list(modes)
                  if m in ("isolated", "pinned")]
    apps = [a.strip() for a in args.apps.split(",") if a.strip()]
    unknown = set(apps) - set(APPS)
    if unknown:
        parser.error(f"unknown app(s): {', '.join(sorted(unknown))}")
    tool, load = load_tool(args.load)
    if args.wait_quiet > 0:
        wait_until_quiet(args.wait_quiet)
    with tempfile.TemporaryDirectory(prefix="headless-bench-") as tmp:
        workdir = Path(tmp)
        app_dir = workdir / "app"
        app_dir.mkdir()
        write_apps(app_dir)
        results = [measure(app, rounds, seconds, args.warmup, load, workdir, app_dir, modes,
                           args.before) for app in apps]
    print()
    print(report(results, tool, rounds, seconds, args.warmup))
    write_summary(args.summary, summary_rows(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
