"""Smoke test of the frozen app: ``python packaging/smoke.py dist/wsgi-inspector/wsgi-inspector``.

Runs the built program as a user would, with the standard library only:

1. ``--version`` answers;
2. headless, it serves a small app of the user's (in the user's interpreter: the
   first ``python3`` on PATH), records an exchange and stops cleanly on SIGTERM;
3. with no Python on PATH, it says so and serves the app in its own process;
4. its window starts offscreen, serves, and quits with exit code 0 on SIGTERM;

and each session it recorded converts to HAR with the exchange in it. Exits 0
when all pass, else 1 with what failed.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

WAIT = 90.0  # s: a cold start of a frozen Qt app on a busy 2-core machine
USER_APP = '''\
import os, sys

def app(environ, start_response):
    body = f"{environ['PATH_INFO']} from {sys.executable} pid {os.getpid()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


class SmokeError(Exception):
    pass


class Program:
    """The frozen program running, its stdout read line by line in a thread."""

    def __init__(self, exe: Path, args: Sequence[str], env: dict[str, str], cwd: Path):
        self.proc = subprocess.Popen([str(exe), *args], cwd=cwd, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # end of output

    def url(self) -> str:
        """The address from its "Serving at URL" line."""
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise SmokeError(f"no 'Serving at' line within {WAIT:.0f} s") from None
            if line.startswith("Serving at "):
                return line.split()[-1]
            if line == "":
                raise SmokeError(f"it ended before serving: {self.stop()}")

    def stop(self) -> str:
        """SIGTERM, then its stderr; a SmokeError unless it ended with code 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise SmokeError("it did not stop within the wait after SIGTERM") from None
        if self.proc.returncode != 0 or "Traceback" in err:
            raise SmokeError(f"exit code {self.proc.returncode}; stderr: {err.strip()}")
        return err


def get(url: str, path: str) -> str:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise SmokeError(f"GET {path} answered {response.status}: {body}")
        return body
    finally:
        conn.close()


def recorded_paths(exe: Path, session: Path, env: dict[str, str], cwd: Path) -> list[str]:
    """The request paths in a session, as the frozen program's own HAR export has them."""
    har = session.with_suffix(".har")
    done = subprocess.run([str(exe), "--open", str(session), "--har", str(har)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=WAIT)
    if done.returncode != 0:
        raise SmokeError(f"--open --har failed: {done.stderr.strip()}")
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    return [urlsplit(e["request"]["url"]).path for e in entries]


def serve_once(exe: Path, work: Path, env: dict[str, str], name: str,
               extra: Sequence[str] = ()) -> tuple[str, str]:
    """Serve the user's app, send one request, stop: (the app's answer, stderr)."""
    session = work / f"{name}.wsgi-session"
    args = ["userapp:app", "--app-dir", str(work), "--port", "0", "--session", str(session),
            "--no-reload", *extra]
    program = Program(exe, args, env, work)
    try:
        body = get(program.url(), f"/{name}")
    finally:
        err = program.stop()
    paths = recorded_paths(exe, session, env, work)
    if paths != [f"/{name}"]:
        raise SmokeError(f"the session holds {paths}, not [/{name}]")
    return body, err


def check_version(exe: Path, env: dict[str, str], work: Path) -> str:
    done = subprocess.run([str(exe), "--version"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=WAIT)
    if done.returncode != 0 or not done.stdout.startswith("wsgi-inspector "):
        raise SmokeError(f"--version: {done.stdout}{done.stderr}")
    return done.stdout.strip()


def check_headless(exe: Path, env: dict[str, str], work: Path) -> str:
    if shutil.which("python3", path=env["PATH"]) is None:
        raise SmokeError("no python3 on PATH to run the user's app with")
    body, _ = serve_once(exe, work, env, "headless", ["--headless"])
    if f"from {exe} " in body:
        raise SmokeError(f"the app ran inside the frozen program, not under python3: {body}")
    return body


def check_no_python(exe: Path, env: dict[str, str], work: Path) -> str:
    empty = work / "no-python-here"
    empty.mkdir(exist_ok=True)
    body, err = serve_once(exe, work, dict(env, PATH=str(empty)), "in-process", ["--headless"])
    if "served in this process" not in err or f"from {exe} " not in body:
        raise SmokeError(f"without python3 it should say so and serve itself: {err} / {body}")
    return body


def check_window(exe: Path, env: dict[str, str], work: Path) -> str:
    body, err = serve_once(exe, work, dict(env, QT_QPA_PLATFORM="offscreen"), "window")
    if "headless" in err:  # the window could not start, and it served without one
        raise SmokeError(f"the window did not start: {err.strip()}")
    return body


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: python packaging/smoke.py dist/wsgi-inspector/wsgi-inspector",
              file=sys.stderr)
        return 2
    exe = Path(argv[0]).resolve()
    with tempfile.TemporaryDirectory(prefix="wsgi-inspector-smoke-") as tmp:
        work = Path(tmp)
        (work / "userapp.py").write_text(USER_APP)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QT_"))}
        env.update(XDG_DATA_HOME=str(work / "data"), XDG_CONFIG_HOME=str(work / "config"))
        failed = 0
        for check in (check_version, check_headless, check_no_python, check_window):
            try:
                print(f"ok   {check.__name__}: {check(exe, env, work)}")
            except (SmokeError, OSError, ValueError, KeyError) as exc:
                failed += 1
                print(f"FAIL {check.__name__}: {exc}")
    print("smoke test passed" if not failed else f"smoke test: {failed} check(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
