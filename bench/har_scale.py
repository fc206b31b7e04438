"""HAR export and import of a 100,000-exchange session: time and peak memory.

Setup (not measured, only reported): a session of ``--exchanges`` realistic
exchanges written through the real ``Store.put`` (the builder of
``session_scale.py``).

Then, each in a fresh process whose peak RSS comes from the kernel
(``ru_maxrss`` of that child, through ``os.wait4``):

1. **export**: ``python -m ui.launch --open SESSION --har OUT.har``, the command
   a user runs. Baseline: a child that only reads every exchange of the session
   (``Store.exchanges()``), the floor any export pays.
2. **import**: the HAR written by 1 into a new session, as the window's
   "Open Session or HAR" does (``export.add_har``; with code that has no
   ``add_har``, ``store.add(read_har(...))`` as it did before). Baseline: a child
   that only parses the HAR's entries with ijson, building nothing.
3. **convert HAR to HAR**: ``python -m ui.launch --open OUT.har --har AGAIN.har``
   (import and export, no session in between).

    python bench/har_scale.py               # 100k exchanges
    python bench/har_scale.py --quick       # 20k exchanges
    python bench/har_scale.py --exchanges N

Goals: export and import of 100k each under 15 s and under 200 MB peak RSS
(MB = 10^6 bytes).

Internal entry (one measurement, prints one JSON line):

    python bench/har_scale.py --child read|import|parse --source F [--target F]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXCHANGES = 100_000
QUICK = 20_000
GOAL_SECONDS = 15.0
GOAL_MB = 200.0


# -- children -------------------------------------------------------------------------------

def child_write(target: str, count: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).parent))
    from session_scale import write_session

    return {"count": count, "seconds": write_session(Path(target), count)}


def child_read(source: str) -> dict[str, Any]:
    from inspector.host.store import Store

    with Store.open(source) as store:
        count = sum(1 for _ in store.exchanges())
    return {"count": count}


def child_parse(source: str) -> dict[str, Any]:
    import ijson

    with open(source, "rb") as f:
        count = sum(1 for _ in ijson.items(f, "log.entries.item", use_float=True))
    return {"count": count, "backend": ijson.backend}


def child_import(source: str, target: str) -> dict[str, Any]:
    from inspector.host import export
    from inspector.host.store import Store

    with Store(target) as store:
        if hasattr(export, "add_har"):
            count = export.add_har(store, source)
        else:  # the code before streaming: the whole file, then every exchange at once
            exchanges = export.read_har(source)
            store.add(exchanges)
            store.flush()
            count = len(exchanges)
    return {"count": count}


# -- the parent --------------------------------------------------------------------------------

def measure(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd``; its wall time, peak RSS (MB, from os.wait4) and its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                "rss": usage.ru_maxrss * 1024 / 1e6,  # KiB on Linux
                "code": proc.returncode, "out": out.read().decode(errors="replace"),
                "err": err.read().decode(errors="replace")}


def run(cmd: list[str], what: str) -> dict[str, Any]:
    result = measure(cmd)
    if result["code"]:
        raise RuntimeError(f"{what} failed (exit {result['code']}):\n{result['err'][-3000:]}")
    lines = [ln for ln in result["out"].splitlines() if ln.startswith("{")]
    result["json"] = json.loads(lines[-1]) if lines else {}
    return result


def child(kind: str, source: Path, target: Path | None = None) -> list[str]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, "--source", str(source)]
    return [*cmd, "--target", str(target)] if target else cmd


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.launch", *args]


def verdict(seconds: float, rss: float) -> str:
    return "meets" if seconds < GOAL_SECONDS and rss < GOAL_MB else "misses"


def report(count: int, setup: float, sizes: dict[str, int], rows: list[tuple[str, dict, dict]],
           backend: str) -> str:
    head = (f"{'figure':34} {'baseline':>18} {'measured':>18} {'time ratio':>10} "
            f"{'goal':>16}  verdict  {'CPU s':>11}")
    out = [f"HAR scale: {count:,} exchanges, each step in a fresh process", "", head,
           "-" * len(head)]
    for name, base, got in rows:
        ratio = got["seconds"] / base["seconds"] if base["seconds"] else 0.0
        out.append(f"{name:34} {base['seconds']:7.1f} s {base['rss']:6.0f} MB "
                   f"{got['seconds']:7.1f} s {got['rss']:6.0f} MB {ratio:10.2f} "
                   f"{'< 15 s, < 200 MB':>16}  {verdict(got['seconds'], got['rss']):7}"
                   f"  {base['cpu']:4.1f} {got['cpu']:5.1f}")
    out += [
        "",
        f"setup: session written through Store.put in {setup:.1f} s "
        f"({sizes['session'] / 1e6:.0f} MB on disk); HAR {sizes['har'] / 1e6:.0f} MB",
        "baselines: export = reading every exchange of the session; import and convert = "
        f"parsing every HAR entry with ijson ({backend}), nothing built",
        "peak RSS = ru_maxrss of each child (os.wait4); MB = 10^6 bytes; CPU s = its user +"
        " system time (baseline, measured): steadier than wall time on a busy machine",
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}; "
        f"Python {platform.python_version()}",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} exchanges")
    parser.add_argument("--exchanges", type=int, default=None)
    parser.add_argument("--child", choices=("write", "read", "import", "parse"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "write":
            result = child_write(args.target, args.exchanges)
        elif args.child == "read":
            result = child_read(args.source)
        elif args.child == "parse":
            result = child_parse(args.source)
        else:
            result = child_import(args.source, args.target)
        print(json.dumps(result), flush=True)
        return 0

    count = args.exchanges or (QUICK if args.quick else EXCHANGES)
    with tempfile.TemporaryDirectory(prefix="har-scale-") as tmp:
        work = Path(tmp)
        session, har, again = work / "s.wsgi-session", work / "out.har", work / "again.har"
        print(f"writing {count:,} exchanges ...", flush=True)
        # In a child too: a child's peak RSS counts the parent's pages it was forked from.
        setup = run([*child("write", session, session), "--exchanges", str(count)],
                    "writing the session")["json"]["seconds"]
        print("  export ...", flush=True)
        read = run(child("read", session), "reading the session")
        exported = run(cli("--open", str(session), "--har", str(har)), "the export")
        print("  import ...", flush=True)
        parse = run(child("parse", har), "parsing the HAR")
        imported = run(child("import", har, work / "imported.wsgi-session"), "the import")
        print("  convert ...", flush=True)
        converted = run(cli("--open", str(har), "--har", str(again)), "the conversion")
        sizes = {"session": session.stat().st_size, "har": har.stat().st_size}
        counts = {read["json"]["count"], parse["json"]["count"], imported["json"]["count"]}
        if counts != {count}:
            raise RuntimeError(f"counts differ: {counts} (expected {count})")
    rows = [("export session -> HAR (CLI)", read, exported),
            ("import HAR -> session (window)", parse, imported),
            ("convert HAR -> HAR (CLI)", parse, converted)]
    print()
    print(report(count, setup, sizes, rows, parse["json"]["backend"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
