"""The agent's share per request, without the network: capture and emit into a ring.

N requests of the lesson's hello app (an iterator of one item, so the exchange
is begin, one chunk, end) go through the agent's real ``Capture`` and the
app process's real ``Uplink`` into a shared-memory ring large enough that no
reader is needed; the environ is a waitress environ with its per-request
objects (the body stream, the disconnect check) made anew each time. The
figure is this process's CPU time per request, with and without the agent,
alternating; ``--source DIR`` runs another source tree (a checkout of an
earlier commit) the same way for a before/after.

Instruction counts do not depend on what else the machine does: run it under
callgrind at two sizes and divide the difference (``--requests 300`` and
``1300``: the setup cancels out):

    python bench/agent_cpu.py                              # 7 rounds of 20000
    valgrind --tool=callgrind python bench/agent_cpu.py --once capture --requests 1300
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]


def hello(environ: dict[str, Any], start_response: Callable) -> Any:
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return iter([body])


class _Channel:
    def check_client_disconnected(self) -> bool:
        return False


ENVIRON = {
    "REMOTE_ADDR": "127.0.0.1", "REMOTE_HOST": "127.0.0.1", "REMOTE_PORT": "40000",
    "REQUEST_METHOD": "GET", "SERVER_PORT": "8000", "SERVER_NAME": "localhost",
    "SERVER_SOFTWARE": "waitress", "SERVER_PROTOCOL": "HTTP/1.1", "SCRIPT_NAME": "",
    "PATH_INFO": "/", "REQUEST_URI": "/?x=1", "QUERY_STRING": "x=1",
    "wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "wrk",
    "HTTP_ACCEPT": "*/*", "wsgi.version": (1, 0), "wsgi.errors": sys.stderr,
    "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
    "wsgi.input_terminated": True, "wsgi.file_wrapper": io.BufferedReader,
}


def served(app: Callable, count: int) -> float:
    """Serve ``count`` requests as waitress would call the app; CPU seconds taken."""
    channel = _Channel()

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Callable:
        return lambda data: None

    started = time.process_time()
    for _ in range(count):
        environ = dict(ENVIRON)
        environ["wsgi.input"] = io.BytesIO(b"")
        environ["waitress.client_disconnected"] = channel.check_client_disconnected
        result = app(environ, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return time.process_time() - started


def apps(requests: int) -> dict[str, Callable]:
    """The bare app and the app under the agent, its events into a ring."""
    from inspector import ring
    from inspector.agent.capture import Capture
    from inspector.agent.child import Uplink
    from inspector.agent.stepping import SteppedFlight

    # Room for every record: nobody reads them (about 1.2 KB a request).
    _fd, mapping = ring.create(max(64 << 20, requests * 2048))
    ours, _theirs = socket.socketpair()
    uplink = Uplink(ours, mapping)
    return {"bare": hello, "capture": Capture(hello, uplink.emit, stepped=SteppedFlight)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--source", type=Path, help="another source tree to measure")
    parser.add_argument("--once", choices=("bare", "capture"),
                        help="serve --requests once, print nothing (for callgrind)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.source or ROOT))
    chosen = apps(args.requests * (1 if args.once else args.rounds + 1))
    if args.once:
        served(chosen[args.once], args.requests)
        os._exit(0)  # the uplink's thread: no need to wait for it
    served(chosen["capture"], 1000)  # warm
    times: dict[str, list[float]] = {"bare": [], "capture": []}
    for _ in range(args.rounds):
        for name, app in chosen.items():
            times[name].append(served(app, args.requests) / args.requests * 1e6)
    bare, capture = (statistics.median(times[k]) for k in ("bare", "capture"))
    print(f"agent_cpu ({args.source or ROOT}): {args.rounds} rounds of {args.requests} "
          f"requests: bare app {bare:.2f} us, under the agent {capture:.2f} us: "
          f"the agent's share {capture - bare:.2f} us per request (CPU time, medians)")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
