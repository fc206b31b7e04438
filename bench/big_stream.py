"""A 200 MiB streamed response and a 50 MiB upload: time and peak memory.

Plain waitress (4 threads, its own process) against the headless inspector as
a user runs it (``python -m ui.launch APP --headless --port 0 --session FILE``:
a host process recording the session, the app in a child process). The app
yields the response in 64 KiB pieces (with a Content-Length, so the bytes on
the wire are the body alone); the client is Python, reading into a 1 MiB
buffer in a loop and discarding. The upload is a POST of 50 MiB, sent in
1 MiB pieces, which the app reads in 64 KiB pieces and discards.

    python bench/big_stream.py            # 7 alternating repetitions, medians
    python bench/big_stream.py --quick    # 3 repetitions of 50 MiB / 20 MiB

Memory is the peak resident set of each process during each transfer: the
plain server; the inspector's host and its app process (found as the host's
child). The kernel's peak (VmHWM) is reset as a transfer starts and read as it
ends; VmRSS is also sampled every 50 ms, in case the reset is not allowed.
Figures are in MB (10^6 bytes); "+N" is the growth over the resident set just
before the transfer. Every repetition starts fresh processes.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import Budget, Figure, add_summary_option, write_summary
from headless_overhead import (
    HOST,
    QUIET,
    Inspector,
    OtherLoad,
    PlainServer,
    count_session,
    machine,
    wait_until_quiet,
)

MIB = 1 << 20
GOAL_TIME = 1.3  # inspector time / plain time, at most
GOAL_RSS = 100e6  # bytes, each of the host and the app process
SAMPLE_EVERY = 0.05
TIMEOUT = 120.0  # per transfer: the socket's timeout, so no transfer hangs forever
STREAM_MIB, UPLOAD_MIB = 200, 50  # the budget's sizes (the defaults)


def _budgets() -> dict[str, Budget]:
    """Rows of bench/run.py's combined table (the issue's budget lines 4 and 5)."""
    found = {}
    for kind, line, mib in (("stream", "4", STREAM_MIB), ("upload", "5", UPLOAD_MIB)):
        key = f"big.{kind}"
        found[f"{key}.time"] = Budget(f"{key}.time", line, f"{kind} {mib} MiB: time",
                                      f"<= {GOAL_TIME:.1f}x plain")
        for proc in ("host", "app"):
            found[f"{key}.rss.{proc}"] = Budget(f"{key}.rss.{proc}", line,
                                                f"{kind} {mib} MiB: {proc} RSS",
                                                f"< {GOAL_RSS / 1e6:.0f} MB")
    return found


BUDGETS = _budgets()

APP_MODULE = "bench_big_stream"
APP_SPEC = f"{APP_MODULE}:app"
APP_SOURCE = '''"""A big streamed download (GET /stream?mib=N) and an upload sink (POST /upload)."""

CHUNK = 64 * 1024
PIECE = bytes(range(256)) * (CHUNK // 256)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/upload":
        stream = environ["wsgi.input"]
        left = int(environ.get("CONTENT_LENGTH") or 0)
        got = 0
        while left > 0:
            data = stream.read(min(CHUNK, left))
            if not data:
                break
            got += len(data)
            left -= len(data)
        body = str(got).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    query = dict(p.partition("=")[::2] for p in environ.get("QUERY_STRING", "").split("&"))
    count = int(query.get("mib") or 1) * 16
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(count * CHUNK))])

    def pieces():
        for _ in range(count):
            yield PIECE

    return pieces()
'''


# -- memory ------------------------------------------------------------------------------

def status_kib(pid: int | None, key: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM), 0 if the process is gone."""
    if not pid:
        return 0
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def reset_peak(pid: int | None) -> bool:
    """Reset the kernel's peak RSS (VmHWM) of a process to its current RSS."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


class RssSampler:
    """Peak RSS of some processes while a block runs.

    The kernel's own peak (VmHWM, reset when the block starts) where allowed,
    and VmRSS sampled every 50 ms from a thread: the larger of the two.
    """

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.base = {name: status_kib(pid, "VmRSS") for name, pid in pids.items()}
        self.peak = dict(self.base)
        self._exact = {name: reset_peak(pid) for name, pid in pids.items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        for name, pid in self.pids.items():
            self.peak[name] = max(self.peak[name], status_kib(pid, "VmRSS"))

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample()
        for name, pid in self.pids.items():
            if self._exact[name]:
                self.peak[name] = max(self.peak[name], status_kib(pid, "VmHWM"))


# -- the client --------------------------------------------------------------------------

def download(port: int, mib: int) -> float:
    """Seconds to fetch /stream?mib=N, reading in a loop and discarding."""
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    buffer = memoryview(bytearray(MIB))
    try:
        began = time.perf_counter()
        conn.request("GET", f"/stream?mib={mib}")
        response = conn.getresponse()
        got = 0
        while True:
            n = response.readinto(buffer)
            if not n:
                break
            got += n
        took = time.perf_counter() - began
    finally:
        conn.close()
    if response.status != 200 or got != mib * MIB:
        raise RuntimeError(f"download: status {response.status}, {got} of {mib * MIB} bytes")
    return took


def upload(port: int, mib: int) -> float:
    """Seconds to POST N MiB to /upload (sent in 1 MiB pieces) and get the answer."""
    piece = bytes(MIB)

    def body() -> Iterator[bytes]:
        for _ in range(mib):
            yield piece

    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    try:
        began = time.perf_counter()
        conn.request("POST", "/upload", body=body(),
                     headers={"Content-Type": "application/octet-stream",
                              "Content-Length": str(mib * MIB)})
        response = conn.getresponse()
        answer = response.read()
        took = time.perf_counter() - began
    finally:
        conn.close()
    if response.status != 200 or answer != str(mib * MIB).encode():
        raise RuntimeError(f"upload: status {response.status}, answer {answer[:80]!r}")
    return took


# -- the measurement -------------------------------------------------------------------

@dataclass
class Case:
    """One transfer kind; lists hold one value per repetition."""

    name: str
    kind: str  # "stream" or "upload"
    plain: list[float] = field(default_factory=list)  # seconds
    inspector: list[float] = field(default_factory=list)
    rss: dict[str, list[int]] = field(default_factory=dict)  # process -> peak kB
    growth: dict[str, list[int]] = field(default_factory=dict)  # process -> peak - base kB

    def add_rss(self, sampler: RssSampler) -> None:
        for name in sampler.pids:
            self.rss.setdefault(name, []).append(sampler.peak[name])
            self.growth.setdefault(name, []).append(sampler.peak[name] - sampler.base[name])

    @property
    def ratio(self) -> float:
        plain = statistics.median(self.plain)
        return statistics.median(self.inspector) / plain if plain else 0.0

    def mb(self, name: str) -> float:
        return statistics.median(self.rss.get(name) or [0]) * 1024 / 1e6

    def grew(self, name: str) -> float:
        return statistics.median(self.growth.get(name) or [0]) * 1024 / 1e6


@dataclass
class Notes:
    worst: dict[str, list[int]] = field(default_factory=dict)  # peak kB per transfer
    sessions: list[str] = field(default_factory=list)
    reloads: int = 0
    other: list[float] = field(default_factory=list)  # cores used by other processes


def transfers(port: int, pids: dict[str, int | None], stream: Case, up: Case,
              stream_mib: int, upload_mib: int, mode: str, notes: Notes) -> str:
    download(port, 1)  # warm-up: imports, first-request paths
    with OtherLoad(lambda: list(pids.values())) as other, RssSampler(pids) as sampler:
        took_stream = download(port, stream_mib)
    getattr(stream, mode).append(took_stream)
    stream.add_rss(sampler)
    notes.other.append(other.cores)
    with OtherLoad(lambda: list(pids.values())) as other, RssSampler(pids) as sampler:
        took_up = upload(port, upload_mib)
    notes.other.append(other.cores)
    getattr(up, mode).append(took_up)
    up.add_rss(sampler)
    for name in pids:
        notes.worst.setdefault(name, []).extend((stream.rss[name][-1], up.rss[name][-1]))
    peaks = ", ".join(f"{name} {stream.rss[name][-1] * 1024 / 1e6:.0f} MB"
                      for name in pids)
    noisy = max(notes.other[-2:])
    return (f"{mode} stream {took_stream:6.2f} s, upload {took_up:5.2f} s "
            f"(stream peaks: {peaks})"
            + (f" [other processes: {noisy:.2f} cores]" if noisy >= QUIET else ""))


def measure(repeats: int, stream_mib: int, upload_mib: int, workdir: Path,
            app_dir: Path) -> tuple[Case, Case, Notes]:
    stream = Case(f"stream {stream_mib} MiB", "stream")
    up = Case(f"upload {upload_mib} MiB", "upload")
    notes = Notes()
    for i in range(repeats):
        order = ("plain", "inspector") if i % 2 == 0 else ("inspector", "plain")
        lines = {}
        for mode in order:
            if mode == "plain":
                with PlainServer(APP_SPEC, app_dir, workdir, "plain") as server:
                    lines[mode] = transfers(server.port, {"plain": server.pid}, stream, up,
                                            stream_mib, upload_mib, mode, notes)
                continue
            session = workdir / f"run-{i}.session"
            with Inspector(APP_SPEC, app_dir, session, workdir / "inspector.log") as inspector:
                pids = {"host": inspector.pid, "app": inspector.app_pid()}
                lines[mode] = transfers(inspector.port, pids, stream, up, stream_mib,
                                        upload_mib, mode, notes)
            notes.reloads += inspector.reloads
            size = session.stat().st_size
            notes.sessions.append(f"{count_session(session)} exchanges, "
                                  f"{size / 1e6:.1f} MB")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(str(session) + suffix).unlink()
        print(f"  repetition {i + 1}/{repeats}: {lines['plain']}", flush=True)
        print(f"  {'':16}{lines['inspector']}", flush=True)
    return stream, up, notes


def report(cases: list[Case], notes: Notes, repeats: int) -> str:
    head = (f"{'case':16} {'plain s':>8} {'inspector s':>11} {'ratio':>6} {'plain RSS':>10} "
            f"{'host peak RSS':>14} {'app peak RSS':>13}  verdict")
    out = [f"big transfers: {repeats} alternating repetitions, medians; RSS in MB "
           "(+ growth during the transfer)", "", head, "-" * len(head)]
    for c in cases:
        misses = []
        if c.ratio > GOAL_TIME:
            misses.append("time above")
        if max(c.mb("host"), c.mb("app")) * 1e6 >= GOAL_RSS:
            misses.append("RSS above")
        out.append(
            f"{c.name:16} {statistics.median(c.plain):8.2f} "
            f"{statistics.median(c.inspector):11.2f} {c.ratio:6.2f} "
            f"{_mb(c, 'plain'):>10} {_mb(c, 'host'):>14} {_mb(c, 'app'):>13}  "
            f"{'; '.join(misses) or 'meets'}")
    out += ["", f"goals: inspector time <= {GOAL_TIME:.1f}x plain waitress; peak RSS of the host "
                f"and of the app process each < {GOAL_RSS / 1e6:.0f} MB", ""]
    worst = ", ".join(f"{name} {max(kib) * 1024 / 1e6:.0f} MB" for name, kib in notes.worst.items())
    out.append(f"worst peak RSS over all repetitions and both transfers: {worst}")
    out.append(f"sessions: {'; '.join(notes.sessions)}")
    noisy = sum(c >= QUIET for c in notes.other)
    out.append(f"other processes during the transfers: median "
               f"{statistics.median(notes.other):.2f}, max {max(notes.other):.2f} cores"
               + (f"; {noisy} of {len(notes.other)} transfers above {QUIET} cores: figures "
                  "are skewed, run again on a quiet machine" if noisy else ""))
    if notes.reloads:
        out.append(f"{notes.reloads} unexpected reload(s) of the app's process")
    out += [machine(), "client: Python http.client, readinto a 1 MiB buffer; server: 4 threads"]
    return "\n".join(out)


def summary_rows(cases: list[Case], notes: Notes) -> list[dict[str, Any]]:
    """The combined table's rows: the figures report() prints, one per budget."""
    rows = []
    busiest = max(notes.other)
    noisy = (f"other processes used up to {busiest:.2f} cores: skewed"
             if busiest >= QUIET else "")  # as report() warns
    for c in cases:
        ratios = [i / p for p, i in zip(c.plain, c.inspector) if p]
        rows.append(BUDGETS[f"big.{c.kind}.time"].row(
            c.ratio <= GOAL_TIME, Figure.of(c.inspector, "s"), name=f"{c.name}: time",
            baseline=Figure.of(c.plain, "s"), baseline_what="waitress",
            ratio=Figure(c.ratio, "x", min(ratios), max(ratios), len(ratios)), notes=noisy))
        for proc in ("host", "app"):
            rows.append(BUDGETS[f"big.{c.kind}.rss.{proc}"].row(
                c.mb(proc) * 1e6 < GOAL_RSS, Figure.of(c.rss[proc], "MB", 1024 / 1e6),
                name=f"{c.name}: {proc} RSS",
                baseline=Figure.of(c.rss["plain"], "MB", 1024 / 1e6), baseline_what="waitress",
                notes=f"{proc} grew +{c.grew(proc):.0f} MB during the transfer "
                      f"(waitress +{c.grew('plain'):.0f} MB)"))
    return rows


