"""Correct apps of real frameworks get no warning or error finding.

Flask, Bottle, Falcon, Pyramid and httpbin (Django: tests/test_frameworks.py)
are served under capture and sent what a browser or an API client sends: GETs,
JSON and form POSTs, a multipart upload, a file (whole, a byte range, and
revalidated to 304), a redirect, 204, an empty 401, and HEAD. Each framework
does these right, so anything above "info" would teach a wrong rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from inspector.model import ST_COMPLETE, Exchange
from tests.conftest import fetch

pytest.importorskip("flask")
pytest.importorskip("bottle")
pytest.importorskip("falcon")
pytest.importorskip("pyramid")

BOUNDARY = "----inspector-test-boundary"
FILE_BYTES = bytes(range(256)) * 8  # 2 KiB, served by every app from one file


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             .encode() for k, v in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@dataclass
class Call:
    method: str
    target: str
    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # a header of the previous answer to send back (for a conditional GET)
    revalidate: str = ""


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
UPLOAD = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

# The same routes in every app below.
SWEEP = [
    Call("GET", "/", 200),
    Call("GET", "/json?q=1", 200),
    Call("POST", "/json", 200, b'{"name": "Ada", "n": [1, 2]}', JSON),
    Call("POST", "/form", 200, b"name=Ada&lang=Python", FORM),
    Call("POST", "/upload", 200, multipart({"note": "hi"}, "file", "a.bin", FILE_BYTES), UPLOAD),
    Call("GET", "/file", 200),
    Call("GET", "/file", 304, revalidate="etag"),
    Call("GET", "/file", 206, headers={"Range": "bytes=10-99"}),
    Call("GET", "/redirect", 302),
    Call("GET", "/empty", 204),
    Call("GET", "/secret", 401),
    Call("HEAD", "/", 200),
    Call("HEAD", "/file", 200),
]


def run_sweep(serve_inspected: Callable, app: Any, calls: list[Call]) -> list[Exchange]:
    agent, log = serve_inspected(app)
    port = agent.server.effective_port
    previous: dict[str, str] = {}
    for call in calls:
        headers = dict(call.headers)
        if call.revalidate == "etag":
            if "etag" in previous:
                headers["If-None-Match"] = previous["etag"]
            else:
                headers["If-Modified-Since"] = previous["last-modified"]
        status, previous, _ = fetch(port, call.method, call.target, call.body, headers)
        assert status == call.status, (call, status)
    exchanges = log.wait_ended(len(calls))
    assert len(exchanges) == len(calls)
    return exchanges


def assert_no_false_findings(exchanges: list[Exchange]) -> None:
    for x in exchanges:
        serious = [(f.code, f.message) for f in x.findings if f.severity != "info"]
        assert serious == [], (x.method, x.path, x.status, serious)
        assert x.error is None, (x.method, x.path, x.error)
        assert x.state == ST_COMPLETE, (x.method, x.path)


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_BYTES)
    return path


# -- Flask ---------------------------------------------------------------------------

def flask_app(path: Path) -> Any:
    from flask import Flask, Response, jsonify, redirect, request, send_file

    app = Flask("sweep_flask")

    @app.get("/")
    def index() -> str:
        return "<h1>Hello</h1>"

    @app.route("/json", methods=["GET", "POST"])
    def json_view() -> Any:
        return jsonify(request.get_json() if request.method == "POST" else {"q": "1"})

    @app.post("/form")
    def form() -> str:
        return f"{request.form['name']} likes {request.form['lang']}"

    @app.post("/upload")
    def upload() -> str:
        upload = request.files["file"]
        return f"{upload.filename} {len(upload.read())} {request.form['note']}"

    @app.get("/file")
    def file() -> Any:
        return send_file(path, mimetype="application/octet-stream", conditional=True)

    @app.get("/redirect")
    def moved() -> Any:
        return redirect("/")

    @app.get("/empty")
    def empty() -> Any:
        return "", 204

    @app.get("/secret")
    def secret() -> Any:
        return Response(status=401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    return app


def test_flask(serve_inspected, data_file) -> None:
    exchanges = run_sweep(serve_inspected, flask_app(data_file), SWEEP)
    assert_no_false_findings(exchanges)
    # the upload went through werkzeug's multipart parser, reading to the stream's end
    upload = next(x for x in exchanges if x.path == "/upload")
    assert upload.response_body == b"a.bin 2048 hi"


# -- Bottle --------------------------------------------------------------------------

def bottle_app(path: Path) -> Any:
    import bottle

    app = bottle.Bottle()

    @app.get("/")
    def index() -> str:
        return "<h1>Hello</h1>"

    @app.get("/json")
    def json_get() -> dict[str, str]:
        return {"q": bottle.request.query.q}

    @app.post("/json")
    def json_post() -> dict[str, Any]:
        return dict(bottle.request.json)

    @app.post("/form")
    def form() -> str:
        return f"{bottle.request.forms.name} likes {bottle.request.forms.lang}"

    @app.post("/upload")
    def upload() -> str:
        part = bottle.request.files.get("file")
        return f"{part.raw_filename} {len(part.file.read())} {bottle.request.forms.note}"

    @app.route("/file", method=["GET", "HEAD"])
    def file() -> Any:
        answer = bottle.static_file(path.name, root=str(path.parent),
                                    mimetype="application/octet-stream")
        return answer

    @app.get("/redirect")
    def moved() -> None:
        bottle.redirect("/", 302)

    @app.get("/empty")
    def empty() -> Any:
        return bottle.HTTPResponse(status=204)

    @app.get("/secret")
    def secret() -> Any:
        return bottle.HTTPResponse(status=401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    return app


def test_bottle(serve_inspected, data_file) -> None:
    exchanges = run_sweep(serve_inspected, bottle_app(data_file), SWEEP)
    assert_no_false_findings(exchanges)


# -- Falcon --------------------------------------------------------------------------

def falcon_app(path: Path) -> Any:
    import falcon

    class Index:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = "<h1>Hello</h1>"

        on_head = on_get

    class Json:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.media = {"q": req.get_param("q")}

        def on_post(self, req: Any, resp: Any) -> None:
            resp.media = req.get_media()

    class Form:
        def on_post(self, req: Any, resp: Any) -> None:
            form = req.get_media()
            resp.text = f"{form['name']} likes {form['lang']}"

    class Upload:
        def on_post(self, req: Any, resp: Any) -> None:
            seen = {part.name: (part.filename, len(part.stream.read()))
                    for part in req.get_media()}
            resp.text = json.dumps(seen)

    class File:
        etag = '"data-v1"'

        def on_get(self, req: Any, resp: Any) -> None:
            resp.etag = self.etag
            if req.if_none_match and any(str(t) == "data-v1" for t in req.if_none_match):
                resp.status = falcon.HTTP_304
                return
            resp.content_type = "application/octet-stream"
            if req.range:  # (first, last), inclusive
                first, last = req.range
                stream = path.open("rb")
                stream.seek(first)
                resp.status = falcon.HTTP_206
                resp.content_range = (first, last, path.stat().st_size)
                resp.set_stream(stream, last - first + 1)
                return
            resp.set_stream(path.open("rb"), path.stat().st_size)

        def on_head(self, req: Any, resp: Any) -> None:  # Falcon sends no stream on HEAD
            resp.etag = self.etag
            resp.content_type = "application/octet-stream"
            resp.content_length = path.stat().st_size

    class Redirect:
        def on_get(self, req: Any, resp: Any) -> None:
            raise falcon.HTTPFound("/")

    class Empty:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.status = falcon.HTTP_204

    class Secret:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.status = falcon.HTTP_401
            resp.set_header("WWW-Authenticate", 'Basic realm="x"')

    app = falcon.App()
    app.req_options.auto_parse_form_urlencoded = False
    for route, resource in (("/", Index()), ("/json", Json()), ("/form", Form()),
                            ("/upload", Upload()), ("/file", File()),
                            ("/redirect", Redirect()), ("/empty", Empty()),
                            ("/secret", Secret())):
        app.add_route(route, resource)
    return app


def test_falcon(serve_inspected, data_file) -> None:
    exchanges = run_sweep(serve_inspected, falcon_app(data_file), SWEEP)
    assert_no_false_findings(exchanges)
    upload = next(x for x in exchanges if x.path == "/upload")
    assert json.loads(upload.response_body) == {"note": [None, 2], "file": ["a.bin", 2048]}


# -- Pyramid -------------------------------------------------------------------------

def pyramid_app(path: Path) -> Any:
    from pyramid.config import Configurator
    from pyramid.httpexceptions import HTTPFound
    from pyramid.response import FileResponse, Response

    def index(request: Any) -> Any:
        return Response("<h1>Hello</h1>")

    def json_view(request: Any) -> Any:
        return request.json_body if request.method == "POST" else {"q": request.GET["q"]}

    def form(request: Any) -> Any:
        return Response(f"{request.POST['name']} likes {request.POST['lang']}")

    def upload(request: Any) -> Any:
        part = request.POST["file"]
        return Response(f"{part.filename} {len(part.file.read())} {request.POST['note']}")

    def file(request: Any) -> Any:
        return FileResponse(str(path), request=request,
                            content_type="application/octet-stream")

    def moved(request: Any) -> Any:
        return HTTPFound(location="/")

    def empty(request: Any) -> Any:
        return Response(status=204)

    def secret(request: Any) -> Any:
        return Response(status=401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with Configurator() as config:
        for name, route, view, renderer in (
                ("index", "/", index, None), ("json", "/json", json_view, "json"),
                ("form", "/form", form, None), ("upload", "/upload", upload, None),
                ("file", "/file", file, None), ("redirect", "/redirect", moved, None),
                ("empty", "/empty", empty, None), ("secret", "/secret", secret, None)):
            config.add_route(name, route)
            config.add_view(view, route_name=name, renderer=renderer)
        return config.make_wsgi_app()


# WebOb (under Pyramid) still imports the cgi module on Python < 3.13.
@pytest.mark.filterwarnings("ignore:'cgi' is deprecated:DeprecationWarning")
def test_pyramid(serve_inspected, data_file) -> None:
    exchanges = run_sweep(serve_inspected, pyramid_app(data_file), SWEEP)
    assert_no_false_findings(exchanges)


# -- httpbin (Flask; a public test service's own app) ---------------------------------

HTTPBIN_SWEEP = [
    Call("GET", "/get?q=1", 200),
    Call("POST", "/post", 200, b'{"name": "Ada"}', JSON),
    Call("POST", "/post", 200, b"name=Ada&lang=Python", FORM),
    Call("POST", "/post", 200, multipart({"note": "hi"}, "file", "a.bin", FILE_BYTES), UPLOAD),
    Call("GET", "/image/png", 200),
    Call("GET", "/range/1024", 206, headers={"Range": "bytes=0-99"}),
    Call("GET", "/etag/v1", 304, headers={"If-None-Match": '"v1"'}),
    Call("GET", "/redirect-to?url=/get", 302),
    Call("GET", "/status/204", 204),
    Call("GET", "/status/401", 401),
    Call("HEAD", "/get", 200),
    Call("GET", "/gzip", 200),
]


def test_httpbin(serve_inspected) -> None:
    httpbin = pytest.importorskip("httpbin")
    exchanges = run_sweep(serve_inspected, httpbin.app, HTTPBIN_SWEEP)
    assert_no_false_findings(exchanges)
    post = json.loads(exchanges[3].response_body)
    assert post["form"] == {"note": "hi"} and "file" in post["files"]
