"""Small helpers shared by the benchmark scripts (run them as scripts: this
folder is then first on sys.path)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any


def versions(*dists: str) -> dict[str, str]:
    """Installed versions of the given distributions (default: waitress, flask)."""
    found = {}
    for dist in dists or ("waitress", "flask"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def process_start() -> float:
    """When this process started, on the monotonic clock (Linux; else now)."""
    try:
        stat = Path(f"/proc/{os.getpid()}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        since_boot = ticks / os.sysconf("SC_CLK_TCK")
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        # /proc/uptime counts suspend too (CLOCK_BOOTTIME); the difference is tiny here.
        return time.monotonic() - (uptime - since_boot)
    except (OSError, ValueError, IndexError):
        return time.monotonic()


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; else what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def wrk_version() -> str | None:
    """wrk's version line ("wrk 4.1.0 [epoll]"), or None when wrk is not on PATH."""
    if not shutil.which("wrk"):
        return None
    try:
        head = subprocess.run(["wrk", "-v"], capture_output=True, text=True,
                              timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "wrk"
    return head[0].split("Copyright")[0].strip() if head else "wrk"


# -- rows of run.py's combined table --------------------------------------------------------
# Each script, given the hidden --summary FILE, appends one JSON object per budget row it
# measured, built from the figures its own report prints; run.py gathers them into one table.

def run_workers(worker: Callable[[int], None], count: int, deadline: float) -> float:
    """Run ``worker(0..count-1)`` on threads until they end (each stops itself at
    ``deadline``, on time.monotonic()); the seconds they took."""
    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()) + 15)
    return time.monotonic() - started


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The options of the two throughput benchmarks: rounds, their length, apps, load tool."""
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2 s")
    parser.add_argument("--rounds", type=int, help="rounds per app (default: 5, or 4)")
    parser.add_argument("--seconds", type=float, help="seconds per measured run (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each run")
    parser.add_argument("--apps", default="hello,flask", help="comma-separated: hello,flask")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")


def add_summary_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", metavar="FILE", help=argparse.SUPPRESS)


@dataclass(frozen=True)
class Figure:
    """A measured value: the median, and the min and max when there were several rounds."""

    median: float
    unit: str
    low: float | None = None
    high: float | None = None
    n: int = 1

    @classmethod
    def of(cls, values: Sequence[float], unit: str, scale: float = 1.0) -> Figure:
        """The median (and range) of one value per round, times ``scale`` (s -> ms: 1000)."""
        scaled = [v * scale for v in values]
        if len(scaled) == 1:
            return cls(scaled[0], unit)
        return cls(statistics.median(scaled), unit, min(scaled), max(scaled), len(scaled))


@dataclass(frozen=True)
class Budget:
    """One line of the issue's budget table, as run.py lists it (also when not measured)."""

    key: str
    line: str  # the budget line, "1" to "11"; "own" for the project's stricter goals
    name: str
    text: str  # the budget, as shown: ">= 0.85x plain", "< 100 ms"
    floor: bool = False  # the figure must reach the budget (a miss is "below", else "above")

    def row(self, meets: bool, measured: Figure | None, *, baseline: Figure | None = None,
            baseline_what: str = "", ratio: Figure | None = None, name: str = "",
            notes: str = "") -> dict[str, Any]:
        """A measured row (``measured`` None: nothing finished, a miss); ``name`` replaces
        the default when the run's sizes differ."""
        return {"key": self.key, "line": self.line, "name": name or self.name,
                "budget": self.text, "floor": self.floor, "meets": meets,
                "measured": asdict(measured) if measured else None,
                "baseline": asdict(baseline) if baseline else None,
                "baseline_what": baseline_what,
                "ratio": asdict(ratio) if ratio else None, "notes": notes}

    def missing(self, reason: str) -> dict[str, Any]:
        """A row for a budget the run could not measure, and why."""
        return {"key": self.key, "line": self.line, "name": self.name, "budget": self.text,
                "floor": self.floor, "meets": None, "measured": None, "baseline": None,
                "baseline_what": "", "ratio": None, "notes": reason}


def write_summary(path: str | None, rows: Iterable[dict[str, Any]]) -> None:
    """Append the rows to ``path`` (JSON lines); nothing without --summary."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")


def read_summary(path: Path) -> list[dict[str, Any]]:
    """The rows a script appended (none if it wrote no file)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]
