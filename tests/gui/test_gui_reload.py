"""The isolated app process: a template edit reloads the app; while the app cannot
load, its URL answers with a page showing the error."""

from __future__ import annotations

import textwrap

from tests.gui.gui_helpers import http_request

FLASK_APP = textwrap.dedent("""\
    from flask import Flask, render_template

    app = Flask(__name__)

    @app.route("/")
    def home():
        return render_template("home.html", name="Ada")
""")
BROKEN = textwrap.dedent("""\
    import json

    SETTINGS = json.loads(open("settings.json").read())

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"loaded"]
""")


def test_a_template_edit_reloads_the_app(qtbot, make_window, tmp_path):
    project = tmp_path / "site"
    (project / "templates").mkdir(parents=True)
    (project / "site_app.py").write_text(FLASK_APP)
    template = project / "templates" / "home.html"
    template.write_text("<h1>Hello, {{ name }}</h1>\n")
    window = make_window("site_app:app", app_dir=str(project), in_process=False, reload=True)
    assert http_request(window.url).body == b"<h1>Hello, Ada</h1>"
    pid = window.controller.pid
    template.write_text("<h1>Welcome back, {{ name }}</h1>\n")
    qtbot.waitUntil(lambda: window.controller.pid not in (None, pid)
                    and window.controller.status.state == "serving", timeout=30000)
    assert http_request(window.url).body == b"<h1>Welcome back, Ada</h1>"


def test_load_error_page_is_served_at_the_apps_url(qtbot, make_window, tmp_path):
    project = tmp_path / "broken"
    project.mkdir()
    (project / "broken_app.py").write_text(BROKEN)
    window = make_window("broken_app:app", app_dir=str(project), in_process=False,
                         reload=True, wait="load_error")
    url = window.controller.status.url
    assert url and window.url == url and url in window.url_label.text()
    reply = http_request(url, path="/any/page")
    assert reply.status == 500
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    page = reply.body.decode()
    assert "broken_app:app could not be loaded" in page
    assert "settings.json" in page and "No such file or directory" in page
    assert "waiting for the fix" in page
    assert window.model.rowCount() == 0  # the error page is not the app: nothing recorded
    (project / "settings.json").write_text("{}")  # the fix: a file the app reads
    qtbot.waitUntil(lambda: window.controller.status.state == "serving", timeout=30000)
    assert window.url == url  # the same address, now the app's
    assert http_request(url).body == b"loaded"


def test_load_error_page_in_process_until_f5(qtbot, make_window, tmp_path):
    # In-process the app's folder is not the working directory: the file is found by path.
    (tmp_path / "inproc_broken.py").write_text(BROKEN.replace(
        'open("settings.json").read()',
        '__import__("pathlib").Path(__file__).with_name("settings.json").read_text()'))
    window = make_window("inproc_broken:app", app_dir=str(tmp_path), wait="load_error")
    url = window.url
    reply = http_request(url)
    assert reply.status == 500 and b"inproc_broken:app could not be loaded" in reply.body
    (tmp_path / "settings.json").write_text("{}")
    window.reload_app()  # F5: in-process, nothing reloads by itself
    qtbot.waitUntil(lambda: window.controller.status.state == "serving", timeout=20000)
    assert window.url == url and http_request(url).body == b"loaded"