def _mb(case: Case, name: str) -> str:
    return f"{case.mb(name):.0f} (+{case.grew(name):.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions, 50 MiB / 20 MiB")
    # A transfer takes a tenth of a second: one disturbed run weighs a lot.
    parser.add_argument("--repeats", type=int, help="repetitions (default 7)")
    parser.add_argument("--stream-mib", type=int, help=f"download size (default {STREAM_MIB})")
    parser.add_argument("--upload-mib", type=int, help=f"upload size (default {UPLOAD_MIB})")
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="S",
                        help="wait up to S seconds for other processes to calm down first")
    add_summary_option(parser)
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    stream_mib = args.stream_mib or (50 if args.quick else STREAM_MIB)
    upload_mib = args.upload_mib or (20 if args.quick else UPLOAD_MIB)
    if args.wait_quiet > 0:
        wait_until_quiet(args.wait_quiet)
    with tempfile.TemporaryDirectory(prefix="big-stream-bench-") as tmp:
        workdir = Path(tmp)
        app_dir = workdir / "app"
        app_dir.mkdir()
        (app_dir / f"{APP_MODULE}.py").write_text(APP_SOURCE)
        stream, up, notes = measure(repeats, stream_mib, upload_mib, workdir, app_dir)
    print()
    print(report([stream, up], notes, repeats))
    write_summary(args.summary, summary_rows([stream, up], notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
