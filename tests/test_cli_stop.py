"""Stopping `wsgi-inspector --headless` at any moment: a real process, real signals.

Each case runs several times: the failures these guard against were races
between the signal and the start-up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from inspector.host.store import Store
from tests.conftest import get

ROUNDS = 5
GATED = (str(Path(__file__).with_name("gated_stdout.py")),)  # a terminal that holds it up

APP = """\
def app(environ, start_response):
    body = b"hi " + environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""

# An import that tells the test it has begun, then waits for the test (or the end
# of the connection): the app is "still importing" for as long as the test likes.
SLOW_APP = """\
import os, socket

_gate = socket.create_connection(("127.0.0.1", int(os.environ["IMPORT_GATE"])))
_gate.sendall(b"importing")
_gate.recv(1)

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slow"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "web.py").write_text(APP)
    (tmp_path / "slow.py").write_text(SLOW_APP)
    return tmp_path


@contextmanager
def headless(project: Path, spec: str, name: str, env: dict[str, str] | None = None,
             launcher: tuple[str, ...] = ("-m", "ui.launch")) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, *launcher, spec, "--headless", "--port", "0",
         "--session", str(project / f"{name}.wsgi-session"), "--har", str(project / f"{name}.har")],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@contextmanager
def gate() -> Iterator[tuple[socket.socket, str]]:
    """A listening socket the app's import or a slowed terminal waits on; and its port."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(60)
        yield listener, str(listener.getsockname()[1])


def serving_port(proc: subprocess.Popen[str]) -> int:
    while True:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line, proc.stderr.read()  # type: ignore[union-attr]
        if line.startswith("Serving at "):
            return int(line.split()[-1].rstrip("/").rsplit(":", 1)[1])


def ended_cleanly(proc: subprocess.Popen[str]) -> str:
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode == 0, err
    return err


def recorded(project: Path, name: str) -> tuple[list[str], list[str]]:
    """The paths in the session and in the HAR file."""
    with Store.open(project / f"{name}.wsgi-session") as store:
        in_session = [x.path for x in store.exchanges()]
    entries = json.loads((project / f"{name}.har").read_text())["log"]["entries"]
    return in_session, [e["request"]["url"].rsplit("/", 1)[1] for e in entries]


@pytest.mark.parametrize("signals", [[signal.SIGINT], [signal.SIGINT, signal.SIGINT],
                                     [signal.SIGTERM]],
                         ids=["sigint", "two-sigints", "sigterm"])
def test_stop_right_after_the_first_request_keeps_it(project: Path,
                                                      signals: list[int]) -> None:
    """The port serves before the host has finished starting. Its terminal holds it up
    just after "Serving at" here, so the request and the signals come at that point
    every time (the race users met now and then)."""
    with gate() as (listener, port):
        env = {"STDOUT_GATE": port, "STDOUT_GATE_TEXT": "Serving at "}
        for round in range(ROUNDS):
            name = f"r{round}"
            with headless(project, "web:app", name, env, launcher=GATED) as proc:
                conn, _ = listener.accept()
                with conn:
                    assert conn.recv(16) == b"printed"
                    assert get(serving_port(proc), "/one") == (200, b"hi /one")
                    for sig in signals:
                        proc.send_signal(sig)
                ended_cleanly(proc)
            assert recorded(project, name) == (["/one"], ["one"])


def test_sigint_while_the_app_is_importing_ends_cleanly(project: Path) -> None:
    with gate() as (listener, port):
        for round in range(ROUNDS):
            name = f"r{round}"
            with headless(project, "slow:app", name, {"IMPORT_GATE": port}) as proc:
                conn, _ = listener.accept()
                with conn:
                    assert conn.recv(16) == b"importing"
                    proc.send_signal(signal.SIGINT)
                    if round % 2:
                        proc.send_signal(signal.SIGINT)
                    ended_cleanly(proc)  # while the app's import still waits
            assert recorded(project, name) == ([], [])


EXITS = """\
import os

def app(environ, start_response):
    if environ["PATH_INFO"] == "/die":
        os._exit(3)  # the app's own exit code: a crash like any other
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
"""


def test_a_request_that_kills_the_app_is_in_the_har_as_no_reply(project: Path) -> None:
    (project / "exits.py").write_text(EXITS)
    with headless(project, "exits:app", "exits") as proc:
        port = serving_port(proc)
        with pytest.raises(OSError):  # the connection closes without an answer
            get(port, "/die")
        line = proc.stdout.readline()  # type: ignore[union-attr]
        while not line.startswith(("Restarted", "Reloaded")):
            assert line, proc.stderr.read()  # type: ignore[union-attr]
            line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("Restarted; serving at ")  # not a reload: it died
        assert get(port, "/ok") == (200, b"ok")
        proc.send_signal(signal.SIGINT)
        err = ended_cleanly(proc)
    assert "exited with code 3; restarting it" in err
    entries = json.loads((project / "exits.har").read_text())["log"]["entries"]
    died, ok = entries
    assert died["request"]["url"].endswith("/die") and died["response"]["status"] == 0
    assert died["_wsgi"]["client_dropped"] is True and ok["_wsgi"]["client_dropped"] is False
