"""Run every benchmark, one after another, and print one table of all the budgets.

Each script measures its figures against a baseline in the same run
(alternating A/B rounds) and prints its own table; this runner runs them in
turn, so no two loads share the machine. Each script also appends one JSON row
per budget it measured to a file given by its hidden ``--summary`` option; once
all have finished, the rows make one combined table (benchmark, baseline,
measured median and range, ratio, budget, verdict) under the machine line.

    .venv/bin/python bench/run.py            # full (about 10 minutes)
    .venv/bin/python bench/run.py --quick    # about 2 minutes
    .venv/bin/python bench/run.py --only capture_overhead,big_stream

The exit code is non-zero only when a script failed: a missed budget is a
finding, not a crash.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Budget, cpu_model, read_summary, versions, wrk_version

HERE = Path(__file__).resolve().parent
# capture_overhead (the capture alone, in one process) is left out: headless_overhead
# measures the product's own in-process mode now (budget line 12).
SUITE = ("headless_overhead", "big_stream", "gui_load", "session_scale", "reload_time")
LIMIT = 20 * 60  # seconds one script may take at most
TIMED_OUT = 124  # the exit code noted for a script stopped at LIMIT (as timeout(1) does)
COLUMNS = ("#", "benchmark", "baseline", "measured (median, range)", "ratio", "budget",
           "verdict")


def machine() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    v = versions("waitress", "PySide6-Essentials", "flask")
    load = wrk_version() or "python load loop (wrk not installed)"
    return (f"{cores} cores ({usable} usable), {cpu_model()}, {platform.system()} "
            f"{platform.release()} {platform.machine()}; Python {platform.python_version()}; "
            f"waitress {v['waitress']}; PySide6 {v['PySide6-Essentials']}; "
            f"Flask {v['flask']}; load: {load}")


def budgets(name: str) -> list[Budget]:
    """The budget rows a script measures (its BUDGETS), so a failed run still lists them."""
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # a broken script is reported by its own run below
        print(f"{name}: cannot read its budgets ({exc!r})", flush=True)
        return []
    return list(getattr(module, "BUDGETS", {}).values())


def run(name: str, quick: bool, summary: Path) -> tuple[int, float]:
    args = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if quick else []),
            "--summary", str(summary)]
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    print(f"\n=== {name} {'(quick)' if quick else ''}", flush=True)
    started = time.monotonic()
    try:
        code = subprocess.run(args, env=env, timeout=LIMIT).returncode
    except subprocess.TimeoutExpired:
        print(f"{name}: stopped after {LIMIT} s", flush=True)
        code = TIMED_OUT
    return code, time.monotonic() - started


def rows_of(name: str, code: int | None, summary: Path) -> list[dict[str, Any]]:
    """What the script wrote, plus a "not measured" row for each budget it did not."""
    rows = read_summary(summary) if code is not None else []
    written = {row["key"] for row in rows}
    if code is None:
        reason = "not run: --only"
    elif code == TIMED_OUT:
        reason = f"stopped after {LIMIT} s"
    else:
        reason = f"exit {code}" if code else "no row written"
    return rows + [b.missing(reason) for b in budgets(name) if b.key not in written]


# -- the combined table ------------------------------------------------------------------

def number(value: float) -> str:
    """Three significant digits, never an exponent: 4412, 45.3, 4.53, 0.873."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, min(3, 2 - math.floor(math.log10(abs(value)))))
    return f"{value:.{decimals}f}"


def figure(fig: dict[str, Any] | None, with_range: bool = True) -> str:
    if not fig:
        return "-"
    unit = fig["unit"]
    text = f"{number(fig['median'])}x" if unit == "x" else f"{number(fig['median'])} {unit}"
    if with_range and fig.get("n", 1) > 1 and fig.get("low") is not None:
        text += f" ({number(fig['low'])}-{number(fig['high'])})"
    return text


def verdict(row: dict[str, Any]) -> str:
    if row["meets"] is None:
        return f"not measured ({row['notes']})"
    if row["meets"]:
        return "meets"
    return "below" if row["floor"] else "above"


def cells(row: dict[str, Any]) -> tuple[str, ...]:
    baseline = figure(row["baseline"], with_range=False)
    if row["baseline"] and row["baseline_what"]:
        baseline = f"{row['baseline_what']} {baseline}"
    return (row["line"], row["name"], baseline, figure(row["measured"]),
            figure(row["ratio"]), row["budget"], verdict(row))


def table(rows: list[dict[str, Any]]) -> str:
    # The budget lines in order, then the project's own stricter goals.
    ordered = sorted(rows, key=lambda r: int(r["line"]) if r["line"].isdigit() else 99)  # stable
    body = [cells(row) for row in ordered]
    widths = [max(len(r[i]) for r in [COLUMNS, *body]) for i in range(len(COLUMNS))]
    line = "  ".join(f"{{:{w}}}" for w in widths)
    out = [line.format(*COLUMNS).rstrip(), "  ".join("-" * w for w in widths)]
    out += [line.format(*r).rstrip() for r in body]
    notes = [f"  {row['name']}: {row['notes']}" for row in ordered
             if row["notes"] and row["meets"] is not None]
    if notes:
        out += ["", "notes:", *notes]
    counts = {v: sum(1 for r in ordered if verdict(r).startswith(v))
              for v in ("meets", "below", "above", "not measured")}
    out += ["", "; ".join(f"{n} {v}" for v, n in counts.items())
            + " (# = the budget's line: 1-11 the design's figures, 12-14 in-process, CPU per "
              "exchange and pinned cores; ranges "
              "are min-max over the rounds)"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short rounds (about a minute for each script)")
    parser.add_argument("--only", default=",".join(SUITE),
                        help=f"comma-separated subset of: {', '.join(SUITE)}")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(SUITE))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    print(f"machine: {machine()}", flush=True)
    results: dict[str, tuple[int, float]] = {}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        for name in chosen:
            results[name] = run(name, args.quick, Path(tmp) / f"{name}.jsonl")
        for name in SUITE:
            code = results[name][0] if name in results else None
            rows += rows_of(name, code, Path(tmp) / f"{name}.jsonl")
    print(f"\n=== all budgets{' (quick: shorter runs, smaller sizes)' if args.quick else ''}")
    print(table(rows))
    print(f"\nmachine: {machine()}")
    print("scripts: " + ", ".join(f"{name} {'ok' if code == 0 else f'exit {code}'} "
                                  f"{seconds:.0f} s" for name, (code, seconds) in results.items()))
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
