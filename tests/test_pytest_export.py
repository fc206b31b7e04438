"""Export as a pytest test: recorded with the real command line (real waitress, real
HTTP), exported with ``--export pytest``, and the generated file run by pytest in a
subprocess from another folder: it passes, and fails once the app answers otherwise."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.host.appref import AppRef, recorded_app
from inspector.host.formats import ExportError, render
from inspector.host.pytestgen import function_name
from inspector.host.store import Store
from tests.factories import BINARY_SAMPLE, make_exchange
from tests.test_cli import run
from tests.test_cli_outputs import headless, stop

BARE_APP = """\
import hashlib
import json

GREETING = "hello"


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/api/items" and environ["REQUEST_METHOD"] == "POST":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        item = json.loads(body)
        start_response("201 Created", [("Content-Type", "application/json"),
                                       ("Date", "Thu, 01 Jan 2026 00:00:00 GMT")])
        return [json.dumps({"id": 7, "name": item["name"], "tags": ["a", "b"]}).encode()]
    if path == "/upload":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [hashlib.sha256(body).hexdigest().encode()]
    if path == "/boom":
        raise KeyError("user")
    if path == "/logo.bin":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [bytes(range(256))]
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"{GREETING} from {path}\\nsecond line: café\\n".encode()]
"""

FLASK_APP = """\
import os
import secrets

from flask import Flask, abort, jsonify, redirect, request, session

GREETING = "hello"
app = Flask(__name__)
app.secret_key = os.urandom(16)  # new every start: a recorded session cookie is worthless


@app.post("/login")
def login():
    if request.form.get("password") != "hunter2":
        abort(403)
    session["user"] = request.form["user"]
    return redirect("/me")


@app.get("/me")
def me():
    if "user" not in session:
        abort(401)
    return jsonify(user=session["user"], greeting=GREETING)


@app.get("/note")
def note_form():
    session["csrf"] = secrets.token_hex(16)
    return (f'<form method="post"><input type="hidden" name="csrf_token" '
            f'value="{session["csrf"]}"><input name="note"></form>')


@app.post("/note")
def note():
    if request.form.get("csrf_token") != session.get("csrf"):
        abort(400)
    return "saved " + request.form["note"]
"""


class Browser:
    """Sends requests to the served app and keeps its cookies, as a browser does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.split(";", 1)[0].partition("=")
                    self.cookies[key.strip()] = rest
            return response.status, response.read()
        finally:
            conn.close()


def record(project: Path, session: Path, requests: list[tuple]) -> list[tuple[int, bytes]]:
    with headless(project, "--session", str(session)) as (proc, port):
        browser = Browser(port)
        answers = [browser.send(*r) for r in requests]
        stop(proc)
    return answers


def run_pytest(test_file: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(test_file)], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)


def export(session: Path, out: Path, *options: str, cwd: Path) -> None:
    result = run("--open", str(session), "--export", "pytest", "--out", str(out), *options,
                 cwd=cwd)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_bare_app_export_passes_then_fails_when_the_answer_changes(
        tmp_path: Path, elsewhere: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "web.py").write_text(BARE_APP)
    session = tmp_path / "s.wsgi-session"
    answers = record(project, session, [
        ("GET", "/hello?lang=fr"),
        ("POST", "/api/items", b'{"name": "pen"}', {"Content-Type": "application/json"}),
        ("GET", "/logo.bin"),
        ("GET", "/boom"),
        ("POST", "/upload", BINARY_SAMPLE, {"Content-Type": "application/octet-stream"}),
    ])
    assert [a[0] for a in answers] == [200, 201, 200, 500, 200]
    with Store.open(session) as store:
        assert recorded_app(store) == AppRef("web:app", str(project))
    test_file = elsewhere / "test_web.py"
    export(session, test_file, cwd=elsewhere)
    text = test_file.read_text()
    assert "def test_get_hello_then_post_api_items_then_get_logo_bin_and_more(app):" in text
    assert "assert type(raised.value).__name__ == 'KeyError'" in text  # the app raised
    assert "body=base64.b64decode(" in text  # a long binary body
    assert "assert json.loads(response.body) == {'id': 7, 'name': 'pen', 'tags': ['a', 'b']}" \
        in text
    assert "Date" not in text.split('"""', 2)[2].split("def test_")[1]  # not compared
    result = run_pytest(test_file, cwd=tmp_path)  # another folder than the app's
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout

    (project / "web.py").write_text(BARE_APP.replace('"hello"', '"good morning"'))
    result = run_pytest(test_file, cwd=tmp_path)
    assert result.returncode == 1
    assert "good morning from /hello" in result.stdout

    (project / "web.py").write_text(BARE_APP.replace("range(256)", "range(255)"))
    result = run_pytest(test_file, cwd=tmp_path)
    assert result.returncode == 1 and "assert len(response.body) == 256" in result.stdout


