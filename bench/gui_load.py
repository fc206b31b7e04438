"""The window under load, and the time from launch to the first request in the list.

Two measurements of the real main window, offscreen (QT_QPA_PLATFORM=offscreen
unless set otherwise), serving the lesson's hello app:

1. **Load.** The window with the isolated runner (the product's default mode)
   on port 0, while wrk (in its own process: -t2 -c16, as fast as it goes)
   drives requests at the app for 10 s. A 5 ms QTimer heartbeat on the GUI
   thread records the longest gap between ticks; the longest gap minus the
   interval is the longest event-loop stall. The same heartbeat runs first
   on an empty event loop (no window) for the same time, as the baseline.
   Afterwards the script waits (bounded) until the list's row count equals
   the store's exchange count and wrk's completed requests (plus at most one
   in flight per connection when wrk stopped), every row ended. The app dir
   is an empty temporary folder, so the reloader (on, as by default) cannot
   restart the app mid-run because of unrelated edits. Each list update
   (the bridge's flush into model, proxy and view) is timed as well, and the
   CPU of every thread, the app's process, wrk and the whole machine is
   reported, so a stall can be told apart from a busy machine.
2. **Launch to first request visible.** In a fresh interpreter each time:
   the clock starts when ``ui.app.run`` is called (the QApplication, the
   session file, the window, the runner start and show all count) and stops
   when the list's model holds a row in state "complete". One GET is fired
   from a thread as soon as the window learns the URL. In-process and
   isolated runners, and an empty QMainWindow shown and painted as the
   baseline; the hello app's own import time is timed in a fresh
   interpreter too (the goal is 0.5 s plus that).

    python bench/gui_load.py            # 10 s load, 10 s baseline, 3 launches of each kind
    python bench/gui_load.py --quick    # 3 s load, 3 s baseline, 1 launch of each kind
    python bench/gui_load.py --profile  # also: cProfile of the launch phases, top functions

The launch profile is cProfile, which sees Python only. A stall under load is
mostly the GUI thread waiting for the GIL inside Qt (every C++ -> Python call
of the model takes it again); to see that, sample the process with a sampler
that shows native frames and idle threads.

Settings and sessions live in a temporary directory; the user's are never
touched. The whole run is bounded: a watchdog ends the script after
``--budget`` seconds (default 115).

Internal entry, one launch in a fresh interpreter (prints one JSON line):

    python bench/gui_load.py --launch-child empty|in-process|isolated --workdir DIR
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import contextlib
import faulthandler
import http.client
import json
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from common import Budget, Figure, add_summary_option, process_start, write_summary

ROOT = Path(__file__).resolve().parents[1]
SPEC = "inspector.examples.hello:app"
HEARTBEAT_MS = 5
CONNECTIONS = 16
WRK_THREADS = 2
GOAL_RATE = 5000.0  # req/s the load should reach: the window is judged under 5000 req/s
GOAL_STALL_MS = 100.0
GOAL_LAUNCH_S = 0.5  # plus the app's own import time
START_TIMEOUT = 30.0
SETTLE_TIMEOUT = 30.0
CHILD_TIMEOUT = 40.0
LAUNCH_KINDS = ("empty", "in-process", "isolated")
LOAD_SECONDS = 10.0  # the budget's (and the default) load duration

# Rows of bench/run.py's combined table (the budget lines 6 and 10).
BUDGETS = {b.key: b for b in (
    Budget("gui.load.rate", "6", f"GUI load {LOAD_SECONDS:g} s: req/s",
           f">= {GOAL_RATE:g} req/s", floor=True),
    Budget("gui.load.listed", "6", f"GUI load {LOAD_SECONDS:g} s: rows listed", "none missing",
           floor=True),
    Budget("gui.load.stall", "6", f"GUI load {LOAD_SECONDS:g} s: longest stall",
           f"< {GOAL_STALL_MS:g} ms"),
    *(Budget(f"gui.launch.{kind}", "10", f"launch to 1st row, {kind}",
             f"< {GOAL_LAUNCH_S:g} s + app import") for kind in ("isolated", "in-process")),
)}


# -- a fresh interpreter: one launch -------------------------------------------------

def launch_child(kind: str, workdir: Path, profile_out: str | None) -> int:
    """One launch, timed from the call of ``run``; prints one JSON line of marks."""
    marks: dict[str, float] = {"process": process_start()}
    t = time.monotonic()
    if kind == "empty":
        from PySide6.QtWidgets import QApplication, QMainWindow
    else:
        from PySide6.QtCore import QSettings

        from inspector.host.cli import parse_args
        from ui import app as ui_app
        from ui.main_window import MainWindow
    marks["imports_start"], marks["imports_end"] = t, time.monotonic()

    profiler = None
    if profile_out:
        import cProfile

        profiler = cProfile.Profile()

    if kind == "empty":
        class EmptyWindow(QMainWindow):
            def paintEvent(self, event: Any) -> None:
                super().paintEvent(event)
                if "painted" not in marks:
                    marks["painted"] = time.monotonic()
                    from PySide6.QtCore import QTimer

                    QTimer.singleShot(0, self.close)

        marks["start"] = time.monotonic()
        if profiler:
            profiler.enable()
        app = QApplication(sys.argv[:1])
        marks["qapplication"] = time.monotonic()
        window = EmptyWindow()
        window.setWindowTitle("empty")
        window.resize(1280, 780)
        window.show()
        marks["shown"] = time.monotonic()
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(CHILD_TIMEOUT * 500), window.close)  # never hang
        app.exec()
        if profiler:
            profiler.disable()
        marks["returned"] = time.monotonic()
    else:
        settings_dir = workdir / f"settings-{kind}-{os.getpid()}"
        settings_dir.mkdir(parents=True, exist_ok=True)
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                          str(settings_dir))
        session = workdir / f"launch-{kind}-{os.getpid()}.wsgi-session"
        argv = [SPEC, "--port", "0", "--session", str(session), "--app-dir", str(ROOT)]
        if kind == "in-process":
            argv.append("--in-process")
        args = parse_args(argv)

        class TimedWindow(MainWindow):
            """The real window, noting when things happen (run() builds this one)."""

            def __init__(self, *a: Any, **kw: Any) -> None:
                marks["window_start"] = time.monotonic()
                super().__init__(*a, **kw)
                marks["window_built"] = time.monotonic()
                self._fired = False
                self.controller.status_changed.connect(self._bench_status)
                self.bridge.flushed.connect(self._bench_flushed)
                from PySide6.QtCore import QTimer

                QTimer.singleShot(int(CHILD_TIMEOUT * 500), self.close)  # never hang

            def show(self) -> None:
                super().show()
                marks["shown"] = time.monotonic()

            def paintEvent(self, event: Any) -> None:
                super().paintEvent(event)
                marks.setdefault("painted", time.monotonic())

            def _bench_status(self, status: Any) -> None:
                marks.setdefault(f"status_{status.state}", time.monotonic())
                if status.state == "serving" and status.url and not self._fired:
                    self._fired = True
                    threading.Thread(target=self._bench_get, args=(status.url,),
                                     daemon=True).start()

            def _bench_get(self, url: str) -> None:
                marks["request_sent"] = time.monotonic()
                try:
                    get(url)
                    marks["response_received"] = time.monotonic()
                except OSError as exc:
                    marks["request_failed"] = time.monotonic()
                    print(f"request failed: {exc}", file=sys.stderr)

            def _bench_flushed(self) -> None:
                if "row_complete" in marks:
                    return
                rows = self.model.summaries()
                if rows:
                    marks.setdefault("row_added", time.monotonic())
                if any(s.state == "complete" for s in rows):
                    marks["row_complete"] = time.monotonic()
                    from PySide6.QtCore import QTimer

                    QTimer.singleShot(0, self.close)

        ui_app.MainWindow = TimedWindow  # type: ignore[misc]
        marks["start"] = time.monotonic()
        if profiler:
            profiler.enable()
        code = ui_app.run(args)
        if profiler:
            profiler.disable()
        marks["returned"] = time.monotonic()
        if code:
            print(f"run() returned {code}", file=sys.stderr)
    if profiler and profile_out:
        profiler.dump_stats(profile_out)
    print(json.dumps(marks), flush=True)
    return 0




def get(url: str, path: str = "/", timeout: float = 10) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


# -- the launch measurements (parent side) --------------------------------------------

@dataclass
class Launch:
    kind: str
    marks: dict[str, float]

    def since_start(self, mark: str) -> float | None:
        m = self.marks.get(mark)
        return m - self.marks["start"] if m is not None else None

    @property
    def visible(self) -> float | None:
        """The measured figure: run() called -> first row complete (or window painted)."""
        return self.since_start("painted" if self.kind == "empty" else "row_complete")

    @property
    def from_command(self) -> float | None:
        """Process start (interpreter and imports included) -> the same moment."""
        end = self.marks.get("painted" if self.kind == "empty" else "row_complete")
        return end - self.marks["process"] if end is not None else None


def run_launch(kind: str, workdir: Path, profile_out: Path | None = None) -> Launch:
    cmd = [sys.executable, os.path.abspath(__file__), "--launch-child", kind,
           "--workdir", str(workdir)]
    if profile_out:
        cmd += ["--profile-out", str(profile_out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
                          cwd=str(ROOT))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"launch child ({kind}) failed, code {proc.returncode}:\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return Launch(kind, json.loads(lines[-1]))


def app_import_time(repeats: int) -> float:
    """The hello app's own import, each time in a fresh interpreter; median seconds."""
    code = ("import importlib, time\n"
            "t = time.perf_counter()\n"
            f"importlib.import_module({SPEC.split(':')[0]!r})\n"
            "print(time.perf_counter() - t)\n")
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=30, cwd=str(ROOT), check=True).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return statistics.median(times)


