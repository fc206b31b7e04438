"""BackgroundServer and Agent: ports, threads, a prompt and clean stop, bind errors."""

from __future__ import annotations

import gc
import http.client
import re
import socket
import sys
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from inspector.agent.runtime import Agent
from inspector.agent.server import BackgroundServer, ServeError
from inspector.agent.sink import EventLog
from tests.conftest import get


def hello(environ, start_response):
    body = b"hello " + environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]




def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_url_reports_the_real_port(serve_inspected) -> None:
    agent, log = serve_inspected(hello)
    port = agent.server.effective_port
    assert isinstance(port, int) and port > 0
    assert agent.url == f"http://127.0.0.1:{port}/"
    with urllib.request.urlopen(agent.url + "via-url", timeout=10) as resp:
        assert resp.read() == b"hello /via-url"
    assert log.wait_ended(1)[0].path == "/via-url"


def test_url_needs_a_running_server() -> None:
    server = BackgroundServer(hello)
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
    server.stop()  # stopping a server that never started is harmless


@pytest.mark.parametrize("threads", [2, 6])
@pytest.mark.parametrize("inspected", [False, True])
def test_threads_honoured(serve_plain, serve_inspected, threads, inspected) -> None:
    """``threads`` requests are in flight at once: each waits for all the others."""
    barrier = threading.Barrier(threads, timeout=10)
    names = set()

    def app(environ, start_response):
        names.add(threading.current_thread().name)
        barrier.wait()
        return hello(environ, start_response)

    if inspected:
        port = serve_inspected(app, threads=threads)[0].server.effective_port
    else:
        port = serve_plain(app, threads=threads).effective_port
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(lambda i: get(port, f"/{i}"), range(threads)))
    assert answers == [(200, f"hello /{i}".encode()) for i in range(threads)]
    assert len(names) == threads
    assert not barrier.broken


def test_stop_with_idle_keep_alive_connections() -> None:
    before = set(threading.enumerate())
    server = BackgroundServer(hello, threads=3)
    server.start()
    started = set(threading.enumerate()) - before
    port = server.effective_port
    assert any(t.name == "wsgi-inspector-server" for t in started)

    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(4)]
    try:
        for i, conn in enumerate(conns):
            conn.request("GET", f"/{i}")
            resp = conn.getresponse()
            assert resp.read() == f"hello /{i}".encode()
            assert not resp.will_close  # kept alive, and now idle
        server.stop()
        server_thread = next(t for t in started if t.name == "wsgi-inspector-server")
        assert not server_thread.is_alive()
        for conn in conns:  # the server closed every idle connection
            assert conn.sock.recv(1) == b""
    finally:
        for conn in conns:
            conn.close()
    assert refused(port)
    for thread in started:  # the workers are gone too
        thread.join(10)
        assert not thread.is_alive(), thread.name


def test_stop_lets_an_in_flight_response_finish(monkeypatch) -> None:
    body = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than the socket buffers hold
    entered, release, stopping = threading.Event(), threading.Event(), threading.Event()

    def slow(environ, start_response):
        entered.set()
        assert release.wait(10)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    log = EventLog()
    agent = Agent(slow, log.emit, threads=2)
    agent.start()
    try:
        port = agent.server.effective_port
        dispatcher = agent.server._server.task_dispatcher
        shutdown = dispatcher.shutdown

        def shutdown_seen(*args, **kwargs):
            stopping.set()  # stop() is now waiting for the workers
            return shutdown(*args, **kwargs)

        monkeypatch.setattr(dispatcher, "shutdown", shutdown_seen)
        with ThreadPoolExecutor(2) as pool:
            answer = pool.submit(get, port, "/slow")
            assert entered.wait(10)
            stopper = pool.submit(agent.stop)
            assert stopping.wait(10)
            release.set()
            stopper.result(timeout=30)
            status, data = answer.result(timeout=30)
    finally:
        release.set()
        agent.stop()
    assert status == 200
    assert len(data) == len(body) and data == body
    (x,) = log.wait_ended(1)
    assert x.response_size == len(body) and x.state == "complete"
    assert refused(port)


def test_port_in_use_is_one_sentence() -> None:
    threads = set(threading.enumerate())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stdout, stderr = sys.stdout, sys.stderr
        with pytest.raises(ServeError) as err:
            Agent(hello, EventLog().emit, port=port).start()
        # a failed start leaves the process as it found it
        assert (sys.stdout, sys.stderr) == (stdout, stderr)
        with pytest.raises(ServeError) as plain_err:
            BackgroundServer(hello, port=port).start()
    for message in (str(err.value), str(plain_err.value)):
        assert str(port) in message
        assert "--port" in message
        assert message.endswith(".")
        assert re.search(r"[.;:!?]\s+[A-Z]", message) is None, message  # one sentence
        assert "\n" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    # nothing of the failed starts is left: no worker thread, no open socket or pipe
    assert set(threading.enumerate()) == threads
    del err, plain_err
    gc.collect()  # an unclosed socket would warn here, failing this test


def test_fixed_free_port() -> None:
    port = free_port()
    log = EventLog()
    with Agent(hello, log.emit, port=port) as agent:
        assert agent.server.effective_port == port
        assert agent.url == f"http://127.0.0.1:{port}/"
        assert get(port, "/fixed") == (200, b"hello /fixed")
        assert log.wait_ended(1)[0].path == "/fixed"
    assert refused(port)
