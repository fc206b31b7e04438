"""The copy-as scripts are run, not only read: requests recorded from a live app (real
waitress, real HTTP) are exported as curl, HTTPie, Python and fetch scripts, each
script is executed against a live app, and it must get the answers recorded."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.host.export import from_har
from inspector.host.formats import render
from inspector.model import Exchange
from tests.factories import BINARY_SAMPLE


def echo(environ, start_response):
    """Answers with what it received, as JSON: the script must send the same."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "content_type": environ.get("CONTENT_TYPE", ""),
        "x_test": environ.get("HTTP_X_TEST", ""),
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "body": base64.b64encode(body).decode(),
    }
    status = "201 Created" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(seen, sort_keys=True).encode()]


# method, target, headers, body
REQUESTS = [
    ("GET", "/items?q=a%20b&tag=1&tag=2&empty=", {"X-Test": "one"}, None),
    ("POST", "/api/items", {"Content-Type": "application/json"},
     json.dumps({"name": "café", "quote": "it's \"x\" $HOME `id`"}).encode()),
    ("PUT", "/blob/caf%C3%A9", {"Content-Type": "application/octet-stream"}, BINARY_SAMPLE),
    ("POST", "/no-type", {}, b"plain text\nline 2 % \\ 'q'\n"),
    ("POST", "/dash", {"Content-Type": "text/plain"}, b"-x @y"),
    ("POST", "/at", {"Content-Type": "text/plain"}, b"@/etc/passwd"),
    ("DELETE", "/items/7", {"X-Test": ""}, None),
    ("POST", "/big", {"Content-Type": "text/plain"}, b"z" * 200_000),
]


def send(port: int, method: str, target: str, headers: dict[str, str],
         body: bytes | None) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers)
        conn.getresponse().read()
    finally:
        conn.close()


@pytest.fixture
def recorded(serve_inspected) -> list[Exchange]:
    agent, log = serve_inspected(echo)
    for request in REQUESTS:
        send(agent.server.effective_port, *request)
    exchanges = log.wait_ended(len(REQUESTS))
    assert [x.method for x in exchanges] == [r[0] for r in REQUESTS]
    return exchanges


@pytest.fixture
def live(serve_plain) -> str:
    """Where the scripts send their requests: the same app, served anew."""
    server = serve_plain(echo)
    return f"http://127.0.0.1:{server.effective_port}"


