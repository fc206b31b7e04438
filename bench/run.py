"""Run every benchmark, one after another, and print their tables.

Each script measures its figures against a baseline in the same run
(alternating A/B rounds) and prints one table; this runner only runs them in
turn, so no two loads share the machine, and prints the machine once.

    .venv/bin/python bench/run.py            # full (about 10 minutes)
    .venv/bin/python bench/run.py --quick    # about 2 minutes
    .venv/bin/python bench/run.py --only capture_overhead,big_stream
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = ("capture_overhead", "headless_overhead", "big_stream", "gui_load",
         "session_scale", "reload_time")
LIMIT = 20 * 60  # seconds one script may take at most


def machine() -> str:
    from importlib.metadata import version

    load = "wrk" if shutil.which("wrk") else "python load loop (wrk not installed)"
    return (f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}; "
            f"Python {platform.python_version()}; waitress {version('waitress')}; "
            f"PySide6 {version('PySide6-Essentials')}; load: {load}")


def run(name: str, quick: bool) -> tuple[int, float]:
    args = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if quick else [])]
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    print(f"\n=== {name} {'(quick)' if quick else ''}", flush=True)
    started = time.monotonic()
    try:
        code = subprocess.run(args, env=env, timeout=LIMIT).returncode
    except subprocess.TimeoutExpired:
        print(f"{name}: stopped after {LIMIT} s", flush=True)
        code = 124
    return code, time.monotonic() - started


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
    results = [(name, *run(name, args.quick)) for name in chosen]
    print("\n=== summary")
    for name, code, seconds in results:
        print(f"{name:<18} {'ok' if code == 0 else f'exit {code}':<8} {seconds:6.1f} s")
    return max((code for _, code, _ in results), default=0)


if __name__ == "__main__":
    sys.exit(main())
