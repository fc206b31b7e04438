"""Real Flask and Django applications, served under capture and recorded."""

from __future__ import annotations

import importlib
import json
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

from django.http import HttpResponse, JsonResponse
from django.template import engines


def api(request):
    return JsonResponse({"framework": "django", "q": request.GET.get("q")})


def page(request):
    template = engines["django"].from_string("<p>Hello {{ name }}, {{ items|length }} items</p>")
    return HttpResponse(template.render({"name": request.GET.get("name", "world"),
                                         "items": [1, 2, 3]}))


urlpatterns += [path("api/", api), path("page/", page)]
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


def test_django_project(tmp_path_factory, monkeypatch, import_from, serve_inspected) -> None:
    from django.conf import settings as django_settings

    directory, name = django_project(tmp_path_factory.mktemp("django"))
    settings_module = f"{name}.settings"
    loaded = django_settings.SETTINGS_MODULE if django_settings.configured else None
    if loaded not in (None, settings_module):
        pytest.skip("Django is already set up with another project in this process")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", settings_module)
    application = import_from(directory, f"{name}.wsgi").application
    assert os.environ["DJANGO_SETTINGS_MODULE"] == f"{name}.settings"
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