def execute(argv: list[str], script: str, tmp_path: Path, name: str) -> bytes:
    path = tmp_path / name
    path.write_text(script)
    result = subprocess.run([*argv, str(path)], capture_output=True, timeout=120,
                            stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def answers(exchanges: list[Exchange]) -> list[dict]:
    return [json.loads(x.response_body) for x in exchanges]


def test_recorded_requests_reached_the_app_as_sent(recorded: list[Exchange]) -> None:
    seen = answers(recorded)
    assert base64.b64decode(seen[2]["body"]) == BINARY_SAMPLE
    assert seen[0]["query"] == "q=a%20b&tag=1&tag=2&empty="


def test_curl_script_gets_the_recorded_answers(recorded: list[Exchange], live: str,
                                               tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    script = render("curl", recorded, base_url=live)
    assert isinstance(script, str) and script.startswith("#!/bin/sh\n")
    out = execute(["sh"], script, tmp_path, "requests.sh")
    assert out == b"".join(x.response_body + b"\n" for x in recorded)


def test_curl_sends_globs_and_dot_segments_as_recorded(serve_inspected, live: str,
                                                       tmp_path: Path) -> None:
    """curl would expand [1-2] and {a,b} and squash /../: the command says not to."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    agent, log = serve_inspected(echo)
    send(agent.server.effective_port, "GET", "/a/../b?tag[]=1&x={2}", {}, None)
    recorded = log.wait_ended(1)
    assert json.loads(recorded[0].response_body)["path"] == "/a/../b"
    out = execute(["sh"], render("curl", recorded, base_url=live), tmp_path, "globs.sh")
    assert out == recorded[0].response_body + b"\n"


def test_httpie_script_gets_the_recorded_answers(recorded: list[Exchange], live: str,
                                                 tmp_path: Path) -> None:
    http = shutil.which("http", path=str(Path(sys.executable).parent)) or shutil.which("http")
    if http is None:
        pytest.skip("HTTPie is not installed")
    script = render("httpie", recorded, base_url=live)
    assert isinstance(script, str)
    # The script calls "http": the one next to this interpreter comes first on PATH.
    out = execute(["sh"], f"PATH={shlex_quote(str(Path(http).parent))}:$PATH\n" + script,
                  tmp_path, "requests.sh")
    got = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert got == answers(recorded)


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def test_python_script_gets_the_recorded_answers(recorded: list[Exchange], live: str,
                                                 tmp_path: Path) -> None:
    pytest.importorskip("requests")
    script = render("python", recorded, base_url=live)
    assert isinstance(script, str)
    out = execute([sys.executable], script, tmp_path, "replay.py")
    expected = b"".join(x.app_status.encode() + b"\n" + x.response_body + b"\n"
                        for x in recorded)
    assert out == expected


def test_fetch_script_gets_the_recorded_answers(recorded: list[Exchange], live: str,
                                                tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    script = render("fetch", recorded, base_url=live)
    assert isinstance(script, str)
    out = execute(["node"], script, tmp_path, "requests.js")
    expected = b"".join(x.app_status.encode() + b"\n" + x.response_body + b"\n"
                        for x in recorded)
    assert out == expected


def test_raw_request_bytes_get_the_recorded_answers(recorded: list[Exchange],
                                                    serve_plain) -> None:
    """Each raw request, written to a socket as it is, gets the recorded answer."""
    server = serve_plain(echo)
    for x in recorded:
        raw = render("raw-request", [x])
        assert isinstance(raw, bytes) and raw.endswith(b"\r\n\r\n")
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=10) as s:
            s.sendall(raw[:-4])  # the separator after the message is not part of it
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[0] == b"HTTP/1.1 " + x.app_status.encode()
        assert body == x.response_body


def test_har_entries_read_back_as_the_same_requests(recorded: list[Exchange]) -> None:
    entries = json.loads(render("har-entry", recorded))
    back = from_har({"log": {"version": "1.2", "entries": entries}})
    assert [(b.method, b.path, b.query, b.request_body) for b in back] == \
        [(x.method, x.path, x.query, x.request_body) for x in recorded]
    one = json.loads(render("har-entry", recorded[:1]))
    assert one["request"]["url"].endswith("/items?q=a%20b&tag=1&tag=2&empty=")


def login_app(environ, start_response):
    """A session cookie that is new each login: a recorded one is worthless later."""
    if environ["PATH_INFO"] == "/login":
        sid = os.urandom(8).hex()
        SESSIONS[sid] = "ada"
        start_response("204 No Content", [("Set-Cookie", f"sid={sid}; Path=/; HttpOnly")])
        return [b""]
    cookie = environ.get("HTTP_COOKIE", "")
    user = SESSIONS.get(cookie.partition("sid=")[2].split(";")[0])
    start_response("200 OK" if user else "401 Unauthorized", [("Content-Type", "text/plain")])
    return [f"user={user}".encode()]


SESSIONS: dict[str, str] = {}


def test_python_script_carries_the_cookies_its_answers_set(serve_inspected, serve_plain,
                                                           tmp_path: Path) -> None:
    """Redacted, the recorded Cookie header is left out and the script's session sends
    the cookie this run's login set: the page answers as it did."""
    pytest.importorskip("requests")
    agent, log = serve_inspected(login_app)
    port = agent.server.effective_port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/login", body=b"")
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    conn.request("GET", "/me", headers={"Cookie": cookie})
    conn.getresponse().read()
    conn.close()
    recorded = log.wait_ended(2)
    assert recorded[1].response_body == b"user=ada"
    live = serve_plain(login_app)
    script = render("python", recorded, base_url=f"http://127.0.0.1:{live.effective_port}")
    assert isinstance(script, str) and "# 'Cookie': 'sid=[redacted]'," in script
    out = execute([sys.executable], script, tmp_path, "replay.py")
    assert out == b"204 No Content\n\n200 OK\nuser=ada\n"
