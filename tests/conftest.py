"""Shared fixtures: real waitress servers on 127.0.0.1, port 0, real sockets."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from inspector.agent.runtime import Agent
from inspector.agent.server import BackgroundServer
from inspector.agent.sink import EventLog

TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/gui needs Qt; `pytest -m "not gui"` runs without it.
    for item in items:
        if (TESTS / "gui") in Path(item.fspath).parents:
            item.add_marker(pytest.mark.gui)


@contextmanager
def inspected(app: Callable, **options) -> Iterator[tuple[Agent, EventLog]]:
    """Serve ``app`` under capture; yield the agent and the log of its events."""
    log = EventLog()
    agent = Agent(app, log.emit, **options)
    agent.start()
    try:
        yield agent, log
    finally:
        agent.stop()


@contextmanager
def plain(app: Callable, threads: int = 4) -> Iterator[BackgroundServer]:
    """Serve ``app`` with waitress alone, for comparisons."""
    server = BackgroundServer(app, threads=threads)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def raw_exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, read until the server closes; the request should say
    ``Connection: close`` (or be HTTP/1.0) so the read ends."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def fetch(port: int, method: str = "GET", target: str = "/", body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request over a fresh connection: status, headers (lower-case names), body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def get(port: int, target: str = "/") -> tuple[int, bytes]:
    """A GET over a fresh connection: status and body."""
    status, _, body = fetch(port, "GET", target)
    return status, body


@pytest.fixture
def serve_inspected():
    """``serve_inspected(app, **options)`` -> (agent, log), stopped after the test."""
    with _stack() as enter:
        yield lambda app, **options: enter(inspected(app, **options))


@pytest.fixture
def serve_plain():
    """``serve_plain(app)`` -> BackgroundServer running waitress alone."""
    with _stack() as enter:
        yield lambda app, **options: enter(plain(app, **options))


@contextmanager
def _stack():
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield stack.enter_context
