"""The isolated app process: real children, real waitress on 127.0.0.1, real HTTP.

Nothing here sleeps: tests wait on the events and statuses the host reports, and
crashing requests wait at a gate (a loopback socket) until the host has seen them.
"""

from __future__ import annotations

import http.client
import os
import pickle
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inspector import ring, wire
from inspector.host import process
from inspector.host.inprocess import InProcessApp
from inspector.host.process import (
    CRASH_LIMIT,
    AppProcess,
    Options,
    Status,
    agent_path,
    describe_exit,
    find_python,
)
from inspector.host.store import Store
from inspector.model import ST_COMPLETE, ST_FAILED, Exchange
from tests.appproc import (
    TIMEOUT,
    Gate,
    Recorder,
    fetch,
    poll_until,
    running,
    write_app,
)
from tests.factories import exchange_events

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals, /proc and venv layout")

COMPLETE_PHASES = ["received", "app_called", "start_response", "chunk", "closed"]
DROPPED = (http.client.RemoteDisconnected, ConnectionError)  # what a client sees when it dies


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.close()


@pytest.fixture
def run_app(recorder: Recorder) -> Iterator[Callable[..., Any]]:
    """``run_app(options, kind=AppProcess)``: started, and stopped after the test."""
    apps: list[Any] = []

    def run(options: Options, kind: Any = AppProcess) -> Any:
        app = kind(options, recorder.on_event, recorder.on_status)
        apps.append(app)
        app.start()
        return app

    yield run
    for app in apps:
        app.stop()


def join(thread: threading.Thread) -> None:
    thread.join(TIMEOUT)
    assert not thread.is_alive(), f"{thread.name} did not finish"


# -- serving and recording ------------------------------------------------------------

def check_recording(recorder: Recorder, url: str, gen: int) -> None:
    """Requests to the test app arrive complete, bodies byte for byte."""
    status, headers, body = fetch(url, "/hello?q=1")
    assert (status, body) == (200, b"hello v1")
    x = recorder.wait_exchange(gen, "/hello")
    assert x.state == ST_COMPLETE
    assert (x.method, x.query) == ("GET", "q=1")
    assert x.env("SERVER_PORT") == str(url.rsplit(":", 1)[1].strip("/"))
    # Over the wire, pairs arrive as JSON lists; in-process as tuples.
    assert tuple(x.environ["wsgi.multithread"]) == ("True", "bool")
    assert x.status == "200 OK"
    assert [tuple(h) for h in x.app_headers] == [("Content-Type", "text/plain; charset=utf-8"),
                         ("Content-Length", "8"), ("X-Pid", headers["X-Pid"])]
    assert (x.response_body, x.response_size, x.request_size) == (b"hello v1", 8, 0)
    assert [(o.stream, o.text, o.level, o.logger) for o in x.output] == [
        ("stdout", "serving /hello", "", ""), ("log", "logged /hello", "WARNING", "web")]
    assert [p.name for p in x.phases] == COMPLETE_PHASES
    assert x.duration is not None and x.duration >= x.phase_time("start_response") >= 0

    every_byte = bytes(range(256))
    status, _, body = fetch(url, "/bytes")
    assert (status, body) == (200, every_byte)
    x = recorder.wait_exchange(gen, "/bytes")
    assert (x.response_body, x.response_size, x.state) == (every_byte, 256, ST_COMPLETE)

    sent = every_byte[::-1] * 3 + b"\x00\r\n\xff"
    status, _, body = fetch(url, "/echo", method="POST", body=sent)
    assert (status, body) == (200, sent[::-1])
    x = recorder.wait_exchange(gen, "/echo")
    assert (x.method, x.request_body, x.request_size) == ("POST", sent, len(sent))
    assert (x.response_body, x.state) == (sent[::-1], ST_COMPLETE)
    assert x.header("Content-Length") == str(len(sent))


