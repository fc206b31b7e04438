"""A session of 100,000 exchanges in the real main window: open, filter, memory.

Setup (not measured, only reported): a session of ``--exchanges`` (100,000)
realistic exchanges is written to a temporary file through the real
``Store.put`` with the events the agent emits (``tests/factories.py``):
varied paths (``/api/items/N``, ``/api/users/N/orders``, ``/static/...``,
``/health``), methods, statuses, content types, query strings, small bodies,
now and then a finding or an error.

Then three fresh interpreters, one after another, so each RSS is clean:

1. **GUI.** ``ui.app.run`` with ``--open FILE``, exactly as the command line
   does it (QT_QPA_PLATFORM=offscreen unless set otherwise; settings in a
   temporary directory). The clock stops when the exchange table has painted
   with rows in it (model rowCount() > 0 and a visible row); it is read from
   the start of the process and from the call of ``run``. Then the filter
   text goes into the real filter box (``filter_edit.setText``) and the clock
   stops when the proxy's rowCount equals the count the quick filter's own
   predicate gives over the summaries and the table has painted again; the
   synchronous part (``setText`` returning) is shown too. Applied and cleared
   ``--reps`` times; median and range. VmRSS and VmHWM (peak) of the process
   come from /proc/self/status after opening and after the filtering.
2. **Filter baseline.** The same paths in a QStandardItemModel (one column,
   100k rows) under a plain QSortFilterProxyModel (case-insensitive),
   timed around ``setFilterFixedString``; applied and cleared as often.
3. **Memory baseline.** The same session read into Python dicts
   (``Exchange.to_dict()`` of every exchange, kept in a list), then VmRSS
   and VmHWM.

    python bench/session_scale.py            # 100k exchanges, 7 filter repetitions
    python bench/session_scale.py --quick    # 100k exchanges, 3 filter repetitions

Internal entry (one measurement in a fresh interpreter, prints one JSON line):

    python bench/session_scale.py --child gui|qt-filter|dicts --session F --workdir D
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from common import Budget, Figure, add_summary_option, process_start, write_summary

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FILTER = "/api/items/99"
GOAL_OPEN = 1.0  # s
GOAL_FILTER = 0.100  # s
GOAL_RSS = 200.0  # MB
CHILD_TIMEOUT = 60.0
WAIT = 10.0  # how long one wait for rows or a repaint may take
EXCHANGES = 100_000  # the budget's session size (the default)


def size_label(count: int) -> str:
    return f"{count // 1000}k" if count % 1000 == 0 else f"{count:,}"


# Rows of bench/run.py's combined table (the budget lines 7 to 9).
_SIZE = size_label(EXCHANGES)
BUDGETS = {b.key: b for b in (
    Budget("session.open.run", "7", f"{_SIZE} open from run()", f"< {GOAL_OPEN:g} s"),
    Budget("session.open.process", "7", f"{_SIZE} open from process start",
           f"< {GOAL_OPEN:g} s"),
    Budget("session.filter", "8", f"{_SIZE} path filter", f"< {1000 * GOAL_FILTER:g} ms"),
    Budget("session.rss", "9", f"{_SIZE} GUI peak RSS", f"< {GOAL_RSS:g} MB"),
)}


# -- memory, clocks -----------------------------------------------------------------------

def memory() -> dict[str, float]:
    """VmRSS and VmHWM of this process, in MB (10^6 bytes)."""
    found: dict[str, float] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024 / 1e6
    return found




# -- the session ------------------------------------------------------------------------

JSON = [("Content-Type", "application/json")]
STATIC = {"css": "text/css", "js": "application/javascript", "png": "image/png",
          "svg": "image/svg+xml"}


def variant(rng: random.Random, i: int) -> dict[str, Any]:
    """The arguments of exchange_events for exchange ``i``: a plausible mix."""
    roll = rng.random()
    query = ""
    request_body = b""
    findings: list[tuple[str, ...]] = []
    error = None
    if roll < 0.45:
        method = rng.choices(("GET", "POST", "PUT", "DELETE"), (70, 15, 10, 5))[0]
        path = f"/api/items/{rng.randrange(1, 100_000)}"
        if method in ("POST", "PUT"):
            request_body = json.dumps({"name": f"item {i}", "qty": rng.randrange(9)}).encode()
        status = rng.choices(("200 OK", "201 Created", "204 No Content", "404 Not Found",
                              "500 Internal Server Error"), (70, 10, 8, 9, 3))[0]
        if method == "GET" and rng.random() < 0.3:
            query = f"fields=name,qty&page={rng.randrange(1, 50)}"
        body = b"" if status.startswith("204") else json.dumps(
            {"id": i, "name": f"item {i}", "tags": ["a", "b"][: rng.randrange(3)]}).encode()
        headers = JSON
        if status.startswith("500") and rng.random() < 0.5:
            error = "KeyError: 'qty'"
    elif roll < 0.65:
        method = "GET"
        path = f"/api/users/{rng.randrange(1, 5000)}/orders"
        query = f"since=2024-0{rng.randrange(1, 10)}-01" if rng.random() < 0.5 else ""
        status = "200 OK" if rng.random() < 0.95 else "403 Forbidden"
        body = json.dumps([{"order": n, "total": n * 3.5} for n in range(rng.randrange(4))]
                          ).encode()
        headers = JSON
    elif roll < 0.92:
        method = "GET"
        ext = rng.choice(tuple(STATIC))
        path = f"/static/{ext}/{rng.choice(('app', 'vendor', 'logo', 'main'))}" \
               f"-{rng.randrange(1, 40)}.{ext}"
        status = "200 OK" if rng.random() < 0.8 else "304 Not Modified"
        body = b"" if status.startswith("304") else bytes(rng.randrange(64, 400))
        headers = [("Content-Type", STATIC[ext])]
    else:
        method = "GET"
        path = rng.choice(("/", "/health", "/login", "/favicon.ico"))
        status = "200 OK"
        body = b"<!doctype html><title>hi</title><p>Hello</p>" if path != "/health" else b"ok"
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if path == "/login" and rng.random() < 0.3:
            findings.append(("W0301", "warning", "start_response",
                             "header value has trailing whitespace", "3333"))
    headers = [*headers, ("Content-Length", str(len(body)))]
    return {"method": method, "path": path, "query": query, "status": status,
            "headers": headers, "request_body": request_body, "response_body": body,
            "findings": findings, "error": error}


def write_session(path: Path, count: int, *, as_sent: bool = False) -> float:
    """Write ``count`` exchanges through Store.put; returns the seconds it took.

    ``as_sent``: each event as a ring record (a ``wire.Record`` with its bytes as
    the agent's encoder writes them), as a recording from a real app process holds them.
    """
    from inspector.host.store import Store
    from inspector.wire import Encoder, Record
    from tests.factories import exchange_events

    encoder = Encoder()

    def sent(event: dict[str, Any]) -> dict[str, Any]:
        record = Record(event)
        record.raw = encoder.encode(event)
        return record

    rng = random.Random(6)
    started = time.monotonic()
    store = Store(path, batch_events=20_000)
    try:
        put = store.put
        clock = 1_700_000_000.0
        for i in range(1, count + 1):
            clock += rng.expovariate(20.0)  # about 20 requests a second
            for event in exchange_events(i, start=clock, **variant(rng, i)):
                put(sent(event) if as_sent else event)
            if i % 10_000 == 0:
                store.flush()  # keep the queue (and this process) small
        store.flush()
    finally:
        store.close()
    return time.monotonic() - started


# -- child 1: the real window -------------------------------------------------------------

def child_gui(session: str, workdir: Path, text: str, reps: int) -> dict[str, Any]:
    marks: dict[str, Any] = {"process": process_start(), "imports_start": time.monotonic()}
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QTableView

    from inspector.host import summaryfilter
    from inspector.host.cli import parse_args
    from ui import app as ui_app
    from ui import main_window as main_window_module

    marks["imports_end"] = time.monotonic()
    settings_dir = workdir / f"settings-{os.getpid()}"
    settings_dir.mkdir(parents=True, exist_ok=True)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))
    paints: list[float] = []
    base_table = getattr(main_window_module, "ExchangeTable", QTableView)

    class TimedTable(base_table):  # type: ignore[misc, valid-type]
        """The window's table, noting when it has painted with a row in view."""

        def paintEvent(self, event: Any) -> None:
            super().paintEvent(event)
            model = self.model()
            if model is not None and model.rowCount() > 0 and self.rowAt(0) >= 0:
                paints.append(time.monotonic())

    def wait(app: Any, done: Any, since: float) -> float | None:
        """processEvents until done() and a paint after ``since``; the time, or None."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            app.processEvents()
            if done() and paints and paints[-1] > since:
                return paints[-1]
        return None

    class TimedWindow(main_window_module.MainWindow):
        def __init__(self, *a: Any, **kw: Any) -> None:
            marks["window_start"] = time.monotonic()
            super().__init__(*a, **kw)
            marks["window_built"] = time.monotonic()
            marks["rows"] = self.model.rowCount()
            self._watch = QTimer(self)
            self._watch.timeout.connect(self._check)
            self._watch.start(0)
            QTimer.singleShot(int(CHILD_TIMEOUT * 1000), self.close)  # never hang

        def show_saved(self, store: Any) -> None:  # the saved session, shown read-only
            marks["open_start"] = time.monotonic()
            super().show_saved(store)
            marks["opened"] = time.monotonic()
            marks["rows"] = self.model.rowCount()

        def show(self) -> None:
            super().show()
            marks["shown"] = time.monotonic()

        def _check(self) -> None:
            if paints and self.model.rowCount() > 0:
                self._watch.stop()
                marks["first_rows"] = paints[0]
                marks["memory_open"] = memory()
                QTimer.singleShot(0, self._filter)

        def _filter(self) -> None:
            app = QApplication.instance()
            accepts = summaryfilter.parse(text)
            expected = sum(1 for s in self.model.summaries() if accepts(s))
            total = self.model.rowCount()
            marks["expected"] = expected
            applied: list[list[float]] = []
            cleared: list[float] = []
            for _ in range(reps):
                t0 = time.monotonic()
                self.filter_edit.setText(text)
                t1 = time.monotonic()
                end = wait(app, lambda: self.proxy.rowCount() == expected, t0)
                applied.append([t1 - t0, (end - t0) if end else -1.0])
                marks["shown_rows"] = self.proxy.rowCount()
                t0 = time.monotonic()
                self.filter_edit.setText("")
                end = wait(app, lambda: self.proxy.rowCount() == total, t0)
                cleared.append((end - t0) if end else -1.0)
            marks["applied"], marks["cleared"] = applied, cleared
            marks["memory_filtered"] = memory()
            self.close()

    # The window builds its table from whichever name it uses: patch both.
    main_window_module.ExchangeTable = TimedTable  # type: ignore[misc]
    main_window_module.QTableView = TimedTable  # type: ignore[misc]
    ui_app.MainWindow = TimedWindow  # type: ignore[misc]
    open_store = ui_app.Store.open

    def timed_open(*a: Any, **kw: Any) -> Any:  # the file is opened before the window
        marks["store_open_start"] = time.monotonic()
        try:
            return open_store(*a, **kw)
        finally:
            marks["store_opened"] = time.monotonic()

    ui_app.Store.open = timed_open  # type: ignore[method-assign]
    args = parse_args(["--open", session])
    marks["start"] = time.monotonic()
    code = ui_app.run(args)
    marks["returned"] = time.monotonic()
    marks["code"] = code
    return marks


# -- child 2: QSortFilterProxyModel over plain items --------------------------------------

def child_qt_filter(session: str, text: str, reps: int) -> dict[str, Any]:
    import sqlite3

    from PySide6.QtCore import QSortFilterProxyModel, Qt
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QApplication

    conn = sqlite3.connect(session)
    paths = [row[0] for row in conn.execute("SELECT path FROM exchanges ORDER BY id")]
    conn.close()
    app = QApplication(sys.argv[:1])
    started = time.monotonic()
    model = QStandardItemModel()
    root = model.invisibleRootItem()
    for path in paths:
        root.appendRow(QStandardItem(path))
    built = time.monotonic() - started
    proxy = QSortFilterProxyModel()
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setSourceModel(model)
    applied, cleared, shown = [], [], 0
    for _ in range(reps):
        t0 = time.monotonic()
        proxy.setFilterFixedString(text)
        shown = proxy.rowCount()
        applied.append(time.monotonic() - t0)
        t0 = time.monotonic()
        proxy.setFilterFixedString("")
        proxy.rowCount()
        cleared.append(time.monotonic() - t0)
        app.processEvents()
    return {"rows": model.rowCount(), "shown": shown, "build": built, "applied": applied,
            "cleared": cleared, "memory": memory()}


# -- child 3: the session as Python dicts ------------------------------------------------------

def child_dicts(session: str) -> dict[str, Any]:
    from inspector.host.store import Store

    started = time.monotonic()
    store = Store.open(session)
    try:
        dicts = [x.to_dict() for x in store.exchanges()]
    finally:
        store.close()
    return {"rows": len(dicts), "seconds": time.monotonic() - started, "memory": memory()}


# -- the parent -------------------------------------------------------------------------------

def run_child(kind: str, session: Path, workdir: Path, text: str, reps: int) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, "--session", str(session),
           "--workdir", str(workdir), "--filter", text, "--reps", str(reps)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT + 30,
                          env=dict(os.environ, QT_QPA_PLATFORM=os.environ["QT_QPA_PLATFORM"]))
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"the {kind} child failed (exit {done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms" if seconds >= 0 else "timed out"


def spread(values: list[float]) -> str:
    return f"{1000 * min(values):.0f}-{1000 * max(values):.0f} ms"


def report(count: int, setup: float, size: int, gui: dict[str, Any], qt: dict[str, Any],
           dicts: dict[str, Any], text: str, reps: int) -> str:
    total_applied = [a[1] for a in gui["applied"]]
    sync_applied = [a[0] for a in gui["applied"]]
    timed_out = any(v < 0 for v in total_applied)
    filt = statistics.median(total_applied) if not timed_out else -1.0
    base_filter = statistics.median(qt["applied"])
    open_run = gui["first_rows"] - gui["start"]
    open_proc = gui["first_rows"] - gui["process"]
    rss_open, rss_filt = gui["memory_open"], gui["memory_filtered"]
    peak = max(rss_open["VmHWM"], rss_filt["VmHWM"])
    base_rss = dicts["memory"]["VmRSS"]

    def verdict(ok: bool) -> str:
        return "meets" if ok else "misses"

    head = f"{'figure':52} {'baseline':>16} {'measured':>16} {'ratio':>6} {'goal':>9}  verdict"
    rows = [
        (f"open {count:,}: run() -> first rows painted", "-", ms(open_run), "",
         "< 1 s", verdict(open_run < GOAL_OPEN)),
        (f"open {count:,}: process start -> first rows painted", "-", ms(open_proc), "",
         "< 1 s", verdict(open_proc < GOAL_OPEN)),
        (f"path filter {text!r}, median of {reps}", ms(base_filter), ms(filt),
         f"{filt / base_filter:.2f}" if filt >= 0 and base_filter > 0 else "-",
         "< 100 ms", verdict(0 <= filt < GOAL_FILTER)),
        ("GUI RSS after open (VmRSS)", f"{base_rss:.0f} MB",
         f"{rss_open['VmRSS']:.0f} MB", f"{rss_open['VmRSS'] / base_rss:.2f}", "< 200 MB",
         verdict(rss_open["VmRSS"] < GOAL_RSS)),
        ("GUI RSS after filtering (VmRSS)", f"{base_rss:.0f} MB",
         f"{rss_filt['VmRSS']:.0f} MB", f"{rss_filt['VmRSS'] / base_rss:.2f}", "< 200 MB",
         verdict(rss_filt["VmRSS"] < GOAL_RSS)),
        ("GUI peak RSS, whole run (VmHWM)", f"{dicts['memory']['VmHWM']:.0f} MB",
         f"{peak:.0f} MB", f"{peak / dicts['memory']['VmHWM']:.2f}", "< 200 MB",
         verdict(peak < GOAL_RSS)),
    ]
    out = [f"session scale: {count:,} exchanges, the real main window offscreen, "
           "each measurement in a fresh interpreter", "", head, "-" * len(head)]
    for name, base, measured, ratio, goal, v in rows:
        out.append(f"{name:52} {base:>16} {measured:>16} {ratio:>6} {goal:>9}  {v}")
    imports = gui["imports_end"] - gui["imports_start"]
    out += [
        "",
        f"setup: session written through Store.put in {setup:.1f} s "
        f"({size / 1e6:.1f} MB on disk); not measured",
        f"open: imports {ms(imports)} (before run()), run() -> window __init__ (QApplication, "
        f"the live session) {ms(gui['window_start'] - gui['start'])}, window built "
        f"{ms(gui['window_built'] - gui['window_start'])}, the file opened (Store.open) "
        f"{ms(gui['store_opened'] - gui['store_open_start'])}, the list filled "
        f"{ms(gui['opened'] - gui['open_start'])}, shown "
        f"{ms(gui['shown'] - gui['start'])} after run(); {gui['rows']:,} rows in the model",
        f"filter: {gui.get('shown_rows', 0):,} rows shown of {gui['rows']:,} "
        f"(the filter's own predicate expects {gui['expected']:,}); setText() alone "
        f"median {ms(statistics.median(sync_applied))}; with repaint {spread(total_applied)}; "
        f"clearing it again median {ms(statistics.median(gui['cleared']))}",
        f"baseline filter: QSortFilterProxyModel.setFilterFixedString over a "
        f"QStandardItemModel of {qt['rows']:,} paths (built in {qt['build']:.1f} s), "
        f"{qt['shown']:,} shown; {spread(qt['applied'])}; clearing median "
        f"{ms(statistics.median(qt['cleared']))}; no view attached",
        f"baseline memory: {dicts['rows']:,} exchanges as Exchange.to_dict() dicts "
        f"(read in {dicts['seconds']:.1f} s): VmRSS {base_rss:.0f} MB, "
        f"VmHWM {dicts['memory']['VmHWM']:.0f} MB; GUI after open VmHWM "
        f"{rss_open['VmHWM']:.0f} MB",
        "MB = 10^6 bytes, from /proc/self/status",
        "",
        machine(),
    ]
    return "\n".join(out)


def summary_rows(count: int, gui: dict[str, Any], qt: dict[str, Any],
                 dicts: dict[str, Any]) -> list[dict[str, Any]]:
    """The combined table's rows: the figures report() prints, one per budget."""
    size = size_label(count)
    open_run = gui["first_rows"] - gui["start"]
    open_proc = gui["first_rows"] - gui["process"]
    finished = [a[1] for a in gui["applied"] if a[1] >= 0]
    timed_out = len(gui["applied"]) - len(finished)
    filt = statistics.median(finished) if finished else None
    base_filter = statistics.median(qt["applied"])
    rss_open, rss_filt = gui["memory_open"], gui["memory_filtered"]
    peak = max(rss_open["VmHWM"], rss_filt["VmHWM"])
    base_peak = dicts["memory"]["VmHWM"]
    return [
        BUDGETS["session.open.run"].row(open_run < GOAL_OPEN, Figure(open_run, "s"),
                                        name=f"{size} open from run()"),
        BUDGETS["session.open.process"].row(open_proc < GOAL_OPEN, Figure(open_proc, "s"),
                                            name=f"{size} open from process start"),
        BUDGETS["session.filter"].row(
            not timed_out and filt is not None and filt < GOAL_FILTER,
            Figure.of(finished, "ms", 1000) if finished else None,
            name=f"{size} path filter",
            baseline=Figure.of(qt["applied"], "ms", 1000), baseline_what="QSortFilterProxy",
            ratio=Figure(filt / base_filter, "x") if filt is not None and base_filter > 0
            else None,
            notes=f"{timed_out} of {len(gui['applied'])} timed out (> {WAIT:g} s)"
            if timed_out else ""),
        BUDGETS["session.rss"].row(
            peak < GOAL_RSS, Figure(peak, "MB"), name=f"{size} GUI peak RSS",
            baseline=Figure(base_peak, "MB"), baseline_what="dicts",
            ratio=Figure(peak / base_peak, "x"),
            notes=f"VmHWM; VmRSS after open {rss_open['VmRSS']:.0f} MB, after filtering "
                  f"{rss_filt['VmRSS']:.0f} MB"),
    ]


def machine() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    try:
        qt = metadata.version("PySide6-Essentials")
    except metadata.PackageNotFoundError:
        qt = "?"
    return (f"machine: {cores} cores ({usable} usable), {platform.system()} "
            f"{platform.machine()}; Python {platform.python_version()}; PySide6 {qt}; "
            f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 filter repetitions")
    parser.add_argument("--exchanges", type=int, default=EXCHANGES)
    parser.add_argument("--reps", type=int, help="filter repetitions (default 7, quick 3)")
    parser.add_argument("--filter", default=FILTER, help=f"filter text ({FILTER})")
    add_summary_option(parser)
    parser.add_argument("--child", choices=("gui", "qt-filter", "dicts"), help=argparse.SUPPRESS)
    parser.add_argument("--session", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 7)
    if reps < 1 or args.exchanges < 1:
        parser.error("--reps and --exchanges must be positive")

    if args.child:
        if args.child == "gui":
            result = child_gui(args.session, Path(args.workdir), args.filter, reps)
        elif args.child == "qt-filter":
            result = child_qt_filter(args.session, args.filter, reps)
        else:
            result = child_dicts(args.session)
        print(json.dumps(result), flush=True)
        return 0

    with tempfile.TemporaryDirectory(prefix="session-scale-") as tmp:
        workdir = Path(tmp)
        session = workdir / "scale.wsgi-session"
        print(f"writing {args.exchanges:,} exchanges ...", flush=True)
        setup = write_session(session, args.exchanges)
        size = session.stat().st_size
        print(f"  {setup:.1f} s; opening it in the window ...", flush=True)
        gui = run_child("gui", session, workdir, args.filter, reps)
        print("  baseline: QSortFilterProxyModel ...", flush=True)
        qt = run_child("qt-filter", session, workdir, args.filter, reps)
        print("  baseline: exchanges as dicts ...", flush=True)
        dicts = run_child("dicts", session, workdir, args.filter, reps)
    print()
    print(report(args.exchanges, setup, size, gui, qt, dicts, args.filter, reps))
    write_summary(args.summary, summary_rows(args.exchanges, gui, qt, dicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
