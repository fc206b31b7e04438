"""What reading a session file as data only costs: opened file vs the process's own rows.

A session of ``--exchanges`` realistic exchanges (bench/session_scale.py's mix) is
written once; then, in this one process and interleaved ``--reps`` times:

1. **Listing.** ``Store.open`` (summary columns, each row's column types checked by
   SQLite) against the same SELECT without the type check, the code before it.
2. **Loading every exchange.** ``Store.get`` of every row of the opened file: records
   decoded data-only and checked field by field (``strict``, a file opened); checked
   field by field only (``strict=False``, the rows a process records itself); and,
   the baseline, unpickled and built with no check (the code before); and ``strict``
   with the ring records checked as before the memo check ("strict, 9x"), for the
   cost of that check.

The rows hold each event as the agent's ring record, as a real recording does.

Medians and ratios; both sides run in the same interpreter on the same file.

    python bench/session_read.py                   # 100k exchanges, 3 repetitions
    python bench/session_read.py --exchanges 20000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from session_scale import write_session  # noqa: E402

from inspector import wire  # noqa: E402
from inspector.host import records  # noqa: E402
from inspector.host import store as store_module  # noqa: E402
from inspector.host.store import Store  # noqa: E402

CHECK_RECORD = records.check_record
LOADS_RECORDS = records.loads_records


def loads_records_before(items: list[bytes], *, strict: bool = False) -> list[object]:
    """The strict ring-record reading before the memo check: each decoded, then
    re-pickled within 2x of nine times its size (the shared words written out)."""
    values = []
    for data in items:
        value = next(wire.loads_each(data, [(0, len(data))]))
        if strict:
            wire._check_strict(value, 9 * len(data))
        values.append(value)
    return values


def list_checked(path: Path) -> float:
    started = time.perf_counter()
    Store.open(path).close()
    return time.perf_counter() - started


def list_unchecked(path: Path) -> float:
    """The same Store.open with no type check of the columns (the code before it)."""
    fits = store_module._ROW_FITS
    store_module._ROW_FITS = "1"
    try:
        return list_checked(path)
    finally:
        store_module._ROW_FITS = fits


def load_all(path: Path, how: str) -> float:
    store = Store.open(path)
    store._strict = how.startswith("strict")  # False: as the rows this process records
    if how == "before":  # unpickled and built, no check at all: the code before
        records.check_record = lambda plain: None
    if how == "strict9":
        records.loads_records = loads_records_before
    started = time.perf_counter()
    try:
        for exchange in store.exchanges():
            del exchange
    finally:
        records.check_record = CHECK_RECORD
        records.loads_records = LOADS_RECORDS
    took = time.perf_counter() - started
    store.close()
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="session-read-") as tmp:
        path = Path(tmp) / "read.wsgi-session"
        print(f"writing {args.exchanges:,} exchanges ...", file=sys.stderr)
        write_session(path, args.exchanges, as_sent=True)
        times: dict[str, list[float]] = {
            k: [] for k in ("list", "list0", "strict", "strict9", "trusted", "before")}
        for _ in range(args.reps):  # interleaved: a noisy moment hits every side
            times["list0"].append(list_unchecked(path))
            times["list"].append(list_checked(path))
            for how in ("before", "trusted", "strict9", "strict"):
                times[how].append(load_all(path, how))
    med = {k: statistics.median(v) for k, v in times.items()}
    n = args.exchanges
    print(f"session read: {n:,} exchanges, median of {args.reps}, same process and file")
    print(f"listing (Store.open):  checked {med['list'] * 1000:7.0f} ms   unchecked "
          f"{med['list0'] * 1000:7.0f} ms   ratio {med['list'] / med['list0']:.2f}")
    before = med["before"]
    for how, what in (("trusted", "fields checked (rows of this process)"),
                      ("strict9", "the same, records checked as before"),
                      ("strict", "data-only + fields checked (a file opened)")):
        print(f"loading every row, {what:42} {med[how] / n * 1e6:6.1f} us/row, "
              f"{med[how] / before:.2f}x unchecked ({before / n * 1e6:.1f} us/row)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