def test_child_serves_and_records_exchanges(tmp_path: Path, recorder: Recorder,
                                            run_app: Callable[..., Any]) -> None:
    write_app(tmp_path)
    app = run_app(Options("web:app", str(tmp_path)))
    assert app.status.state == "serving", app.status
    assert app.status.url.startswith("http://127.0.0.1:")
    assert os.path.realpath(tmp_path / "web.py") in app.status.files
    assert app.pid != os.getpid() and running(app.pid)
    check_recording(recorder, app.status.url, app.generation)
    assert {e["gen"] for e in recorder.events} == {1}
    assert recorder.states() == ["starting", "serving"]


def test_in_process_app_records_the_same_way(tmp_path: Path, recorder: Recorder,
                                             run_app: Callable[..., Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_app puts the app dir first
    monkeypatch.setitem(sys.modules, "web", None)  # set aside any other "web"
    del sys.modules["web"]
    write_app(tmp_path)
    app = run_app(Options("web:app", str(tmp_path)), kind=InProcessApp)
    assert app.status.state == "serving", app.status
    check_recording(recorder, app.status.url, app.generation)
    _, headers, _ = fetch(app.status.url, "/hello")
    assert headers["X-Pid"] == str(os.getpid())


# -- the project's interpreter -------------------------------------------------------------

@pytest.fixture(scope="module")
def venv_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a bare ``.venv`` (no pip, no waitress, nothing of ours)."""
    root = tmp_path_factory.mktemp("project")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")],
                   check=True, timeout=120, capture_output=True)
    python = root / ".venv" / "bin" / "python"
    probe = ("import importlib.util, sys; "
             "sys.exit(any(importlib.util.find_spec(m) for m in ('waitress', 'inspector')))")
    assert subprocess.run([str(python), "-c", probe], cwd=root, timeout=60).returncode == 0
    write_app(root)
    return root


def test_explicit_python_without_our_packages_serves(venv_app: Path, tmp_path: Path,
                                                     recorder: Recorder,
                                                     run_app: Callable[..., Any]) -> None:
    write_app(tmp_path)
    venv = venv_app / ".venv"
    app = run_app(Options("web:app", str(tmp_path), python=str(venv / "bin" / "python")))
    assert app.status.state == "serving", app.status
    status, _, body = fetch(app.status.url, "/prefix")
    assert status == 200
    assert os.path.realpath(body.decode()) == os.path.realpath(venv)
    x = recorder.wait_exchange(app.generation, "/prefix")
    assert (x.state, x.response_body) == (ST_COMPLETE, body)


def test_venv_next_to_the_app_is_found(venv_app: Path, recorder: Recorder,
                                       run_app: Callable[..., Any]) -> None:
    python = str(venv_app.resolve() / ".venv" / "bin" / "python")
    assert find_python(str(venv_app)) == python
    (venv_app / "pkg").mkdir(exist_ok=True)
    assert find_python(str(venv_app / "pkg")) == python  # a parent's .venv counts too
    assert find_python(str(venv_app), "/opt/other/python") == "/opt/other/python"
    app = run_app(Options("web:app", str(venv_app)))
    assert app.status.state == "serving", app.status
    # The project's own files are reported; nothing from inside its .venv.
    assert app.status.files == [os.path.realpath(venv_app / "web.py")]
    _, _, body = fetch(app.status.url, "/prefix")
    assert os.path.realpath(body.decode()) == os.path.realpath(venv_app / ".venv")


def test_the_agent_s_own_files_are_not_the_project_s(recorder: Recorder,
                                                    run_app: Callable[..., Any]) -> None:
    """Serving a built-in example from this checkout: the agent's modules (the ring
    among them) are not the app's, so a reload never watches them."""
    root = Path(__file__).resolve().parents[1]
    app = run_app(Options("inspector.examples.hello:app", str(root)))
    assert app.status.state == "serving", app.status
    examples = root / "inspector" / "examples"
    assert app.status.files == [str(examples / "__init__.py"), str(examples / "hello.py")]


# -- supervision ---------------------------------------------------------------------------

def expect_dropped(url: str, path: str, outcome: list[object]) -> None:
    try:
        outcome.append(fetch(url, path))
    except DROPPED as exc:
        outcome.append(exc)


@pytest.mark.parametrize(("route", "how"), [("/segv", "was killed by SIGSEGV"),
                                            ("/exit", "exited with code 7")])
def test_death_fails_in_flight_exchange_and_child_restarts(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any], gate: Gate,
        route: str, how: str) -> None:
    write_app(tmp_path, gate=gate.port)
    app = run_app(Options("web:app", str(tmp_path)))
    url, gen, old_pid = app.status.url, app.generation, app.pid
    assert app.status.state == "serving", app.status
    mark = recorder.mark()
    outcome: list[object] = []
    client = threading.Thread(target=expect_dropped, args=(url, route, outcome))
    client.start()
    with gate.accept() as waiting:
        # The host knows the request is in flight before the app dies.
        recorder.wait_output(gen, route, "waiting at the gate")
        waiting.sendall(b"go")
    join(client)
    assert isinstance(outcome[0], DROPPED), outcome

    x = recorder.wait_exchange(gen, route)
    assert x.state == ST_FAILED and x.client_dropped
    assert x.error is not None and x.error.type == "ProcessDied"
    assert how in x.error.message
    assert [o.text for o in x.output] == ["waiting at the gate"]
    died_at, died = recorder.wait_status("died", after=mark)
    assert how in died.message and died.url == url
    _, serving = recorder.wait_status("serving", after=died_at)
    assert serving.url == url  # same port after the restart
    assert not running(old_pid)

    status, headers, body = fetch(url, "/hello")
    assert (status, body) == (200, b"hello v1")
    assert headers["X-Pid"] == str(app.pid) != str(old_pid)
    assert app.generation == gen + 1
    assert recorder.wait_exchange(gen + 1, "/hello").state == ST_COMPLETE