# -- the event-loop heartbeat ---------------------------------------------------------

class Heartbeat:
    """A 5 ms QTimer on the GUI thread; every gap between ticks is kept."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS,
                 on_tick: Callable[[], None] | None = None) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.gaps: list[float] = []
        self.ticks: list[float] = []  # perf_counter at each tick (gap i ends at ticks[i])
        self.stopped = 0.0
        self._on_tick = on_tick
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()  # the last, possibly unfinished, gap counts too
        self.stopped = time.perf_counter()

    def stall_spans(self, over_ms: float) -> list[tuple[float, float]]:
        """(start, end) of every gap whose stall exceeds over_ms."""
        return [(end - gap, end) for gap, end in zip(self.gaps, self.ticks)
                if (gap - self.interval) * 1000 > over_ms]

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self.ticks.append(now)
        self._last = now
        if self._on_tick is not None:
            self._on_tick()

    @property
    def max_stall_ms(self) -> float:
        return max(0.0, (max(self.gaps, default=0.0) - self.interval) * 1000)

    def stall_quantile_ms(self, q: float) -> float:
        if not self.gaps:
            return 0.0
        ordered = sorted(self.gaps)
        return max(0.0, (ordered[min(len(ordered) - 1, int(q * len(ordered)))]
                         - self.interval) * 1000)

    def stalls_over(self, ms: float) -> int:
        return sum(1 for g in self.gaps if (g - self.interval) * 1000 > ms)


def spin(seconds: float, until: Callable[[], bool] = lambda: False,
         step_ms: int = 20) -> bool:
    """Run the Qt event loop until ``until()`` or ``seconds`` pass; returns until()."""
    from PySide6.QtCore import QEventLoop, QTimer

    if until():
        return True
    deadline = time.monotonic() + seconds
    loop = QEventLoop()
    timer = QTimer()

    def check() -> None:
        if until() or time.monotonic() >= deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start(step_ms)
    loop.exec()
    timer.stop()
    return until()


# -- the load measurement ---------------------------------------------------------------

def thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process, by Python thread name (Linux only)."""
    import threading as th

    names = {t.native_id: t.name for t in th.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/self/task/{tid}/stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                comm = stat.split("(", 1)[1].rsplit(")", 1)[0]
                name = names.get(int(tid)) or f"{comm} (native)"
                name = re.sub(r"_\d+$", "", name)  # pool workers: one line per pool
                found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


@contextlib.contextmanager
def stderr_to(path: Path) -> Any:
    """fd 2 (ours and the app process's, which inherits it) goes to ``path`` meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def summarize_stderr(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    if not lines:
        return "stderr during the load: nothing"
    kinds: dict[str, int] = {}
    for line in lines:
        key = re.sub(r"\d+", "N", line.strip())[:90]
        kinds[key] = kinds.get(key, 0) + 1
    common = sorted(kinds.items(), key=lambda kv: -kv[1])[:4]
    return (f"stderr during the load (this process and the app's): {len(lines)} lines; "
            + "; ".join(f"{n}x {k!r}" for k, n in common))


def machine_busy() -> tuple[float, float, float]:
    """CPU seconds of the whole machine so far, from /proc/stat: (processes, interrupts,
    steal). Interrupts include the loopback traffic's softirq work, ours too."""
    try:
        f = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        f += [0] * (8 - len(f))
    except (OSError, ValueError):
        return 0.0, 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (f[0] + f[1] + f[2]) / tick, (f[5] + f[6]) / tick, f[7] / tick


def process_cpu(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class WrkResult:
    rps: float
    requests: int
    errors: int
    seconds: float
    raw: str


def parse_wrk(out: str, seconds: float) -> WrkResult:
    rate = re.search(r"Requests/sec:\s*([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors += int(bad.group(1)) if bad else 0
    return WrkResult(float(rate.group(1)) if rate else 0.0, int(total.group(1)) if total else 0,
                     errors, seconds, out)


@dataclass
class LoadResult:
    baseline: Heartbeat
    loaded: Heartbeat
    wrk: WrkResult
    rows: int = 0
    stored: int = 0
    active_rows: int = 0
    settled: bool = False
    settle_s: float = 0.0
    cpu_share: float = 0.0  # GUI process CPU time / wall time during the load
    flushes: int = 0
    max_added_per_flush: int = 0
    max_lag: int = 0  # most exchanges in the store but not yet in the list, at a tick
    stderr: str = ""
    statuses: list[str] = field(default_factory=list)  # the app's status changes meanwhile
    flush_spans: list[tuple[float, float]] = field(default_factory=list)  # perf_counter

    def stalls_in_flush(self, over_ms: float) -> tuple[int, int]:
        """(stalls longer than over_ms, how many of them overlap a list update)."""
        big = self.loaded.stall_spans(over_ms)
        hit = sum(1 for a, b in big if any(f0 < b and f1 > a for f0, f1 in self.flush_spans))
        return len(big), hit
    start_s: float = 0.0
    threads: dict[str, float] = field(default_factory=dict)  # CPU share per thread
    app_cpu: float | None = None  # the app's process, CPU share
    wrk_cpu: float | None = None
    machine_cpu: float = 0.0  # cores busy in processes, whole machine, during the load
    irq_cpu: float = 0.0  # cores busy in interrupts (softirq: loopback networking)
    steal_cpu: float = 0.0  # cores taken by the hypervisor
    loadavg: str = ""

    @property
    def every_exchange(self) -> bool:
        return self.settled


def measure_load(seconds: float, workdir: Path, baseline_seconds: float | None = None
                 ) -> LoadResult:
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from inspector.host.store import Store
    from ui import store_bridge, theme
    from ui.app_controller import Launch as AppLaunch
    from ui.main_window import MainWindow
    from ui.settings import APPLICATION, ORGANIZATION

    settings_dir = workdir / "settings-load"
    settings_dir.mkdir(parents=True, exist_ok=True)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    theme.apply_scheme(app)  # type: ignore[arg-type]

    baseline_seconds = seconds if baseline_seconds is None else baseline_seconds
    print(f"  baseline: {HEARTBEAT_MS} ms heartbeat on an empty event loop for "
          f"{baseline_seconds:g} s", flush=True)
    baseline = Heartbeat()
    baseline.start()
    spin(baseline_seconds)
    baseline.stop()

    # Each list update (the bridge's flush: model, proxy, view) is timed; the window's
    # bridge connects its timer to the flush method when built, so wrap it before that.
    flush_spans: list[tuple[float, float]] = []
    plain_flush = store_bridge.StoreBridge.flush

    def timed_flush(self: Any) -> None:
        t0 = time.perf_counter()
        try:
            plain_flush(self)
        finally:
            flush_spans.append((t0, time.perf_counter()))

    store_bridge.StoreBridge.flush = timed_flush  # type: ignore[method-assign]
    # An empty app dir: the reloader (on, as by default) has nothing to react to, so edits
    # elsewhere on this machine cannot restart the app in the middle of the load.
    app_dir = workdir / "app-dir"
    app_dir.mkdir(exist_ok=True)
    store = Store(workdir / "load.wsgi-session")  # the product's default batching
    window = MainWindow(store, AppLaunch(spec=SPEC, app_dir=str(app_dir), port=0,
                                         in_process=False),
                        settings=QSettings(str(workdir / "window.ini"),
                                           QSettings.Format.IniFormat))
    window.show()
    store_bridge.StoreBridge.flush = plain_flush  # type: ignore[method-assign]
    t = time.monotonic()
    try:
        if not spin(START_TIMEOUT, lambda: window.controller.status.state == "serving"):
            raise RuntimeError(f"the app did not start: {window.controller.status}")
        start_s = time.monotonic() - t
        url = window.controller.status.url
        print(f"  load: wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{seconds:g}s {url} "
              "(as fast as it goes), heartbeat running", flush=True)

        counters = {"flushes": 0, "max_added": 0, "max_lag": 0}

        def flushed() -> None:
            counters["flushes"] += 1

        def added(summaries: list[Any]) -> None:
            counters["max_added"] = max(counters["max_added"], len(summaries))

        def tick() -> None:
            lag = len(store) - window.model.rowCount()
            if lag > counters["max_lag"]:
                counters["max_lag"] = lag

        def status(st: Any) -> None:
            statuses.append(st.state)

        statuses: list[str] = []
        window.bridge.flushed.connect(flushed)
        window.bridge.added.connect(added)
        window.controller.status_changed.connect(status)
        loaded = Heartbeat(on_tick=tick)
        secs = max(1, round(seconds))
        cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{secs}s", url]
        app_pid = window.controller.pid
        threads0, app0 = thread_cpu(), process_cpu(app_pid)
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine0 = machine_busy()
        usage0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        loaded.start()
        flush_spans.clear()
        wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        try:
            spin(secs + 20, lambda: wrk.poll() is not None, step_ms=50)
        finally:
            loaded.stop()
            wall = time.monotonic() - wall0
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            threads1, app1 = thread_cpu(), process_cpu(app_pid)
            machine1 = machine_busy()
            if wrk.poll() is None:
                wrk.kill()
            out = wrk.communicate(timeout=10)[0]
            children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        window.bridge.flushed.disconnect(flushed)
        window.bridge.added.disconnect(added)
        window.controller.status_changed.disconnect(status)
        result = LoadResult(baseline, loaded, parse_wrk(out, wall), start_s=start_s)
        result.statuses = statuses
        result.flush_spans = [span for span in flush_spans if span[0] < loaded.stopped]
        if window.controller.pid != app_pid:
            result.app_cpu = None  # another process by now: not comparable
        cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
        result.cpu_share = cpu / wall if wall else 0.0
        result.flushes = counters["flushes"]
        result.max_added_per_flush = counters["max_added"]
        result.max_lag = counters["max_lag"]
        result.threads = {name: (cpu - threads0.get(name, 0.0)) / wall
                          for name, cpu in threads1.items()}
        if app0 is not None and app1 is not None:
            result.app_cpu = (app1 - app0) / wall
        result.machine_cpu, result.irq_cpu, result.steal_cpu = (
            (b - a) / wall for a, b in zip(machine0, machine1))
        with contextlib.suppress(OSError):
            result.loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        result.wrk_cpu = ((children1.ru_utime - children0.ru_utime)
                          + (children1.ru_stime - children0.ru_stime)) / wall

        answered = result.wrk.requests

        def settled() -> bool:
            rows = window.model.rowCount()
            if rows != len(store) or not answered <= rows <= answered + CONNECTIONS:
                return False
            return not any(s.state == "active" for s in window.model.summaries())

        t = time.monotonic()
        result.settled = spin(SETTLE_TIMEOUT, settled, step_ms=50)
        result.settle_s = time.monotonic() - t
        result.rows, result.stored = window.model.rowCount(), len(store)
        result.active_rows = sum(1 for s in window.model.summaries() if s.state == "active")
        return result
    finally:
        window.shutdown()
        window.close()
        window.deleteLater()


# -- profiling the launch ----------------------------------------------------------------

def profile_launches(workdir: Path, top: int) -> None:
    import pstats

    for kind in ("in-process", "isolated"):
        out = workdir / f"launch-{kind}.prof"
        launch = run_launch(kind, workdir, out)
        print(f"\n== launch, {kind}: {launch.visible:.3f} s to the first row (under cProfile)")
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(top)


# -- the report ---------------------------------------------------------------------------

def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s"


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def report(load: LoadResult | None, launches: dict[str, list[Launch]], import_s: float,
           seconds: float) -> str:
    rows: list[tuple[str, str, str, str]] = []
    if load is not None:
        b, h, w = load.baseline, load.loaded, load.wrk
        rows.append(("longest event-loop stall, empty loop (baseline)",
                     f"{b.max_stall_ms:.1f} ms", "—", ""))
        rows.append(("longest event-loop stall, window under load",
                     f"{h.max_stall_ms:.1f} ms", f"< {GOAL_STALL_MS:g} ms",
                     "meets" if h.max_stall_ms < GOAL_STALL_MS else "MISSED"))
        rows.append(("load achieved (wrk -t2 -c16, as fast as it goes)",
                     f"{w.rps:.0f} req/s", f">= {GOAL_RATE:g} req/s",
                     ("meets" if w.rps >= GOAL_RATE else "BELOW")
                     + (f", {w.errors} errors" if w.errors else "")))
        rows.append(("every exchange in the list",
                     f"{'yes' if load.every_exchange else 'no'} ({load.rows} of {load.stored})",
                     "yes", "meets" if load.every_exchange else "MISSED"))
    goal_launch = GOAL_LAUNCH_S + import_s
    for kind in ("in-process", "isolated"):
        runs = launches.get(kind, [])
        if not runs:
            continue
        figure = median([r.visible for r in runs])
        verdict = "—" if figure is None else ("meets" if figure < goal_launch else "MISSED")
        rows.append((f"launch -> first request visible, {kind}", fmt_s(figure),
                     f"< {goal_launch:.3f} s", verdict))
    if launches.get("empty"):
        rows.append(("empty QMainWindow shown and painted (baseline)",
                     fmt_s(median([r.visible for r in launches["empty"]])), "~0.1 s", ""))
    rows.append(("app import time (hello, fresh interpreter)", f"{import_s * 1000:.2f} ms",
                 "—", ""))

    widths = [max(len(r[i]) for r in [("measure", "figure", "goal", "verdict"), *rows])
              for i in range(4)]
    line = "  ".join(f"{{:{w}}}" for w in widths)
    out = [line.format("measure", "figure", "goal", "verdict").rstrip(),
           "  ".join("-" * w for w in widths)]
    out += [line.format(*r).rstrip() for r in rows]
    out.append("")

    if load is not None:
        b, h, w = load.baseline, load.loaded, load.wrk
        out.append(f"load: {w.requests} requests in {w.seconds:.1f} s, {w.errors} errors; "
                   f"GUI process CPU {100 * load.cpu_share:.0f}% of one core during the load "
                   f"(GUI thread, event link, session writer)")
        busy = sorted(((v, k) for k, v in load.threads.items() if v >= 0.005), reverse=True)
        out.append("  CPU by thread (share of one core): "
                   + ", ".join(f"{k} {100 * v:.0f}%" for v, k in busy)
                   + (f"; the app's process {100 * load.app_cpu:.0f}%"
                      if load.app_cpu is not None else "")
                   + (f"; wrk {100 * load.wrk_cpu:.0f}%" if load.wrk_cpu is not None else ""))
        ours = load.cpu_share + (load.app_cpu or 0.0) + (load.wrk_cpu or 0.0)
        out.append(f"  whole machine: {load.machine_cpu + load.irq_cpu:.2f} of {os.cpu_count()} "
                   f"cores busy: processes {load.machine_cpu:.2f} (other processes than these "
                   f"{max(0.0, load.machine_cpu - ours):.2f}), interrupts {load.irq_cpu:.2f}; "
                   f"steal {load.steal_cpu:.2f}; load average {load.loadavg}")
        if w.rps < GOAL_RATE:
            out.append(f"  the load stayed below {GOAL_RATE:g} req/s on this machine: wrk, the "
                       "app's process and the window share its cores")
        out.append(f"heartbeat under load: {len(h.gaps)} ticks, stall p50 "
                   f"{h.stall_quantile_ms(0.5):.1f} ms, p99 {h.stall_quantile_ms(0.99):.1f} ms, "
                   f"max {h.max_stall_ms:.1f} ms; stalls > 20 ms: {h.stalls_over(20)}, "
                   f"> 50 ms: {h.stalls_over(50)}, > 100 ms: {h.stalls_over(100)}")
        out.append(f"heartbeat baseline:   {len(b.gaps)} ticks, stall p99 "
                   f"{b.stall_quantile_ms(0.99):.1f} ms, max {b.max_stall_ms:.1f} ms")
        out.append(f"list updates: {load.flushes} flushes in {w.seconds:.1f} s "
                   f"({load.flushes / max(w.seconds, 1e-9):.0f}/s), at most "
                   f"{load.max_added_per_flush} rows added by one; the list was at most "
                   f"{load.max_lag} exchanges behind the store at a tick")
        spans = sorted((b - a) * 1000 for a, b in load.flush_spans)
        if spans:
            big, hit = load.stalls_in_flush(50)
            out.append(f"list updates (bridge flush -> model -> proxy -> view) took p50 "
                       f"{spans[len(spans) // 2]:.1f} ms, max {spans[-1]:.1f} ms, "
                       f"{sum(spans) / 1000:.2f} s in all; {hit} of the {big} stalls > 50 ms "
                       "overlapped one")
        out.append(f"after the load: {load.rows} rows, {load.stored} exchanges in the store, "
                   f"{w.requests} answered by wrk (+{CONNECTIONS} in flight allowed), "
                   f"{load.active_rows} rows still active; "
                   + (f"settled {load.settle_s:.2f} s after wrk ended" if load.settled
                      else f"NOT settled within {SETTLE_TIMEOUT:g} s"))
        out.append(f"isolated app started (window shown -> serving) in {load.start_s:.2f} s; "
                   + (f"status changes during the load: {', '.join(load.statuses)} (the "
                      "figures above are disturbed)" if load.statuses
                      else "no status change (restart, crash) during the load"))
        if load.stderr:
            out.append(load.stderr)
    for kind in LAUNCH_KINDS:
        runs = launches.get(kind, [])
        if not runs:
            continue
        if kind == "empty":
            phases = [("QApplication", "qapplication"), ("shown", "shown"),
                      ("painted", "painted")]
        else:
            phases = [("QApplication+session+window built", "window_built"),
                      ("shown", "shown"), ("painted", "painted"),
                      ("serving (URL known)", "status_serving"),
                      ("response received", "response_received"),
                      ("row in list", "row_added"), ("row complete", "row_complete")]
        parts = [f"{name} {fmt_s(median([r.since_start(m) for r in runs]))}"
                 for name, m in phases]
        imports = median([r.marks["imports_end"] - r.marks["imports_start"] for r in runs])
        command = median([r.from_command for r in runs])
        out.append(f"launch {kind} (median of {len(runs)}, from run()): " + ", ".join(parts))
        out.append(f"  imports before run() {fmt_s(imports)}; from process start to the "
                   f"same moment {fmt_s(command)}; run() returned (quit) "
                   f"{fmt_s(median([r.since_start('returned') for r in runs]))}; "
                   f"all runs: {', '.join(fmt_s(r.visible) for r in runs)}")
    cores = os.cpu_count()
    import PySide6

    out.append("")
    out.append(f"machine: {cores} cores, {platform.system()} {platform.machine()}; Python "
               f"{platform.python_version()}; PySide6 {PySide6.__version__}; QPA "
               f"{os.environ.get('QT_QPA_PLATFORM')}"
               + (f"; heartbeat {HEARTBEAT_MS} ms for {seconds:g} s" if load else ""))
    return "\n".join(out)


def summary_rows(load: LoadResult | None, launches: dict[str, list[Launch]],
                 import_s: float, seconds: float) -> list[dict[str, Any]]:
    """The combined table's rows: the figures report() prints, one per budget."""
    rows = load_rows(load, seconds) if load else [
        BUDGETS[k].missing("skipped (--skip-load)") for k in BUDGETS if k.startswith("gui.load")]
    goal = GOAL_LAUNCH_S + import_s
    empty = [v for v in (r.visible for r in launches.get("empty", [])) if v is not None]
    for kind in ("isolated", "in-process"):
        budget = BUDGETS[f"gui.launch.{kind}"]
        times = [v for v in (r.visible for r in launches.get(kind, [])) if v is not None]
        if not times:
            why = "no row became visible" if launches.get(kind) else "skipped (--skip-launch)"
            rows.append(budget.missing(why))
            continue
        rows.append(budget.row(
            statistics.median(times) < goal, Figure.of(times, "s"),
            baseline=Figure.of(empty, "s") if empty else None, baseline_what="empty window",
            notes=f"limit {goal:.3f} s (app import {1000 * import_s:.1f} ms)"))
    return rows


def load_rows(load: LoadResult, seconds: float) -> list[dict[str, Any]]:
    b, h, w = load.baseline, load.loaded, load.wrk
    name = f"GUI load {seconds:g} s"
    listed = f"{load.stored} in the store, {w.requests} answered by wrk"
    if not load.settled:
        listed += f"; NOT settled within {SETTLE_TIMEOUT:g} s"
    return [
        BUDGETS["gui.load.rate"].row(
            w.rps >= GOAL_RATE, Figure(w.rps, "req/s"), name=f"{name}: req/s",
            notes=f"{w.errors} errors" if w.errors else ""),
        BUDGETS["gui.load.listed"].row(
            load.every_exchange, Figure(load.rows, "rows"), name=f"{name}: rows listed",
            baseline=Figure(w.requests, "responses"), baseline_what="wrk", notes=listed),
        BUDGETS["gui.load.stall"].row(
            h.max_stall_ms < GOAL_STALL_MS, Figure(h.max_stall_ms, "ms"),
            name=f"{name}: longest stall", baseline=Figure(b.max_stall_ms, "ms"),
            baseline_what="empty loop",
            notes=f"at {w.rps:.0f} req/s; stalls > 50 ms: {h.stalls_over(50)}"),
    ]


# -- command line ------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 s load and baseline, one launch of each kind")
    parser.add_argument("--seconds", type=float,
                        help=f"load and baseline seconds ({LOAD_SECONDS:g})")
    parser.add_argument("--launches", type=int, help="launches of each kind (3)")
    parser.add_argument("--skip-load", action="store_true", help="launch figures only")
    parser.add_argument("--skip-launch", action="store_true", help="load figures only")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one launch of each runner (cProfile, cumulative)")
    parser.add_argument("--top", type=int, default=25, help="rows in the profile listing")
    parser.add_argument("--budget", type=float, default=115.0,
                        help="seconds after which the whole script is ended")
    add_summary_option(parser)
    parser.add_argument("--launch-child", choices=LAUNCH_KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.launch_child:
        if not args.workdir:
            parser.error("--launch-child needs --workdir")
        return launch_child(args.launch_child, Path(args.workdir), args.profile_out)

    faulthandler.dump_traceback_later(args.budget, exit=True)  # the run stays bounded
    seconds = args.seconds or (3.0 if args.quick else LOAD_SECONDS)
    repeats = args.launches or (1 if args.quick else 3)
    if not args.skip_load and not shutil.which("wrk"):
        raise SystemExit("wrk is not on PATH; it drives the load (or use --skip-load)")

    load: LoadResult | None = None
    launches: dict[str, list[Launch]] = {}
    with tempfile.TemporaryDirectory(prefix="gui-load-bench-") as tmp:
        workdir = Path(tmp)
        print(f"app import time: {repeats + 2} fresh interpreters", flush=True)
        import_s = app_import_time(repeats + 2)
        if not args.skip_launch:
            # Launches first, in fresh interpreters, while this process has no Qt yet.
            for i in range(repeats):
                for kind in LAUNCH_KINDS:
                    launch = run_launch(kind, workdir)
                    launches.setdefault(kind, []).append(launch)
                    print(f"  launch {i + 1}/{repeats} {kind:10}: {fmt_s(launch.visible)}",
                          flush=True)
        if args.profile:
            profile_launches(workdir, args.top)
        if not args.skip_load:
            log = workdir / "load-stderr.log"
            with stderr_to(log):
                load = measure_load(seconds, workdir)
            load.stderr = summarize_stderr(log)
    print()
    print(report(load, launches, import_s, seconds))
    write_summary(args.summary, summary_rows(load, launches, import_s, seconds))
    faulthandler.cancel_dump_traceback_later()
    with contextlib.suppress(Exception):
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
