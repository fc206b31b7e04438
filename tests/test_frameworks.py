"""Real Flask and Django applications, served under capture and recorded."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from inspector.model import ST_COMPLETE, ST_FAILED, Exchange
from tests.conftest import fetch

pytest.importorskip("flask")
pytest.importorskip("django")




def by_path(exchanges: list[Exchange]) -> dict[str, Exchange]:
    return {x.path: x for x in exchanges}


@pytest.fixture
def import_from(monkeypatch) -> Iterator:
    """``import_from(directory, name)`` imports a module written by the test; the
    module and the sys.path entry are gone again afterwards."""
    names: list[str] = []

    def load(directory: Path, name: str) -> ModuleType:
        monkeypatch.syspath_prepend(str(directory))
        names.append(name)
        return importlib.import_module(name)

    yield load
    for name in names:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


# -- Flask ---------------------------------------------------------------------

FLASK_APP = '''
import logging

from flask import Flask, jsonify, request
from flask.logging import default_handler

app = Flask(__name__)
app.config["PROPAGATE_EXCEPTIONS"] = True  # errors reach the server: it answers 500
app.logger.setLevel(logging.INFO)
# What Flask does by itself when the root logger has no handler (as in a plain
# process; the test runner installs its own): log to wsgi.errors.
app.logger.addHandler(default_handler)


@app.route("/")
def index():
    return "Hello from Flask"


@app.route("/api/items")
def items():
    return jsonify(items=[1, 2, 3], q=request.args.get("q"))


@app.route("/form", methods=["POST"])
def form():
    return f"{request.form['name']} is {request.form['age']}"


@app.route("/log")
def log_and_print():
    app.logger.info("flask-log-marker %s", request.args["n"])
    print("flask-print-marker", request.args["n"])
    return "logged"


@app.route("/boom")
def route_that_raises():
    raise ZeroDivisionError("flask route failed")
'''


def test_flask_app(tmp_path, import_from, serve_inspected) -> None:
    name = f"flaskapp_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(FLASK_APP))
    app = import_from(tmp_path, name).app

    agent, log = serve_inspected(app)
    port = agent.server.effective_port
    assert fetch(port, target="/")[::2] == (200, b"Hello from Flask")
    status, headers, body = fetch(port, target="/api/items?q=abc")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"items": [1, 2, 3], "q": "abc"}
    status, _, body = fetch(port, "POST", "/form", b"name=Ada&age=36",
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body) == (200, b"Ada is 36")
    assert fetch(port, target="/missing")[0] == 404
    assert fetch(port, target="/log?n=7")[::2] == (200, b"logged")
    assert fetch(port, target="/boom")[0] == 500

    x = by_path(log.wait_ended(6))
    assert len(x) == 6
    assert x["/"].status_code == 200 and x["/"].response_body == b"Hello from Flask"
    assert x["/"].state == ST_COMPLETE
    assert x["/api/items"].query == "q=abc"
    assert json.loads(x["/api/items"].response_body) == {"items": [1, 2, 3], "q": "abc"}
    assert x["/api/items"].header("Content-Type") == "application/json"
    assert x["/form"].request_body == b"name=Ada&age=36"
    assert x["/form"].response_body == b"Ada is 36"
    assert x["/missing"].status == "404 NOT FOUND"
    assert b"Not Found" in x["/missing"].response_body

    out = x["/log"].output
    assert [(o.stream, o.text) for o in out if o.stream == "stdout"] == [
        ("stdout", "flask-print-marker 7")]
    logs = [o for o in out if "flask-log-marker" in o.text]
    assert [(o.stream, o.text, o.level, o.logger) for o in logs] == [
        ("log", "flask-log-marker 7", "INFO", app.logger.name)]
    assert all(o.stream in ("stdout", "log") for o in out), out

    boom = x["/boom"]
    assert boom.state == ST_FAILED
    assert boom.error is not None
    assert boom.error.type == "ZeroDivisionError"
    assert boom.error.message == "flask route failed"
    assert "route_that_raises" in boom.error.traceback
    assert boom.error.phase == "app_called"
    for path in ("/", "/api/items", "/form", "/missing", "/log"):
        assert x[path].error is None, path
    # nothing of a request leaked to the process lane
    assert not any("marker" in o.text for o in log.process_output)


# -- Django --------------------------------------------------------------------

DJANGO_VIEWS = '''

import json
import os

from django.http import FileResponse, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import engines
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import etag


def api(request):
    return JsonResponse({"framework": "django", "q": request.GET.get("q")})


def page(request):
    template = engines["django"].from_string("<p>Hello {{ name }}, {{ items|length }} items</p>")
    return HttpResponse(template.render({"name": request.GET.get("name", "world"),
                                         "items": [1, 2, 3]}))


def boom(request):
    return {"ratio": 1 / int(request.GET.get("n", "0"))}  # BOOM LINE


def index(request):
    return HttpResponse("<h1>Hello</h1>")


@csrf_exempt
def json_view(request):
    if request.method == "POST":
        return JsonResponse(json.loads(request.body))
    return JsonResponse({"q": request.GET.get("q")})


@csrf_exempt
def form(request):
    return HttpResponse(f"{request.POST['name']} likes {request.POST['lang']}")


@csrf_exempt
def upload(request):
    part = request.FILES["file"]
    return HttpResponse(f"{part.name} {len(part.read())} {request.POST['note']}")


@etag(lambda request: "data-v1")
def file(request):
    return FileResponse(open(os.environ["INSPECTOR_TEST_DATA_FILE"], "rb"),
                        content_type="application/octet-stream")


def redirect(request):
    return HttpResponseRedirect("/")


def empty(request):
    return HttpResponse(status=204)


def secret(request):
    response = HttpResponse(status=401)
    response["WWW-Authenticate"] = 'Basic realm="x"'
    return response


urlpatterns += [path("api/", api), path("page/", page), path("boom/", boom),
                path("", index), path("json", json_view), path("form", form),
                path("upload", upload), path("file", file), path("redirect", redirect),
                path("empty", empty), path("secret", secret)]
'''

_django: dict[str, object] = {}


def django_project(root: Path) -> tuple[Path, str]:
    """Generate a project with ``startproject`` once per process (Django's setup is global)."""
    if "dir" not in _django:
        name = f"proj_{uuid.uuid4().hex[:12]}"
        target = root / "django_site"
        target.mkdir()
        subprocess.run([sys.executable, "-m", "django", "startproject", name, str(target)],
                       check=True, capture_output=True, timeout=60)
        settings = (target / name / "settings.py").read_text()
        # the generated settings rely on DEBUG letting localhost in
        assert "DEBUG = True" in settings
        assert "ALLOWED_HOSTS = []" in settings
        urls = target / name / "urls.py"
        urls.write_text(urls.read_text() + DJANGO_VIEWS)
        _django.update(dir=target, name=name)
    return _django["dir"], _django["name"]  # type: ignore[return-value]


@pytest.fixture
def django_app(tmp_path_factory, monkeypatch, import_from) -> tuple[object, Path]:
    """The generated project's WSGI application, and the folder of its urls.py."""
    from django.conf import settings as django_settings

    directory, name = django_project(tmp_path_factory.mktemp("django"))
    settings_module = f"{name}.settings"
    loaded = django_settings.SETTINGS_MODULE if django_settings.configured else None
    if loaded not in (None, settings_module):
        pytest.skip("Django is already set up with another project in this process")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", settings_module)
    application = import_from(directory, f"{name}.wsgi").application
    assert os.environ["DJANGO_SETTINGS_MODULE"] == f"{name}.settings"
    return application, directory / name


def test_django_project(django_app, serve_inspected) -> None:
    from django.conf import settings as django_settings

    application, _ = django_app
    assert django_settings.DEBUG is True and django_settings.ALLOWED_HOSTS == []

    agent, log = serve_inspected(application)
    port = agent.server.effective_port
    status, headers, body = fetch(port, target="/api/?q=xyz")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"framework": "django", "q": "xyz"}
    status, _, body = fetch(port, target="/page/?name=Grace")
    assert (status, body) == (200, b"<p>Hello Grace, 3 items</p>")
    # DEBUG with ALLOWED_HOSTS = [] admits localhost and 127.0.0.1, nothing else
    assert fetch(port, target="/page/", headers={"Host": f"localhost:{port}"})[0] == 200
    assert fetch(port, target="/page/", headers={"Host": "example.com"})[0] == 400
    assert fetch(port, target="/nowhere/")[0] == 404

    exchanges = log.wait_ended(5)
    assert len(exchanges) == 5
    api, page, local, foreign, missing = exchanges
    assert api.path == "/api/" and api.query == "q=xyz"
    assert api.status == "200 OK" and api.header("Content-Type") == "application/json"
    assert json.loads(api.response_body) == {"framework": "django", "q": "xyz"}
    assert api.env("HTTP_HOST") == f"127.0.0.1:{port}"
    assert page.response_body == b"<p>Hello Grace, 3 items</p>"
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert local.status_code == 200 and local.env("HTTP_HOST") == f"localhost:{port}"
    assert foreign.status_code == 400 and foreign.env("HTTP_HOST") == "example.com"
    assert missing.status_code == 404
    assert all(x.state == ST_COMPLETE for x in exchanges)
    assert all(x.error is None for x in (api, page, local, missing))
    # Django answers a refused host with 400 and logs the exception it caught
    assert foreign.error is not None and foreign.error.handled
    assert foreign.error.type == "DisallowedHost" and "example.com" in foreign.error.message
    # Django logs refused hosts and missing pages on the exchange they belong to
    assert any(o.stream == "log" and o.logger == "django.security.DisallowedHost"
               for o in foreign.output), foreign.output
    assert any(o.stream == "log" and o.level == "WARNING" and "Not Found" in o.text
               for o in missing.output), missing.output
    assert not any(o.stream != "log" for x in exchanges for o in x.output)