@pytest.mark.parametrize(("route", "how"), [("/die/segv", "was killed by SIGSEGV"),
                                            ("/die/7", "exited with code 7"),
                                            ("/die/3", "exited with code 3"),
                                            ("/die/4", "exited with code 4"),
                                            ("/die/0", "exited with code 0")])
def test_the_request_that_kills_the_app_keeps_its_row(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any], route: str,
        how: str) -> None:
    """The handler dies microseconds after its begin event: nothing waited for the host
    to hear of it, and the row is there all the same. Exit codes are the app's: 3 and 4
    are crashes like any other, restarted."""
    write_app(tmp_path)
    app = run_app(Options("web:app", str(tmp_path)))
    url, gen = app.status.url, app.generation
    assert app.status.state == "serving", app.status
    mark = recorder.mark()
    outcome: list[object] = []
    expect_dropped(url, route, outcome)
    assert isinstance(outcome[0], DROPPED), outcome

    x = recorder.wait_exchange(gen, route)
    assert (x.method, x.path, x.state, x.client_dropped) == ("GET", route, ST_FAILED, True)
    assert x.error is not None and x.error.type == "ProcessDied"
    assert x.error.message == f"The app's process {how} while serving this request."
    assert [o.text for o in x.output] == [f"dying by {route.rsplit('/', 1)[1]}"]
    assert x.status == "" and x.to_dict()["client_dropped"] is True
    died_at, died = recorder.wait_status("died", after=mark)
    assert died.message == f"The app's process {how}; restarting it."
    _, serving = recorder.wait_status("serving", after=died_at)
    assert serving.url == url
    assert fetch(url, "/hello")[:3:2] == (200, b"hello v1")
    assert app.generation == gen + 1
    assert recorder.wait_exchange(gen + 1, "/hello").state == ST_COMPLETE


