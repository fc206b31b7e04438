"""What the command line writes: an inert terminal, HAR files without secrets, outputs
checked before the work, and one sentence for every bad HAR file. Real processes,
real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from inspector.host.store import Store
from tests.conftest import raw_exchange
from tests.test_cli import one_sentence, run

APP = """\
import json

def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Set-Cookie", "sid=s3ss10n-from-app; Path=/; HttpOnly")])
    return [json.dumps({"seen": len(body), "access_token": "t0ken-from-app"}).encode()]
"""

# Writes a file when imported: the test sees whether the app was started at all.
MARKED_APP = """\
open("imported.txt", "w").close()

def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]
"""

SECRETS = ["Bearer auth-s3cret", "c00kie-value", "s3ss10n-from-app", "hunter2-pass",
           "t0ken-from-app", "k3y-in-query"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "web.py").write_text(APP)
    (tmp_path / "marked.py").write_text(MARKED_APP)
    return tmp_path


@contextmanager
def headless(project: Path, *options: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.launch", "web:app", "--headless", "--port", "0", *options],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, errors="surrogateescape")
    try:
        while True:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, proc.stderr.read()  # type: ignore[union-attr]
            if line.startswith("Serving at "):
                break
        yield proc, int(line.split()[-1].rstrip("/").rsplit(":", 1)[1])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGINT, then everything it printed from now on (stdout)."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def read_until(proc: subprocess.Popen[str], text: str) -> list[str]:
    lines = []
    while not lines or text not in lines[-1]:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line, lines
        lines.append(line)
    return lines


# -- the terminal -----------------------------------------------------------------------------

def test_control_characters_in_a_request_leave_one_escaped_log_line(project: Path) -> None:
    with headless(project, "--session", str(project / "s.wsgi-session")) as (proc, port):
        # waitress decodes %-escapes in the path: ESC [2J clears a screen, BEL rings, CR LF
        # would start a forged line. Raw bytes on a socket: no client cleans them up.
        answer = raw_exchange(port, b"GET /a%1b%5b2J%07%0d%0aforged HTTP/1.1\r\n"
                                    b"Host: x\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
        logged = read_until(proc, "forged")
        rest = stop(proc)
    printed = "".join(logged) + rest
    assert "\x1b" not in printed and "\x07" not in printed and "\r" not in printed
    lines = [line for line in printed.splitlines() if "forged" in line]
    assert len(lines) == 1
    assert " GET /a\\x1b[2J\\x07\\r\\nforged 200 " in lines[0]


# -- secrets ------------------------------------------------------------------------------------

def post_with_secrets(port: int) -> None:
    body = b"user=ada&password=hunter2-pass&remember=on"
    request = (b"POST /login?api_key=k3y-in-query&page=2 HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Bearer auth-s3cret\r\nCookie: sid=c00kie-value; theme=dark\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
    assert raw_exchange(port, request).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("keep", [False, True], ids=["default", "har-secrets"])
def test_har_leaves_secrets_out_unless_asked(project: Path, keep: bool) -> None:
    har, session = project / "out.har", project / "s.wsgi-session"
    options = ["--session", str(session), "--har", str(har)]
    with headless(project, *options, *(["--har-secrets"] if keep else [])) as (proc, port):
        post_with_secrets(port)
        read_until(proc, "POST /login")
        stop(proc)
    text = har.read_text()
    assert len(json.loads(text)["log"]["entries"]) == 1
    if keep:
        assert all(secret in text for secret in SECRETS)
    else:
        assert [secret for secret in SECRETS if secret in text] == []
        entry = json.loads(text)["log"]["entries"][0]
        assert {"name": "user", "value": "ada"} in entry["request"]["postData"]["params"]
        assert {"name": "page", "value": "2"} in entry["request"]["queryString"]
        assert [c["name"] for c in entry["request"]["cookies"]] == ["sid", "theme"]
    with Store.open(session) as store:  # the session keeps everything
        (x,) = store.exchanges()
    assert x.env("HTTP_AUTHORIZATION") == "Bearer auth-s3cret"
    assert b"hunter2-pass" in x.request_body and b"t0ken-from-app" in x.response_body


def test_converting_leaves_secrets_out_unless_asked(project: Path) -> None:
    session = project / "s.wsgi-session"
    with headless(project, "--session", str(session)) as (proc, port):
        post_with_secrets(port)
        read_until(proc, "POST /login")
        stop(proc)
    for keep, name in ((False, "plain.har"), (True, "all.har")):
        result = run("--open", str(session), "--har", str(project / name),
                     *(["--har-secrets"] if keep else []), cwd=project)
        assert result.returncode == 0, result.stderr
        text = (project / name).read_text()
        assert all(s in text for s in SECRETS) if keep else not any(s in text for s in SECRETS)


# -- outputs checked first ---------------------------------------------------------------------

def test_har_and_session_paths_are_checked_before_the_app_starts(project: Path) -> None:
    folder = project / "exports"
    folder.mkdir()
    blocker = project / "a-file"
    blocker.write_text("")
    cases = [
        (["--har", str(folder)], str(folder), "is a folder"),
        (["--har", str(project / "missing" / "out.har")], str(project / "missing"),
         "does not exist"),
        (["--har", str(blocker / "out.har")], str(blocker), "is not a folder"),
        (["--session", str(project / "nowhere" / "s.wsgi-session")], str(project / "nowhere"),
         "does not exist"),
    ]
    for options, named, problem in cases:
        result = run("marked:app", "--headless", "--port", "0", *options, cwd=project)
        assert result.returncode == 2, result.stderr
        sentence = one_sentence(result.stderr)
        assert named in sentence and problem in sentence, sentence
        assert "Traceback" not in result.stderr
        assert not (project / "imported.txt").exists()  # the app never started


def test_converting_to_an_impossible_path_fails_before_reading(project: Path) -> None:
    source = project / "in.har"
    source.write_text('{"log": {"entries": []}}')
    result = run("--open", str(source), "--har", str(project / "no" / "x.har"), cwd=project)
    assert result.returncode == 2
    assert str(project / "no") in one_sentence(result.stderr)


def test_an_unwritable_default_session_folder_is_named(project: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("the default folder follows XDG_DATA_HOME on Linux only")
    data_home = project / "data-home"
    data_home.write_text("a file where the folder should be")
    result = subprocess.run(
        [sys.executable, "-m", "ui.launch", "marked:app", "--headless", "--port", "0"],
        cwd=project, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "XDG_DATA_HOME": str(data_home)})
    assert result.returncode == 2
    sentence = one_sentence(result.stderr)
    assert str(data_home / "wsgi-inspector" / "sessions") in sentence and "None" not in sentence
    assert not (project / "imported.txt").exists()


# -- HAR files from anywhere --------------------------------------------------------------------

ENTRY = {"startedDateTime": "2024-03-05T14:22:10.412Z", "time": 12.5,
         "request": {"method": "GET", "url": "http://example.test/a", "httpVersion": "HTTP/1.1",
                     "headers": [], "queryString": [], "cookies": [], "headersSize": -1,
                     "bodySize": 0},
         "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                      "headers": [], "cookies": [], "content": {"size": 2, "mimeType":
                                                                "text/plain", "text": "hi"},
                      "redirectURL": "", "headersSize": -1, "bodySize": 2},
         "cache": {}, "timings": {"send": 0, "wait": 10, "receive": 2.5}}
GOOD = json.dumps({"log": {"version": "1.2", "entries": [ENTRY, ENTRY]}}).encode()


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf" + GOOD, b" \r\n\t\n" + GOOD,
                                     b"\xef\xbb\xbf\n  " + GOOD],
                         ids=["bom", "whitespace", "bom-and-whitespace"])
def test_a_har_after_a_bom_or_blanks_converts(project: Path, content: bytes) -> None:
    source, out = project / "in.har", project / "out.har"
    source.write_bytes(content)
    result = run("--open", str(source), "--har", str(out), cwd=project)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())["log"]["entries"]) == 2


DEEP = 100_000
BAD_HARS = {
    "deep-array": b"[" * DEEP + b"]" * DEEP,
    "deep-in-an-entry": (b'{"log": {"entries": [{"request": ' + b'{"a": ' * DEEP + b"1"
                         + b"}" * DEEP + b"}]}}"),
    "garbage": b"{this is not json at all",
    "truncated": GOOD[: len(GOOD) // 2],
    "nan": GOOD.replace(b'"time": 12.5', b'"time": NaN'),
    "no-entries": b'{"log": {"pages": []}}',
    "entries-not-a-list": b'{"log": {"entries": {"a": 1}}}',
    "entry-not-an-object": b'{"log": {"entries": [42]}}',
    "url-not-text": GOOD.replace(b'"url": "http://example.test/a"', b'"url": ["x"]'),
    "header-not-text": GOOD.replace(b'"request": {"method": "GET", "url"',
                                    b'"request": {"method": {"a": 1}, "url"'),
    "not-utf8": b'{"log": {"entries": [{"request": "\xff\xfe"}]}}',
}


@pytest.mark.parametrize("name", list(BAD_HARS))
def test_a_bad_har_is_one_sentence_and_exit_2(project: Path, name: str) -> None:
    source, out = project / "in.har", project / "out.har"
    source.write_bytes(BAD_HARS[name])
    result = run("--open", str(source), "--har", str(out), cwd=project)
    assert result.returncode == 2, result.stderr
    assert str(source) in one_sentence(result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_stepping_prompt_shows_request_data_inert() -> None:
    import io

    from inspector.host.cli import Stepper

    out = io.StringIO()
    stepper = Stepper(out, ["*"])
    stepper.event({"type": "paused", "id": 1, "phase": "received", "body": b"",
                   "environ": {"REQUEST_METHOD": "GET", "PATH_INFO": "/a\x1b]0;owned\x07",
                               "SERVER_PROTOCOL": "HTTP/1.1",
                               "HTTP_X_NOTE": "one\r\nforged: line\x9b2J"}})
    shown = out.getvalue()
    assert not any(c in shown for c in "\x1b\x07\r\x9b")
    assert "GET /a\\x1b]0;owned\\x07 HTTP/1.1" in shown
    assert "X-Note: one\\r\\nforged: line\\x9b2J" in shown


def test_a_har_that_cannot_be_written_at_the_end_is_one_sentence(project: Path) -> None:
    """The folder was fine at the start and is gone at Ctrl+C: the session stays."""
    folder, session = project / "exports", project / "s.wsgi-session"
    folder.mkdir()
    options = ["--session", str(session), "--har", str(folder / "out.har")]
    with headless(project, *options) as (proc, port):
        post_with_secrets(port)
        read_until(proc, "POST /login")
        folder.rmdir()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    sentence = one_sentence(err)
    assert str(folder / "out.har") in sentence and str(session) in sentence
    assert "Traceback" not in err
    with Store.open(session) as store:
        assert len(store) == 1
