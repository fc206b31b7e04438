"""The runner: reloads run fresh code, even after a same-size edit within one second."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from inspector.host.process import Options, Status
from inspector.host.runner import Runner, drop_bytecode


def test_drop_bytecode_removes_only_the_changed_modules_cache(tmp_path: Path) -> None:
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    for name in ("web.cpython-311.pyc", "web.cpython-39.opt-1.pyc", "webx.cpython-311.pyc"):
        (cache / name).write_bytes(b"")
    drop_bytecode([str(tmp_path / "web.py")])
    assert sorted(os.listdir(cache)) == ["webx.cpython-311.pyc"]


def test_same_size_edit_in_the_same_second_is_served_after_reload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import http.client

    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # the child caches .pyc

    source = tmp_path / "web.py"
    template = ("def app(environ, start_response):\n"
                "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                "    return [b'{}']\n")
    source.write_text(template.format("AAAA"))
    serving = threading.Condition()
    statuses: list[Status] = []

    def on_status(status: Status) -> None:
        with serving:
            statuses.append(status)
            serving.notify_all()

    def get() -> bytes:
        port = int(runner.status.url.rstrip("/").rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/")
            return conn.getresponse().read()
        finally:
            conn.close()

    runner = Runner(Options("web:app", str(tmp_path)), lambda e: None, on_status)
    try:
        assert runner.start().state == "serving"
        assert get() == b"AAAA"
        stat = source.stat()
        source.write_text(template.format("BBBB"))  # same size...
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # ...same second
        with serving:
            count = len(statuses)
            assert serving.wait_for(
                lambda: any(s.state == "serving" for s in statuses[count:]), 30)
        assert get() == b"BBBB"
    finally:
        runner.stop()