def test_a_dropped_exchange_is_listed_without_a_status(tmp_path: Path) -> None:
    """What the host writes for an exchange its process took down: stored and reopened,
    it says the client got no reply (not the 500 a raising app gets)."""
    host = AppProcess.__new__(AppProcess)  # only the in-flight bookkeeping is used
    events: list[dict[str, Any]] = []
    host.on_event, host._in_flight = events.append, {}
    begin = exchange_events(1, path="/killed", status=None, gen=1, end=False)
    for event in begin:
        host._track(event)
    host._fail_in_flight(1, "was killed by SIGSEGV")
    assert events[-1]["dropped"] is True
    with Store(tmp_path / "s.wsgi-session") as store:
        for event in [*begin, *events]:
            store.put(event)
        store.flush()
    with Store.open(tmp_path / "s.wsgi-session") as store:
        (summary,) = store.summaries()
        assert (summary.status, summary.error, summary.state) == (None, True, "dropped")
        x = store.get(summary.id)
    assert x.client_dropped and x.status_code is None
    assert x.error is not None and x.error.message == (
        "The app's process was killed by SIGSEGV while serving this request.")
    assert Exchange.from_dict(x.to_dict()).client_dropped
    assert not Exchange.from_dict({**x.to_dict(), "client_dropped": False}).client_dropped


def test_sigkill_from_outside_keeps_the_waiting_request(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any], gate: Gate) -> None:
    write_app(tmp_path, gate=gate.port)
    app = run_app(Options("web:app", str(tmp_path)))
    url, gen, pid = app.status.url, app.generation, app.pid
    outcome: list[object] = []
    client = threading.Thread(target=expect_dropped, args=(url, "/gate", outcome))
    client.start()
    with gate.accept():  # the handler waits at the gate: kill it there, from outside
        os.kill(pid, signal.SIGKILL)
        join(client)
    assert isinstance(outcome[0], DROPPED), outcome
    x = recorder.wait_exchange(gen, "/gate")
    assert x.client_dropped and x.error is not None
    assert x.error.message == ("The app's process was killed by SIGKILL while serving "
                               "this request.")
    assert [o.text for o in x.output] == ["waiting at the gate"]
    recorder.wait_status("serving", after=recorder.wait_status("died")[0])
    assert fetch(url, "/hello")[0] == 200


BIG_CHUNK_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    yield b"x" * (4 << 20)
"""


def test_a_record_cut_off_by_death_is_said_on_its_exchange(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4 MiB chunk goes into a 1 MiB ring in pieces; the host holds the first piece
    unread (so the writer waits for room) while the process is killed."""
    (tmp_path / "big.py").write_text(BIG_CHUNK_APP)
    monkeypatch.setattr(process, "RING_CAPACITY", 1 << 20)
    arrived, go = threading.Event(), threading.Event()
    gather = ring.RingReader._gather

    def gather_and_wait(self: ring.RingReader, piece: bytes, *, more: bool) -> bytes | None:
        whole = gather(self, piece, more=more)
        if more and not arrived.is_set():
            arrived.set()
            go.wait(TIMEOUT)
        return whole

    monkeypatch.setattr(ring.RingReader, "_gather", gather_and_wait)
    app = run_app(Options("big:app", str(tmp_path), response_cap=8 << 20))
    url, gen, pid = app.status.url, app.generation, app.pid
    outcome: list[object] = []
    client = threading.Thread(target=expect_dropped, args=(url, "/", outcome))
    client.start()
    assert arrived.wait(TIMEOUT)
    gone = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        assert select.select([gone], [], [], TIMEOUT)[0]  # readable once the process is gone
    finally:
        os.close(gone)
    go.set()
    join(client)
    x = recorder.wait_exchange(gen, "/")
    assert x.client_dropped and x.error is not None
    assert re.fullmatch(
        r"The app's process was killed by SIGKILL while serving this request\. It was "
        r"recording a chunk event, of which \d\.\d MB had arrived then; that record is lost, "
        r"so this exchange lacks what it held\.", x.error.message), x.error.message
    recorder.wait_status("serving", after=recorder.wait_status("died")[0])


