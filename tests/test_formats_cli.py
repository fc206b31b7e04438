"""``wsgi-inspector --open FILE --export FORMAT [--filter EXPR] [--out FILE]``: every
format from the command line, to a file or standard output; bad input is one sentence
and exit code 2. Real processes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from inspector.host.appref import AppRef, record_app
from inspector.host.cli import export, parse_args
from inspector.host.formats import FORMATS
from inspector.host.store import Store
from tests.factories import BINARY_SAMPLE, make_exchange
from tests.test_cli import command, one_sentence, run


@pytest.fixture
def session(tmp_path: Path) -> Path:
    path = tmp_path / "saved.wsgi-session"
    with Store(path) as store:
        store.add([
            make_exchange(1, path="/items", query="page=2"),
            make_exchange(2, method="POST", path="/api/items", request_body=b'{"name": "pen"}',
                          request_headers=[("Content-Type", "application/json"),
                                           ("Authorization", "Bearer s3cret")],
                          headers=[("Content-Type", "application/json")],
                          response_body=b'{"id": 7}'),
            make_exchange(3, method="PUT", path="/blob", request_body=BINARY_SAMPLE,
                          request_headers=[("Content-Type", "application/octet-stream")],
                          status="500 Internal Server Error"),
        ])
        record_app(store, AppRef("web:app", str(tmp_path)))
        store.flush()
    (tmp_path / "web.py").write_text("def app(environ, start_response): ...\n")  # exists here
    return path


def run_bytes(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command(*args), cwd=cwd, capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_curl_to_standard_output(session: Path, tmp_path: Path) -> None:
    result = run("--open", str(session), "--export", "curl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    commands = [line for line in result.stdout.splitlines() if "curl " in line]
    assert len(commands) == 3
    assert shlex.split(commands[0])[:2] == ["curl", "http://127.0.0.1:8000/items?page=2"]
    assert "s3cret" not in result.stdout and "Authorization: [redacted]" in result.stdout


def test_secrets_and_base_url(session: Path, tmp_path: Path) -> None:
    result = run("--open", str(session), "--export", "python", "--secrets",
                 "--base-url", "http://127.0.0.1:9999", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "'Authorization': 'Bearer s3cret'," in result.stdout
    assert "'http://127.0.0.1:9999/api/items'" in result.stdout
    compile(result.stdout, "replay.py", "exec")


@pytest.mark.parametrize(("expr", "paths"), [
    ("method:POST", ["/api/items"]),
    ("status:5xx", ["/blob"]),
    ("-path:/api", ["/items", "/blob"]),
    ("items", ["/items", "/api/items"]),
    ("body:pen", ["/api/items"]),  # the body index, as in the window
    ("header:Authorization", ["/api/items"]),
])
def test_filter_chooses_the_exchanges(session: Path, tmp_path: Path, expr: str,
                                      paths: list[str]) -> None:
    out = tmp_path / "out.har"
    result = run("--open", str(session), "--export", "har", f"--filter={expr}", "--out",
                 str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entries = json.loads(out.read_text())["log"]["entries"]
    assert [e["request"]["url"].split("8000")[1].split("?")[0] for e in entries] == paths
    assert f"Wrote {len(paths)} exchange" in result.stderr


def test_raw_is_written_byte_for_byte(session: Path, tmp_path: Path) -> None:
    out = tmp_path / "put.http"
    result = run("--open", str(session), "--export", "raw-request", "--filter", "method:PUT",
                 "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"PUT /blob HTTP/1.1\r\n")
    assert out.read_bytes()[-len(BINARY_SAMPLE) - 4:] == BINARY_SAMPLE + b"\r\n\r\n"
    piped = run_bytes("--open", str(session), "--export", "raw", "--filter", "method:PUT",
                      cwd=tmp_path)
    assert piped.returncode == 0 and BINARY_SAMPLE in piped.stdout


def test_secrets_kept_make_a_private_file(session: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.sh"
    result = run("--open", str(session), "--export", "curl", "--secrets", "--out", str(out),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "s3cret" in out.read_text()
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("name", ["har", "curl", "httpie", "python", "fetch", "raw",
                                  "raw-request", "raw-response", "har-entry", "pytest"])
def test_every_format_from_the_command_line(session: Path, name: str, capfdbinary) -> None:
    """In this process (the real process is tested above): each name gives output."""
    code = export(parse_args(["--open", str(session), "--export", name]))
    out, err = capfdbinary.readouterr()
    assert code == 0, err
    assert out and not err
    if not FORMATS[name].binary:
        out.decode("utf-8")


def test_har_input_and_the_app_named_on_the_command_line(session: Path,
                                                         tmp_path: Path) -> None:
    har = tmp_path / "in.har"
    assert run("--open", str(session), "--export", "har", "--out", str(har),
               cwd=tmp_path).returncode == 0
    result = run("--open", str(har), "--export", "pytest", cwd=tmp_path)
    assert result.returncode == 2
    assert "does not say which app" in one_sentence(result.stderr)
    result = run("web:app", "--app-dir", str(tmp_path), "--open", str(har), "--export", "pytest",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"APP_DIR = {str(tmp_path)!r}" in result.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--export", "xml"], "'xml' is not an export format; use one of curl,"),
    (["--export", "curl", "--filter", "status:abc"], "is not a status"),
    (["--export", "curl", "--filter", "path:/nothing"], "No exchange in"),
    (["--export", "curl", "--base-url", "ftp://x"], "is not an http:// or https:// URL"),
    (["--export", "curl", "--out", "/nonexistent-folder/x.sh"], "does not exist"),
])
def test_bad_input_is_one_sentence_and_exit_2(session: Path, tmp_path: Path, args: list[str],
                                              says: str) -> None:
    result = run("--open", str(session), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert says in one_sentence(result.stderr)
    assert "Traceback" not in result.stderr


def test_missing_file_and_missing_open(tmp_path: Path) -> None:
    result = run("--open", str(tmp_path / "gone.wsgi-session"), "--export", "curl",
                 cwd=tmp_path)
    assert result.returncode == 2 and "does not exist" in one_sentence(result.stderr)
    result = run("--export", "curl", cwd=tmp_path)
    assert result.returncode == 2 and "--export needs --open FILE" in result.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["--out", "x.sh"], "--out goes with --export FORMAT"),
    (["--export", "curl", "--har", "x.har"], "give either --har OUT or --export FORMAT"),
])
def test_export_options_need_export(session: Path, tmp_path: Path, args: list[str],
                                    says: str) -> None:
    result = run("--open", str(session), *args, cwd=tmp_path)
    assert result.returncode == 2 and says in result.stderr
    assert not list(tmp_path.glob("x.*"))


def test_advice_about_output_names(session: Path, tmp_path: Path) -> None:
    result = run("--open", str(session), "--export", "pytest", "--out",
                 str(tmp_path / "recorded.py"), cwd=tmp_path)
    assert result.returncode == 0
    assert "pytest collects files named test_*.py" in result.stderr
    result = run("--open", str(session), "--export", "python", "--out",
                 str(tmp_path / "requests.py"), cwd=tmp_path)
    assert result.returncode == 0
    assert "imports itself instead of requests" in result.stderr
