"""Headless stepping end to end: a real `wsgi-inspector --headless --break` process,
real HTTP from client threads, commands written to its stdin, pauses read from its
stdout."""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inspector.agent.stepping import ABORT_BODY
from inspector.host.cli import Stepper, parse_args
from tests.conftest import fetch

TIMEOUT = 30.0

APP = """\
def app(environ, start_response):
    body = b"hi " + environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


class Client(threading.Thread):
    """A GET from its own thread."""

    def __init__(self, port: int, target: str) -> None:
        super().__init__(name=f"client {target}", daemon=True)
        self.port, self.target = port, target
        self.answer: tuple[int, dict[str, str], bytes] | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.answer = fetch(self.port, "GET", self.target)
        except Exception as exc:
            self.error = exc

    def result(self) -> tuple[int, bytes]:
        self.join(TIMEOUT)
        assert not self.is_alive(), f"{self.name} still waits for its answer"
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer[0], self.answer[2]


class Headless:
    """The running command: its stdout read line by line in a thread."""

    def __init__(self, project: Path, *options: str) -> None:
        self.stderr = project / "stderr.txt"
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ui.launch", "web:app", "--headless", "--port", "0",
                 "--session", str(project / "s.wsgi-session"), *options],
                cwd=project, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                text=True, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = int(self.expect("Serving at ")[-1].rstrip().rstrip("/").rsplit(":", 1)[1])
        self.clients: list[Client] = []

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, text: str) -> list[str]:
        """Lines up to and including the first one containing ``text``."""
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} within {TIMEOUT} s; "
                                     f"got {seen}") from None
            if line is None:
                raise AssertionError(f"output ended before {text!r}; got {seen}; "
                                     f"stderr: {self.stderr.read_text()}")
            seen.append(line)
            if text in line:
                return seen

    def pause(self, title: str) -> list[str]:
        """The block of the next pause, at ``title`` ("#1 received", "#1 chunk 1")."""
        xid, phase = title.split(" ", 1)
        block = self.expect(f"--- {xid} paused at {phase}:")
        return block[-1:] + self.expect(f"[{title}]")

    def type(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def get(self, target: str) -> Client:
        client = Client(self.port, target)
        self.clients.append(client)
        return client

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(TIMEOUT)
        self.close()
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(TIMEOUT)
        for client in self.clients:
            client.join(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()


@pytest.fixture
def headless(tmp_path: Path) -> Iterator[Any]:
    (tmp_path / "web.py").write_text(APP)
    started: list[Headless] = []

    def start(*options: str) -> Headless:
        started.append(Headless(tmp_path, *options))
        return started[-1]

    yield start
    for run in started:
        run.close()


pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGTERM")


@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["isolated", "in-process"])
def test_step_a_request_through_every_phase(headless: Any, mode: list[str]) -> None:
    run = headless("--break", "path:/x", *mode)
    run.expect("Breakpoints: path:/x")
    client = run.get("/x?q=1")
    block = run.pause("#1 received")
    assert block[1].split() == ["GET", "/x?q=1", "HTTP/1.1"]
    assert any(line.strip().startswith("Host: 127.0.0.1:") for line in block)
    assert "s step" in block[-1] and "? help" in block[-1]
    run.type("s")
    block = run.pause("#1 start_response")
    assert block[1:4] == ["    200 OK", "    Content-Type: text/plain", "    Content-Length: 5"]
    run.type("s")
    assert "    5 bytes: 'hi /x'" in run.pause("#1 chunk 1")
    run.type("p")  # the same data again
    assert "    5 bytes: 'hi /x'" in run.pause("#1 chunk 1")
    run.type("?")
    assert any("c all, C" in line for line in run.expect("this help"))
    run.type("s")
    assert "    200 OK; 5 bytes of body sent" in run.pause("#1 closed")
    run.type("s")
    assert client.result() == (200, b"hi /x")
    assert any(" GET /x?q=1 200 " in line for line in run.expect(" GET /x"))
    # A request that does not match is not paused.
    assert run.get("/y").result() == (200, b"hi /y")
    lines = run.expect(" GET /y ")
    assert not any("paused" in line for line in lines)
    run.type("s")
    run.expect("Nothing is paused.")
    assert run.stop() == 0


def test_several_paused_abort_continue_all_and_end_of_input(headless: Any) -> None:
    run = headless("--break", "path:/x", "--break", "header:X-Nothing")
    run.expect("Breakpoints: path:/x, header:X-Nothing")
    first = run.get("/x/1")
    run.pause("#1 received")
    second = run.get("/x/2")
    block = run.pause("#2 received")
    assert any("commands go to the oldest, #1" in line for line in block)
    run.type("a")
    run.expect("2 requests are paused; this goes to the oldest, #1")
    assert first.result() == (502, ABORT_BODY)
    run.type("s 2")  # by id
    run.pause("#2 start_response")
    run.type("c 7")
    run.expect("#7 is not paused; paused: #2.")
    run.type("c all")
    run.expect("Continuing every paused request (1).")
    assert second.result() == (200, b"hi /x/2")
    third = run.get("/x/3")
    run.pause("#3 received")
    run.proc.stdin.close()  # type: ignore[union-attr]
    run.expect("Input closed: every paused request continues")
    assert third.result() == (200, b"hi /x/3")
    assert run.get("/x/4").result() == (200, b"hi /x/4")  # no longer armed
    lines = run.expect(" GET /x/4 200 ")
    assert not any("paused" in line for line in lines)
    assert run.stop() == 0


def test_abort_drop_and_continue(headless: Any) -> None:
    run = headless("--break", "*", "--in-process")
    cut = run.get("/cut")
    run.pause("#1 received")
    run.type("a drop")
    with pytest.raises((http.client.HTTPException, ConnectionError)):  # cut
        cut.result()
    go = run.get("/go")
    run.pause("#2 received")
    run.type("C")
    assert go.result() == (200, b"hi /go")
    assert run.stop() == 0


def test_break_is_repeatable() -> None:
    args = parse_args(["web:app", "--headless", "--break", "path:/x", "--break",
                       "method:POST header:X-Debug"])
    assert args.breaks == ["path:/x", "method:POST header:X-Debug"]
    assert parse_args(["web:app"]).breaks == []


def test_stepper_unit_output_and_commands() -> None:
    out = io.StringIO()
    sent: list[dict[str, Any]] = []
    stepper = Stepper(out, ["path:/x"])
    stepper.send = lambda message: sent.append(message) or True
    stepper.event({"type": "paused", "id": 3, "gen": 1, "phase": "chunk", "index": 2,
                   "data": bytes(range(200, 256))})
    assert "--- #3 paused at chunk 2:" in out.getvalue()
    assert "56 bytes: c8 c9 ca" in out.getvalue()  # not text: hex
    stepper.command("a drop")
    stepper.command("x")
    assert sent == [{"type": "abort", "id": 3, "mode": "drop"}]
    assert "Unknown command 'x'" in out.getvalue()
    stepper.read(iter([]))  # end of input
    assert sent[-2:] == [{"type": "arm", "breakpoints": []}, {"type": "continue_all"}]
    stepper.event({"type": "paused", "id": 4, "gen": 1, "phase": "received", "environ": {}})
    assert sent[-1] == {"type": "continue", "id": 4}  # nobody left to answer it