def test_port_in_use_is_a_serve_error_not_restarted(tmp_path: Path, recorder: Recorder,
                                                    run_app: Callable[..., Any]) -> None:
    write_app(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        app = run_app(Options("web:app", str(tmp_path), port=port))
        status = app.status
        assert status.state == "serve_error", status
        assert str(port) in status.message
        app.stop()
    assert recorder.states() == ["starting", "serve_error", "stopped"]
    assert app.generation == 1 and app.pid is None


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc/PID")
def test_the_control_link_is_inherited_not_listened_for(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any]) -> None:
    write_app(tmp_path)
    before = listening_sockets()
    app = run_app(Options("web:app", str(tmp_path)))
    assert app.status.state == "serving", app.status
    assert listening_sockets() == before  # the host listens for nothing
    with open(f"/proc/{app.pid}/environ", "rb") as environ:
        given = dict(item.split(b"=", 1) for item in environ.read().split(b"\0") if item)
    assert b"WSGI_INSPECTOR_HOST" not in given and b"WSGI_INSPECTOR_TOKEN" not in given
    # The child started with its end of a socket pair and the ring's memory as fds...
    link = os.readlink(f"/proc/{app.pid}/fd/{int(given[b'WSGI_INSPECTOR_LINK'])}")
    assert link.startswith("socket:")
    assert int(given[b"WSGI_INSPECTOR_RING"]) >= 3
    # ...and took both names out of its environment before the app ran.
    assert fetch(app.status.url, "/ours")[2] == b""


def listening_sockets() -> set[str]:
    """The inodes of this process's sockets that listen (IPv4 and IPv6 TCP)."""
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            ours.add(target[len("socket:["):-1])
    listening = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        if os.path.exists(table):
            with open(table) as lines:
                for line in list(lines)[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and fields[9] in ours:  # 0A: LISTEN
                        listening.add(fields[9])
    return listening


HOSTILE = """\
#!{python}
# Stands in for the project's python: writes a record no agent would into the ring.
import mmap, os, socket, struct
ring_fd, link_fd = int(os.environ["WSGI_INSPECTOR_RING"]), int(os.environ["WSGI_INSPECTOR_LINK"])
ring = mmap.mmap(ring_fd, 0)
struct.pack_into("<I", ring, 128, {length})  # the first record's length word
ring[132:132 + len({payload!r})] = {payload!r}
struct.pack_into("<Q", ring, 16, {published})  # the published write offset
if {wake}:
    sock = socket.socket(fileno=link_fd)
    sock.sendall(struct.pack(">Q", {published}))
    sock.recv(1)  # until the host ends it
os._exit(5)  # having written to the ring
"""


def _after_hello(event: dict[str, Any]) -> tuple[int, bytes, int]:
    """(first length word, the bytes after it, published offset) of a ring holding a
    good hello, then ``event``: two records, each padded to 8 bytes."""
    hello = pickle.dumps({"type": "hello", "version": wire.VERSION, "pid": 1}, 5)
    second = pickle.dumps(event, 5)
    first_end = (4 + len(hello) + 7) & ~7
    payload = hello + b"\0" * (first_end - 4 - len(hello)) + struct.pack("<I", len(second)) \
        + second
    return len(hello), payload, first_end + ((4 + len(second) + 7) & ~7)


@pytest.mark.parametrize(("length", "payload", "published", "why"), [
    (*_after_hello({"type": ["begin"], "id": 1}),
     "a record's type or exchange id is not one the agent writes"),
    (*_after_hello({"type": "begin", "id": [1]}),
     "a record's type or exchange id is not one the agent writes"),
    (5, b"\x80\x05N.\x00", 16, "a record's pickle does not end where its length says"),
    (4000, b"", 16, "a record of 4000 bytes runs past the written end"),
    (14, b"\x80\x04cos\nsystem\n.", 24, "only plain data is read"),
    (8, b"", 1 << 40, "outside what it can hold"),
    (51, pickle.dumps({"type": "hello", "version": 3, "pid": 1}, 5), 56,
     f"it speaks protocol version 3 and this host version {wire.VERSION}; run both from one "
     "installation"),
    (30, pickle.dumps({"type": "ready"}, 5), 40, "its first record is not a hello"),
])
def test_an_unreadable_ring_ends_the_link_with_one_sentence(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any], length: int,
        payload: bytes, published: int, why: str) -> None:
    write_app(tmp_path)
    fake = tmp_path / "python"
    fake.write_text(HOSTILE.format(python=sys.executable, length=length, payload=payload,
                                   published=published, wake=True))
    fake.chmod(0o755)
    app = run_app(Options("web:app", str(tmp_path), python=str(fake)))
    status = app.status
    assert status.state == "crashed", status
    assert status.message.startswith("The app's process sent what this host cannot read (")
    assert why in status.message and status.message.endswith("; it was stopped.")
    assert "\n" not in status.message and "Traceback" not in status.message
    assert recorder.states() == ["starting", "crashed"] and app.pid is None