def test_a_test_saved_in_the_project_runs_in_another_checkout(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "web.py").write_text(BARE_APP)
    session = tmp_path / "s.wsgi-session"
    record(project, session, [("GET", "/hello")])
    export(session, project / "tests" / "test_recorded.py", cwd=tmp_path)
    assert "os.path.join(os.path.dirname(__file__), '..')" in \
        (project / "tests" / "test_recorded.py").read_text()
    clone = tmp_path / "clone"
    shutil.copytree(project, clone)
    shutil.rmtree(project)  # the recorded folder is gone: the clone must do
    result = run_pytest(clone / "tests" / "test_recorded.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_flask_login_then_page_carries_cookies_and_csrf_tokens(
        tmp_path: Path, elsewhere: Path) -> None:
    pytest.importorskip("flask")
    project = tmp_path / "project"
    project.mkdir()
    (project / "web.py").write_text(FLASK_APP)
    session = tmp_path / "s.wsgi-session"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with headless(project, "--session", str(session)) as (proc, port):
        browser = Browser(port)
        assert browser.send("POST", "/login", b"user=ada&password=hunter2", form)[0] == 302
        assert json.loads(browser.send("GET", "/me")[1])["user"] == "ada"
        page = browser.send("GET", "/note")[1].decode()
        token = page.split('value="')[1].split('"')[0]
        assert browser.send("POST", "/note", f"csrf_token={token}&note=hi".encode(),
                            form) == (200, b"saved hi")
        stop(proc)

    test_file = elsewhere / "test_login.py"
    export(session, test_file, "--secrets", cwd=elsewhere)
    text = test_file.read_text()
    assert "def test_post_login_then_get_me_then_get_note_and_more(app):" in text
    assert "tokens={" in text and "matched loosely" in text
    result = run_pytest(test_file, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    (project / "web.py").write_text(FLASK_APP.replace('GREETING = "hello"',
                                                      'GREETING = "welcome"'))
    result = run_pytest(test_file, cwd=tmp_path)
    assert result.returncode == 1 and "'welcome'" in result.stdout

    # Without --secrets the password is not in the file, and the file says so.
    redacted = elsewhere / "test_redacted.py"
    export(session, redacted, cwd=elsewhere)
    assert "hunter2" not in redacted.read_text()
    assert "Secrets were left out" in redacted.read_text()


def test_names_read_like_the_requests() -> None:
    assert function_name([make_exchange(1, method="POST", path="/api/items")]) \
        == "test_post_api_items"
    assert function_name([make_exchange(1, path="/")]) == "test_get_root"
    steps = [make_exchange(i, path=f"/p{i}") for i in range(1, 6)]
    assert function_name(steps) == "test_get_p1_then_get_p2_then_get_p3_and_more"


def test_recorded_text_cannot_add_code_to_the_file() -> None:
    hostile = make_exchange(1, path="/x\n    import os; os.system('boom')\n",
                            status="200 OK\nimport os",
                            request_headers=[("X-Evil", "'''\"\"\"\nraise SystemExit")],
                            headers=[("Content-Type", "text/plain")],
                            response_body=b"\"\"\"\n'''\nimport os\n")
    spec = "web:create_app('\"\"\"\\nimport os; \\\\')"  # a literal argument
    text = render("pytest", [hostile], app=AppRef(spec, "/tmp/p'\"\nx"))
    assert isinstance(text, str)
    compile(text, "test_hostile.py", "exec")  # valid Python...
    code = [line for line in text.splitlines() if line.lstrip().startswith("import os")]
    assert code == ["import os"]  # ...whose only "import os" is its own


def test_binary_and_truncated_bodies_are_compared_by_hash() -> None:
    x = make_exchange(1, path="/img", headers=[("Content-Type", "image/png")],
                      response_body=BINARY_SAMPLE)
    cut = make_exchange(2, path="/big", response_body=b"x" * 100, response_size=5000)
    text = render("pytest", [x, cut], app=AppRef("web:app", "/p"))
    assert isinstance(text, str)
    assert "assert sha256(response.body) ==" in text
    assert "assert len(response.body) == 5000" in text


def test_export_needs_to_know_the_app() -> None:
    with pytest.raises(ExportError, match="does not say which app"):
        render("pytest", [make_exchange(1)])
    with pytest.raises(ExportError, match="not valid"):
        render("pytest", [make_exchange(1)], app=AppRef("web:", "/p"))


DJANGO_VIEW = '''

from django.http import HttpResponse
from django.template import engines
from django.urls import path as _path


def note(request):
    if request.method == "POST":
        return HttpResponse("saved " + request.POST["note"], content_type="text/plain")
    form = '<form method="post">{% csrf_token %}<input name="note"></form>'
    return HttpResponse(engines["django"].from_string(form).render({}, request))


urlpatterns.append(_path("note/", note))
'''


def test_django_csrf_form_replays_with_this_runs_token(tmp_path: Path, elsewhere: Path) -> None:
    """Django's CSRF check: the form's masked token must match this run's cookie, so the
    test sends the token this run's page held, even though redaction hid the recorded one."""
    pytest.importorskip("django")
    project = tmp_path / "project"
    project.mkdir()  # startproject wants the folder to exist
    subprocess.run([sys.executable, "-m", "django", "startproject", "notesite", str(project)],
                   check=True, capture_output=True, timeout=60)
    urls = project / "notesite" / "urls.py"
    urls.write_text(urls.read_text() + DJANGO_VIEW)
    (project / "web.py").write_text("from notesite.wsgi import application as app\n")
    session = tmp_path / "s.wsgi-session"
    with headless(project, "--session", str(session)) as (proc, port):
        browser = Browser(port)
        page = browser.send("GET", "/note/")[1].decode()
        token = page.split('value="')[1].split('"')[0]
        assert "csrftoken" in browser.cookies
        assert browser.send("POST", "/note/", f"csrfmiddlewaretoken={token}&note=hi".encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"}) \
            == (200, b"saved hi")
        stop(proc)
    test_file = elsewhere / "test_notes.py"
    export(session, test_file, cwd=elsewhere)  # cookies and the token field redacted
    text = test_file.read_text()
    assert "csrftoken=[redacted]" not in text and "tokens={" in text
    result = run_pytest(test_file, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    urls.write_text(urls.read_text().replace('"saved "', '"kept "'))
    result = run_pytest(test_file, cwd=tmp_path)
    assert result.returncode == 1 and "kept hi" in result.stdout


def test_json_times_and_tokens_match_anything_and_deep_json_goes_by_hash() -> None:
    body = json.dumps({"id": 3, "created": "2026-11-30T09:58:01.123Z", "day": "2026-11-30",
                       "seen": ["Mon, 30 Nov 2026 09:58:01 GMT"], "auth_token": "x1"}).encode()
    x = make_exchange(1, headers=[("Content-Type", "application/json")], response_body=body)
    text = render("pytest", [x], app=AppRef("web:app", "/p"))
    assert ("assert json.loads(response.body) == {'id': 3, 'created': ANY, "
            "'day': '2026-11-30', 'seen': [ANY], 'auth_token': ANY}") in text
    deep = make_exchange(1, headers=[("Content-Type", "application/json")],
                         response_body=b"[" * 800 + b"]" * 800)
    assert "sha256(response.body)" in render("pytest", [deep], app=AppRef("web:app", "/p"))
