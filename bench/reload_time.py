"""Reload after a source edit: from the write to the first response of the new code.

A tiny hello app and a Flask app are written to their own temporary folders,
and each runs under the real ``Runner`` (isolated app process, reload on,
port 0 kept across restarts), as the GUI and the headless command line run
it. One repetition: the response text in the source is changed (same length,
so only the mtime tells; the mtime is bumped explicitly as well), and the
clock runs from just before the write (the writes are spread evenly over
the source watcher's poll cycle) until the first HTTP response whose
body carries the new text. The poller sends one GET at a time on a new
connection (http.client, 0.5 s timeout each, 5 ms pause after a refused or
stale answer), for at most 10 s.

Baseline, in the same run and alternating with the reloads: the wall time of
``subprocess.run([python, "-c", "pass"])`` (hello) and
``subprocess.run([python, "-c", "import flask"])`` (Flask), with this
interpreter, i.e. the bare cost of a fresh child that imports what the app
needs. The runner's status changes and the watcher's call for a reload are
timed too, so the figure splits into noticing the edit (the watcher's poll
and debounce), stopping the old process, and starting the new one up to
"serving".

    python bench/reload_time.py            # 5 repetitions per app, medians
    python bench/reload_time.py --quick    # 3 repetitions per app
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import Budget, Figure, add_summary_option, versions, write_summary

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL = 0.5  # seconds, write -> new code served
TIMEOUT = 10.0  # one reload may take at most this long
REQUEST_TIMEOUT = 0.5
START_TIMEOUT = 30.0

HELLO = '''\
def app(environ, start_response):
    body = b"{text}"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''

FLASK = '''\
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "{text}"
'''

APPS = {"hello": (HELLO, ["-c", "pass"]), "flask": (FLASK, ["-c", "import flask"])}

# Rows of bench/run.py's combined table (the budget line 11).
BUDGETS = {f"reload.{app}": Budget(f"reload.{app}", "11", f"reload to new code, {app}",
                                   f"< {GOAL:g} s")
           for app in APPS}


@dataclass
class Rep:
    total: float  # write -> first response with the new text (-1: timed out)
    noticed: float | None  # write -> the watcher calls for a reload (poll + debounce)
    stopped: float | None  # write -> the old process has exited
    serving: float | None  # write -> the new process reports "serving"
    tries: int


@dataclass
class Result:
    app: str
    reps: list[Rep] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)


class Statuses:
    """The runner's status changes, with the time each arrived."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, str]] = []
        self.changed = threading.Condition()

    def __call__(self, status: object) -> None:
        with self.changed:
            self.seen.append((time.monotonic(), status.state, status.url))  # type: ignore[attr-defined]
            self.changed.notify_all()

    def first_after(self, state: str, since: float, wait: float = 0.0) -> float | None:
        """When ``state`` first came at or after ``since``, waiting up to ``wait`` for it."""
        def find() -> float | None:
            return next((t for t, s, _ in self.seen if s == state and t >= since), None)
        with self.changed:
            self.changed.wait_for(lambda: find() is not None, wait)
            return find()


def get(host: str, port: int) -> bytes | None:
    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def wait_for_text(host: str, port: int, text: bytes, deadline: float) -> tuple[float | None, int]:
    tries = 0
    while time.monotonic() < deadline:
        tries += 1
        body = get(host, port)
        if body is not None and text in body:
            return time.monotonic(), tries
        time.sleep(0.005)
    return None, tries


def edit(source: Path, template: str, text: str) -> None:
    before = source.stat().st_mtime_ns
    source.write_text(template.format(text=text))
    bumped = max(time.time_ns(), before + 1_000_000)  # never the old stamp, whatever the clock
    os.utime(source, ns=(bumped, bumped))


def spawn_baseline(args: list[str]) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, *args], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return time.monotonic() - started


