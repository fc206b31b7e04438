"""How long `wsgi-inspector --headless` takes to stop on SIGINT, idle and under load.

Each round starts the real command line (``python -m ui.launch APP --headless
--port 0 --session FILE``, the app isolated in its own process) on a hello
app, then sends SIGINT and times until the process has exited:

- idle: nothing in flight (the baseline);
- loaded: while 16 keep-alive client threads send requests as fast as they
  can (for ``--load`` seconds first).

The session is then opened and its exchanges counted against the answers the
clients got: every answered request must be in it. Rounds alternate idle and
loaded; the table shows medians and the ratio loaded / idle. No HAR is written
(its time grows with the recording; see har_scale.py).

    python bench/stop_time.py            # 5 rounds, 2 s of load each
    python bench/stop_time.py --quick    # 3 rounds, 1 s of load
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]
"""
CLIENTS = 16


def start(project: Path, session: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.launch", "web:app", "--headless", "--port", "0",
         "--session", str(session)], cwd=project, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})  # this checkout's code, installed or not
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("Serving at "):
            port = int(line.split()[-1].rstrip("/").rsplit(":", 1)[1])
            break
    else:
        raise RuntimeError("the command line did not start")
    # Keep reading the access log, or a full pipe would hold the host up.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    return proc, port


def client(port: int, stop: threading.Event, answered: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    count = 0
    try:
        while not stop.is_set():
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            count += response.status == 200
    except (OSError, http.client.HTTPException):
        pass  # the server went away: the stop under test
    finally:
        answered.append(count)


def one_round(project: Path, n: int, load: float) -> tuple[float, int, int]:
    """Seconds from SIGINT to exit; answered requests; exchanges in the session."""
    from inspector.host.store import Store

    session = project / f"r{n}.wsgi-session"
    proc, port = start(project, session)
    stop, answered = threading.Event(), []
    threads = [threading.Thread(target=client, args=(port, stop, answered), daemon=True)
               for _ in range(CLIENTS if load else 0)]
    for thread in threads:
        thread.start()
    if load:
        time.sleep(load)  # the load runs this long before the stop
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    took = time.monotonic() - began
    stop.set()
    for thread in threads:
        thread.join(15)
    if proc.returncode != 0:
        raise RuntimeError(f"exit code {proc.returncode}")
    with Store.open(session) as store:
        recorded = len(store)
    return took, sum(answered), recorded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, 1 s of load")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--load", type=float, help="seconds of load before the stop")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
    load = args.load or (1.0 if args.quick else 2.0)
    idle: list[float] = []
    loaded: list[float] = []
    missing = 0
    answered_total = 0
    with tempfile.TemporaryDirectory(prefix="stop-time-") as tmp:
        project = Path(tmp)
        (project / "web.py").write_text(APP)
        for n in range(rounds):
            idle.append(one_round(project, 2 * n, 0)[0])
            took, answered, recorded = one_round(project, 2 * n + 1, load)
            loaded.append(took)
            missing += max(answered - recorded, 0)
            answered_total += answered
            print(f"  round {n + 1}: idle {idle[-1]:.2f} s, loaded {took:.2f} s "
                  f"({answered} answered, {recorded} recorded)", flush=True)
    base, got = statistics.median(idle), statistics.median(loaded)
    print()
    print(f"stop on SIGINT, headless, isolated app; {rounds} rounds, {CLIENTS} keep-alive "
          f"clients for {load:g} s before each loaded stop")
    print(f"{'figure':30} {'idle (baseline)':>16} {'loaded':>10} {'ratio':>6}")
    print(f"{'SIGINT -> exit, median':30} {base:14.2f} s {got:8.2f} s {got / base:6.2f}")
    print(f"{'range':30} {min(idle):6.2f}-{max(idle):.2f} s {min(loaded):5.2f}-{max(loaded):.2f} s")
    print(f"answered but not recorded: {missing} of {answered_total}")
    print(f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}; "
          f"Python {platform.python_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
