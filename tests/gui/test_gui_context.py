"""Context in view: the title and status bar name the app, its interpreter and the
session file; switching apps starts a new section; a redirect links to what followed."""

from __future__ import annotations

import textwrap

import pytest

from tests.gui.gui_helpers import http_request, wait_rows
from ui.exchange_model import COL_APP

REDIRECT = textwrap.dedent('''\
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/old":
            start_response("302 Found", [("Location", "/new?x=1"), ("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
''')


def test_title_and_status_bar_name_app_interpreter_and_session(qtbot, make_window, tmp_path):
    venv = tmp_path / "proj" / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python").write_text("")
    window = make_window(app_dir=str(tmp_path / "proj"), in_process=False, start=False)
    title = window.windowTitle()
    assert title.startswith("inspector.examples.hello:app (.venv) — ")
    assert window.recording.path.name in title
    context = window.context_label.text()
    assert str(venv / "bin" / "python") in context or "/.venv/bin/python" in context
    assert window.recording.path.name in context
    assert str(window.recording.path) in window.context_label.toolTip()
    inproc = make_window()
    assert "(in-process)" in inproc.windowTitle()
    assert "in the inspector's own process" in inproc.context_label.text()


def test_switching_apps_starts_a_section_marked_in_the_list(qtbot, make_window):
    window = make_window()
    http_request(window.url, path="/from-hello")
    wait_rows(qtbot, window, 1)
    window.open_app("inspector.examples.router:app")
    qtbot.waitUntil(lambda: window.controller.status.state == "serving"
                    and window.controller.launch.spec == "inspector.examples.router:app"
                    and bool(window.url))
    http_request(window.url, path="/about")
    http_request(window.url, path="/")
    wait_rows(qtbot, window, 3)
    apps = [window.proxy.index(r, COL_APP).data() for r in range(3)]
    assert apps == ["hello:app", "router:app", "router:app"]
    starts = [window.table.section_start(r) for r in range(3)]
    assert starts == [0, 1, None]  # a line and the app's name where each part begins
    assert window.model.section_app(1) == "inspector.examples.router:app"
    window.table.show_column(COL_APP, True)  # the App column, from the header's menu
    assert not window.table.isColumnHidden(COL_APP)


@pytest.mark.parametrize("in_process", [True, False])
def test_an_answer_not_yet_listed_when_the_app_switches_stays_the_old_apps(
        qtbot, make_window, in_process):
    window = make_window(in_process=in_process)
    for path in ("/one", "/two"):
        http_request(window.url, path=path)  # answered; its row may not be listed yet
    window.open_app("inspector.examples.router:app")
    qtbot.waitUntil(lambda: window.controller.status.state == "serving"
                    and window.controller.launch.spec == "inspector.examples.router:app"
                    and bool(window.url))
    http_request(window.url, path="/about")
    wait_rows(qtbot, window, 3)
    apps = [window.proxy.index(r, COL_APP).data() for r in range(3)]
    assert apps == ["hello:app", "hello:app", "router:app"]


def test_a_redirect_links_to_the_exchange_that_followed(qtbot, make_window, tmp_path):
    (tmp_path / "redirect_app.py").write_text(REDIRECT)
    window = make_window("redirect_app:app", app_dir=str(tmp_path))
    http_request(window.url, path="/old")
    http_request(window.url, path="/elsewhere")
    http_request(window.url, path="/new?x=1")
    wait_rows(qtbot, window, 3)
    first, _other, follower = (s.id for s in window.model.summaries())
    window.select_id(first)
    link = window.response.location
    assert link.isVisible() or not window.response.isVisible()
    assert f"#{follower} GET /new?x=1" in link.text()
    link.linkActivated.emit(f"#{follower}")
    assert window.current_id == follower
    assert window.selected_ids() == [follower]