# -- exceptions the framework catches: the exchange's error ---------------------------

FLASK_BOOM = """
from flask import Flask

app = Flask(__name__)  # PROPAGATE_EXCEPTIONS unset: Flask answers 500 and logs it


@app.route("/boom")
def boom():
    return {"ratio": 1 / 0}  # BOOM LINE
"""


def boom_line(path: Path) -> int:
    """The line of the view's ``raise`` in a written module."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "# BOOM LINE" in line)


def assert_handled_error(x: Exchange, view_file: Path) -> None:
    assert x.status_code == 500
    assert x.error is not None and x.error.handled
    assert x.error.type == "ZeroDivisionError"
    assert x.error.message == "division by zero"
    assert x.error.phase == "handled"
    # the traceback reaches the view, with its file and line
    assert f'File "{view_file}", line {boom_line(view_file)}, in boom' in x.error.traceback
    assert x.error.traceback.rstrip().endswith("ZeroDivisionError: division by zero")
    # it is also the log record in the output, whole
    record = next(o for o in x.output if o.stream == "log" and o.level == "ERROR")
    assert "Traceback (most recent call last):" in record.text
    assert x.error.logged.startswith(record.logger + ": ")
    assert x.state == ST_COMPLETE  # the app answered: the exchange ran to its end


def test_flask_view_error_is_the_exchange_error(tmp_path, import_from, serve_inspected) -> None:
    name = f"flaskboom_{uuid.uuid4().hex}"
    module = tmp_path / f"{name}.py"
    module.write_text(FLASK_BOOM)
    app = import_from(tmp_path, name).app
    assert not app.config["PROPAGATE_EXCEPTIONS"] and not app.debug

    agent, log = serve_inspected(app)
    status, _, body = fetch(agent.server.effective_port, target="/boom")
    assert status == 500 and b"Internal Server Error" in body
    (x,) = log.wait_ended(1)
    assert_handled_error(x, module)
    assert x.error.logged == f"{name}: Exception on /boom [GET]"


def test_django_view_error_is_the_exchange_error(django_app, serve_inspected) -> None:
    from django.test.utils import override_settings

    application, project = django_app
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["127.0.0.1"]):
        agent, log = serve_inspected(application)
        status, _, _ = fetch(agent.server.effective_port, target="/boom/")
        assert status == 500
        (x,) = log.wait_ended(1)
    assert_handled_error(x, project / "urls.py")
    assert x.error.logged == "django.request: Internal Server Error: /boom/"


def test_an_unhandled_error_wins_over_a_logged_one(serve_inspected) -> None:
    logger = logging.getLogger("inspector-test.first")

    def app(environ, start_response):
        try:
            {}["missing"]
        except KeyError:
            logger.exception("looked up and failed")
        raise RuntimeError("then it broke for good")

    agent, log = serve_inspected(app)
    assert fetch(agent.server.effective_port)[0] == 500
    (x,) = log.wait_ended(1)
    assert x.error is not None and not x.error.handled
    assert (x.error.type, x.error.phase) == ("RuntimeError", "app_called")
    assert x.state == ST_FAILED
    assert any("KeyError" in o.text for o in x.output)  # the logged one stays in the output


# -- correct Django views: no warning or error finding --------------------------------

def test_django_correct_views_have_no_false_findings(django_app, serve_inspected, tmp_path,
                                                      monkeypatch) -> None:
    from django.test.utils import override_settings

    from tests.test_real_apps import FILE_BYTES, SWEEP, assert_no_false_findings, run_sweep

    data = tmp_path / "data.bin"
    data.write_bytes(FILE_BYTES)
    monkeypatch.setenv("INSPECTOR_TEST_DATA_FILE", str(data))
    application, _ = django_app
    calls = [c for c in SWEEP if "Range" not in c.headers]  # Django serves no byte ranges
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"]):
        exchanges = run_sweep(serve_inspected, application, calls)
    assert_no_false_findings(exchanges)
    upload = next(x for x in exchanges if x.path == "/upload")
    assert upload.response_body == b"a.bin 2048 hi"