def test_a_crash_that_leaves_the_ring_unreadable_is_still_a_crash(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any]) -> None:
    """A process that scribbled over the ring and died: what can be read is read, and
    it is restarted like any crash (the link is gone anyway)."""
    write_app(tmp_path)
    fake = tmp_path / "python"
    fake.write_text(HOSTILE.format(python=sys.executable, length=4000, payload=b"",
                                   published=16, wake=False))
    fake.chmod(0o755)
    app = run_app(Options("web:app", str(tmp_path), python=str(fake)))
    assert app.status.state == "crashed", app.status
    assert app.status.message == (f"The app's process died {CRASH_LIMIT} times in a row "
                                  "(last: exited with code 5); fix the app and reload.")


def test_without_posix_the_isolated_mode_says_what_to_do(tmp_path: Path, recorder: Recorder,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    app = AppProcess(Options("web:app", str(tmp_path)), recorder.on_event, recorder.on_status)
    monkeypatch.setattr(process, "POSIX", False)
    status = app.start()
    assert (status.state, status.message) == (
        "crashed", "The app's own process needs a POSIX system (Linux, macOS); here, start "
        "with --in-process.")
    assert app.pid is None and recorder.states() == ["crashed"]


def test_crash_at_import_is_retried_then_given_up(tmp_path: Path, recorder: Recorder,
                                                  run_app: Callable[..., Any]) -> None:
    (tmp_path / "web.py").write_text("import os\nos._exit(1)\n")
    app = run_app(Options("web:app", str(tmp_path)))
    status = app.status
    assert status.state == "crashed", status
    assert status.message == (f"The app's process died {CRASH_LIMIT} times in a row "
                              "(last: exited with code 1); fix the app and reload.")
    app.stop()  # waits for the supervising thread: no restart can follow
    assert recorder.states() == (["starting", "died"] * (CRASH_LIMIT - 1)
                                 + ["starting", "crashed", "stopped"])
    assert app.generation == CRASH_LIMIT and app.pid is None


def test_import_error_is_reported_not_restarted(tmp_path: Path, recorder: Recorder,
                                                run_app: Callable[..., Any]) -> None:
    (tmp_path / "web.py").write_text(textwrap.dedent("""\
        def connect():
            raise RuntimeError("no database at db:5432")

        connect()
        """))
    app = run_app(Options("web:app", str(tmp_path)))
    status = app.status
    assert status.state == "load_error", status
    assert "RuntimeError: no database at db:5432" in status.message
    assert "\n" not in status.message and status.message.endswith(".")
    assert status.traceback is not None
    assert 'web.py", line 4' in status.traceback and 'web.py", line 2' in status.traceback
    assert status.traceback.rstrip().endswith("RuntimeError: no database at db:5432")
    assert "inspector" not in status.traceback and "importlib" not in status.traceback
    app.stop()
    assert recorder.states() == ["starting", "load_error", "stopped"]
    assert app.generation == 1 and app.pid is None


def test_stop_during_the_restart_after_a_death_leaves_no_child(tmp_path: Path,
                                                               recorder: Recorder,
                                                               gate: Gate) -> None:
    write_app(tmp_path, gate=gate.port)

    def on_status(status: Status) -> None:
        recorder.on_status(status)
        if status.state == "died":  # the user presses stop just as the child died
            app.stop()

    app = AppProcess(Options("web:app", str(tmp_path)), recorder.on_event, on_status)
    try:
        app.start()
        outcome: list[object] = []
        client = threading.Thread(target=expect_dropped, args=(app.status.url, "/exit",
                                                               outcome))
        client.start()
        with gate.accept() as waiting:
            waiting.sendall(b"go")
        join(client)
        recorder.wait_status("stopped")
    finally:
        app.stop()
    assert recorder.states() == ["starting", "serving", "died", "stopped"]
    assert app.generation == 1 and app.pid is None


@pytest.mark.parametrize(("code", "text"), [(0, "exited with code 0"), (3, "exited with code 3"),
                                            (-signal.SIGSEGV, "killed by SIGSEGV"),
                                            (-signal.SIGKILL, "killed by SIGKILL"),
                                            (-200, "killed by signal 200")])
def test_describe_exit(code: int, text: str) -> None:
    assert describe_exit(code) == text


def test_agent_path_holds_only_our_package_and_waitress() -> None:
    path = Path(agent_path())
    assert sorted(p.name for p in path.iterdir()) == ["inspector", "waitress"]
    assert (path / "inspector" / "agent" / "child.py").is_file()
    assert agent_path() == str(path)  # one per host process, not one per child


# -- the host's death ----------------------------------------------------------------------

HOST = """\
import sys, threading
from inspector.host.process import AppProcess, Options
app = AppProcess(Options("web:app", sys.argv[1]), lambda event: None, lambda status: None)
status = app.start()
print(app.pid, status.state, status.url, flush=True)
threading.Event().wait()
"""


def test_child_exits_when_its_host_is_killed(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    write_app(app_dir)
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the host cannot clean up after SIGKILL
    host = subprocess.Popen([sys.executable, "-c", HOST, str(app_dir)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(host.stdout.readline()))
        reader.start()
        join(reader)
        pid_text, state, url = lines[0].split()
        assert state == "serving"
        pid, port = int(pid_text), int(url.rstrip("/").rsplit(":", 1)[1])
        assert fetch(url, "/hello")[0] == 200
        assert running(pid)
        host.send_signal(signal.SIGKILL)
        assert host.wait(TIMEOUT) == -signal.SIGKILL
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
        host.stdout.close()
    poll_until(lambda: not running(pid), "the orphaned child to exit", timeout=10)
    with socket.socket() as probe:  # the port is free again (as a new server would bind)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()


# -- stop and restart ----------------------------------------------------------------------

def test_stop_ends_the_child_cleanly_and_restart_keeps_the_url(
        tmp_path: Path, recorder: Recorder, run_app: Callable[..., Any]) -> None:
    write_app(tmp_path)
    app = run_app(Options("web:app", str(tmp_path)))
    url, first = app.status.url, app._proc
    assert app.status.state == "serving", app.status

    status = app.restart()
    assert status.state == "serving" and status.url == url
    assert first.returncode == 0 and not running(first.pid)
    assert app.generation == 2 and app.pid != first.pid
    _, headers, _ = fetch(url, "/hello")
    assert headers["X-Pid"] == str(app.pid)

    second = app._proc
    app.stop()
    assert second.returncode == 0 and not running(second.pid)
    assert app.status.state == "stopped" and app.pid is None
    assert recorder.states() == ["starting", "serving", "stopped", "starting", "serving",
                                 "stopped"]
    with pytest.raises(ConnectionRefusedError):
        fetch(url, "/hello")


def test_stop_lets_an_in_flight_response_finish(tmp_path: Path, recorder: Recorder,
                                                run_app: Callable[..., Any],
                                                gate: Gate) -> None:
    write_app(tmp_path, gate=gate.port)
    app = run_app(Options("web:app", str(tmp_path)))
    url, gen = app.status.url, app.generation
    outcome: list[object] = []
    client = threading.Thread(target=lambda: outcome.append(fetch(url, "/gate")))
    client.start()
    with gate.accept() as waiting:
        recorder.wait_output(gen, "/gate", "waiting at the gate")
        stopper = threading.Thread(target=app.stop)
        stopper.start()
        waiting.sendall(b"go")
    join(client)
    join(stopper)
    status, _, body = outcome[0]
    assert (status, body) == (200, b"hello v1")
    assert recorder.wait_exchange(gen, "/gate").state == ST_COMPLETE
    assert app.status.state == "stopped" and app.pid is None
