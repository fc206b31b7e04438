"""The command line end to end: a real `wsgi-inspector` process, real HTTP."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.host.store import Store

APP = """\
import logging

def app(environ, start_response):
    print("served", environ["PATH_INFO"])
    logging.getLogger("web").warning("careful")
    body = b"hi " + environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.launch", *args]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "web.py").write_text(APP)
    return tmp_path


def get(url: str, path: str) -> bytes:
    host, port = url.rstrip("/").rsplit("/", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["isolated", "in-process"])
def test_headless_records_prints_and_exports_on_sigterm(project: Path, mode: list[str]) -> None:
    session, har = project / "s.wsgi-session", project / "out.har"
    proc = subprocess.Popen(
        command("web:app", "--headless", "--port", "0", "--session", str(session),
                "--har", str(har), *mode),
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    try:
        url = ""
        while not url:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, proc.stderr.read()  # type: ignore[union-attr]
            if line.startswith("Serving at "):
                url = line.split()[-1]
        assert get(url, "/one") == b"hi /one"
        assert get(url, "/two") == b"hi /two"
        access: list[str] = []
        while len(access) < 2:  # other lines: "Recording…", the app's own print()
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line
            access += [line] if " GET " in line else []
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    # A line is printed when its exchange ends: /one's end may come after /two's (its
    # worker reports once waitress has finished the response; the client can be faster).
    assert sorted(line.split()[1:4] for line in access) == [["GET", "/one", "200"],
                                                            ["GET", "/two", "200"]]
    assert "Wrote 2 exchanges" in out
    entries = json.loads(har.read_text())["log"]["entries"]
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in entries] == ["one", "two"]
    assert oct(os.stat(session).st_mode & 0o777) == "0o600"
    with Store.open(session) as store:
        exchanges = list(store.exchanges())
    assert [x.response_body for x in exchanges] == [b"hi /one", b"hi /two"]
    lines = [(o.stream, o.text) for o in exchanges[0].output]
    assert ("stdout", "served /one") in lines and ("log", "careful") in lines


def test_open_session_to_har_and_back(project: Path, tmp_path: Path) -> None:
    from tests.factories import make_exchange

    session = tmp_path / "saved.wsgi-session"
    with Store(session) as store:
        store.add([make_exchange(id=1, path="/a"), make_exchange(id=2, path="/b")])
        store.flush()
    har = tmp_path / "x.har"
    result = run("--open", str(session), "--har", str(har), cwd=project)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(har.read_text())["log"]["entries"]) == 2
    again = tmp_path / "y.har"
    result = run("--open", str(har), "--har", str(again), cwd=project)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(again.read_text())["log"]["entries"]) == 2


def one_sentence(stderr: str) -> str:
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("wsgi-inspector: ") and last.endswith(".")
    return last


def test_bad_spec_exits_2_with_one_sentence(project: Path) -> None:
    result = run("nosuchmodule:app", "--headless", "--port", "0", cwd=project)
    assert result.returncode == 2
    assert "nosuchmodule" in one_sentence(result.stderr)
    assert "Traceback" not in result.stderr


def test_import_error_exits_2_with_the_users_traceback(project: Path) -> None:
    (project / "broken.py").write_text("import os\n\nraise RuntimeError('no config')\n")
    result = run("broken:app", "--headless", "--port", "0", cwd=project)
    assert result.returncode == 2
    assert "RuntimeError" in one_sentence(result.stderr)
    assert 'broken.py", line 3' in result.stderr and "loader.py" not in result.stderr


def test_port_in_use_exits_2(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("web:app", "--headless", "--port", str(port), cwd=project)
    assert result.returncode == 2
    assert str(port) in one_sentence(result.stderr) and "--port" in result.stderr


@pytest.mark.parametrize("content", [b"", b"not a session at all\n", os.urandom(4096)],
                         ids=["empty", "text", "random"])
def test_unreadable_session_exits_2(project: Path, tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.wsgi-session"
    bad.write_bytes(content)
    result = run("--open", str(bad), "--har", str(tmp_path / "o.har"), cwd=project)
    assert result.returncode == 2
    assert str(bad) in one_sentence(result.stderr)


def test_usage_errors_exit_2(project: Path) -> None:
    assert run("--threads", "0", cwd=project).returncode == 2
    assert run("web:app", "--open", "x.har", cwd=project).returncode == 2


def test_version(project: Path) -> None:
    result = run("--version", cwd=project)
    assert result.returncode == 0 and result.stdout.startswith("wsgi-inspector ")
