"""``--filter`` and ``--break`` in the filter language: real ``wsgi-inspector``
processes, a real app, real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import fetch
from tests.test_cli import one_sentence, run
from tests.test_cli_outputs import headless, read_until, stop

APP = """\
import gzip

def app(environ, start_response):
    path = environ["PATH_INFO"]
    environ["wsgi.input"].read()
    if path == "/zipped":
        body = gzip.compress(b'{"note": "needle in a haystack"}')
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Encoding", "gzip")])
        return [body]
    status = "404 Not Found" if path.startswith("/missing") else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"plain " + path.encode()]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "web.py").write_text(APP)
    return tmp_path


def requests(port: int) -> None:
    for method, path, headers in (("GET", "/zipped", {}), ("POST", "/form", {"X-Debug": "1"}),
                                  ("GET", "/missing", {}), ("GET", "/static/a.css", {})):
        fetch(port, method, path, b"" if method == "POST" else None, headers)


def har_paths(har: Path) -> list[str]:
    entries = json.loads(har.read_text())["log"]["entries"]
    return [e["request"]["url"].split("://", 1)[1].split("/", 1)[1] for e in entries]


def test_headless_prints_and_exports_only_what_the_filter_matches(project: Path) -> None:
    session, har = project / "s.wsgi-session", project / "out.har"
    with headless(project, "--session", str(session), "--har", str(har),
                  "--filter", "body:needle -status:404") as (proc, port):
        requests(port)
        fetch(port, "GET", "/zipped?again=1")
        printed = "".join(read_until(proc, "/zipped?again=1"))
        printed += stop(proc)
    lines = [line for line in printed.splitlines() if " GET " in line or " POST " in line]
    assert len(lines) == 2 and all("/zipped" in line for line in lines), printed
    assert har_paths(har) == ["zipped", "zipped?again=1"]
    # The session keeps everything; converting it again filters again.
    for expr, expected in (("header:X-Debug", ["form"]), ("status:404", ["missing"]),
                           ("-path:/static method:GET", ["zipped", "missing", "zipped?again=1"]),
                           ("resbody:haystack", ["zipped", "zipped?again=1"])):
        out = project / "again.har"
        result = run("--open", str(session), "--har", str(out), "--filter", expr, cwd=project)
        assert result.returncode == 0, result.stderr
        assert har_paths(out) == expected, expr
        assert f"Wrote {len(expected)} exchange" in result.stderr


def test_converting_a_har_file_filters_it_entry_by_entry(project: Path) -> None:
    session, har = project / "s.wsgi-session", project / "all.har"
    with headless(project, "--session", str(session), "--har", str(har)) as (proc, port):
        requests(port)
        read_until(proc, "/static/a.css")
        stop(proc)
    assert len(har_paths(har)) == 4
    out = project / "some.har"
    result = run("--open", str(har), "--har", str(out), "--filter", "body:haystack", cwd=project)
    assert result.returncode == 0, result.stderr
    assert har_paths(out) == ["zipped"]
    result = run("--open", str(har), "--har", str(out), "--filter", "path:/static/*",
                 cwd=project)
    assert har_paths(out) == ["static/a.css"]


@pytest.mark.parametrize(("options", "says"), [
    (["--filter", "status:abc"], "--filter 'status:abc': status:abc is not a status"),
    (["--filter", 'body:"open'], "A quote is not closed"),
    (["--filter", "colour:red"], "colour: is not a filter key"),
    (["--break", "status:500"], "--break 'status:500': status: cannot be in a breakpoint"),
    (["--break", "body:token"], "body: cannot be in a breakpoint"),
])
def test_a_filter_that_does_not_read_is_one_sentence_and_exit_2(
        project: Path, options: list[str], says: str) -> None:
    result = run("web:app", "--headless", "--port", "0", *options, cwd=project)
    assert result.returncode == 2
    assert says in one_sentence(result.stderr)
    assert "Traceback" not in result.stderr


def test_a_bad_filter_on_a_conversion_writes_nothing(project: Path) -> None:
    har = project / "in.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": []}}))
    result = run("--open", str(har), "--har", str(project / "out.har"), "--filter", "is:odd",
                 cwd=project)
    assert result.returncode == 2
    assert "is:odd is not a state I know" in one_sentence(result.stderr)
    assert not (project / "out.har").exists()



def test_break_in_the_filter_syntax_pauses_a_real_request(tmp_path: Path) -> None:
    """A bare word anywhere in the path, a negated term, a method list: the language
    the list uses, deciding in the app's process."""
    from tests.test_cli_stepping import APP as STEP_APP
    from tests.test_cli_stepping import Headless

    (tmp_path / "web.py").write_text(STEP_APP)
    run = Headless(tmp_path, "--break", "api -path:/api/public method:GET,PUT")
    try:
        run.expect("Breakpoints: api -path:/api/public method:GET,PUT")
        assert run.get("/api/public/x").result() == (200, b"hi /api/public/x")  # negated
        client = run.get("/v1/api/items")  # "api" anywhere in the path: paused
        run.pause("#2 received")
        run.type("c")
        assert client.result() == (200, b"hi /v1/api/items")
        assert run.stop() == 0
    finally:
        run.close()