def measure(app: str, reps: int, workdir: Path) -> Result:
    from urllib.parse import urlsplit

    from inspector.host.process import Options
    from inspector.host.runner import Runner
    from inspector.host.watch import STEP_MS

    spread = STEP_MS / 1000  # file events, then a quiet step: edits meet any point of it

    template, baseline_args = APPS[app]
    folder = workdir / app
    folder.mkdir()
    source = folder / "app.py"
    source.write_text(template.format(text="version 00"))
    statuses = Statuses()
    runner = Runner(Options("app:app", str(folder)), lambda event: None, statuses,
                    in_process=False, reload=True)
    result = Result(app)
    phases = [(k + 0.5) / reps for k in range(reps)]
    random.Random(f"reload-{app}").shuffle(phases)
    noticed: list[float] = []
    watcher = runner.watcher
    if watcher is None:
        raise RuntimeError("the runner has no source watcher (reload off?)")
    reload_now = watcher.on_change

    def on_change(paths: list[str]) -> None:  # note when the watcher asks, then reload
        noticed.append(time.monotonic())
        reload_now(paths)
    watcher.on_change = on_change
    try:
        status = runner.start()
        if status.state != "serving":
            raise RuntimeError(f"the {app} app did not start: {status.state} {status.message}")
        parts = urlsplit(status.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        first, _ = wait_for_text(host, port, b"version 00", time.monotonic() + START_TIMEOUT)
        if first is None:
            raise RuntimeError(f"the {app} app never answered")
        spawn_baseline(baseline_args)  # warm the file cache for the baseline as well
        for i in range(1, reps + 1):
            result.baseline.append(spawn_baseline(baseline_args))
            # Let the watcher take its stamps of the new process's files, then write at
            # evenly spread points of its quiet step (else every edit meets the same phase).
            time.sleep(0.3 + spread * phases[i - 1])
            text = f"version {i:02d}"
            started = time.monotonic()
            edit(source, template, text)
            done, tries = wait_for_text(host, port, text.encode(), started + TIMEOUT)
            rep = Rep(done - started if done else -1.0,
                      _since(next((t for t in noticed if t >= started), None), started),
                      _since(statuses.first_after("stopped", started), started),
                      _since(statuses.first_after("serving", started, wait=2.0), started),
                      tries)
            result.reps.append(rep)
            print(f"  {app:5} rep {i}/{reps}: {_ms(rep.total)} (noticed {_ms(rep.noticed)}, "
                  f"old stopped {_ms(rep.stopped)}, new serving {_ms(rep.serving)}, "
                  f"{tries} GETs); baseline spawn "
                  f"{_ms(result.baseline[-1])}", flush=True)
            if done is None:  # let a slow one finish before the next edit
                with statuses.changed:
                    statuses.changed.wait_for(
                        lambda: statuses.seen[-1][1] == "serving", TIMEOUT)
    finally:
        runner.stop()
    return result


def _since(t: float | None, started: float) -> float | None:
    return None if t is None else t - started


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return "timed out" if seconds < 0 else f"{1000 * seconds:.0f} ms"


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def report(results: list[Result], reps: int) -> str:
    head = (f"{'app':6} {'baseline spawn':>15} {'reload -> new code':>19} {'min-max':>15} "
            f"{'ratio':>6} {'goal':>8}  verdict")
    out = [f"reload time: {reps} edits per app, write -> first response with the new text, "
           "medians", "", head, "-" * len(head)]
    for r in results:
        totals = [x.total for x in r.reps]
        failed = sum(1 for t in totals if t < 0)
        ok = [t for t in totals if t >= 0]
        median = statistics.median(totals) if not failed else -1.0
        base = statistics.median(r.baseline)
        ratio = f"{median / base:.2f}" if median >= 0 and base > 0 else "-"
        span = f"{1000 * min(ok):.0f}-{1000 * max(ok):.0f} ms" if ok else "-"
        verdict = "meets" if 0 <= median < GOAL else "misses"
        out.append(f"{r.app:6} {_ms(base):>15} {_ms(median):>19} {span:>15} {ratio:>6} "
                   f"{'< 0.5 s':>8}  {verdict}" + (f" ({failed} timed out)" if failed else ""))
    out.append("")
    for r in results:
        noticed = _median([x.noticed for x in r.reps])
        stopped = _median([x.stopped for x in r.reps])
        serving = _median([x.serving for x in r.reps])
        out.append(f"{r.app}: medians from the write: watcher asks for the reload "
                   f"{_ms(noticed)}, old process stopped {_ms(stopped)}, new process "
                   f"'serving' {_ms(serving)}; GETs per reload "
                   f"{statistics.median(x.tries for x in r.reps):.0f}")
    out.append("baseline: wall time of subprocess.run([python, '-c', 'pass']) for hello, "
               "[python, '-c', 'import flask'] for Flask")
    out += ["", machine()]
    return "\n".join(out)


def summary_rows(results: list[Result]) -> list[dict[str, Any]]:
    """The combined table's rows: the figures report() prints, one per app."""
    rows = []
    for r in results:
        totals = [x.total for x in r.reps]
        ok = [t for t in totals if t >= 0]
        failed = len(totals) - len(ok)
        median = statistics.median(totals) if not failed else -1.0
        base = statistics.median(r.baseline)
        ratios = [t / b for t, b in zip(totals, r.baseline) if t >= 0 and b > 0]
        rows.append(BUDGETS[f"reload.{r.app}"].row(
            0 <= median < GOAL, Figure.of(ok, "ms", 1000) if ok else None,
            baseline=Figure.of(r.baseline, "ms", 1000),
            baseline_what="python " + " ".join(APPS[r.app][1]),
            ratio=Figure(median / base, "x", min(ratios), max(ratios), len(ratios))
            if median >= 0 and base > 0 else None,
            notes=f"{failed} of {len(totals)} timed out (> {TIMEOUT:g} s)" if failed else ""))
    return rows


def machine() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    found = versions()
    return (f"machine: {cores} cores ({usable} usable), {platform.system()} "
            f"{platform.machine()}; Python {platform.python_version()}; "
            f"waitress {found['waitress']}; Flask {found['flask']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions per app")
    parser.add_argument("--reps", type=int, help="repetitions per app (default 5)")
    parser.add_argument("--apps", default="hello,flask", help="comma-separated: hello,flask")
    add_summary_option(parser)
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 5)
    if reps < 1:
        parser.error("--reps must be positive")
    apps = [a.strip() for a in args.apps.split(",") if a.strip()]
    unknown = set(apps) - set(APPS)
    if unknown:
        parser.error(f"unknown app(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="reload-bench-") as tmp:
        results = [measure(app, reps, Path(tmp)) for app in apps]
    print()
    print(report(results, reps))
    write_summary(args.summary, summary_rows(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
